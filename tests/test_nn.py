"""nn: Module bookkeeping, Linear/MLP forward and gradients, losses, SGD."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_close, central_difference

from micrograd_bn import (
    MLP,
    SGD,
    BatchNorm1d,
    Dropout,
    LayerNorm,
    Linear,
    Module,
    Sequential,
    Tanh,
    Value,
    cross_entropy,
    mse_loss,
)


def test_linear_matches_numpy():
    lin = Linear(3, 2, seed=0)
    x = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])
    w = np.array([[v.data for v in row] for row in lin.weight])
    b = np.array([v.data for v in lin.bias])
    y = lin(x.tolist())
    assert_close([[v.data for v in row] for row in y], x @ w.T + b)
    assert all(abs(v.data) <= 1 / math.sqrt(3) for row in lin.weight for v in row)  # PyTorch's init bound


def test_seed_makes_networks_identical():
    a, b, c = MLP([4, 5, 2], seed=1), MLP([4, 5, 2], seed=1), MLP([4, 5, 2], seed=2)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    assert [p.data for p in a.parameters()] != [p.data for p in c.parameters()]


def test_parameters_and_children_follow_modes():
    net = MLP([3, 4, 4, 1], activation="sigmoid", norm=BatchNorm1d, seed=0)
    # hidden Linear layers drop their bias before BatchNorm (Sec. 3.2): 3·4 + 2·4 + 4·4 + 2·4 + 4·1 + 1
    assert len(net.parameters()) == 12 + 8 + 16 + 8 + 4 + 1
    assert net.eval() is net
    assert all(not m.training for m in net.layers)
    net.train()
    assert all(m.training for m in net.layers)


def test_zero_grad_resets_every_parameter():
    net = MLP([2, 3, 1], seed=0)
    mse_loss(net([[1.0, 2.0], [0.5, -1.0]]), [[1.0], [0.0]]).backward()
    assert any(p.grad != 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad == 0 for p in net.parameters())


def test_mlp_gradient_matches_finite_differences():
    net = MLP([2, 3, 1], activation="tanh", seed=3)
    x, t = [[0.3, -0.7], [1.1, 0.4], [-0.5, 0.9]], [[0.5], [-0.2], [0.1]]
    loss = mse_loss(net(x), t)
    loss.backward()
    for p in net.parameters():
        original = p.data

        def f(v, p=p, original=original):
            p.data = v
            out = mse_loss(net(x), t).data
            p.data = original
            return out

        assert p.grad == pytest.approx(central_difference(f, original), rel=1e-6, abs=1e-9)


def test_cross_entropy_matches_numpy_and_is_stable():
    logits = [[1.0, 2.0, 0.5], [1000.0, 0.0, -1000.0]]
    labels = [1, 0]
    z = np.array(logits)
    zs = z - z.max(axis=1, keepdims=True)
    want = np.mean(np.log(np.exp(zs).sum(axis=1)) - zs[np.arange(2), labels])
    rows = [[Value(v) for v in row] for row in logits]
    loss = cross_entropy(rows, labels)
    loss.backward()
    assert loss.data == pytest.approx(want, rel=1e-14)
    p = np.exp(zs) / np.exp(zs).sum(axis=1, keepdims=True)
    onehot = np.eye(3)[labels]
    assert_close([[v.grad for v in row] for row in rows], (p - onehot) / 2)


def test_sgd_step_moves_against_the_gradient_and_training_reduces_loss():
    net = Sequential(Linear(2, 8, seed=0), Tanh(), Linear(8, 1, seed=1))
    x = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    t = [[0.0], [1.0], [1.0], [0.0]]
    opt = SGD(net.parameters(), lr=0.2)
    first = mse_loss(net(x), t).data
    for _ in range(200):
        loss = mse_loss(net(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.data < 0.5 * first


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MLP([2, 1], activation="softsign"), "activation must be one of"),
        (lambda: SGD([], lr=0.0), "learning rate"),
        (lambda: Linear(3, 1)([[1.0, 2.0]]), "expected 3 features"),
        (lambda: mse_loss([[Value(1.0)]], [[1.0], [2.0]]), "1 predictions but 2 targets"),
        (lambda: cross_entropy([[Value(1.0)]], [0, 1]), "1 rows of logits but 2 labels"),
    ],
)
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("batch", "features", "message"),
    [
        ([Value(1.0), Value(2.0)], 1, r"row 0 is a Value, not a row: .* wrap a flat list as \[\[v\] for v in values\]"),
        (np.array([[1.0], [2.0]]), 1, r"got ndarray; pass nested lists instead \(array.tolist\(\)\)"),
        ([[1.0], [2.0, 3.0]], 1, r"row 1 has 2 entries; expected 1 feature per row$"),
        ([[1.0, 2.0], [3.0]], 2, r"row 1 has 1 entry; expected 2 features per row$"),
        ([], 1, r"expected a non-empty batch"),
    ],
)
def test_bad_batches_say_what_a_batch_is(batch, features, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm1d(features)(batch)
    np_rows = np.array([[1.0], [2.0]])
    assert [[round(v.data, 3)] for [v] in BatchNorm1d(1)(np_rows.tolist())] == [[-1.0], [1.0]]  # the fix it names


def test_forward_is_abstract():
    with pytest.raises(NotImplementedError):
        Module()([[1.0]])


# ---- Dropout (as torch.nn.Dropout: inverted, training only) ----------------------------------------
def test_dropout_eval_is_the_identity():
    x = [[Value(float(i + j)) for j in range(5)] for i in range(3)]
    net = Sequential(Dropout(0.5, seed=0))
    out = net.eval()(x)
    assert all(o is v for orow, row in zip(out, x) for o, v in zip(orow, row))  # the same Values
    assert Dropout(0.0, seed=0)(x)[0][0] is x[0][0]  # p = 0: nothing to drop, in training too


def test_dropout_training_zeroes_about_p_and_scales_the_rest():
    p, n = 0.3, 4000
    x = [[Value(1.0 + 0.001 * j) for j in range(n)]]
    out = Dropout(p, seed=1)(x)[0]
    zeroed = [o.data == 0.0 for o in out]
    assert abs(sum(zeroed) / n - p) < 0.03  # binomial: std √(p(1−p)/n) ≈ 0.007
    for o, v, z in zip(out, x[0], zeroed):
        if not z:
            assert o.data == pytest.approx(v.data / (1 - p), rel=1e-15)


def test_dropout_gradient_flows_through_kept_entries_only():
    p = 0.5
    x = [[Value(v) for v in row] for row in np.random.default_rng(0).normal(size=(6, 8)).tolist()]
    dy = np.random.default_rng(1).normal(size=(6, 8))
    out = Dropout(p, seed=2)(x)
    Value.sum([o * g for orow, grow in zip(out, dy.tolist()) for o, g in zip(orow, grow)]).backward()
    kept = np.array([[o.data != 0.0 for o in row] for row in out])
    assert 0 < kept.sum() < kept.size
    assert_close([[v.grad for v in row] for row in x], np.where(kept, dy / (1 - p), 0.0))


def test_dropout_seed_repeats_masks_and_each_call_draws_anew():
    x = [[Value(1.0)] * 50]
    a, b = Dropout(0.5, seed=3), Dropout(0.5, seed=3)
    first = [v.data for v in a(x)[0]]
    assert first == [v.data for v in b(x)[0]]
    assert first != [v.data for v in a(x)[0]]


def test_dropout_p_one_zeroes_everything_as_torch():
    x = [[Value(2.0), Value(-1.0)]]
    out = Dropout(1.0, seed=0)(x)
    assert [v.data for v in out[0]] == [0.0, 0.0]
    Value.sum(out[0]).backward()
    assert [v.grad for v in x[0]] == [0.0, 0.0]


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, "0.5", True, None])
def test_dropout_bad_p(p):
    with pytest.raises(ValueError, match=r"Dropout: p is the probability .* in \[0, 1\]"):
        Dropout(p)


def test_mlp_drops_the_hidden_bias_only_before_a_norm_that_cancels_it():
    def hidden_biases(net):
        return [layer.bias is not None for layer in net.layers[:-1] if isinstance(layer, Linear)]

    assert hidden_biases(MLP([3, 4, 4, 1], norm=BatchNorm1d)) == [False, False]  # Sec. 3.2: β takes its role
    assert hidden_biases(MLP([3, 4, 4, 1], norm=LayerNorm)) == [True, True]  # a per-feature bias survives LayerNorm
    assert hidden_biases(MLP([3, 4, 4, 1])) == [True, True]
