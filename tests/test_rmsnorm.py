"""RMSNorm: Alg. 1 without line 1 over each example's features; autodiff = closed form = PyTorch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import zoo_norms
from helpers import RTOL_EXACT, assert_close, assert_each_close, gamma_some_zero, random_case, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from micrograd_bn import LayerNorm, RMSNorm, Value, draw
from micrograd_bn import reference as ref

GOLDEN = json.loads((Path(__file__).parent / "golden" / "rmsnorm.json").read_text())
GOLDEN_TOL = {"rtol": 1e-12, "atol": 1e-14}  # implementations agree to ~1e-16, not bit for bit
TORCH_EPS = sys.float_info.epsilon  # eps=None: torch.finfo(torch.float64).eps


def make_layer(gamma, **kwargs) -> RMSNorm:
    layer = RMSNorm(len(gamma), **kwargs)
    for w, g in zip(layer.weight, gamma):
        w.data = float(g)
    return layer


def autodiff(x: np.ndarray, dy: np.ndarray, gamma, eps: float | None) -> dict[str, np.ndarray]:
    """Forward on Values, ℓ = Σ y·dy, backward; each gradient read off its labelled node (one Alg1Nodes per row)."""
    layer = make_layer(gamma, eps=eps)
    xs = [[Value(float(v)) for v in row] for row in x]
    y = layer(xs)
    Value.dot([v for row in y for v in row], dy.ravel().tolist()).backward()
    return {
        "y": np.array([[v.data for v in row] for row in y]),
        "dx": np.array([[v.grad for v in row] for row in xs]),
        "dx_hat": np.array([[v.grad for v in n.x_hat] for n in layer.last]),
        "dms": np.array([n.var.grad for n in layer.last]),  # RMSNorm's statistic sits in `var`: RMS²ₙ
        "dgamma": np.array([g.grad for g in layer.weight]),
    }


def scales(x, dy, gamma, eps) -> dict[str, float]:
    """The size of the terms each quantity sums (rms_norm_terms with every factor made positive), and y's."""
    terms = ref.rms_norm_terms(dy, x, gamma, eps, absolute=True)
    sizes = {key: float(np.max(sum(ts[1:], ts[0]))) for key, ts in terms.items()}
    return sizes | {"y": float(np.max(np.abs(ref.rms_norm_forward(x, gamma, eps)["y"])))}


def assert_matches_closed_form(x, dy, gamma, eps, closed=ref.rms_norm_backward, rtol=RTOL_EXACT):
    eps_used = TORCH_EPS if eps is None else eps
    got = autodiff(x, dy, gamma, eps)
    want = {**closed(dy, x, gamma, eps_used), "y": ref.rms_norm_forward(x, gamma, eps_used)["y"]}
    size = scales(x, dy, gamma, eps_used)
    assert_each_close(got, want, size, rtol)


# ---- autodiff = closed form, over random cases and corner cases


@st.composite
def rms_cases(draw):
    n = draw(st.integers(1, 10))
    c = draw(st.integers(1, 20))
    rng, scale, eps = random_case(draw, eps=st.one_of(st.none(), st.floats(-8, 0).map(lambda p: 10.0**p)))
    gamma = gamma_some_zero(rng, c)
    x = (rng.normal(size=(n, c)) + rng.normal(size=(n, 1))) * scale  # each row its own offset: no μ to remove it
    return x, rng.normal(size=(n, c)), gamma, eps


@given(rms_cases())
def test_autodiff_equals_closed_form_random(case):
    assert_matches_closed_form(*case)


@pytest.mark.parametrize(
    ("x", "eps"),
    [
        (np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 4.0]]), 1e-5),  # a zero row: RMS² = 0, x̂ = 0
        (np.array([[3.0], [-0.5], [2.0]]), 1e-5),  # C = 1: y = γ·x/√(x² + ε)
        (1e6 + np.random.default_rng(0).normal(size=(3, 16)) * 1e-2, None),  # far from 0: x̂ ≈ 1 everywhere
        (np.array([[0.5, -1.0, 2.0, 8.0]]), None),  # a batch of one
        (np.array([[1e-9, -2e-9, 3e-9]]), 1.0),  # ε ≫ RMS²: nearly y = γx/√ε
    ],
    ids=["zero row", "C=1", "offset 1e6", "N=1", "eps dominates"],
)
def test_autodiff_equals_closed_form_corner_cases(x, eps):
    rng = np.random.default_rng(1)
    assert_matches_closed_form(x, rng.normal(size=x.shape), rng.normal(size=x.shape[1]), eps)


def test_closed_form_written_out_for_one_row():
    """rms_norm_backward against the derivative written entry by entry: ∂x̂_k/∂x_j = (δ_jk − x̂_j x̂_k / C)/√(ms+ε)."""
    rng = np.random.default_rng(2)
    x, dy, gamma, eps = rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), rng.normal(size=5), 1e-3
    got = ref.rms_norm_backward(dy, x, gamma, eps)
    row = x[1]
    r = np.sqrt((row**2).mean() + eps)
    x_hat = row / r
    jacobian = (np.eye(5) - np.outer(x_hat, x_hat) / 5) / r  # [j, k] = ∂x̂_k/∂x_j
    assert_close(got["dx"][1], jacobian @ (dy[1] * gamma))
    assert_close(got["dgamma"], (dy * x / np.sqrt((x**2).mean(axis=1, keepdims=True) + eps)).sum(axis=0))


@pytest.mark.parametrize("name", list(zoo_norms.RMSNORM_WRONG))
def test_a_wrong_closed_form_is_caught(name):
    """The comparison can fail: each wrong derivation of the zoo disagrees with autodiff."""
    rng = np.random.default_rng(3)
    x, dy, gamma = rng.normal(size=(4, 3)) + 0.5, rng.normal(size=(4, 3)), rng.normal(size=3)
    wrong = zoo_norms.RMSNORM_WRONG[name].backward
    with pytest.raises(AssertionError):
        assert_matches_closed_form(x, dy, gamma, 0.5, closed=wrong)


@pytest.mark.parametrize("eps", [None, 1e-5, 1.0])
def test_zoo_right_rmsnorm_equals_the_reference(eps):
    rng = np.random.default_rng(6)
    eps_used = TORCH_EPS if eps is None else eps
    for shape in [(4, 3), (1, 7), (3, 1)]:
        x, dy, gamma = rng.normal(size=shape) + 1, rng.normal(size=shape), rng.normal(size=shape[1])
        got, want = zoo_norms.rmsnorm_backward(dy, x, gamma, eps_used), ref.rms_norm_backward(dy, x, gamma, eps_used)
        assert list(got) == list(zoo_norms.RMSNORM_KEYS)
        for key in zoo_norms.RMSNORM_KEYS:
            assert_close(got[key], want[key], rtol=1e-12)


@pytest.mark.parametrize("name", list(zoo_norms.RMSNORM_WRONG))
def test_zoo_wrong_rmsnorm_goes_wrong_first_where_tagged(name):
    wrong = zoo_norms.RMSNORM_WRONG[name]
    rng = np.random.default_rng(7)
    x, dy, gamma = rng.normal(size=(4, 3)) + 1, rng.normal(size=(4, 3)), rng.normal(size=3)
    right = ref.rms_norm_backward(dy, x, gamma, 1.0)
    assert zoo_norms.first_wrong(wrong.backward(dy, x, gamma, 1.0), right, zoo_norms.RMSNORM_KEYS) == wrong.first_wrong
    assert wrong.cause and wrong.shows_when


def test_rescaling_invariance():
    """Zhang & Sennrich, Sec. 4: RMSNorm(a·x) = RMSNorm(x) for a > 0 (exact with ε = 0), and ∂ℓ/∂x scales by 1/a."""
    rng = np.random.default_rng(4)
    x, dy, gamma = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=4)
    one, scaled = autodiff(x, dy, gamma, 0.0), autodiff(7.0 * x, dy, gamma, 0.0)
    assert_close(scaled["y"], one["y"], rtol=1e-14)
    assert_close(scaled["dx"], one["dx"] / 7.0, rtol=1e-13)


def test_is_layernorm_on_rows_of_mean_zero():
    """Without μ to subtract, RMS² is σ² when a row's mean is 0: then RMSNorm and LayerNorm (β = 0) agree."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6))
    x -= x.mean(axis=1, keepdims=True)
    ln, rms = LayerNorm(6, eps=1e-5), RMSNorm(6, eps=1e-5)
    assert_close([[v.data for v in row] for row in rms(x.tolist())], [[v.data for v in row] for row in ln(x.tolist())])


# ---- against PyTorch: golden vectors always, live where torch is installed

GOLDEN_CASES = [k for k in GOLDEN if k != "torch_version"]


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_matches_pytorch_golden(case):
    want = GOLDEN[case]
    x, dy = np.array(want["x"]), np.array(want["dy"])
    c = x.shape[1]
    affine = want["elementwise_affine"]
    layer = (
        make_layer(want["gamma"][:c], eps=want["eps"])
        if affine
        else RMSNorm(c, eps=want["eps"], elementwise_affine=False)
    )
    xs = [[Value(v) for v in row] for row in x.tolist()]
    y = layer(xs)
    Value.dot([v for row in y for v in row], dy.ravel().tolist()).backward()
    assert_close([[v.data for v in row] for row in y], want["y"], **GOLDEN_TOL)
    assert_close([[v.grad for v in row] for row in xs], want["dx"], **GOLDEN_TOL)
    eps = TORCH_EPS if want["eps"] is None else want["eps"]
    gamma = np.array(want["gamma"][:c]) if affine else np.ones(c)
    closed = ref.rms_norm_backward(dy, x, gamma, eps)  # the reference, too
    assert_close(closed["dx"], want["dx"], **GOLDEN_TOL)
    if affine:
        assert_close([w.grad for w in layer.weight], want["dgamma"], **GOLDEN_TOL)
        assert_close(closed["dgamma"], want["dgamma"], **GOLDEN_TOL)


def test_golden_covers_the_cases_that_matter():
    assert {GOLDEN[k]["eps"] for k in GOLDEN_CASES} == {None, 1e-5}
    assert {np.array(GOLDEN[k]["x"]).shape[1] for k in GOLDEN_CASES} >= {1, 3, 8}
    assert any(not GOLDEN[k]["elementwise_affine"] for k in GOLDEN_CASES)


def test_matches_live_pytorch():
    torch = torch_or_skip()
    rng = np.random.default_rng(7)
    for (n, c), eps in [((5, 4), None), ((1, 7), 1e-5), ((3, 1), None), ((2, 3), 0.0)]:
        x, dy, gamma = rng.normal(size=(n, c)) * 3 + 1, rng.normal(size=(n, c)), rng.normal(size=c)
        theirs = torch.nn.RMSNorm(c, eps=eps).double()
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(gamma))
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        (yt * torch.tensor(dy)).sum().backward()
        got = autodiff(x, dy, gamma, eps)
        assert_close(got["y"], yt.detach().numpy(), **GOLDEN_TOL)
        assert_close(got["dx"], xt.grad.numpy(), **GOLDEN_TOL)
        assert_close(got["dgamma"], theirs.weight.grad.numpy(), **GOLDEN_TOL)


def test_default_eps_is_torchs_for_float64():
    torch = torch_or_skip()
    assert torch.finfo(torch.float64).eps == TORCH_EPS


# ---- the interface: torch's names, one Alg1Nodes per row, labels, train = eval


def test_names_and_state_follow_pytorch():
    layer = RMSNorm((3,))
    assert layer.normalized_shape == RMSNorm(3).normalized_shape == (3,)
    assert layer.eps is None and [w.data for w in layer.weight] == [1.0] * 3
    assert layer.parameters() == layer.weight and layer.bias is None  # no β
    assert repr(layer) == "RMSNorm((3,), eps=None, elementwise_affine=True)"
    assert repr(RMSNorm(4, eps=1e-6, elementwise_affine=False)) == "RMSNorm((4,), eps=1e-06, elementwise_affine=False)"
    bare = RMSNorm(3, elementwise_affine=False)
    assert bare.weight is None and bare.parameters() == []


def test_default_eps_is_float64_machine_epsilon():
    x = [[1e-9, 0.0]]  # RMS² = 5e-19 ≪ ε = 2.2e-16: ε decides y
    y = RMSNorm(2)(x)[0][0].data
    assert y == pytest.approx(1e-9 / np.sqrt(5e-19 + 2.220446049250313e-16), rel=1e-14)


def test_last_holds_one_graph_per_row_without_line_1():
    layer = RMSNorm(3)
    y = layer([[1.0, 2.0, 2.0], [0.0, -3.0, 4.0]])
    n = layer.last[1]
    assert n.mean is None and n.sum_x is None and n.deviation == [] and n.scaled is n.y
    assert [len(n.square), len(n.x_hat), len(n.y)] == [3, 3, 3] and n.y == y[1]
    assert n.var.data == pytest.approx(25 / 3) and n.std.data == pytest.approx(np.sqrt(25 / 3 + TORCH_EPS))


def test_labels_carry_the_example_and_the_feature():
    layer = RMSNorm(3)
    layer([[1.0, 2.0, 4.0], [0.0, -1.0, 1.0]])
    n = layer.last[1]
    assert [v.label for v in (n.var, n.sum_squares, n.var_eps, n.std)] == [
        "RMS²₂",
        "Σ(x₂⁽ᵏ⁾)²",
        "RMS²₂+ε",
        "√(RMS²₂+ε)",
    ]
    entry = (n.square[2].inputs[0], n.square[2], n.x_hat[2], n.y[2])
    assert [v.label for v in entry] == ["x₂⁽²⁾", "(x₂⁽²⁾)²", "x̂₂⁽²⁾", "y₂⁽²⁾"]  # a number became a leaf named x₂⁽²⁾
    assert [w.label for w in layer.weight] == ["γ⁽⁰⁾", "γ⁽¹⁾", "γ⁽²⁾"]
    own = Value(2.0, "a")
    layer([[own, 1.0, 1.0]])
    assert layer.last[0].square[0].inputs[0] is own and own.label == "a"  # a Value given is used, not renamed


def test_same_in_training_and_eval_and_rows_on_their_own():
    x = np.random.default_rng(3).normal(size=(4, 5))
    layer = RMSNorm(5)
    train = [[v.data for v in row] for row in layer(x.tolist())]
    assert [[v.data for v in row] for row in layer.eval()(x.tolist())] == train
    assert [v.data for v in layer([x[2].tolist()])[0]] == train[2]


def test_graph_groups_draw_without_overlap():
    layer = RMSNorm(2)
    y = layer([[1.0, 2.0], [0.0, 4.0]])
    loss = Value.dot([v for row in y for v in row], [0.3, -1.0, 0.5, 2.0])
    groups = layer.graph_groups()
    assert len(groups) == 2 * 3 + 1 and groups["γ⁽ᵏ⁾: one per feature, for every example"] == layer.weight
    nodes = [id(v) for members in groups.values() for v in members]
    assert len(nodes) == len(set(nodes))  # every node in one cluster
    assert "mean square RMS²₂" in draw(loss, groups=groups).source
    with pytest.raises(ValueError, match="graph yet"):
        RMSNorm(2).graph_groups()


# ---- bad input: one clear line


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"normalized_shape": 0}, "C ≥ 1"),
        ({"normalized_shape": (2, 3)}, "only the last axis"),
        ({"normalized_shape": True}, "normalized_shape"),
        ({"normalized_shape": "3"}, "normalized_shape"),
        ({"normalized_shape": 3, "eps": -1e-5}, "eps"),
        ({"normalized_shape": 3, "eps": float("nan")}, "eps"),
        ({"normalized_shape": 3, "eps": "1e-5"}, "eps"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        RMSNorm(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([], "non-empty batch"),
        ([[1.0, 2.0, 3.0], [3.0, 4.0]], r"RMSNorm\(3\) expects shape \(N, 3\): row 1 has 2 entries"),
        ([[1.0, "a", 2.0]], "finite real numbers, got str"),
        ([[1.0, float("inf"), 2.0]], "finite real numbers"),
        (
            [[1.0, 2.0, 3.0], [Value(1e308) * 10 - Value(1e308) * 10, 0.0, 1.0]],
            r"example 2 \(row 1\): RMS²₂ = nan is not",
        ),
    ],
)
def test_bad_batches_fail_in_one_line(batch, message):
    layer = RMSNorm(3)
    with pytest.raises(ValueError, match=message) as err:
        layer(batch)
    assert "\n" not in str(err.value) and layer.last == []


def test_zero_row_with_eps_zero_says_so():
    with pytest.raises(ValueError, match=r"example 1 \(row 0\): RMS²₁ \+ ε = 0: the values are all 0.*eps > 0"):
        RMSNorm(3, eps=0.0)([[0.0, 0.0, 0.0]])
