"""compare: the four-witness report (data and table), and that it can fail."""

from __future__ import annotations

import dataclasses
import unicodedata

import numpy as np
import pytest

from micrograd_bn import compare as cmp


def test_all_witnesses_agree_and_rows_name_the_papers_quantities():
    result = cmp.compare(batch=6, features=2, seed=3)
    assert result.ok
    assert [r.symbol for r in result.rows] == [s for _, s in cmp.QUANTITIES]
    for row in result.rows:
        assert row.rel_error["autodiff"] <= cmp.TOLERANCE["autodiff"]
        assert row.values["autodiff"].shape == row.closed_form.shape


def test_table_lists_every_quantity_and_verdict():
    table = cmp.format_table(cmp.compare(batch=4, features=1, seed=0))
    for symbol in ("∂ℓ/∂x̂_i", "∂ℓ/∂σ²_B", "∂ℓ/∂μ_B", "∂ℓ/∂x_i", "∂ℓ/∂γ", "∂ℓ/∂β"):
        assert symbol in table
    assert "all witnesses agree" in table and "FAIL" not in table


def test_table_columns_line_up_on_screen_with_combining_marks():
    """The hat of x̂ is a combining mark: it takes no column, so rows are padded by display width."""
    table = cmp.format_table(cmp.compare(batch=4, features=1, seed=0)).splitlines()
    head, rule = table[1], table[2]
    rows = [line for line in table[3:] if line.endswith(("pass", "FAIL"))]
    assert any("x̂" in row for row in rows) and len(rows) == len(cmp.QUANTITIES)
    starts = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]  # each column's start
    for line in [head, *rows]:
        screen = "".join(c for c in line if not unicodedata.combining(c))  # one character per column
        assert len(screen) == len(rule), line
        assert all(screen[i - 2 : i] == "  " for i in starts[1:]), line  # the gap between columns, in place


def test_spatial_uses_per_feature_map_statistics():
    result = cmp.compare(batch=2, features=2, seed=1, spatial=(2, 2))
    assert result.ok and result.x.shape == (8, 2)  # m' = N·H·W = 8 per channel


def test_checker_reports_a_wrong_gradient(monkeypatch):
    # tinygrad's lesson: prove the checker can fail. Break the closed form's ∂ℓ/∂σ²_B sign.
    real = cmp.reference.backward

    def wrong(dy, x, gamma, eps):
        out = real(dy, x, gamma, eps)
        return {**out, "dvar": -out["dvar"]}

    monkeypatch.setattr(cmp.reference, "backward", wrong)
    result = cmp.compare(batch=5, features=2, seed=0)
    assert not result.ok
    assert [r.symbol for r in result.rows if not r.ok] == ["∂ℓ/∂σ²_B"]
    assert "SOME WITNESSES DISAGREE" in cmp.format_table(result)


def test_without_torch_the_column_is_left_out(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # import torch now raises ImportError
    result = cmp.compare(batch=3, features=1, seed=0)
    assert all("torch" not in r.values for r in result.rows)
    assert "not installed" in result.torch_note and result.ok


def test_torch_witness_when_installed():
    pytest.importorskip("torch", reason="PyTorch not installed: its cross-check is optional")
    result = cmp.compare(batch=5, features=3, seed=2)
    by_torch = {r.key for r in result.rows if "torch" in r.values}
    assert by_torch == {"y", "dx", "dgamma", "dbeta", "running_mean", "running_var"}
    assert result.ok


def test_given_inputs_are_used():
    x = np.array([[1.0], [2.0], [3.0]])
    dy = np.array([[1.0], [0.0], [0.0]])
    result = cmp.compare(x=x, dy=dy, gamma=np.ones(1), beta=np.zeros(1), eps=1e-5)
    dx = next(r for r in result.rows if r.key == "dx")
    want = [0.2041317996979287, -0.40824522863613005, 0.2041134289382015]  # shared/reference, pitfalls
    assert dx.values["autodiff"].ravel() == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_running_statistics_rows(momentum):
    result = cmp.compare(batch=4, features=2, seed=5, momentum=momentum)
    rows = {r.key: r for r in result.rows}
    x = result.x
    factor = 1.0 if momentum is None else momentum
    assert rows["running_mean"].values["autodiff"] == pytest.approx(factor * x.mean(axis=0), rel=1e-14)
    want_var = (1 - factor) + factor * x.var(axis=0, ddof=1)  # unbiased, as PyTorch
    assert rows["running_var"].values["autodiff"] == pytest.approx(want_var, rel=1e-14)
    assert rows["running_var"].ok


NORM_RUNS = {  # layer: compare_norm's keyword arguments
    "layernorm": {"batch": 3, "features": 4},
    "rmsnorm": {"batch": 2, "features": 5},
    "groupnorm": {"batch": 2, "features": 6, "num_groups": 3},
    "groupnorm 2d": {"batch": 2, "features": 4, "num_groups": 2, "spatial": (2, 3)},
}


@pytest.mark.parametrize("run", NORM_RUNS)
def test_the_other_norms_autodiff_and_finite_differences_agree_with_the_closed_form(run):
    from micrograd_bn.norms import NORMS

    layer = run.split()[0]
    result = cmp.compare_norm(layer, seed=4, **NORM_RUNS[run])
    assert result.ok and [r.key for r in result.rows] == ["y", *NORMS[layer].keys]
    by_differences = {r.key for r in result.rows if "finite diff" in r.values}
    assert by_differences == {"dx", "dgamma", "dbeta"} & set(NORMS[layer].keys)  # the leaves
    assert all(r.values["autodiff"].shape == r.closed_form.shape for r in result.rows)
    assert cmp.format_table(result).startswith(f"{NORMS[layer].name}, x ")


def test_a_norms_compare_can_fail(monkeypatch):
    real = cmp.NORMS["rmsnorm"].terms

    def wrong(*args, **options):  # the closed form's ∂ℓ/∂ms with its sign broken
        terms = real(*args, **options)
        return {**terms, "dms": [t if options.get("absolute") else -t for t in terms["dms"]]}

    monkeypatch.setitem(cmp.NORMS, "rmsnorm", dataclasses.replace(cmp.NORMS["rmsnorm"], terms=wrong))
    result = cmp.compare_norm("rmsnorm", batch=3, features=3)
    assert [r.key for r in result.rows if not r.ok] == ["dms"]
    assert "SOME WITNESSES DISAGREE" in cmp.format_table(result)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"layer": "rmsnorm", "spatial": (2, 2)}, "spatial"), ({"layer": "groupnorm", "features": 3}, "divide")],
)
def test_a_norms_compare_refuses_what_the_norm_cannot_take(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cmp.compare_norm(**kwargs)


@pytest.mark.parametrize("layer", ["batchnorm", "groupnorm"])
def test_progress_counts_every_finite_difference_once(layer):
    """`progress(done, total)` ticks once per entry differenced, up to total, as the CLI's bar shows it."""
    calls = []
    if layer == "batchnorm":
        cmp.compare(batch=3, features=2, progress=lambda done, total: calls.append((done, total)))
        total = 2 * 3 * 2 + 2 * 2 + 2 * 2  # x̂ and x (N·C each); σ², μ, γ, β (C each)
    else:
        cmp.compare_norm("groupnorm", batch=2, features=4, progress=lambda done, total: calls.append((done, total)))
        total = 2 * 4 + 4 + 4  # x; γ and β
    assert calls == [(k, total) for k in range(1, total + 1)]
