"""LayerNorm: the same Alg. 1 code over each example's features; autodiff = closed form = PyTorch."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from helpers import RTOL_EXACT, assert_close, assert_each_close, gamma_some_zero, random_case, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from micrograd_bn import MLP, SGD, LayerNorm, Value, draw, mse_loss
from micrograd_bn import reference as ref
from micrograd_bn.compare import term_scales

GOLDEN = json.loads((Path(__file__).parent / "golden" / "layernorm.json").read_text())
GOLDEN_TOL = {"rtol": 1e-12, "atol": 1e-14}  # implementations agree to ~1e-16, not bit for bit


def make_layer(gamma, beta, **kwargs) -> LayerNorm:
    layer = LayerNorm(len(gamma), **kwargs)
    for k, (g, b) in enumerate(zip(gamma, beta)):
        layer.weight[k].data, layer.bias[k].data = float(g), float(b)
    return layer


def autodiff(x: np.ndarray, dy: np.ndarray, gamma, beta, eps: float) -> dict[str, np.ndarray]:
    """Forward on Values, ℓ = Σ y·dy, backward; each gradient read off its labelled node (one Alg1Nodes per row)."""
    layer = make_layer(gamma, beta, eps=eps)
    xs = [[Value(float(v)) for v in row] for row in x]
    y = layer(xs)
    Value.dot([v for row in y for v in row], dy.ravel().tolist()).backward()
    return {
        "y": np.array([[v.data for v in row] for row in y]),
        "dx": np.array([[v.grad for v in row] for row in xs]),
        "dx_hat": np.array([[v.grad for v in n.x_hat] for n in layer.last]),
        "dvar": np.array([n.var.grad for n in layer.last]),
        "dmean": np.array([n.mean.grad for n in layer.last]),
        "dgamma": np.array([g.grad for g in layer.weight]),
        "dbeta": np.array([b.grad for b in layer.bias]),
    }


def scales(x, dy, gamma, beta, eps) -> dict[str, float]:
    """The size of the terms each quantity sums: BatchNorm's on the transposes, and Σ over rows for γ, β."""
    out = term_scales(x.T, dy.T, np.asarray(gamma)[:, None], np.asarray(beta)[:, None], eps)
    x_hat = ref.layer_norm_forward(x, gamma, beta, eps)["x_hat"]
    return out | {"dgamma": float(np.abs(dy * x_hat).sum(axis=0).max()), "dbeta": float(np.abs(dy).sum(axis=0).max())}


def assert_matches_closed_form(x, dy, gamma, beta, eps, rtol=RTOL_EXACT):
    got = autodiff(x, dy, gamma, beta, eps)
    want = {**ref.layer_norm_backward(dy, x, gamma, eps), "y": ref.layer_norm_forward(x, gamma, beta, eps)["y"]}
    size = scales(x, dy, gamma, beta, eps)
    assert_each_close(got, want, size, rtol)


# ---- autodiff = closed form, over random cases and corner cases


@st.composite
def ln_cases(draw):
    n = draw(st.integers(1, 12))
    c = draw(st.integers(2, 24))
    rng, scale, eps = random_case(draw)
    gamma = gamma_some_zero(rng, c)
    x = rng.normal(size=(n, c)) * scale + rng.normal(size=(n, 1)) * scale  # each row its own offset
    return x, rng.normal(size=(n, c)), gamma, rng.normal(size=c), eps


@given(ln_cases())
def test_autodiff_equals_closed_form_random(case):
    assert_matches_closed_form(*case)


@pytest.mark.parametrize(
    "x",
    [
        np.array([[3.0, 3.0, 3.0], [1.0, 2.0, 4.0]]),  # a constant row: σ² = 0, x̂ = 0
        np.array([[1.0, -4.0], [2.0, 7.0], [0.0, 0.5]]),  # C = 2
        1e6 + np.random.default_rng(0).normal(size=(3, 16)) * 1e-2,  # huge offset, small noise
        np.array([[0.5, -1.0, 2.0, 8.0]]),  # a batch of one
    ],
    ids=["constant row", "C=2", "offset 1e6", "N=1"],
)
def test_autodiff_equals_closed_form_corner_cases(x):
    rng = np.random.default_rng(1)
    c = x.shape[1]
    assert_matches_closed_form(x, rng.normal(size=x.shape), rng.normal(size=c), rng.normal(size=c), 1e-5)


def test_closed_form_is_batchnorm_of_the_transpose():
    """The reference reuses BatchNorm's equations: check it against them written out for one row."""
    rng = np.random.default_rng(2)
    x, dy, gamma = rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), rng.normal(size=5)
    got = ref.layer_norm_backward(dy, x, gamma, 1e-3)
    row = 1  # BatchNorm over row 1's 5 values, as one feature with γ_k on entry k: ∂ℓ/∂x̂ = dy·γ
    one = ref.backward((dy[row] * gamma)[:, None], x[row][:, None], np.ones(1), 1e-3)
    assert_close(got["dx"][row], one["dx"].ravel())
    assert_close(got["dvar"][row], one["dvar"][0])
    x_hat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-3)  # NumPy's own
    assert_close(got["dgamma"], (dy * x_hat).sum(axis=0))  # ∂ℓ/∂γ⁽ᵏ⁾ = Σ over the rows


def test_gradient_identities_with_eps_zero():
    rng = np.random.default_rng(4)
    x, dy = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    got = autodiff(x, dy, np.ones(6), np.zeros(6), 0.0)
    x_hat = ref.layer_norm_forward(x, np.ones(6), np.zeros(6), 0.0)["x_hat"]
    assert_close(got["dx"].sum(axis=1), np.zeros(4), atol=1e-13)  # per row now: Σ_k ∂ℓ/∂x⁽ᵏ⁾ = 0
    assert_close((got["dx"] * x_hat).sum(axis=1), np.zeros(4), atol=1e-13)


# ---- against PyTorch: golden vectors always, live where torch is installed


@pytest.mark.parametrize("case", ["affine", "no_affine", "batch_of_1"])
def test_matches_pytorch_golden(case):
    g, want = GOLDEN["inputs"], GOLDEN[case]
    n = len(want["y"])
    x, dy = np.array(g["x"][:n]), np.array(g["dy"][:n])
    layer = make_layer(g["gamma"], g["beta"]) if case != "no_affine" else LayerNorm(3, elementwise_affine=False)
    xs = [[Value(v) for v in row] for row in x.tolist()]
    y = layer(xs)
    Value.dot([v for row in y for v in row], dy.ravel().tolist()).backward()
    assert_close([[v.data for v in row] for row in y], want["y"], **GOLDEN_TOL)
    assert_close([[v.grad for v in row] for row in xs], want["dx"], **GOLDEN_TOL)
    if "dgamma" in want:
        assert_close([w.grad for w in layer.weight], want["dgamma"], **GOLDEN_TOL)
        assert_close([b.grad for b in layer.bias], want["dbeta"], **GOLDEN_TOL)
        closed = ref.layer_norm_backward(dy, x, np.array(g["gamma"]), 1e-5)  # the reference, too
        assert_close(closed["dx"], want["dx"], **GOLDEN_TOL)
        assert_close(closed["dgamma"], want["dgamma"], **GOLDEN_TOL)


def test_matches_live_pytorch():
    torch = torch_or_skip()
    rng = np.random.default_rng(7)
    for n, c in [(5, 4), (1, 7), (3, 2)]:
        x, dy = rng.normal(size=(n, c)) * 3 + 1, rng.normal(size=(n, c))
        gamma, beta = rng.normal(size=c), rng.normal(size=c)
        theirs = torch.nn.LayerNorm(c).double()
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(gamma))
            theirs.bias.copy_(torch.tensor(beta))
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        (yt * torch.tensor(dy)).sum().backward()
        got = autodiff(x, dy, gamma, beta, 1e-5)
        assert_close(got["y"], yt.detach().numpy(), **GOLDEN_TOL)
        assert_close(got["dx"], xt.grad.numpy(), **GOLDEN_TOL)
        assert_close(got["dgamma"], theirs.weight.grad.numpy(), **GOLDEN_TOL)
        assert_close(got["dbeta"], theirs.bias.grad.numpy(), **GOLDEN_TOL)


# ---- the interface: torch's names, one Alg1Nodes per row, labels, train = eval


def test_names_and_state_follow_pytorch():
    layer = LayerNorm((3,))
    assert layer.normalized_shape == LayerNorm(3).normalized_shape == (3,)
    assert [w.data for w in layer.weight] == [1.0] * 3 and [b.data for b in layer.bias] == [0.0] * 3
    assert layer.parameters() == layer.weight + layer.bias
    assert repr(layer) == "LayerNorm((3,), eps=1e-05, elementwise_affine=True)"
    bare = LayerNorm(3, elementwise_affine=False)
    assert bare.weight is None and bare.bias is None and bare.parameters() == []
    assert not hasattr(layer, "running_mean")


def test_last_holds_one_alg1_graph_per_row():
    layer = LayerNorm(3)
    y = layer([[1.0, 2.0, 4.0], [0.0, -1.0, 1.0]])
    assert len(layer.last) == 2
    n = layer.last[1]
    assert [len(getattr(n, f)) for f in ("x", "deviation", "x_hat", "y")] == [3, 3, 3, 3]
    assert n.y == y[1]
    assert n.mean.data == 0.0 and n.var.data == pytest.approx(2 / 3)
    assert n.std.data == pytest.approx(math.sqrt(2 / 3 + 1e-5))


def test_labels_carry_the_example_and_the_feature():
    layer = LayerNorm(3)
    layer([[1.0, 2.0, 4.0], [0.0, -1.0, 1.0]])
    n = layer.last[1]
    stats = (n.mean, n.mean.inputs[0], n.var, n.var.inputs[0], n.std.inputs[0], n.std)
    assert [v.label for v in stats] == ["μ₂", "Σx₂⁽ᵏ⁾", "σ²₂", "Σ(x₂⁽ᵏ⁾−μ₂)²", "σ²₂+ε", "√(σ²₂+ε)"]
    entry = (n.deviation[2], n.var.inputs[0].inputs[2], n.x_hat[2], n.y[2].inputs[0], n.y[2])
    assert [v.label for v in entry] == ["x₂⁽²⁾−μ₂", "(x₂⁽²⁾−μ₂)²", "x̂₂⁽²⁾", "γ⁽²⁾x̂₂⁽²⁾", "y₂⁽²⁾"]
    assert [w.label for w in layer.weight] == ["γ⁽⁰⁾", "γ⁽¹⁾", "γ⁽²⁾"]


def test_same_in_training_and_eval():
    x = [[1.0, 2.0, 4.0], [0.0, -1.0, 1.0]]
    layer = LayerNorm(3)
    train = [[v.data for v in row] for row in layer(x)]
    assert [[v.data for v in row] for row in layer.eval()(x)] == train


def test_each_row_is_normalized_on_its_own():
    """Unlike BatchNorm, a row's output does not depend on the other rows of the batch."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5))
    layer = LayerNorm(5)
    alone = [v.data for v in layer([x[2].tolist()])[0]]
    assert [v.data for v in layer(x.tolist())[2]] == alone


def test_graph_groups_draw_without_overlap():
    layer = LayerNorm(2)
    y = layer([[1.0, 2.0], [0.0, 4.0]])
    loss = Value.dot([v for row in y for v in row], [0.3, -1.0, 0.5, 2.0])
    groups = layer.graph_groups()
    assert len(groups) == 2 * 4 + 1 and groups["γ⁽ᵏ⁾, β⁽ᵏ⁾: one per feature, for every example"] == [
        *layer.weight,
        *layer.bias,
    ]
    assert "Alg. 1 line 2: example variance σ²₂" in draw(loss, groups=groups).source
    with pytest.raises(ValueError, match="graph yet"):
        LayerNorm(2).graph_groups()


def test_mlp_with_layernorm_trains():
    rng = random.Random(0)
    x = [[rng.gauss(0, 1), rng.gauss(0, 1)] for _ in range(8)]
    target = [[a * b] for a, b in x]
    net = MLP([2, 6, 6, 1], norm=LayerNorm, seed=0)
    assert sum(isinstance(layer, LayerNorm) for layer in net.layers) == 2
    opt = SGD(net.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        loss = mse_loss(net(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    assert losses[-1] < 0.7 * losses[0]


# ---- bad input: one clear line


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"normalized_shape": 1}, "C ≥ 2"),
        ({"normalized_shape": 0}, "C ≥ 2"),
        ({"normalized_shape": (2, 3)}, "only the last axis"),
        ({"normalized_shape": True}, "normalized_shape"),
        ({"normalized_shape": "3"}, "normalized_shape"),
        ({"normalized_shape": 3, "eps": -1e-5}, "eps"),
        ({"normalized_shape": 3, "eps": float("nan")}, "eps"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        LayerNorm(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([], "non-empty batch"),
        ([[1.0, 2.0, 3.0], [3.0, 4.0]], r"row 1 has 2 entries; expected 3"),
        ([1.0, 2.0, 3.0], r"expects shape \(N, 3\)"),
        ([[1.0, "a", 2.0]], "finite real numbers, got str"),
        ([[1.0, float("nan"), 2.0]], "finite real numbers"),
        ([[1.0, [2.0], 3.0]], "finite real numbers, got list"),
        ([[1.0, 2.0, 3.0], [Value(1e308) * 10 - Value(1e308) * 10, 0.0, 1.0]], r"example 2 \(row 1\).*not finite"),
    ],
)
def test_bad_batches_fail_in_one_line(batch, message):
    layer = LayerNorm(3)
    with pytest.raises(ValueError, match=message) as err:
        layer(batch)
    assert "\n" not in str(err.value) and layer.last == []


def test_constant_row_with_eps_zero_says_so():
    with pytest.raises(ValueError, match=r"example 1 \(row 0\): σ²₁ \+ ε = 0.*eps > 0"):
        LayerNorm(3, eps=0.0)([[2.0, 2.0, 2.0]])
