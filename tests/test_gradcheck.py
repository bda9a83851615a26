"""check_gradients: a learner's derivatives of any Value function, against autodiff and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from micrograd_bn import BatchNorm1d, Value
from micrograd_bn.check import CheckError
from micrograd_bn.gradcheck import check_gradients

C = np.array([0.5, -1.0, 2.0])  # a non-constant upstream gradient


def f(x, w, b):
    """ℓ = Σ_i c_i tanh(w x_i + b), with the pre-activations labelled h[i]."""
    hs = []
    for i, xi in enumerate(x):
        hs.append(w * xi + b)
        hs[-1].label = f"h[{i}]"
    return Value.dot([h.tanh() for h in hs], C.tolist())


def right(x, w, b):
    dh = C * (1 - np.tanh(w * x + b) ** 2)
    return {"h": dh, "x": dh * w, "w": float((dh * x).sum()), "b": float(dh.sum())}


POINTS = [{"x": [0.3, -1.2, 0.8], "w": 0.7, "b": -0.1}, {"x": [1.5, 0.2, -0.4], "w": -1.3, "b": 0.4}]


def test_right_derivatives_pass_and_finite_differences_agree():
    report = check_gradients(f, POINTS, right)
    assert report.ok and [g.key for g in report.grades] == ["h", "x", "w", "b"]
    assert all(g.rel_error < 1e-12 for g in report.grades)
    leaves = [g for g in report.grades if g.key in ("x", "w", "b")]
    assert all(g.finite_diff is not None and g.finite_diff < 1e-8 for g in leaves)
    assert report.grades[0].finite_diff is None  # h is not a leaf: no finite differences


def test_a_missing_factor_is_named_after_the_leaf():
    report = check_gradients(f, POINTS, lambda x, w, b: {**right(x, w, b), "x": right(x, w, b)["h"]})
    assert report.first_wrong.key == "x"
    assert report.diagnosis[0] == "∂ℓ/∂x is off by the factor 1/w everywhere: a factor w is missing"


def test_a_factor_and_a_sign_are_found_by_the_checkers_shared_search():
    report = check_gradients(f, POINTS, lambda x, w, b: {**right(x, w, b), "x": -right(x, w, b)["x"] * w})
    assert report.diagnosis[0] == "∂ℓ/∂x is off by the factor −w everywhere: an extra factor w"
    report = check_gradients(f, POINTS[:1], lambda x, w, b: {**right(x, w, b), "w": -right(x, w, b)["w"]})
    assert report.diagnosis[0] == "∂ℓ/∂w has the wrong sign everywhere"


def test_later_quantities_wrong_only_through_an_earlier_one():
    def doubled(x, w, b):
        dh = 2 * right(x, w, b)["h"]  # the mistake, then the right chain rule from it
        return {"h": dh, "x": dh * w, "w": float((dh * x).sum()), "b": float(dh.sum()) + 1.0}

    report = check_gradients(f, POINTS, doubled)
    assert report.first_wrong.key == "h" and "constant factor 2" in report.diagnosis[0]
    assert "∂ℓ/∂x is right given your ∂ℓ/∂h: it is wrong only because it uses it" in report.diagnosis
    assert "∂ℓ/∂b is wrong on its own too: check it after this one" in report.diagnosis


def test_a_wrong_local_derivative_points_at_the_chain_rule():
    def wrong(x, w, b):  # tanh' taken as 1 − tanh (not squared)
        dh = C * (1 - np.tanh(w * x + b))
        return {"h": dh}

    report = check_gradients(f, POINTS, wrong)
    assert report.first_wrong.key == "h" and "not by a constant factor" in report.diagnosis[0]
    assert "tanh" in report.diagnosis[0] and report.not_done == []


def test_a_constant_upstream_gradient_is_warned_about():
    def normalized_sum(x):  # ℓ = Σ_i y_i for BatchNorm's outputs: ∂ℓ/∂x = 0 whatever the derivation
        y = BatchNorm1d(1)([[v] for v in x])
        return Value.sum([row[0] for row in y])

    report = check_gradients(normalized_sum, {"x": [1.0, 2.0, 4.0]}, lambda x: {"x": np.zeros(3)})
    assert report.ok  # a zero derivative "passes": that is why the warnings matter
    text = str(report)
    assert "upstream gradient is constant" in text and "∂ℓ/∂x is 0 everywhere" in text
    random_dy = check_gradients(f, POINTS, right)
    assert not any("warning" in n for n in random_dy.notes)


def test_bad_uses_are_check_errors():
    with pytest.raises(CheckError, match="no node labelled 'z'"):
        check_gradients(f, POINTS[0], lambda x, w, b: {"z": 1.0})
    with pytest.raises(CheckError, match="not ℓ"):
        check_gradients(lambda x: [x], {"x": 1.0}, lambda x: {"x": 1.0})
    with pytest.raises(CheckError, match=r"raised KeyError: 'x' at test_gradcheck.py, line \d+"):
        check_gradients(f, POINTS[0], lambda x, w, b: {}["x"])

    def same_label(x):
        a, b = x * 2, x * 3
        a.label = b.label = "h"
        return a + b

    with pytest.raises(CheckError, match="is on 2 nodes"):
        check_gradients(same_label, {"x": 1.0}, lambda x: {"h": 1.0})


def test_matrix_leaves_and_unused_entries():
    def f(w, x):  # ℓ = Σ_j c_j · (W x)_j, with W's last column unused (x has one entry fewer)
        rows = [Value.dot(row[:2], x) for row in w]
        return Value.dot(rows, [1.5, -0.5])

    point = {"w": [[0.2, -0.4, 9.0], [1.1, 0.3, 9.0]], "x": [0.7, -1.3]}
    c = np.array([1.5, -0.5])

    def mine(w, x):
        return {"w": np.outer(c, np.append(x, 0.0)), "x": c @ w[:, :2]}

    report = check_gradients(f, point, mine)
    assert report.ok and all(g.finite_diff < 1e-8 for g in report.grades)
    wrong = check_gradients(f, point, lambda w, x: {"w": np.outer(c, np.append(x, 0.0)).T, "x": c @ w[:, :2]})
    assert wrong.first_wrong.key == "w" and "shape (3, 2) where (2, 3) is expected" in wrong.diagnosis[0]


def test_a_later_quantity_after_an_unusable_one_cannot_be_told_yet():
    def wrong_shape(x, w, b):  # ∂ℓ/∂h as a column: it cannot be put into the chain rule
        out = right(x, w, b)
        return {**out, "h": out["h"][:, None], "w": out["w"] * 2}

    report = check_gradients(f, POINTS, wrong_shape)
    assert report.first_wrong.key == "h" and "shape (3, 1)" in report.diagnosis[0]
    assert report.diagnosis[1].startswith("∂ℓ/∂w: cannot tell yet: it uses your ∂ℓ/∂h")
