"""GroupNorm: the same Alg. 1 code over each example's group of channels; autodiff = closed form = PyTorch."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import zoo_norms
from helpers import RTOL_EXACT, assert_close, assert_each_close, gamma_some_zero, random_case, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from micrograd_bn import MLP, SGD, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm, Value, draw, mse_loss
from micrograd_bn import reference as ref
from micrograd_bn.compare import term_scales

GOLDEN = json.loads((Path(__file__).parent / "golden" / "groupnorm.json").read_text())
GOLDEN_TOL = {"rtol": 1e-12, "atol": 1e-14}  # implementations agree to ~1e-16, not bit for bit
GOLDEN_CASES = [k for k in GOLDEN if k != "torch_version"]


def make_layer(groups: int, gamma, beta, **kwargs) -> GroupNorm:
    layer = GroupNorm(groups, len(gamma), **kwargs)
    for w, b, g, bb in zip(layer.weight, layer.bias, gamma, beta):
        w.data, b.data = float(g), float(bb)
    return layer


def values(a: list | float) -> list | Value:
    """Nested lists of numbers → the same of Values (leaves to read ∂ℓ/∂x from)."""
    return [values(v) for v in a] if isinstance(a, list) else Value(a)


def flat(a: list | Value) -> list[Value]:
    return [u for v in a for u in flat(v)] if isinstance(a, list) else [a]


def run(layer: GroupNorm, x: np.ndarray, dy: np.ndarray) -> tuple[list[Value], list[Value]]:
    """Forward x (as Values), ℓ = Σ y·dy, backward: the flat inputs and outputs, in x's C order."""
    xs = values(x.tolist())
    y = layer(xs)
    Value.dot(flat(y), dy.ravel().tolist()).backward()
    return flat(xs), flat(y)


def autodiff(x: np.ndarray, dy: np.ndarray, gamma, beta, eps: float, groups: int) -> dict[str, np.ndarray]:
    """Each gradient read off its labelled node (one Alg1Nodes per example and group, last[n·G + g])."""
    layer = make_layer(groups, gamma, beta, eps=eps)
    xs, ys = run(layer, x, dy)
    stats = (x.shape[0], groups)
    # last[n·G + g].x_hat holds group g's channels then positions: channel-major, as x's (N, C, ...) order
    x_hat_grads = [v.grad for n in layer.last for v in n.x_hat]
    return {
        "y": np.array([v.data for v in ys]).reshape(x.shape),
        "dx": np.array([v.grad for v in xs]).reshape(x.shape),
        "dx_hat": np.array(x_hat_grads).reshape(x.shape),
        "dvar": np.array([n.var.grad for n in layer.last]).reshape(stats),
        "dmean": np.array([n.mean.grad for n in layer.last]).reshape(stats),
        "dgamma": np.array([g.grad for g in layer.weight]),
        "dbeta": np.array([b.grad for b in layer.bias]),
    }


def scales(x, dy, gamma, beta, eps, groups) -> dict[str, float]:
    """The size of the terms each quantity sums: BatchNorm's on the groups (with ∂ℓ/∂x̂ = dy·γ_k as dy), and
    Σ over examples and positions for γ, β."""
    dx_hat = dy * ref._per_channel(gamma, x)
    with np.errstate(divide="ignore", invalid="ignore"):  # m = 1 (G = C on (N, C)): its running_var term is 0/0
        out = term_scales(ref._groups(x, groups), ref._groups(dx_hat, groups), np.ones(1), np.zeros(1), eps)
    x_hat = ref.group_norm_forward(x, np.ones(x.shape[1]), np.zeros(x.shape[1]), eps, groups)["x_hat"]
    axes = (0, *range(2, x.ndim))
    return out | {
        "y": float(np.abs(ref._per_channel(gamma, x) * x_hat).max() + np.abs(beta).max()),
        "dgamma": float(np.abs(dy * x_hat).sum(axis=axes).max()),
        "dbeta": float(np.abs(dy).sum(axis=axes).max()),
    }


def assert_matches_closed_form(x, dy, gamma, beta, eps, groups, closed=ref.group_norm_backward, rtol=RTOL_EXACT):
    got = autodiff(x, dy, gamma, beta, eps, groups)
    want = {**closed(dy, x, gamma, eps, groups), "y": ref.group_norm_forward(x, gamma, beta, eps, groups)["y"]}
    size = scales(x, dy, gamma, beta, eps, groups)
    assert_each_close(got, want, size, rtol)


# ---- autodiff = closed form, over random cases and corner cases


@st.composite
def gn_cases(draw):
    n = draw(st.integers(1, 4))
    groups = draw(st.integers(1, 4))
    c = groups * draw(st.integers(1, 3))
    spatial = draw(st.sampled_from([(), (1, 2), (2, 2), (3, 1), (2, 3)]))
    if not spatial and c == groups:  # one value per group on (N, C): x − μ = 0; allowed, kept rare
        c *= 2
    rng, scale, eps = random_case(draw)
    shape = (n, c, *spatial)
    gamma = gamma_some_zero(rng, c)
    x = (rng.normal(size=shape) + rng.normal(size=(n, c) + (1,) * len(spatial))) * scale  # channels offset apart
    return x, rng.normal(size=shape), gamma, rng.normal(size=c), eps, groups


@given(gn_cases())
def test_autodiff_equals_closed_form_random(case):
    assert_matches_closed_form(*case)


@pytest.mark.parametrize(
    ("x", "groups"),
    [
        (np.array([[3.0, 3.0, 1.0, 2.0], [1.0, 2.0, 4.0, 0.0]]), 2),  # a constant group: σ² = 0, x̂ = 0
        (np.array([[1.0, -4.0, 0.5, 2.0]]), 4),  # one value per group: x̂ = 0, y = β
        (1e6 + np.random.default_rng(0).normal(size=(2, 4, 2, 2)) * 1e-2, 2),  # huge offset, small noise
        (np.random.default_rng(1).normal(size=(1, 6, 1, 3)), 3),  # a batch of one
    ],
    ids=["constant group", "G=C on (N, C)", "offset 1e6", "N=1"],
)
def test_autodiff_equals_closed_form_corner_cases(x, groups):
    rng = np.random.default_rng(1)
    c = x.shape[1]
    assert_matches_closed_form(x, rng.normal(size=x.shape), rng.normal(size=c), rng.normal(size=c), 1e-5, groups)


def test_closed_form_is_batchnorm_of_one_group():
    """The reference reuses BatchNorm's equations: check one group against them written out."""
    rng = np.random.default_rng(2)
    x, dy, gamma = rng.normal(size=(3, 6, 2, 2)), rng.normal(size=(3, 6, 2, 2)), rng.normal(size=6)
    got = ref.group_norm_backward(dy, x, gamma, 1e-3, 3)
    n, g = 1, 2  # example 1's group 2: channels 4 and 5, 8 values
    xs, dx_hat = x[n, 4:6].ravel(), (dy[n, 4:6] * gamma[4:6, None, None]).ravel()
    one = ref.backward(dx_hat[:, None], xs[:, None], np.ones(1), 1e-3)  # γ = 1 on ∂ℓ/∂x̂ as dy
    assert_close(got["dx"][n, 4:6].ravel(), one["dx"].ravel())
    assert_close(got["dvar"][n, g], one["dvar"][0])
    assert_close(got["dmean"][n, g], one["dmean"][0])


@pytest.mark.parametrize("name", list(zoo_norms.GROUPNORM_WRONG))
def test_a_wrong_closed_form_is_caught(name):
    """The comparison can fail: each wrong derivation of the zoo disagrees with autodiff (on a case where it shows)."""
    rng = np.random.default_rng(3)
    x, dy, gamma, beta = rng.normal(size=(3, 4, 2, 2)), rng.normal(size=(3, 4, 2, 2)), rng.normal(size=4), np.zeros(4)
    wrong = zoo_norms.GROUPNORM_WRONG[name].backward
    with pytest.raises(AssertionError):
        assert_matches_closed_form(x, dy, gamma, beta, 1e-5, 2, closed=wrong)


# ---- Wu & He, Sec. 3.1: G = 1 is LayerNorm over (C, H, W), G = C is InstanceNorm


def test_one_group_is_layernorm_over_all_channels_and_positions():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2, 2, 3))  # LayerNorm(12) on each example flattened
    gn = GroupNorm(1, 2, affine=False)(x.tolist())
    ln = LayerNorm(12, elementwise_affine=False)(x.reshape(3, 12).tolist())
    assert_close(np.array([v.data for v in flat(gn)]), np.array([v.data for v in flat(ln)]), rtol=1e-15)
    gn2, ln2 = GroupNorm(1, 5), LayerNorm(5)  # and on (N, C), with γ, β: exactly LayerNorm
    x2 = rng.normal(size=(4, 5))
    assert [v.data for v in flat(gn2(x2.tolist()))] == [v.data for v in flat(ln2(x2.tolist()))]


def test_one_group_per_channel_is_instance_norm():
    """InstanceNorm: each example's channel over its H·W positions, i.e. BatchNorm2d on a batch of that one example."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 2, 2))
    gn = GroupNorm(3, 3)(x.tolist())
    for n in range(2):
        bn = BatchNorm2d(3, track_running_stats=False)([x[n].tolist()])
        assert_close(np.array([v.data for v in flat(gn[n])]), np.array([v.data for v in flat(bn)]), rtol=1e-15)
    nodes = GroupNorm(3, 3)
    nodes(x.tolist())
    assert [len(n.x) for n in nodes.last] == [4] * 6 and nodes.last[4].mean.label == "μ₂⁽ᵍ¹⁾"


# ---- the zoo: the right derivations equal the reference; each wrong one goes wrong first where it says


@pytest.mark.parametrize("shape", [(3, 6), (2, 6, 2, 3), (1, 4, 3, 1)])
def test_zoo_right_groupnorm_equals_the_reference(shape):
    rng = np.random.default_rng(6)
    x, dy, gamma = rng.normal(size=shape) + 1, rng.normal(size=shape), rng.normal(size=shape[1])
    for groups in (1, 2, shape[1]):
        want = ref.group_norm_backward(dy, x, gamma, 1e-3, groups)
        got = zoo_norms.groupnorm_backward(dy, x, gamma, 1e-3, groups)
        assert list(got) == list(zoo_norms.GROUPNORM_KEYS)
        for key in zoo_norms.GROUPNORM_KEYS:
            assert_close(got[key], want[key], rtol=1e-12)


@pytest.mark.parametrize("name", list(zoo_norms.GROUPNORM_WRONG))
def test_zoo_wrong_groupnorm_goes_wrong_first_where_tagged(name):
    wrong = zoo_norms.GROUPNORM_WRONG[name]
    rng = np.random.default_rng(7)
    x, dy, gamma = rng.normal(size=(3, 4, 2, 2)) + 1, rng.normal(size=(3, 4, 2, 2)), rng.normal(size=4)
    right = ref.group_norm_backward(dy, x, gamma, 1e-3, 2)
    assert (
        zoo_norms.first_wrong(wrong.backward(dy, x, gamma, 1e-3, 2), right, zoo_norms.GROUPNORM_KEYS)
        == wrong.first_wrong
    )
    assert wrong.cause and wrong.shows_when


def test_zoo_slips_that_need_positions_pass_on_n_c():
    """What `shows_when` says: on (N, C), m = C/G is right and axis 0 is all there is, so those slips hide."""
    rng = np.random.default_rng(8)
    x, dy, gamma = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), rng.normal(size=6)
    right = ref.group_norm_backward(dy, x, gamma, 1e-3, 3)
    for name in ("m = C/G: the positions forgotten", "∂ℓ/∂γ, ∂ℓ/∂β summed over the examples only"):
        answer = zoo_norms.GROUPNORM_WRONG[name].backward(dy, x, gamma, 1e-3, 3)
        assert zoo_norms.first_wrong(answer, right, zoo_norms.GROUPNORM_KEYS) is None, name


# ---- against PyTorch: golden vectors always, live where torch is installed


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_matches_pytorch_golden(case):
    want = GOLDEN[case]
    x, dy, groups, eps = np.array(want["x"]), np.array(want["dy"]), want["num_groups"], want["eps"]
    c = x.shape[1]
    if want["affine"]:
        layer = make_layer(groups, want["gamma"], want["beta"], eps=eps)
    else:
        layer = GroupNorm(groups, c, eps=eps, affine=False)
    xs, ys = run(layer, x, dy)
    assert_close([v.data for v in ys], np.ravel(want["y"]), **GOLDEN_TOL)
    assert_close([v.grad for v in xs], np.ravel(want["dx"]), **GOLDEN_TOL)
    gamma = np.array(want["gamma"]) if want["affine"] else np.ones(c)
    closed = ref.group_norm_backward(dy, x, gamma, eps, groups)  # the reference, too
    assert_close(closed["dx"], want["dx"], **GOLDEN_TOL)
    if want["affine"]:
        assert_close([w.grad for w in layer.weight], want["dgamma"], **GOLDEN_TOL)
        assert_close([b.grad for b in layer.bias], want["dbeta"], **GOLDEN_TOL)
        assert_close(closed["dgamma"], want["dgamma"], **GOLDEN_TOL)
        assert_close(closed["dbeta"], want["dbeta"], **GOLDEN_TOL)


def test_golden_covers_the_cases_that_matter():
    shapes = {k: np.array(GOLDEN[k]["x"]).shape for k in GOLDEN_CASES}
    assert {len(s) for s in shapes.values()} == {2, 4}
    groups = {(GOLDEN[k]["num_groups"], shapes[k][1]) for k in GOLDEN_CASES}
    assert any(g == 1 for g, _ in groups) and any(g == c for g, c in groups) and any(1 < g < c for g, c in groups)
    assert any(not GOLDEN[k]["affine"] for k in GOLDEN_CASES)


def test_matches_live_pytorch():
    torch = torch_or_skip()
    rng = np.random.default_rng(9)
    for shape, groups in [((3, 6), 2), ((2, 6, 2, 3), 3), ((1, 4, 1, 2), 1), ((2, 3, 2, 2), 3)]:
        c = shape[1]
        x, dy = rng.normal(size=shape) * 3 + 1, rng.normal(size=shape)
        gamma, beta = rng.normal(size=c), rng.normal(size=c)
        theirs = torch.nn.GroupNorm(groups, c).double()
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(gamma))
            theirs.bias.copy_(torch.tensor(beta))
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        (yt * torch.tensor(dy)).sum().backward()
        got = autodiff(x, dy, gamma, beta, 1e-5, groups)
        assert_close(got["y"], yt.detach().numpy(), **GOLDEN_TOL)
        assert_close(got["dx"], xt.grad.numpy(), **GOLDEN_TOL)
        assert_close(got["dgamma"], theirs.weight.grad.numpy(), **GOLDEN_TOL)
        assert_close(got["dbeta"], theirs.bias.grad.numpy(), **GOLDEN_TOL)


# ---- the interface: torch's names, one Alg1Nodes per example and group, labels, train = eval


def test_names_and_state_follow_pytorch():
    layer = GroupNorm(2, 4)
    assert (layer.num_groups, layer.num_channels, layer.eps, layer.affine) == (2, 4, 1e-5, True)
    assert [w.data for w in layer.weight] == [1.0] * 4 and [b.data for b in layer.bias] == [0.0] * 4
    assert layer.parameters() == layer.weight + layer.bias
    assert repr(layer) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    bare = GroupNorm(1, 3, affine=False)
    assert bare.weight is None and bare.bias is None and bare.parameters() == []
    assert not hasattr(layer, "running_mean")


def test_shapes_come_back_as_they_went_in():
    layer = GroupNorm(2, 4)
    y = layer([[[[1.0, 2.0, 3.0], [0.0, 1.0, 5.0]]] * 2 + [[[2.0, 2.0, 1.0], [4.0, 0.0, 1.0]]] * 2])
    assert len(y) == 1 and len(y[0]) == 4 and all(len(p) == 2 and all(len(r) == 3 for r in p) for p in y[0])
    assert len(layer.last) == 2 and [len(n.x) for n in layer.last] == [12, 12]  # m = (C/G)·H·W = 2·6
    assert [len(row) for row in layer([[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 1.0]])] == [4, 4]


def test_labels_carry_example_group_channel_and_position():
    layer = GroupNorm(2, 4)
    y = layer(
        [[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [5.0, 2.0]], [[1.0, 1.0], [2.0, 0.0]], [[3.0, 1.0], [2.0, 2.0]]]] * 2
    )
    n = layer.last[3]  # example 2, group 1: channels 2 and 3
    stats = (n.mean, n.sum_x, n.var, n.sum_squares, n.var_eps, n.std)
    assert [v.label for v in stats] == [
        "μ₂⁽ᵍ¹⁾",
        "Σx₂,ₚ⁽ᵏ∈ᵍ¹⁾",
        "σ²₂⁽ᵍ¹⁾",
        "Σ(x₂,ₚ⁽ᵏ∈ᵍ¹⁾−μ₂⁽ᵍ¹⁾)²",
        "σ²₂⁽ᵍ¹⁾+ε",
        "√(σ²₂⁽ᵍ¹⁾+ε)",
    ]
    # entry 6 of the group: channel 3, position 3 (row 1, column 0 of the 2 × 2 plane)
    entry = (n.deviation[6], n.square[6], n.x_hat[6], n.y[6].inputs[0], n.y[6])
    assert [v.label for v in entry] == ["x₂,₃⁽³⁾−μ₂⁽ᵍ¹⁾", "(x₂,₃⁽³⁾−μ₂⁽ᵍ¹⁾)²", "x̂₂,₃⁽³⁾", "γ⁽³⁾x̂₂,₃⁽³⁾", "y₂,₃⁽³⁾"]
    assert y[1][3][1][0] is n.y[6]
    assert [v.label for v in GroupNorm(2, 4)([[1.0, 2.0, 4.0, 8.0]])[0]] == ["y₁⁽⁰⁾", "y₁⁽¹⁾", "y₁⁽²⁾", "y₁⁽³⁾"]


def test_each_entry_gets_its_own_channels_gamma_and_beta():
    layer = make_layer(1, [2.0, -1.0], [0.5, 3.0])
    layer([[1.0, 3.0]])
    n = layer.last[0]
    assert [s.inputs[0] for s in n.scaled] == layer.weight and [y.inputs[1] for y in n.y] == layer.bias


def test_same_in_training_and_eval_and_examples_on_their_own():
    x = np.random.default_rng(3).normal(size=(4, 6, 1, 2))
    layer = GroupNorm(3, 6)
    train = [v.data for v in flat(layer(x.tolist()))]
    assert [v.data for v in flat(layer.eval()(x.tolist()))] == train
    assert [v.data for v in flat(layer([x[2].tolist()]))] == train[2 * 12 : 3 * 12]


def test_graph_groups_draw_without_overlap():
    layer = GroupNorm(2, 4)
    y = layer([[1.0, 2.0, 0.0, 4.0], [3.0, 1.0, 1.0, 2.0]])
    loss = Value.dot(flat(y), [0.3, -1.0, 0.5, 2.0, 0.1, 0.2, -0.4, 1.5])
    groups = layer.graph_groups()
    assert len(groups) == 2 * 2 * 4 + 1
    assert groups["γ⁽ᵏ⁾, β⁽ᵏ⁾: one per channel, for every example"] == [*layer.weight, *layer.bias]
    nodes = [id(v) for members in groups.values() for v in members]
    assert len(nodes) == len(set(nodes))
    assert "Alg. 1 line 2: group variance σ²₂⁽ᵍ¹⁾" in draw(loss, groups=groups).source
    with pytest.raises(ValueError, match="graph yet"):
        GroupNorm(2, 4).graph_groups()


@pytest.mark.parametrize("norm", [RMSNorm, lambda width: GroupNorm(2, width)], ids=["RMSNorm", "GroupNorm(2, C)"])
def test_an_mlp_with_the_new_norms_trains(norm):
    """RMSNorm and GroupNorm stand where MLP puts a norm (Linear → norm → tanh) and the loss falls."""
    rng = random.Random(0)
    x = [[rng.gauss(0, 1), rng.gauss(0, 1)] for _ in range(8)]
    net = MLP([2, 6, 6, 1], norm=norm, seed=0)
    opt = SGD(net.parameters(), lr=0.1)

    def step() -> float:
        loss = mse_loss(net(x), [[a * b] for a, b in x])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.data

    losses = [step() for _ in range(30)]
    assert losses[-1] < 0.7 * losses[0] and sum(type(m).__name__.endswith("Norm") for m in net.layers) == 2


# ---- bad input: one clear line


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((3, 4), {}, "num_channels must be divisible by num_groups, got 4 channels in 3 groups"),
        ((0, 4), {}, "num_groups must be a positive int, got 0"),
        ((2, 0), {}, "num_channels must be a positive int"),
        ((True, 4), {}, "num_groups must be a positive int"),
        ((2, 4.0), {}, "num_channels must be a positive int"),
        ((2, 4), {"eps": -1.0}, "eps"),
        ((2, 4), {"eps": float("inf")}, "eps"),
    ],
)
def test_bad_arguments(args, kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        GroupNorm(*args, **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([], "non-empty batch"),
        ([[1.0, 2.0, 3.0]], r"GroupNorm\(2, 4\) expects shape \(N, 4\) or \(N, 4, H, W\): row 0 has 3 entries"),
        ([[1.0, "a", 2.0, 0.0]], "finite real numbers, got str"),
        ([[[[1.0]], [[2.0]], [[3.0]]]], r"expects shape \(N, 4, H, W\): row 0 has 3 entries"),
        ([[[[1.0, 2.0]], [[2.0]], [[3.0, 1.0]], [[0.0, 1.0]]]], r"sample 0, channel 1 must be 1 × 2"),
        (
            [[[[1.0, 2.0]], [[2.0, 1.0], [0.0, 0.0]], [[3.0, 1.0]], [[0.0, 1.0]]]],
            r"channel 1 has 2 rows, expected H = 1",
        ),
        ([[[[1.0, None]], [[2.0, 1.0]], [[3.0, 1.0]], [[0.0, 1.0]]]], "GroupNorm: entries must be Values"),
        ([[1.0, 2.0, 3.0, Value(1e308) * 10 - Value(1e308) * 10]], r"example 1 \(row 0\), group 1: μ₁⁽ᵍ¹⁾ = nan"),
    ],
)
def test_bad_batches_fail_in_one_line(batch, message):
    layer = GroupNorm(2, 4)
    with pytest.raises(ValueError, match=message) as err:
        layer(batch)
    assert "\n" not in str(err.value) and layer.last == []


def test_constant_group_with_eps_zero_says_so():
    with pytest.raises(ValueError, match=r"example 1 \(row 0\), group 0: σ²₁⁽ᵍ⁰⁾ \+ ε = 0.*eps > 0"):
        GroupNorm(2, 4, eps=0.0)([[2.0, 2.0, 1.0, 3.0]])
