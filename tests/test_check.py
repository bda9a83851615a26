"""The learner's checker: it passes right derivations, names the first wrong quantity and what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from micrograd_bn import cli, reference
from micrograd_bn.check import CheckError, cases, check_backward, load_attempt, sec3_terms
from micrograd_bn.exercise import exercise_source
from micrograd_bn.norms import KEYS, NORMS


# A learner's derivation, written here from the paper (not from the checker), with knobs for the classic bugs.
def derivation(dy, x, gamma, eps, var_denominator=0, exponent=-1.5, half=-0.5):
    m = x.shape[0]
    mu = x.mean(axis=0)
    xmu = x - mu
    var = (xmu**2).sum(axis=0) / (m - var_denominator)
    inv_std = 1.0 / np.sqrt(var + eps)
    dx_hat = dy * gamma
    dvar = (dx_hat * xmu).sum(axis=0) * half * (var + eps) ** exponent
    dmean = (dx_hat * -inv_std).sum(axis=0) + dvar * (-2.0 * xmu).sum(axis=0) / m
    dx = dx_hat * inv_std + dvar * 2.0 * xmu / m + dmean / m
    dgamma = (dy * xmu * inv_std).sum(axis=0)
    return {"dx_hat": dx_hat, "dvar": dvar, "dmean": dmean, "dx": dx, "dgamma": dgamma, "dbeta": dy.sum(axis=0)}


def variant(change=None, **knobs):
    """derivation(...) with `knobs`, then change(out, dy, x, gamma, eps) -> {key: new value}."""

    def backward(dy, x, gamma, eps):
        out = derivation(dy, x, gamma, eps, **knobs)
        return {**out, **(change(out, dy, x, gamma, eps) if change else {})}

    return backward


def inv_std(x, eps):
    return 1.0 / np.sqrt(x.var(axis=0) + eps)


def xmu(x):
    return x - x.mean(axis=0)


ZOO = {  # name: (learner's backward, first wrong key, what the diagnosis must say)
    "∂ℓ/∂μ_B · 1/m dropped from ∂ℓ/∂x_i": (
        variant(lambda o, dy, x, g, e: {"dx": o["dx_hat"] * inv_std(x, e) + o["dvar"] * 2 * xmu(x) / len(x)}),
        "dx",
        "missing the term ∂ℓ/∂μ_B · 1/m",
    ),
    "exponent −1/2 for −3/2": (variant(exponent=-0.5), "dvar", "factor (σ²_B + ε) on every case: check the power"),
    "1/(m−1) in the variance": (variant(var_denominator=1), "dvar", "uses the unbiased variance"),
    "γ forgotten": (variant(lambda o, dy, x, g, e: {"dx_hat": dy}), "dx_hat", "a factor γ is missing"),
    "Σ dy·x for ∂ℓ/∂γ": (
        variant(lambda o, dy, x, g, e: {"dgamma": (dy * x).sum(axis=0)}),
        "dgamma",
        "where you have x_i",
    ),
    "+1/2 for −1/2": (variant(half=0.5), "dvar", "wrong sign"),
    "a spurious term that vanishes as m grows": (
        variant(lambda o, dy, x, g, e: {"dx": o["dx"] + o["dmean"] / len(x) ** 2}),
        "dx",
        "extra 1/m × (∂ℓ/∂μ_B · 1/m); it shrinks as m grows",
    ),
    "∂ℓ/∂μ_B where Sec. 3 has ∂ℓ/∂μ_B · 1/m": (
        variant(lambda o, dy, x, g, e: {"dx": o["dx"] - o["dmean"] / len(x) + o["dmean"]}),
        "dx",
        "has the term ∂ℓ/∂μ_B · 1/m multiplied by m, where Sec. 3 has it once",
    ),
    "the mean of dy for ∂ℓ/∂β": (
        variant(lambda o, dy, x, g, e: {"dbeta": dy.mean(axis=0)}),
        "dbeta",
        "off by the factor 1/m",
    ),
    "transposed ∂ℓ/∂x_i": (variant(lambda o, dy, x, g, e: {"dx": o["dx"].T}), "dx", "transposed"),
    "float32 ∂ℓ/∂x_i": (
        variant(lambda o, dy, x, g, e: {"dx": o["dx"].astype(np.float32)}),
        "dx",
        "float32: it loses precision",
    ),
    "statistics detached": (
        variant(lambda o, dy, x, g, e: {"dx": o["dx_hat"] * inv_std(x, e)}),
        "dx",
        "missing the terms ∂ℓ/∂σ²_B · 2(x_i − μ_B) / m and ∂ℓ/∂μ_B · 1/m",
    ),
    "sign of ∂ℓ/∂μ_B's first term": (
        variant(lambda o, dy, x, g, e: {"dmean": (o["dx_hat"] * inv_std(x, e)).sum(axis=0)}),
        "dmean",
        "wrong sign",
    ),
    "∂ℓ/∂σ²_B kept 2-d": (variant(lambda o, dy, x, g, e: {"dvar": o["dvar"][None, :]}), "dvar", "keepdims=True?"),
    "∂ℓ/∂β summed over the features": (
        variant(lambda o, dy, x, g, e: {"dbeta": dy.sum(axis=1)}),
        "dbeta",
        "summed over axis 1",
    ),
    "0/0 in ∂ℓ/∂σ²_B": (variant(lambda o, dy, x, g, e: {"dvar": o["dvar"] * np.nan}), "dvar", "NaN at [0]"),
    "integer ∂ℓ/∂β": (variant(lambda o, dy, x, g, e: {"dbeta": np.rint(o["dbeta"]).astype(int)}), "dbeta", "int"),
    "γ forgotten in the compact ∂ℓ/∂x_i": (
        variant(lambda o, dy, x, g, e: {"dx": reference.backward_compact(dy, x, np.ones_like(g), e)}),
        "dx",
        "a factor γ is missing",
    ),
}


@pytest.mark.parametrize("name", ZOO)
def test_bug_zoo_names_the_first_wrong_quantity_and_what_is_wrong(name):
    backward, key, says = ZOO[name]
    report = check_backward(backward)
    assert not report.ok
    assert report.first_wrong.key == key
    assert says in report.diagnosis[0], report.diagnosis
    assert f"first wrong: {key} ({report.first_wrong.symbol})" in str(report)


def test_a_later_quantity_wrong_only_through_an_earlier_one_is_said_so():
    report = check_backward(variant(exponent=-0.5))
    by_key = {g.key: g for g in report.grades}
    assert by_key["dx"].status == "WRONG" and by_key["dmean"].ok  # ∂ℓ/∂μ_B's σ²_B term is zero: Σ(x_i − μ_B) = 0
    assert "∂ℓ/∂x_i is right given your ∂ℓ/∂σ²_B: it is wrong only because it uses it" in report.diagnosis


def test_a_later_quantity_with_its_own_mistake_is_not_excused():
    both = variant(half=0.5, change=lambda o, dy, x, g, e: {"dx": o["dx"] * 2})
    report = check_backward(both)
    assert report.first_wrong.key == "dvar"
    assert "∂ℓ/∂x_i is wrong on its own too: check it after this one" in report.diagnosis


def test_the_unbiased_variance_is_traced_through_the_later_quantities():
    report = check_backward(variant(var_denominator=1))
    assert "∂ℓ/∂x_i uses the same unbiased variance" in report.diagnosis


@pytest.mark.parametrize(
    "name, backward",
    [
        ("the paper's chain rule", derivation),
        ("the compact ∂ℓ/∂x_i", variant(lambda o, dy, x, g, e: {"dx": reference.backward_compact(dy, x, g, e)})),
        (
            "∂ℓ/∂μ_B without its zero term",
            variant(lambda o, dy, x, g, e: {"dmean": (o["dx_hat"] * -inv_std(x, e)).sum(0)}),
        ),
        ("the closed form of reference.py", lambda dy, x, g, e: reference.backward(dy, x, g, e)),
    ],
)
def test_right_derivations_pass(name, backward):
    report = check_backward(backward)
    assert report.ok and report.first_wrong is None and report.diagnosis == []
    assert all(g.rel_error < 1e-12 for g in report.grades)


def test_a_naive_check_with_dy_ones_passes_a_wrong_dx_the_checker_catches():
    """With dy = 1, Σ_j ∂ℓ/∂y_j x̂_j = 0, so dropping the compact form's last term goes unseen; ∂ℓ/∂x is 0 anyway."""

    def wrong_dx(dy, x, gamma, eps):  # the compact ∂ℓ/∂x_i without − x̂_i Σ_j ∂ℓ/∂y_j x̂_j
        m = x.shape[0]
        return {"dx": gamma * inv_std(x, eps) / m * (m * dy - dy.sum(axis=0))}

    rng = np.random.default_rng(0)
    x, gamma = rng.normal(size=(8, 3)), rng.normal(size=3)
    ones = np.ones_like(x)
    assert_close(wrong_dx(ones, x, gamma, 1e-5)["dx"], reference.backward(ones, x, gamma, 1e-5)["dx"])
    report = check_backward(wrong_dx)
    assert report.first_wrong.key == "dx" and not report.ok


def test_the_cases_cannot_be_passed_by_luck():
    all_cases = cases()
    ms = [c.x.shape[0] for c in all_cases]
    assert {2, 3, 64} <= set(ms) and min(ms) == 2 and max(ms) == 64
    assert any(c.x.shape[1] == 1 for c in all_cases) and all(c.x.shape[0] != c.x.shape[1] for c in all_cases)
    assert all(np.all(np.abs(c.gamma - 1) > 0.1) and np.all(np.abs(c.beta) > 0.1) for c in all_cases)
    assert min(c.eps for c in all_cases) <= 1e-12 and max(c.eps for c in all_cases) >= 1
    assert any(c.spatial for c in all_cases) and any(abs(c.x.mean()) > 50 for c in all_cases)
    assert all(np.ptp(c.dy) > 0.5 for c in all_cases)  # never a constant upstream gradient
    for a, b in zip(all_cases, cases()):  # deterministic
        assert np.array_equal(a.x, b.x) and np.array_equal(a.dy, b.dy)


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_sec3_terms_add_up_to_the_closed_form(case):
    from micrograd_bn.check import autodiff

    closed = reference.backward(case.dy, case.x, case.gamma, case.eps)
    by_autodiff = autodiff(case)
    for key, terms in sec3_terms(case, NORMS["batchnorm"]).items():
        assert_close(sum(terms), closed[key], rtol=1e-9)
        assert_close(by_autodiff[key], closed[key], rtol=1e-9)


def test_report_table_text_and_html():
    report = check_backward(variant(exponent=-0.5, change=lambda o, *a: {"dbeta": None}))
    text = str(report)
    assert "∂ℓ/∂σ²_B  dvar    WRONG" in text and "not done yet: dbeta" in text
    assert report.not_done == ["dbeta"]
    assert "<table>" in report._repr_html_() and "first wrong: dvar" in report._repr_html_()


def test_unknown_keys_are_noted():
    report = check_backward(lambda dy, x, g, e: {"dX": dy})
    assert "ignored key 'dX'" in str(report) and report.not_done == list(KEYS)


def test_a_raising_function_or_no_dict_is_a_check_error():
    with pytest.raises(CheckError, match=r"raised ZeroDivisionError: division by zero \(on case m=2\)"):
        check_backward(lambda dy, x, g, e: {"dx": 1 / 0})
    with pytest.raises(CheckError, match="returned tuple, not a dict"):
        check_backward(lambda dy, x, g, e: (dy, x))


# --- the command line --------------------------------------------------------------------------


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_template_runs_as_written_and_is_not_done(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "exercise", "--out", "my_bn.py")[0] == 0
    status, out, err = run(capsys, "check", "my_bn.py")
    assert status == 1 and err == ""
    assert out.count("not done") == 7 and "not done yet: dx_hat, dvar, dmean, dx, dgamma, dbeta" in out


def test_exercise_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_bn.py").write_text("my work\n")
    status, _, err = run(capsys, "exercise", "--out", "my_bn.py")
    assert status == 2 and "already exists: not overwriting it" in err
    assert (tmp_path / "my_bn.py").read_text() == "my work\n"


ANSWERS = {  # the learner's NumPy for each placeholder of the template
    "dx_hat": "dy * gamma",
    "dvar": "(dx_hat * (x - mean)).sum(axis=0) * -0.5 * (var + eps) ** -1.5",
    "dmean": "(dx_hat * -1 / np.sqrt(var + eps)).sum(axis=0) + dvar * (-2 * (x - mean)).sum(axis=0) / m",
    "dx": "dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mean) / m + dmean / m",
    "dgamma": "(dy * x_hat).sum(axis=0)",
    "dbeta": "dy.sum(axis=0)",
}


def test_a_filled_in_template_exits_0(tmp_path, capsys):
    source = exercise_source(path="done.py")
    for key, code in ANSWERS.items():
        source = source.replace(f"    {key} = None  # TODO", f"    {key} = {code}")
    (tmp_path / "done.py").write_text(source)
    status, out, _ = run(capsys, "check", str(tmp_path / "done.py"))
    assert status == 0 and "all right" in out and "WRONG" not in out


def test_the_example_attempt_shows_a_diagnosis(tmp_path, capsys):
    path = tmp_path / "attempt.py"
    assert run(capsys, "exercise", "--example", "--out", str(path))[0] == 0
    status, out, _ = run(capsys, "check", str(path))
    assert status == 1 and "first wrong: dvar (∂ℓ/∂σ²_B)" in out and "only because it uses it" in out


BAD_FILES = {  # name: (file content or None for no file, exit status, what stderr or stdout must say)
    "missing": (None, 2, "no such file"),
    "syntax error": ("def batchnorm_backward(dy, x, gamma, eps)\n    return {}\n", 2, "line 1: SyntaxError"),
    "raises on import": ("import no_such_module_here\n", 2, "raised ModuleNotFoundError while loading"),
    "no such function": (
        "def batchnorm_backwards(dy, x, gamma, eps):\n    return {}\n",
        2,
        "found: batchnorm_backwards",
    ),
    "wrong signature": ("def batchnorm_backward(dy, x):\n    return {}\n", 2, "must take (dy, x, gamma, eps)"),
    "not a dict": ("def batchnorm_backward(dy, x, gamma, eps):\n    return dy\n", 2, "returned ndarray, not a dict"),
    "raises": ("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dx': dy @ dy}\n", 2, "raised ValueError"),
    "wrong shape": ("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dvar': x}\n", 1, "has shape"),
    "NaN": ("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dx': dy * float('nan')}\n", 1, "is NaN at"),
    "inf": ("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dx': dy * float('inf')}\n", 1, "is inf at"),
    "int dtype": ("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dx': (dy > 0) * 1}\n", 1, "dtype int64"),
    "bool dtype": ("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dx': dy > 0}\n", 1, "dtype bool"),
    "strings": ("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dbeta': 'todo'}\n", 1, "not real numbers"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_get_one_clear_line_and_the_right_status(name, tmp_path, capsys):
    content, expected_status, says = BAD_FILES[name]
    path = tmp_path / "attempt.py"
    if content is not None:
        path.write_text(content)
    status, out, err = run(capsys, "check", str(path))
    assert status == expected_status
    if status == 2:
        assert err.count("\n") == 1 and says in err and "attempt.py" in err and "Traceback" not in err
    else:
        assert says in out and err == ""


def test_verbose_shows_the_traceback(tmp_path, capsys):
    path = tmp_path / "attempt.py"
    path.write_text("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dx': 1 / 0}\n")
    status, _, err = run(capsys, "check", str(path), "--verbose")
    assert status == 2 and "Traceback" in err and "attempt.py, line 2" in err


def test_load_attempt_returns_the_function(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("def batchnorm_backward(dy, x, gamma, eps):\n    return {'dbeta': dy.sum(axis=0)}\n")
    report = check_backward(load_attempt(path))
    assert [g.status for g in report.grades][-1] == "ok" and report.first_wrong is None and not report.ok


# --- LayerNorm (Ba et al. 2016): the same Alg. 1 over each example's features -------------------


def ln_derivation(dy, x, gamma, eps, axis=1):
    n = x.shape[axis]
    mu = x.mean(axis=axis, keepdims=True)
    xmu = x - mu
    var = (xmu**2).mean(axis=axis, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    dx_hat = dy * gamma
    dvar = (dx_hat * xmu).sum(axis=axis, keepdims=True) * -0.5 * (var + eps) ** -1.5
    dmean = (dx_hat * -inv).sum(axis=axis, keepdims=True) + dvar * (-2.0 * xmu).sum(axis=axis, keepdims=True) / n
    dx = dx_hat * inv + dvar * 2.0 * xmu / n + dmean / n
    out = {"dx_hat": dx_hat, "dvar": dvar.squeeze(axis), "dmean": dmean.squeeze(axis), "dx": dx}
    return {**out, "dgamma": (dy * xmu * inv).sum(axis=0), "dbeta": dy.sum(axis=0)}


def ln_variant(change=None, **knobs):
    def backward(dy, x, gamma, eps):
        out = ln_derivation(dy, x, gamma, eps, **knobs)
        return {**out, **(change(out, dy, x, gamma, eps) if change else {})}

    return backward


LN_ZOO = {
    "BatchNorm's axis": (ln_variant(axis=0), "dvar", "summed over axis 0; Sec. 3 sums over each example's features"),
    "∂ℓ/∂σ² kept 2-d": (ln_variant(lambda o, *a: {"dvar": o["dvar"][:, None]}), "dvar", "keepdims=True?"),
    "∂ℓ/∂μ · 1/C dropped": (
        ln_variant(lambda o, dy, x, g, e: {"dx": o["dx"] - o["dmean"][:, None] / x.shape[1]}),
        "dx",
        "missing the term ∂ℓ/∂μ · 1/C",
    ),
    "the mean of dy for ∂ℓ/∂β": (
        ln_variant(lambda o, dy, *a: {"dbeta": dy.mean(axis=0)}),
        "dbeta",
        "off by the factor 1/N on every case: Sec. 3 sums over the examples",
    ),
    "exponent −1/2": (
        ln_variant(lambda o, dy, x, g, e: {"dvar": o["dvar"] * (x.var(axis=1) + e)}),
        "dvar",
        "factor (σ² + ε) on every case",
    ),
}


@pytest.mark.parametrize("name", LN_ZOO)
def test_layernorm_bug_zoo(name):
    backward, key, says = LN_ZOO[name]
    report = check_backward(backward, layer="layernorm")
    assert report.first_wrong.key == key and says in report.diagnosis[0], report.diagnosis


def test_layernorm_right_derivation_passes_and_autodiff_matches_the_closed_form():
    from micrograd_bn.check import autodiff

    assert check_backward(ln_derivation, layer="layernorm").ok
    assert check_backward(lambda dy, x, g, e: reference.layer_norm_backward(dy, x, g, e), layer="layernorm").ok
    for case in cases("layernorm"):
        closed = reference.layer_norm_backward(case.dy, case.x, case.gamma, case.eps)
        by_autodiff = autodiff(case, "layernorm")
        for key, terms in sec3_terms(case, NORMS["layernorm"]).items():
            assert_close(sum(terms), closed[key], rtol=1e-9)
            assert_close(by_autodiff[key], closed[key], rtol=1e-9)


LN_ANSWERS = {
    "dx_hat": "dy * gamma",
    "dvar": "(dx_hat * (x - mean)).sum(axis=1) * -0.5 * (var[:, 0] + eps) ** -1.5",
    "dmean": "(dx_hat * -1 / np.sqrt(var + eps)).sum(axis=1) + dvar * (-2 * (x - mean)).sum(axis=1) / C",
    "dx": "dx_hat / np.sqrt(var + eps) + dvar[:, None] * 2 * (x - mean) / C + dmean[:, None] / C",
    "dgamma": "(dy * x_hat).sum(axis=0)",
    "dbeta": "dy.sum(axis=0)",
}


def test_layernorm_template_not_done_then_filled_in(tmp_path, capsys):
    path = tmp_path / "my_ln.py"
    assert run(capsys, "exercise", "--layer", "layernorm", "--out", str(path))[0] == 0
    status, out, _ = run(capsys, "check", str(path), "--layer", "layernorm")
    assert status == 1 and "LayerNorm backward" in out and out.count("not done") == 7
    source = path.read_text()
    for key, code in LN_ANSWERS.items():
        source = source.replace(f"    {key} = None  # TODO", f"    {key} = {code}")
    path.unlink()
    path.write_text(source)
    status, out, _ = run(capsys, "check", str(path), "--layer", "layernorm")
    assert status == 0, out


# --- issue 23: the root cause, once -------------------------------------------------------------
# Attempts written the way learners write them (CS231n's compact form, Karpathy's staged graph,
# loops over Python floats), each with one realistic mistake; the checker must name the first wrong
# quantity, its cause, and how each later wrong quantity relates to it.


def staged(dy, x, gamma, eps, ddof=0, eps_used=None, eps_in_dvar=True, dtype=np.float64):
    """Karpathy's "backprop ninja" staging, with knobs: the variance's ddof, ε left out, a dtype."""
    dy, x, gamma = dy.astype(dtype), x.astype(dtype), gamma.astype(dtype)
    e = eps if eps_used is None else eps_used
    n = x.shape[0]
    mean = x.sum(0) / n
    diff = x - mean
    var = (diff**2).sum(0) / (n - ddof)
    var_inv = (var + e) ** -0.5
    x_hat = diff * var_inv
    dx_hat = dy * gamma
    dvar_inv = (dx_hat * diff).sum(0)
    ddiff = dx_hat * var_inv
    dvar = -0.5 * (var + (e if eps_in_dvar else 0.0)) ** -1.5 * dvar_inv
    ddiff = ddiff + 2 * diff / (n - ddof) * dvar
    dmean = -ddiff.sum(0)
    dx = ddiff + dmean / n
    out = {"dx_hat": dx_hat, "dvar": dvar, "dmean": dmean, "dx": dx}
    out |= {"dgamma": (dy * x_hat).sum(0), "dbeta": dy.sum(0)}
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def staged_with(change):
    return lambda dy, x, gamma, eps: {
        **staged(dy, x, gamma, eps),
        **change(staged(dy, x, gamma, eps), dy, x, gamma, eps),
    }


def dvar_in_python_floats(dy, x, gamma, eps):  # a loop over Python floats with the sign inside the power
    out = staged(dy, x, gamma, eps)
    rows, cols = x.shape
    dvar = []
    for k in range(cols):
        col = [float(v) for v in x[:, k]]
        mu = sum(col) / rows
        var = sum((v - mu) ** 2 for v in col) / rows
        s = sum(float(dy[i, k] * gamma[k]) * (col[i] - mu) for i in range(rows))
        dvar.append(s * 0.5 * (-(var + eps)) ** -1.5)  # (−a) ** −1.5 is complex in Python
    return {**out, "dvar": dvar}


def aliased_dy(dy, x, gamma, eps):  # dx_hat = dy; dx_hat *= gamma writes into dy
    out = staged(dy.copy(), x, gamma, eps)
    dx_hat = dy
    dx_hat *= gamma
    return {**out, "dx_hat": dx_hat, "dbeta": dy.sum(0)}


ROOT_ZOO = {  # name: (attempt, first wrong key, its cause, {later key: what its line says})
    "unbiased variance all through (Karpathy)": (
        lambda dy, x, g, e: staged(dy, x, g, e, ddof=1),
        "dvar",
        "uses the unbiased variance Σ(x_i − μ_B)²/(m−1)",
        {"dmean": "the same unbiased variance", "dx": "the same unbiased variance", "dgamma": "the same"},
    ),
    "ε left out everywhere": (
        lambda dy, x, g, e: staged(dy, x, g, e, eps_used=0.0),
        "dvar",
        "leaves out ε",
        {"dx": "leaves out ε too", "dgamma": "leaves out ε too"},
    ),
    "ε left out of ∂ℓ/∂σ²_B only": (
        lambda dy, x, g, e: staged(dy, x, g, e, eps_in_dvar=False),
        "dvar",
        "leaves out ε",
        {"dx": "right given your ∂ℓ/∂σ²_B"},
    ),
    "computed in float32, returned as float64": (
        lambda dy, x, g, e: staged(dy, x, g, e, dtype=np.float32),
        "dx_hat",
        "float32 numbers cast back to float64",
        {"dvar": "rounded the same way", "dx": "rounded the same way"},
    ),
    "∂ℓ/∂σ returned as ∂ℓ/∂σ²_B": (
        staged_with(lambda o, dy, x, g, e: {"dvar": o["dvar"] * 2 * np.sqrt(x.var(0) + e)}),
        "dvar",
        "that is ∂ℓ/∂σ",
        {},
    ),
    "dγ and dβ swapped": (
        staged_with(lambda o, *a: {"dgamma": o["dbeta"], "dbeta": o["dgamma"]}),
        "dgamma",
        "∂ℓ/∂γ and ∂ℓ/∂β are swapped",
        {"dbeta": "the other half of the swap"},
    ),
    "two missing factors at once": (
        staged_with(lambda o, dy, x, g, e: {"dx": o["dx"] / g / len(x)}),
        "dx",
        "off by the factor 1/(m·γ)",
        {},
    ),
    "a sign inside a fractional power, in Python floats": (
        dvar_in_python_floats,
        "dvar",
        "the sign went inside the power",
        {},
    ),
    "x.shape[1] for m in ∂ℓ/∂x_i's last term": (
        staged_with(lambda o, dy, x, g, e: {"dx": o["dx"] - o["dmean"] / len(x) + o["dmean"] / x.shape[1]}),
        "dx",
        "has the term ∂ℓ/∂μ_B · 1/m multiplied by m/C",
        {},
    ),
    "dy changed in place through an alias": (aliased_dy, "dbeta", "computed from the dy your function changed", {}),
    "∂ℓ/∂μ_B left unsummed": (
        staged_with(lambda o, dy, x, g, e: {"dmean": dy * g * -1 / np.sqrt(x.var(0) + e)}),
        "dmean",
        "not summed",
        {},
    ),
    ".squeeze() at C = 1": (
        staged_with(lambda o, dy, *a: {"dbeta": dy.sum(0, keepdims=True).squeeze()}),
        "dbeta",
        ".squeeze()",
        {},
    ),
    "∂ℓ/∂μ_B summed over the features, broadcast back": (
        staged_with(lambda o, dy, x, g, e: {"dmean": np.broadcast_to((dy * g).sum(1, keepdims=True), x.shape)}),
        "dmean",
        "summed over axis 1 and broadcast back to x's shape",
        {},
    ),
}


@pytest.mark.parametrize("name", ROOT_ZOO)
def test_root_cause_zoo(name):
    assert_root_cause("batchnorm", *ROOT_ZOO[name])


def assert_root_cause(layer, attempt, key, cause, later):
    """The first wrong quantity is `key`, its cause says `cause`, each later line as `later` says."""
    report = check_backward(attempt, layer)
    assert report.first_wrong.key == key, report.diagnosis
    start = 1 if report.diagnosis[0].startswith("your function changes") else 0
    assert cause in report.diagnosis[start], report.diagnosis
    for k, says in later.items():
        symbol = next(g.symbol for g in report.grades if g.key == k)
        line = next(d for d in report.diagnosis if d.startswith(symbol))
        assert says in line, report.diagnosis
    assert not any("off by a multiple" in d for d in report.diagnosis)  # never a fitted coefficient for a cause


def test_a_consistent_unbiased_derivation_is_never_said_wrong_on_its_own():
    report = check_backward(lambda dy, x, g, e: staged(dy, x, g, e, ddof=1))
    assert not any("on its own" in d for d in report.diagnosis), report.diagnosis


def test_an_unusable_earlier_value_makes_later_ones_cannot_tell_yet_not_wrong():
    unsummed = ROOT_ZOO["∂ℓ/∂μ_B left unsummed"][0]
    broken = lambda dy, x, g, e: {**unsummed(dy, x, g, e), "dx": unsummed(dy, x, g, e)["dx"] * 2}  # noqa: E731
    report = check_backward(broken)
    assert report.first_wrong.key == "dmean"
    assert "∂ℓ/∂x_i: cannot tell yet: it uses your ∂ℓ/∂μ_B" in report.diagnosis[1]


def test_the_table_shows_the_case_a_problem_first_shows_on():
    def squeezed(dy, x, g, e):
        return {"dbeta": dy.sum(0) * 1.5 if x.shape[1] > 1 else dy.sum()}  # wrong values first, then a shape

    grade = check_backward(squeezed).grades[-1]
    assert grade.case == "m=3, C=1" and grade.index is None and grade.got is None and grade.rel_error is None
    assert "m=3, C=1 [" not in str(check_backward(squeezed))


def test_inputs_changed_in_place_are_said_even_when_everything_is_right():
    def right_but_writes(dy, x, gamma, eps):
        out = staged(dy, x, gamma, eps)
        x -= x.mean(0)  # afterwards: the caller's x is changed
        return out

    report = check_backward(right_but_writes)
    assert report.ok and any("changes its argument x in place" in n for n in report.notes)


def test_cs231n_tuple_is_graded_and_the_rest_not_given():
    report = check_backward(
        lambda dy, x, g, e: tuple(reference.backward(dy, x, g, e)[k] for k in ("dx", "dgamma", "dbeta"))
    )
    status = {g.key: g.status for g in report.grades}
    assert status == {
        "dx_hat": "not given",
        "dvar": "not given",
        "dmean": "not given",
        "dx": "ok",
        "dgamma": "ok",
        "dbeta": "ok",
    }
    assert "not given: dx_hat, dvar, dmean" in str(report) and "CS231n" in str(report)
    wrong = check_backward(lambda dy, x, g, e: (dy, dy.sum(0), dy.sum(0)))
    assert wrong.first_wrong.key == "dx"


def test_a_runaway_function_is_stopped_by_the_timeout():
    from micrograd_bn.grading import CheckTimeout

    def forever(dy, x, gamma, eps):
        while True:
            try:
                pass
            except Exception:  # a learner's catch-all cannot swallow the deadline
                pass

    with pytest.raises(CheckTimeout, match=r"ran longer than 0.2 s") as info:
        check_backward(forever, timeout=0.2)
    assert info.value.exit_code == 124


def test_ctrl_c_and_sys_exit_in_the_learners_code_are_one_line_each():
    from micrograd_bn.grading import CheckInterrupted, LearnerExit

    def interrupted(dy, x, gamma, eps):
        raise KeyboardInterrupt

    with pytest.raises(CheckInterrupted, match=r"interrupted \(Ctrl-C\)") as info:
        check_backward(interrupted)
    assert info.value.exit_code == 130
    with pytest.raises(LearnerExit, match=r"called sys.exit\(3\)") as info:
        check_backward(lambda dy, x, g, e: __import__("sys").exit(3))
    assert info.value.exit_code == 4


LEARNER_FILES = {  # name: (file content, extra options, exit status, what stderr says)
    "sys.exit at import": ("import sys\nsys.exit(3)\n", [], 4, "called sys.exit(3)"),
    "a loop at import": ("while True:\n    pass\n", ["--timeout", "0.3"], 124, "ran longer than 0.3 s"),
    "a loop in the function": (
        "def batchnorm_backward(dy, x, gamma, eps):\n    while True:\n        pass\n",
        ["--timeout", "0.3"],
        124,
        "batchnorm_backward from attempt.py (on case m=2) ran longer",
    ),
    "Ctrl-C in the function": (
        "def batchnorm_backward(dy, x, gamma, eps):\n    raise KeyboardInterrupt\n",
        [],
        130,
        "interrupted (Ctrl-C)",
    ),
    "LayerNorm's function checked as BatchNorm": (
        "def layernorm_backward(dy, x, gamma, eps):\n    return {}\n",
        ["--layer", "batchnorm"],
        2,
        "it defines layernorm_backward, so use --layer layernorm (or leave --layer out)",
    ),
}


@pytest.mark.parametrize("name", LEARNER_FILES)
def test_learner_files_that_exit_loop_or_are_interrupted_end_with_one_line(name, tmp_path, capsys):
    content, options, expected_status, says = LEARNER_FILES[name]
    path = tmp_path / "attempt.py"
    path.write_text(content)
    status, out, err = run(capsys, "check", str(path), *options)
    assert status == expected_status and says in err and err.count("\n") == 1 and out == "", err


def test_a_layernorm_file_is_found_without_layer(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text(
        "from micrograd_bn.reference import layer_norm_backward\n\n"
        "def layernorm_backward(dy, x, gamma, eps):\n    return layer_norm_backward(dy, x, gamma, eps)\n"
    )
    status, out, _ = run(capsys, "check", str(path))
    assert status == 0 and "LayerNorm backward" in out


# --- LayerNorm: the same causes over each example's features -----------------------------------


def ln_staged(dy, x, gamma, eps, ddof=0, eps_used=None, axis=1):
    e = eps if eps_used is None else eps_used
    n = x.shape[axis]
    diff = x - x.mean(axis, keepdims=True)
    var = (diff**2).sum(axis, keepdims=True) / (n - ddof)
    inv = (var + e) ** -0.5
    dx_hat = dy * gamma
    dvar = -0.5 * (var + e) ** -1.5 * (dx_hat * diff).sum(axis, keepdims=True)
    ddiff = dx_hat * inv + 2 * diff / (n - ddof) * dvar
    dmean = -ddiff.sum(axis, keepdims=True)
    out = {"dx_hat": dx_hat, "dvar": dvar.squeeze(axis), "dmean": dmean.squeeze(axis), "dx": ddiff + dmean / n}
    return out | {"dgamma": (dy * diff * inv).sum(0), "dbeta": dy.sum(0)}


LN_ROOT_ZOO = {
    "unbiased variance all through": (
        lambda dy, x, g, e: ln_staged(dy, x, g, e, ddof=1),
        "dvar",
        "uses the unbiased variance Σ(x_j − μ)²/(C−1)",
        {"dx": "the same unbiased variance"},
    ),
    "ε left out": (lambda dy, x, g, e: ln_staged(dy, x, g, e, eps_used=0.0), "dvar", "leaves out ε", {"dx": "too"}),
    "summed over the batch axis": (
        lambda dy, x, g, e: ln_staged(dy, x, g, e, axis=0),
        "dvar",
        "summed over axis 0; Sec. 3 sums over each example's features (axis 1)",
        {"dmean": "cannot tell yet", "dx": "cannot tell yet"},
    ),
    ".squeeze() at N = 1": (
        lambda dy, x, g, e: {**ln_staged(dy, x, g, e), "dmean": ln_staged(dy, x, g, e)["dmean"].squeeze()},
        "dmean",
        "N = 1 on this case",
        {},
    ),
    "N where Sec. 3 divides by C": (
        lambda dy, x, g, e: {**ln_staged(dy, x, g, e), "dx": ln_staged(dy, x, g, e)["dx"] * x.shape[1] / x.shape[0]},
        "dx",
        "off by the factor C/N",
        {},
    ),
    "dγ and dβ swapped": (
        lambda dy, x, g, e: {**ln_staged(dy, x, g, e), "dgamma": dy.sum(0), "dbeta": ln_staged(dy, x, g, e)["dgamma"]},
        "dgamma",
        "swapped",
        {"dbeta": "the other half of the swap"},
    ),
}


@pytest.mark.parametrize("name", LN_ROOT_ZOO)
def test_layernorm_root_cause_zoo(name):
    assert_root_cause("layernorm", *LN_ROOT_ZOO[name])
