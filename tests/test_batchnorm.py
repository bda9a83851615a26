"""BatchNorm1d/2d: autodiff through Alg. 1 equals the paper's Sec. 3 equations; Alg. 2; PyTorch's conventions."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers import RTOL_EXACT, assert_close, assert_each_close, gamma_some_zero, random_case, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from micrograd_bn import BatchNorm1d, BatchNorm2d, Linear, Value
from micrograd_bn import reference as ref
from micrograd_bn.compare import compare, term_scales

GOLDEN = json.loads((Path(__file__).parent / "golden" / "batchnorm.json").read_text())
GOLDEN_TOL = {"rtol": 1e-12, "atol": 1e-14}  # implementations agree to ~1e-16, not bit for bit


def values(rows):
    return [[Value(float(v)) for v in row] for row in rows]


def data(rows):
    return np.array([[v.data for v in row] for row in rows])


def grads(rows):
    return np.array([[v.grad for v in row] for row in rows])


def make_layer(gamma, beta, **kwargs) -> BatchNorm1d:
    layer = BatchNorm1d(len(gamma), **kwargs)
    for k, (g, b) in enumerate(zip(gamma, beta)):
        layer.weight[k].data, layer.bias[k].data = float(g), float(b)
    return layer


def autodiff(x: np.ndarray, dy: np.ndarray, gamma, beta, eps: float) -> dict[str, np.ndarray]:
    """Forward Alg. 1 on Values, ℓ = Σ y·dy, backward; read each gradient off its labelled node."""
    layer = make_layer(gamma, beta, eps=eps)
    xs = values(x)
    y = layer(xs)
    Value.dot([v for row in y for v in row], dy.ravel().tolist()).backward()
    return {
        "y": data(y),
        "dx": grads(xs),
        "dx_hat": np.column_stack([[v.grad for v in n.x_hat] for n in layer.last]),
        "dvar": np.array([n.var.grad for n in layer.last]),
        "dmean": np.array([n.mean.grad for n in layer.last]),
        "dgamma": np.array([g.grad for g in layer.weight]),
        "dbeta": np.array([b.grad for b in layer.bias]),
    }


def assert_matches_closed_form(x, dy, gamma, beta, eps, rtol=RTOL_EXACT):
    """Every Sec. 3 quantity within rtol of the closed form, relative to the size of its summed terms."""
    got = autodiff(x, dy, gamma, beta, eps)
    want = {**ref.backward(dy, x, gamma, eps), "y": ref.forward_train(x, gamma, beta, eps)["y"]}
    scales = term_scales(x, dy, gamma, beta, eps)
    assert_each_close(got, want, scales, rtol)


# ---- autodiff = closed form (Sec. 3), over random cases and corner cases


@st.composite
def bn_cases(draw):
    m = draw(st.integers(2, 64))
    c = draw(st.integers(1, 8))
    rng, scale, eps = random_case(draw)
    gamma = gamma_some_zero(rng, c)
    x = rng.normal(size=(m, c)) * scale + rng.normal() * scale
    return x, rng.normal(size=(m, c)), gamma, rng.normal(size=c), eps


@given(bn_cases())
def test_autodiff_equals_closed_form_random(case):
    assert_matches_closed_form(*case)


@pytest.mark.parametrize(
    "x",
    [
        np.full((5, 2), 3.0),  # constant batch: σ²_B = 0, x̂ = 0, dx = γ/√ε (dy − mean dy)
        np.array([[1.0, -4.0], [2.0, 7.0]]),  # m = 2: x̂ = ±√(d²/(d²+ε)), dx nearly cancels
        1e6 + np.random.default_rng(0).normal(size=(16, 3)) * 1e-2,  # huge offset, small noise
    ],
    ids=["constant", "m=2", "offset 1e6"],
)
def test_autodiff_equals_closed_form_corner_cases(x):
    rng = np.random.default_rng(1)
    c = x.shape[1]
    assert_matches_closed_form(x, rng.normal(size=x.shape), rng.normal(size=c), rng.normal(size=c), 1e-5)


def test_constant_feature_gradient_is_large_but_finite():
    dy = np.array([[1.0], [0.0], [-0.5]])
    got = autodiff(np.full((3, 1), 2.0), dy, [2.0], [0.5], 1e-5)
    assert_close(got["y"], np.full((3, 1), 0.5))  # y = β
    assert_close(got["dx"], 2.0 / np.sqrt(1e-5) * (dy - dy.mean()))


def test_compact_form_equals_chain_rule():
    rng = np.random.default_rng(3)
    x, dy, gamma = rng.normal(size=(7, 4)), rng.normal(size=(7, 4)), rng.normal(size=4)
    assert_close(ref.backward_compact(dy, x, gamma, 1e-3), ref.backward(dy, x, gamma, 1e-3)["dx"])


def test_finite_differences_agree():
    for seed, spatial in [(0, None), (1, None), (2, (2, 3))]:
        result = compare(batch=5, features=3, seed=seed, spatial=spatial)
        for row in result.rows:
            if "finite diff" in row.rel_error:
                assert row.rel_error["finite diff"] <= 1e-6, row.symbol


def test_pitfall_vector_gradients_flow_through_statistics():
    # reference.md: x = [1, 2, 3], γ = 1, β = 0, ε = 1e-5, dy = [1, 0, 0]; detached would give [1.2247, 0, 0]
    got = autodiff(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [0.0], [0.0]]), [1.0], [0.0], 1e-5)
    assert_close(got["dx"].ravel(), [0.2041317996979287, -0.40824522863613005, 0.2041134289382015], rtol=1e-12)


def test_gradient_identities_with_eps_zero():
    rng = np.random.default_rng(4)
    x, dy = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    got = autodiff(x, dy, [1.3, -0.4], [0.0, 0.0], 0.0)
    x_hat = ref.forward_train(x, np.ones(2), np.zeros(2), 0.0)["x_hat"]
    assert_close(got["dx"].sum(axis=0), [0.0, 0.0], atol=1e-13)  # a bias before BN gets no gradient
    assert_close((got["dx"] * x_hat).sum(axis=0), [0.0, 0.0], atol=1e-13)


# ---- Sec. 3.3: scale invariance


@pytest.mark.parametrize("a", [0.1, 3.0, 250.0])
def test_scale_invariance(a):
    rng = np.random.default_rng(5)
    u, dy = rng.normal(size=(8, 3)).tolist(), rng.normal(size=(8, 2))

    def run(scale: float):
        lin = Linear(3, 2, bias=False, seed=0)
        for row in lin.weight:
            for w in row:
                w.data *= scale
        y = BatchNorm1d(2, eps=0.0)(lin(u))
        Value.dot([v for row in y for v in row], dy.ravel().tolist()).backward()
        return data(y), np.array([[w.grad for w in row] for row in lin.weight])

    y1, dw1 = run(1.0)
    ya, dwa = run(a)
    assert_close(ya, y1, rtol=1e-12)  # BN(aWu) = BN(Wu)
    assert_close(dwa, dw1 / a, rtol=1e-10)  # ∂BN((aW)u)/∂(aW) = (1/a)·∂BN(Wu)/∂W


# ---- running statistics and Alg. 2 against PyTorch (golden vectors, and live where torch is installed)


def golden_run(momentum):
    g = GOLDEN["inputs"]
    layer = make_layer(g["gamma"], g["beta"], momentum=momentum)
    xs = values(g["x"])
    y = layer(xs)
    Value.dot([v for row in y for v in row], np.ravel(g["dy"]).tolist()).backward()
    after_1 = (list(layer.running_mean), list(layer.running_var))
    for batch in g["batches"]:
        layer(batch)
    stats = (list(layer.running_mean), list(layer.running_var), layer.num_batches_tracked)
    layer.eval()
    return layer, xs, y, after_1, stats, data(layer(g["x_eval"]))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_bn1d_matches_pytorch_golden(momentum):
    want = GOLDEN[f"bn1d_momentum_{momentum}"]
    layer, xs, y, (mean_1, var_1), (mean, var, tracked), eval_y = golden_run(momentum)
    assert_close(data(y), want["y"], **GOLDEN_TOL)
    assert_close(grads(xs), want["dx"], **GOLDEN_TOL)
    assert_close([g.grad for g in layer.weight], want["dgamma"], **GOLDEN_TOL)
    assert_close([b.grad for b in layer.bias], want["dbeta"], **GOLDEN_TOL)
    assert_close(mean_1, want["running_mean_1"], **GOLDEN_TOL)
    assert_close(var_1, want["running_var_1"], **GOLDEN_TOL)
    assert_close(mean, want["running_mean"], **GOLDEN_TOL)
    assert_close(var, want["running_var"], **GOLDEN_TOL)
    assert tracked == want["num_batches_tracked"] == 3
    assert_close(eval_y, want["eval_y"], **GOLDEN_TOL)


def test_bn2d_matches_pytorch_golden():
    g, want = GOLDEN["inputs_2d"], GOLDEN["bn2d_momentum_0.1"]
    layer = BatchNorm2d(2)
    for k in range(2):
        layer.weight[k].data, layer.bias[k].data = g["gamma"][k], g["beta"][k]
    x = np.array(g["x"])
    xs = [[[[Value(v) for v in row] for row in plane] for plane in sample] for sample in g["x"]]
    y = layer(xs)
    flat_y = [v for s in y for p in s for r in p for v in r]
    Value.dot(flat_y, np.ravel(g["dy"]).tolist()).backward()
    assert_close(np.array([v.data for v in flat_y]).reshape(x.shape), want["y"], **GOLDEN_TOL)
    dx = np.array([v.grad for s in xs for p in s for r in p for v in r]).reshape(x.shape)
    assert_close(dx, want["dx"], **GOLDEN_TOL)
    assert_close([w.grad for w in layer.weight], want["dgamma"], **GOLDEN_TOL)
    assert_close(layer.running_mean, want["running_mean"], **GOLDEN_TOL)
    assert_close(layer.running_var, want["running_var"], **GOLDEN_TOL)


def test_bn2d_equals_per_feature_map_reference():
    rng = np.random.default_rng(6)
    x, gamma, beta = rng.normal(size=(3, 2, 2, 3)), rng.normal(size=2), rng.normal(size=2)
    layer = BatchNorm2d(2)
    for k in range(2):
        layer.weight[k].data, layer.bias[k].data = gamma[k], beta[k]
    y = layer(x.tolist())
    assert_close(_data4(y), ref.forward_train_2d(x, gamma, beta, 1e-5)["y"])


def _data4(y) -> np.ndarray:
    return np.array([[[[v.data for v in r] for r in p] for p in s] for s in y])


@pytest.mark.parametrize("momentum", [0.3, None])
def test_running_stats_match_live_pytorch(momentum):
    torch = torch_or_skip()
    rng = np.random.default_rng(7)
    batches = [rng.normal(size=(5, 4)) * 3 + 1 for _ in range(4)]
    ours = BatchNorm1d(4, momentum=momentum)
    theirs = torch.nn.BatchNorm1d(4, momentum=momentum).double()
    for b in batches:
        ours(b.tolist())
        theirs(torch.tensor(b))
    assert_close(ours.running_mean, theirs.running_mean.numpy(), **GOLDEN_TOL)
    assert_close(ours.running_var, theirs.running_var.numpy(), **GOLDEN_TOL)
    x = rng.normal(size=(3, 4))
    assert_close(data(ours.eval()(x.tolist())), theirs.eval()(torch.tensor(x)).detach().numpy(), **GOLDEN_TOL)


def test_momentum_none_gives_the_papers_population_statistics():
    # Alg. 2: E[x] = E_B[μ_B], Var[x] = m/(m−1)·E_B[σ²_B]
    rng = np.random.default_rng(8)
    batches = [rng.normal(size=(6, 2)) for _ in range(5)]
    layer = BatchNorm1d(2, momentum=None)
    for b in batches:
        layer(b.tolist())
    assert_close(layer.running_mean, np.mean([b.mean(axis=0) for b in batches], axis=0))
    assert_close(layer.running_var, 6 / 5 * np.mean([b.var(axis=0) for b in batches], axis=0))
    assert layer.num_batches_tracked == 5


def test_eval_output_is_the_folded_affine_map():
    rng = np.random.default_rng(9)
    layer = make_layer(rng.normal(size=3), rng.normal(size=3))
    for _ in range(3):
        layer(rng.normal(size=(4, 3)).tolist())
    x = rng.normal(size=(5, 3))
    y = data(layer.eval()(x.tolist()))
    scale, shift = np.array(layer.folded()).T
    assert_close(y, scale * x + shift, rtol=1e-14)
    gamma, beta = [w.data for w in layer.weight], [b.data for b in layer.bias]
    want = ref.forward_eval(x, np.array(layer.running_mean), np.array(layer.running_var), gamma, beta, 1e-5)
    assert_close(y, want, rtol=1e-14)
    before = list(layer.running_mean)
    layer(x.tolist())
    assert layer.running_mean == before  # eval does not touch the running statistics


# Alg. 2 where |E[x]| ≫ √Var[x]: x ≈ 1e6 ± 0.01, Var[x] = 1e-4 (issue: the folded map loses ~8 digits)
BIG = {"x": 1e6 + np.random.default_rng(10).normal(size=8) * 1e-2, "mean": 1e6 + 3e-3, "var": 1e-4}
BIG |= {"gamma": 1.7, "beta": 0.2, "eps": 1e-5, "dy": np.random.default_rng(11).normal(size=8)}


def exact_eval(c=BIG) -> dict[str, list[Fraction]]:
    """y = γ(x − E[x])/√(Var[x]+ε) + β and ℓ = Σ y·dy's gradients, in exact rationals (√ to 2⁻²⁰⁰)."""
    q = Fraction(c["var"]) + Fraction(c["eps"])
    std = Fraction(math.isqrt(q.numerator * 4**200 // q.denominator), 2**200)
    x_hat = [(Fraction(v) - Fraction(c["mean"])) / std for v in c["x"]]
    dy = [Fraction(d) for d in c["dy"]]
    return {
        "y": [Fraction(c["gamma"]) * h + Fraction(c["beta"]) for h in x_hat],
        "dgamma": [sum(d * h for d, h in zip(dy, x_hat))],
        "dbeta": [sum(dy)],
        "dx": [d * Fraction(c["gamma"]) / std for d in dy],
    }


def assert_exact(got: dict[str, list[float]], rtol: float = 1e-14) -> None:
    """Each quantity given within rtol of its exact value, relative to its largest entry."""
    exact = exact_eval()
    for key, values in got.items():
        want = exact[key]
        err = max(abs(Fraction(g) - w) for g, w in zip(values, want, strict=True))
        assert err <= rtol * max(map(abs, want)), f"{key}: relative error {float(err / max(map(abs, want))):.1e}"


def big_eval_layer() -> BatchNorm1d:
    layer = make_layer([BIG["gamma"]], [BIG["beta"]], eps=BIG["eps"])
    layer.running_mean, layer.running_var = [BIG["mean"]], [BIG["var"]]
    return layer.eval()


def eval_and_backward(y: list[Value], xs: list[Value], layer: BatchNorm1d) -> dict[str, list[float]]:
    Value.dot(y, BIG["dy"].tolist()).backward()
    return {"y": [v.data for v in y], "dgamma": [layer.weight[0].grad], "dbeta": [layer.bias[0].grad],
            "dx": [v.grad for v in xs]}  # fmt: skip


def test_eval_keeps_its_digits_when_the_mean_is_huge():
    layer = big_eval_layer()
    xs = [Value(float(v)) for v in BIG["x"]]
    assert_exact(eval_and_backward([row[0] for row in layer([[x] for x in xs])], xs, layer))
    gamma, beta = np.array([BIG["gamma"]]), np.array([BIG["beta"]])
    closed = ref.forward_eval(
        BIG["x"][:, None], np.array([BIG["mean"]]), np.array([BIG["var"]]), gamma, beta, BIG["eps"]
    )
    assert_exact({"y": closed.ravel().tolist()})  # the closed form's Alg. 2 as well


def test_the_folded_map_fails_the_exact_check():
    """Negative test: eval as the folded map scale·x + shift (Alg. 2, line 11 as written) loses digits."""
    layer = big_eval_layer()
    xs = [Value(float(v)) for v in BIG["x"]]
    scale = layer.weight[0] * (1.0 / math.sqrt(BIG["var"] + BIG["eps"]))
    shift = layer.bias[0] - scale * BIG["mean"]
    with pytest.raises(AssertionError, match="relative error"):
        assert_exact(eval_and_backward([scale * x + shift for x in xs], xs, layer))


def test_eval_gradients_reach_gamma_and_beta_not_running_stats():
    layer = BatchNorm1d(1).eval()
    x = Value(2.0)
    layer([[x]])[0][0].backward()
    assert layer.weight[0].grad == pytest.approx(2.0 / np.sqrt(1 + 1e-5))
    assert layer.bias[0].grad == 1.0 and x.grad == pytest.approx(1 / np.sqrt(1 + 1e-5))


def test_without_running_stats_eval_uses_batch_statistics():
    layer = BatchNorm1d(2, track_running_stats=False)
    assert layer.running_mean is None and layer.running_var is None and layer.num_batches_tracked is None
    x = [[1.0, 2.0], [3.0, 5.0], [2.0, -1.0]]
    assert_close(data(layer.eval()(x)), data(layer.train()(x)))
    with pytest.raises(ValueError, match="folded"):
        layer.folded()


def test_initial_state_and_parameters_follow_pytorch():
    layer = BatchNorm1d(3)
    assert [w.data for w in layer.weight] == [1.0] * 3 and [b.data for b in layer.bias] == [0.0] * 3
    assert layer.running_mean == [0.0] * 3 and layer.running_var == [1.0] * 3 and layer.num_batches_tracked == 0
    assert layer.parameters() == layer.weight + layer.bias
    assert BatchNorm1d(3, affine=False).parameters() == []
    assert [w.label for w in layer.weight] == ["γ⁽⁰⁾", "γ⁽¹⁾", "γ⁽²⁾"]


def test_nodes_carry_the_papers_symbols():
    layer = BatchNorm1d(1)
    layer([[1.0], [2.0], [4.0]])
    n = layer.last[0]
    assert (n.mean.label, n.var.label, n.std.label) == ("μ_B", "σ²_B", "√(σ²_B+ε)")
    assert [v.label for v in n.x_hat] == ["x̂₁", "x̂₂", "x̂₃"] and n.y[2].label == "y₃"


def test_every_label_of_a_feature_carries_its_superscript():
    layer = BatchNorm1d(3)
    layer([[1.0, 2.0, 3.0], [4.0, 0.0, -1.0]])
    n = layer.last[2]
    stats = (n.mean, n.mean.inputs[0], n.var, n.var.inputs[0], n.std.inputs[0], n.std)
    assert [v.label for v in stats] == [
        "μ_B⁽²⁾",
        "Σx_i⁽²⁾",
        "σ²_B⁽²⁾",
        "Σ(x_i⁽²⁾−μ_B⁽²⁾)²",
        "σ²_B⁽²⁾+ε",
        "√(σ²_B⁽²⁾+ε)",
    ]
    entry = (n.deviation[0], n.var.inputs[0].inputs[0], n.x_hat[0], n.y[0].inputs[0], n.y[0])
    assert [v.label for v in entry] == ["x₁⁽²⁾−μ_B⁽²⁾", "(x₁⁽²⁾−μ_B⁽²⁾)²", "x̂₁⁽²⁾", "γ⁽²⁾x̂₁⁽²⁾", "y₁⁽²⁾"]
    assert "Alg. 1 line 4: scale and shift y_i⁽²⁾ = γ⁽²⁾x̂_i⁽²⁾ + β⁽²⁾" in layer.graph_groups()


def test_labels_are_made_once_per_shape_and_follow_the_batch_size():
    first, second = BatchNorm1d(2), BatchNorm1d(2)
    first([[1.0, 2.0], [3.0, 5.0]])
    second([[0.0, 1.0], [2.0, 4.0]])
    a, b = first.last[1], second.last[1]
    assert a.x_hat[1].label == "x̂₂⁽¹⁾" and a.x_hat[1].label is b.x_hat[1].label  # one string, reused
    first([[1.0, 2.0], [3.0, 5.0], [0.0, 7.0]])  # a new batch size: new labels, none left over
    assert [v.label for v in first.last[1].deviation] == ["x₁⁽¹⁾−μ_B⁽¹⁾", "x₂⁽¹⁾−μ_B⁽¹⁾", "x₃⁽¹⁾−μ_B⁽¹⁾"]
    y = first.eval()([[Value(1.0), Value(2.0)], [Value(3.0), Value(5.0)]])  # inference labels its nodes alike
    assert y[1][1].label == "y₂⁽¹⁾" and y[1][1].inputs[0].inputs[1].label == "x̂₂⁽¹⁾"
    with pytest.raises(ValueError, match=r"BatchNorm2d\(2\), feature 1"):  # a cached label names its own layer
        BatchNorm2d(2)([[[[0.0, 0.0]], [[1.0, Value(1e308) * 10.0]]], [[[1.0, 2.0]], [[1.0, 1.0]]]])  # inf


def test_affine_false_outputs_x_hat():
    y = BatchNorm1d(1, affine=False)([[1.0], [3.0]])
    assert_close(data(y).ravel(), [-1.0, 1.0], rtol=1e-5)


# ---- bad input: clear ValueErrors, running statistics untouched


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_features": 0}, "num_features"),
        ({"num_features": 2, "eps": -1e-5}, "eps"),
        ({"num_features": 2, "eps": float("nan")}, "eps"),
        ({"num_features": 2, "momentum": 1.5}, "momentum"),
        ({"num_features": 2, "momentum": -0.1}, "momentum"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm1d(**kwargs)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([[1.0, 2.0]], "more than 1 value per channel"),
        ([], "non-empty batch"),
        ([[1.0, 2.0], [3.0]], r"row 1 has 1 entry; expected 2"),
        ([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], "expected 2 features"),
        ([[1.0, "a"], [2.0, 3.0]], "finite real numbers, got str"),
        ([[1.0, float("nan")], [2.0, 3.0]], "finite real numbers"),
        ([1.0, 2.0], r"expects shape \(N, 2\)"),
    ],
)
def test_bad_batches_fail_clearly_and_leave_stats_alone(batch, message):
    layer = BatchNorm1d(2)
    with pytest.raises(ValueError, match=message):
        layer(batch)
    assert layer.running_mean == [0.0, 0.0] and layer.running_var == [1.0, 1.0] and layer.num_batches_tracked == 0


def test_eps_zero_with_constant_feature_says_so_and_leaves_stats_alone():
    layer = BatchNorm1d(2, eps=0.0)
    with pytest.raises(ValueError, match=r"constant.*eps"):
        layer([[1.0, 5.0], [2.0, 5.0]])  # feature 0 is fine, feature 1 is constant
    assert layer.running_mean == [0.0, 0.0] and layer.num_batches_tracked == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (lambda: Value(1e308) * 10 - Value(1e308) * 10, r"feature 1: μ_B⁽¹⁾ = nan, σ²_B⁽¹⁾ = nan are not finite"),
        (lambda: Value(1e308) * 10, r"feature 1: μ_B⁽¹⁾ = inf, σ²_B⁽¹⁾ = nan are not finite"),
    ],
    ids=["inf - inf", "inf"],
)
def test_non_finite_batch_statistics_raise_before_the_running_stats_change(bad, message):
    """A NaN or inf inside a Value (Value(nan) itself is refused) would make running_mean/var NaN."""
    layer = BatchNorm1d(2, momentum=None)
    layer([[1.0, 2.0], [3.0, 5.0]])
    state = lambda: ([v.hex() for v in layer.running_mean + layer.running_var], layer.num_batches_tracked, layer.last)  # noqa: E731
    before = state()
    with pytest.raises(ValueError, match=message) as err:
        layer([[1.0, bad()], [2.0, 3.0]])  # feature 0 is fine: nothing is updated for it either
    assert "\n" not in str(err.value) and state() == before  # bit for bit


def test_reset_running_stats():
    layer = BatchNorm1d(2)
    layer([[1.0, 2.0], [3.0, 5.0]])
    layer.reset_running_stats()
    assert layer.running_mean == [0.0, 0.0] and layer.running_var == [1.0, 1.0] and layer.num_batches_tracked == 0
    untracked = BatchNorm1d(2, track_running_stats=False)
    untracked.reset_running_stats()
    assert untracked.running_mean is None


def test_batch_of_one_is_fine_in_eval():
    layer = BatchNorm1d(2).eval()
    assert len(layer([[1.0, 2.0]])) == 1


def test_bn2d_batch_of_one_trains_when_maps_have_several_values():
    # PyTorch's rule: N × H × W must exceed 1 (m' = N·H·W, Sec. 3.2)
    BatchNorm2d(2)([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]]])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm2d(1)([[[[1.0]]]])


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([[[1.0, 2.0]]], "H × W"),
        ([[[[1.0, 2.0]], [[1.0, 2.0]]]], r"expects shape \(N, 1, H, W\)"),
        ([[[[1.0, 2.0], [3.0]]], [[[1.0, 2.0], [3.0, 4.0]]]], "must be 2 × 2"),
        ([[[[1.0, 2.0], [3.0, 4.0]]], [[[1.0, 2.0]]]], "has 1 rows, expected H = 2"),
    ],
)
def test_bn2d_bad_shapes(batch, message):
    layer = BatchNorm2d(1)
    with pytest.raises(ValueError, match=message):
        layer(batch)
    assert layer.num_batches_tracked == 0
