"""Derive it yourself: grade a learner's BatchNorm (or LayerNorm) backward, quantity by quantity.

`check_backward(fn)` runs the learner's `batchnorm_backward(dy, x, gamma, eps)` on a fixed
set of cases chosen so that a careless derivation cannot pass by luck, sets each returned
quantity beside autodiff (read off the labelled nodes of the engine's graph) and, for the
first wrong quantity in Sec. 3's order, says what is wrong there: a constant factor, a
sign, a shape, a missing or extra term of Sec. 3's equation, or a wrong quantity that only
inherits an earlier mistake. Errors are measured as `compare` measures them: max |Δ| over
the size of the terms the equation sums (`compare.term_scales`).

References: Ioffe & Szegedy, arXiv 1502.03167, Alg. 1, Sec. 3 (the chain rule), Sec. 3.2
(per-feature-map statistics); Ba et al., arXiv 1607.06450 (LayerNorm: the same Alg. 1 over
each example's features).
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import compare, reference
from .grading import FIT_TOLERANCE, TOLERANCE, CheckError, Grade, Report, grade

KEYS = ("dx_hat", "dvar", "dmean", "dx", "dgamma", "dbeta")  # Sec. 3's order
UPSTREAM = {"dvar": ("dx_hat",), "dmean": ("dx_hat", "dvar"), "dx": ("dx_hat", "dvar", "dmean")}


@dataclass(frozen=True)
class Layer:
    """What differs between the two exercises: the function's name, the axis Alg. 1 sums over, the symbols."""

    name: str
    function: str
    axis: int  # Alg. 1's statistics: over the batch (0, BatchNorm) or over each example's features (1)
    words: dict[str, str]  # fills the {B}, {i}, {m} of the equations below

    def symbol(self, key: str) -> str:
        return SYMBOLS[key].format(**self.words)

    def shape(self, key: str, x_shape: tuple[int, int]) -> tuple[int, ...]:
        if key in ("dx_hat", "dx"):
            return x_shape
        if key in ("dvar", "dmean"):
            return (x_shape[1 - self.axis],)
        return (x_shape[1],)  # γ and β: one per feature


SYMBOLS = {
    "dx_hat": "∂ℓ/∂x̂_{i}",
    "dvar": "∂ℓ/∂σ²{B}",
    "dmean": "∂ℓ/∂μ{B}",
    "dx": "∂ℓ/∂x_{i}",
    "dgamma": "∂ℓ/∂γ",
    "dbeta": "∂ℓ/∂β",
}
BATCHNORM = Layer("BatchNorm", "batchnorm_backward", 0, {"B": "_B", "i": "i", "m": "m", "over": "the batch"})
LAYERNORM = Layer(
    "LayerNorm", "layernorm_backward", 1, {"B": "", "i": "j", "m": "C", "over": "each example's features"}
)
LAYERS = {"batchnorm": BATCHNORM, "layernorm": LAYERNORM}


# --- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One input to the learner's function; x and dy are (m, C) (BatchNorm2d's feature maps as columns)."""

    name: str
    x: np.ndarray
    dy: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float
    spatial: tuple[int, int, int, int] | None = None  # BatchNorm2d's (N, C, H, W), Sec. 3.2


def cases(layer: str = "batchnorm") -> list[Case]:
    """The fixed cases, each with its own seed: small m (some wrong terms vanish as m grows),
    C ≠ m (a transposed answer has the wrong shape), γ ≠ 1 and β ≠ 0 (so a missing γ shows),
    ε tiny and large, shifted and scaled inputs, and a fresh random dy, never constant.

    >>> [c.name for c in cases()][:3]
    ['m=2', 'm=3, C=1', 'm=4, ε=1']
    """
    # (name, rows, C, ε, shift, scale, BatchNorm2d's (N, H, W) or None)
    if LAYERS[layer] is BATCHNORM:
        specs = [
            ("m=2", 2, 3, 1e-5, 0.0, 1.0, None),
            ("m=3, C=1", 3, 1, 1e-5, 0.0, 1.0, None),
            ("m=4, ε=1", 4, 2, 1.0, 0.0, 1.0, None),
            ("m=5, ε=1e-12, x·1e-3", 5, 3, 1e-12, 0.0, 1e-3, None),
            ("m=7, x+100", 7, 2, 1e-5, 100.0, 1.0, None),
            ("m=10, x·1e3", 10, 4, 1e-5, 0.0, 1e3, None),
            ("m=64", 64, 3, 1e-5, 0.0, 1.0, None),
            ("BatchNorm2d 2×3×2×3, m'=12", 12, 3, 1e-5, 1.0, 2.0, (2, 2, 3)),
        ]
    else:  # LayerNorm normalizes each of the N rows over its C features: C plays m's part
        specs = [
            ("C=2", 3, 2, 1e-5, 0.0, 1.0, None),
            ("C=3, N=1", 1, 3, 1e-5, 0.0, 1.0, None),
            ("C=4, ε=1", 2, 4, 1.0, 0.0, 1.0, None),
            ("C=5, ε=1e-12, x·1e-3", 3, 5, 1e-12, 0.0, 1e-3, None),
            ("C=7, x+100", 4, 7, 1e-5, 100.0, 1.0, None),
            ("C=10, x·1e3", 3, 10, 1e-5, 0.0, 1e3, None),
            ("C=64", 2, 64, 1e-5, 0.0, 1.0, None),
        ]
    out = []
    for seed, (name, rows, c, eps, shift, scale, spatial) in enumerate(specs):
        rng = np.random.default_rng(1300 + seed)
        x = shift + scale * rng.normal(size=(rows, c))
        dy = rng.normal(size=(rows, c))  # continuous: never constant
        sign = rng.choice([-1.0, 1.0], size=(2, c))
        gamma, beta = sign * rng.uniform(0.5, 2.0, size=(2, c))  # away from 0 and from 1
        shape = None
        if spatial:
            n, h, w = spatial
            shape = (n, c, h, w)
            x = reference.to_columns(shift + scale * rng.normal(size=shape))
            dy = reference.to_columns(rng.normal(size=shape))
        out.append(Case(name, x, dy, gamma, beta, eps, shape))
    return out


def autodiff(case: Case, layer: str = "batchnorm") -> dict[str, np.ndarray]:
    """Every quantity of Sec. 3 for one case, read off the labelled nodes of the engine's graph."""
    if LAYERS[layer] is BATCHNORM:
        x, dy = case.x, case.dy
        if case.spatial:
            x, dy = reference.from_columns(x, case.spatial), reference.from_columns(dy, case.spatial)
        got = compare.autodiff(x, dy, case.gamma, case.beta, case.eps, momentum=0.1)
        return {k: got[k] for k in KEYS}
    return _layernorm_autodiff(case)


def _layernorm_autodiff(case: Case) -> dict[str, np.ndarray]:
    from . import LayerNorm
    from .engine import Value

    c = case.x.shape[1]
    layer = LayerNorm(c, eps=case.eps)
    for k in range(c):
        layer.weight[k].data, layer.bias[k].data = float(case.gamma[k]), float(case.beta[k])
    y = layer([[Value(v) for v in row] for row in case.x.tolist()])
    Value.dot([v for row in y for v in row], case.dy.ravel().tolist()).backward()
    rows = layer.last  # one Alg1Nodes per example
    return {
        "dx_hat": np.array([[v.grad for v in r.x_hat] for r in rows]),
        "dvar": np.array([r.var.grad for r in rows]),
        "dmean": np.array([r.mean.grad for r in rows]),
        "dx": np.array([[v.grad for v in r.x] for r in rows]),
        "dgamma": np.array([g.grad for g in layer.weight]),
        "dbeta": np.array([b.grad for b in layer.bias]),
    }


def scales(case: Case, layer: str = "batchnorm") -> dict[str, float]:
    """The size of the terms each quantity sums (`compare.term_scales`): the yardstick of every error."""
    if LAYERS[layer] is BATCHNORM:
        return compare.term_scales(case.x, case.dy, case.gamma, case.beta, case.eps)
    # LayerNorm's statistics are BatchNorm's on the transposed batch; γ and β still sum over examples.
    c = case.x.shape[1]
    x_hat = reference.layer_norm_forward(case.x, np.ones(c), np.zeros(c), case.eps)["x_hat"]
    out = compare.term_scales(case.x.T, case.dy.T, case.gamma[:, None], case.beta[:, None], case.eps)
    out["dgamma"] = float(np.abs(case.dy * x_hat).sum(axis=0).max())
    out["dbeta"] = float(np.abs(case.dy).sum(axis=0).max())
    return out


# --- Sec. 3, term by term ----------------------------------------------------------------------

TERMS = {  # the terms of Sec. 3's equation for each quantity, in the paper's symbols
    "dx_hat": ("∂ℓ/∂y_{i} · γ",),
    "dvar": ("Σ_{i} ∂ℓ/∂x̂_{i} · (x_{i} − μ{B}) · (−1/2)(σ²{B} + ε)^(−3/2)",),
    "dmean": ("Σ_{i} ∂ℓ/∂x̂_{i} · −1/√(σ²{B} + ε)", "∂ℓ/∂σ²{B} · Σ_{i} −2(x_{i} − μ{B}) / {m}"),
    "dx": ("∂ℓ/∂x̂_{i} · 1/√(σ²{B} + ε)", "∂ℓ/∂σ²{B} · 2(x_{i} − μ{B}) / {m}", "∂ℓ/∂μ{B} · 1/{m}"),
    "dgamma": ("Σ_i ∂ℓ/∂y_i · x̂_i",),
    "dbeta": ("Σ_i ∂ℓ/∂y_i",),
}


def sec3_terms(
    case: Case, layer: Layer, given: Mapping[str, np.ndarray] | None = None, var: np.ndarray | None = None
) -> dict[str, list[np.ndarray]]:
    """Each quantity's terms, from Sec. 3's equations; each uses `given` (the learner's values)
    for the earlier quantities it needs where given, and its own true value otherwise.

    `var` replaces σ²_B (to test a derivation with another variance). Summing a quantity's
    terms gives `reference.backward(...)` for BatchNorm.
    """
    given, ax, x, dy = given or {}, layer.axis, case.x, case.dy
    m = x.shape[ax]
    xmu = x - (reference.batch_mean(x) if ax == 0 else reference.batch_mean(x.T)[:, None])
    var = (xmu**2).mean(axis=ax, keepdims=True) if var is None else var
    inv_std = 1.0 / np.sqrt(var + case.eps)

    def stat(key: str, value: np.ndarray) -> np.ndarray:  # a (C,) or (N,) quantity, broadcastable
        return np.expand_dims(np.asarray(given[key]), ax) if key in given else value

    terms: dict[str, list[np.ndarray]] = {"dx_hat": [dy * case.gamma]}
    dx_hat = np.asarray(given.get("dx_hat", terms["dx_hat"][0]))
    terms["dvar"] = [(dx_hat * xmu).sum(axis=ax, keepdims=True) * -0.5 * (var + case.eps) ** -1.5]
    dvar = stat("dvar", terms["dvar"][0])
    terms["dmean"] = [
        (dx_hat * -inv_std).sum(axis=ax, keepdims=True),
        dvar * (-2.0 * xmu).sum(axis=ax, keepdims=True) / m,
    ]
    dmean = stat("dmean", sum(terms["dmean"]))
    terms["dx"] = [dx_hat * inv_std, dvar * 2.0 * xmu / m, dmean / m * np.ones_like(x)]
    for key in ("dvar", "dmean"):
        terms[key] = [np.squeeze(t, axis=ax) * np.ones(x.shape[1 - ax]) for t in terms[key]]
    terms["dgamma"] = [(dy * xmu * inv_std).sum(axis=0)]
    terms["dbeta"] = [dy.sum(axis=0)]
    return terms


# --- grading ---------------------------------------------------------------------------------


def check_backward(fn: Callable[..., Mapping[str, Any]], layer: str = "batchnorm") -> Report:
    """Grade `fn(dy, x, gamma, eps) -> {"dx_hat": ..., ...}` against autodiff over `cases(layer)`.

    A key left out, or None, is "not done". Raises CheckError when fn raises or returns no dict.

    >>> def attempt(dy, x, gamma, eps):
    ...     return {"dx_hat": dy * gamma, "dbeta": dy.mean(axis=0)}  # a mean where Sec. 3 sums
    >>> report = check_backward(attempt)
    >>> report.ok, report.first_wrong.key, report.not_done
    (False, 'dbeta', ['dvar', 'dmean', 'dx', 'dgamma'])
    >>> print(report.diagnosis[0])
    ∂ℓ/∂β is off by the factor 1/m on every case: Sec. 3 sums over the batch, Σ_i, where a mean divides by m
    """
    spec = LAYERS[layer]
    all_cases = cases(layer)
    answers = [_call(fn, spec, case) for case in all_cases]
    expected = [autodiff(case, layer) for case in all_cases]
    yardsticks = [scales(case, layer) for case in all_cases]
    grades = [
        grade(
            key,
            spec.symbol(key),
            [c.name for c in all_cases],
            [a.get(key) for a in answers],
            [e[key] for e in expected],
            [s[key] for s in yardsticks],
        )
        for key in KEYS
    ]
    notes = [f"ignored key {k!r}: the keys are {', '.join(KEYS)}" for k in answers[0] if k not in KEYS]
    report = Report(f"{spec.name} backward: {_name(fn)}, {len(all_cases)} cases, against autodiff", grades, notes=notes)
    if report.first_wrong is not None:
        report.diagnosis = _diagnose(spec, report, all_cases, answers, expected, yardsticks)
    return report


def _name(fn: Callable) -> str:
    code = getattr(fn, "__code__", None)
    from_file = code and getattr(fn, "__module__", "__main__") != "__main__"  # a notebook cell's file is no name
    where = f" from {Path(code.co_filename).name}" if from_file else ""
    return f"{getattr(fn, '__name__', 'function')}{where}"


def _call(fn: Callable, spec: Layer, case: Case) -> dict:
    args = (case.dy.copy(), case.x.copy(), case.gamma.copy(), float(case.eps))  # copies: fn may write to them
    try:
        out = fn(*args)
    except Exception as err:
        raise CheckError(f"{_name(fn)} raised {type(err).__name__}: {err} (on case {case.name}){_line(err)}") from err
    if not isinstance(out, Mapping):
        raise CheckError(
            f"{_name(fn)} returned {type(out).__name__}, not a dict: return {{'dx_hat': ..., 'dvar': ..., ...}} "
            f"with any of the keys {', '.join(KEYS)}"
        )
    return dict(out)


def _line(err: BaseException) -> str:
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "" if tb is None else f" at {Path(tb.tb_frame.f_code.co_filename).name}, line {tb.tb_lineno}"


# --- the diagnosis -----------------------------------------------------------------------------


def _count(spec: Layer, key: str, case: Case) -> tuple[str, np.float64]:
    """How many entries the quantity's Σ adds up, and its symbol: m (BatchNorm); C or N (LayerNorm)."""
    if key in ("dgamma", "dbeta") and spec.axis == 1:
        return "N", np.float64(case.x.shape[0])  # γ and β sum over the examples
    return spec.words["m"], np.float64(case.x.shape[spec.axis])


def _families(spec: Layer, key: str, case: Case) -> list[tuple[str, Any]]:
    """Candidate factors for one case: constants, functions of m, and per-feature γ and (σ²_B + ε)^p."""
    M, m = _count(spec, key, case)
    out: list[tuple[str, Any]] = [("2", 2.0), ("1/2", 0.5), ("4", 4.0), ("1/4", 0.25)]
    with np.errstate(divide="ignore"):  # m − 1 = 0 for LayerNorm's N = 1: that candidate just fails
        out += [(M, m), (f"1/{M}", 1 / m), (f"{M}/({M}−1)", m / (m - 1)), (f"({M}−1)/{M}", (m - 1) / m)]
        out += [(f"{M}−1", m - 1), (f"1/({M}−1)", 1 / (m - 1)), (f"{M}²", m * m), (f"1/{M}²", 1 / m**2)]
    if not (spec.axis == 1 and key in ("dvar", "dmean")):  # LayerNorm's γ is per feature, σ² per example
        out += [("γ", case.gamma), ("1/γ", 1 / case.gamma), ("γ²", case.gamma**2)]
    if spec.axis == 1 and key in ("dgamma", "dbeta"):
        return out
    v = np.var(case.x, axis=spec.axis, keepdims=key in ("dx_hat", "dx")) + case.eps
    s = f"(σ²{spec.words['B']} + ε)"
    for p, name in ((0.5, "^(1/2)"), (1.0, ""), (1.5, "^(3/2)"), (2.0, "^2")):
        out += [(s + name, v**p), (s + name.replace("(", "(−") if name else s + "^(−1)", v**-p)]
    return out


def _describe_factor(spec: Layer, key: str, name: str, sign: float) -> str:
    what = f"{spec.symbol(key)} is off by the factor {'−' if sign < 0 else ''}{name}"
    if name == "1":
        return f"{spec.symbol(key)} has the wrong sign (× −1) on every case"
    hint = ""
    count = name[2:]
    if name == f"1/{count}" and count in ("m", "C", "N") and key in ("dgamma", "dbeta", "dvar", "dmean"):
        stat = key in ("dvar", "dmean") or spec.axis == 0  # BatchNorm's γ, β sum over the same batch
        over, i = (spec.words["over"], spec.words["i"]) if stat else ("the examples", "i")
        hint = f": Sec. 3 sums over {over}, Σ_{i}, where a mean divides by {count}"
    elif name.startswith("1/γ"):
        hint = ": a factor γ is missing"
    elif name.startswith("γ"):
        hint = ": an extra factor γ"
    elif "σ²" in name and key == "dvar":
        hint = ": check the power of (σ²_B + ε), −3/2 in Sec. 3".replace("_B", spec.words["B"])
    elif "σ²" in name:
        hint = ": check the powers of (σ²_B + ε) (x̂ divides by its square root)".replace("_B", spec.words["B"])
    return what + " on every case" + hint


def _diagnose(spec: Layer, report: Report, all_cases, answers, expected, yardsticks) -> list[str]:
    wrong = report.first_wrong
    assert wrong is not None
    key = wrong.key
    lines = [_explain(spec, key, wrong, all_cases, answers, expected, yardsticks)]
    # Later quantities: recomputed with Sec. 3's equations from the learner's earlier values.
    later = [g for g in report.grades[KEYS.index(key) + 1 :] if g.status == "WRONG" and not g.problem]
    same_variance = lines[0].startswith(f"{wrong.symbol} uses the unbiased variance")
    for g in later:
        redone = [sum(sec3_terms(c, spec, _given(spec, a, c))[g.key]) for c, a in zip(all_cases, answers)]
        if key in UPSTREAM.get(g.key, ()) and _matches(g.key, answers, redone, yardsticks):
            lines.append(f"{g.symbol} is right given your {wrong.symbol}: it is wrong only because it uses it")
            continue
        if same_variance:
            redone = [_with_unbiased_variance(spec, g.key, c, a) for c, a in zip(all_cases, answers)]
            if _matches(g.key, answers, redone, yardsticks):
                lines.append(f"{g.symbol} uses the same unbiased variance")
                continue
        lines.append(f"{g.symbol} is wrong on its own too: check it after this one")
    return lines


def _matches(key: str, answers: list[dict], predicted: list[np.ndarray], yardsticks: list[dict]) -> bool:
    """The learner's `key` equals `predicted` on every case, to the checker's tolerance."""
    return all(
        np.max(np.abs(np.asarray(a[key], dtype=float) - p)) <= TOLERANCE * s[key]
        for a, p, s in zip(answers, predicted, yardsticks)
    )


def _valid(value: Any, shape: tuple[int, ...]) -> bool:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.shape == shape and bool(np.all(np.isfinite(arr)))


def _given(spec: Layer, answer: dict, case: Case) -> dict[str, np.ndarray]:
    """The learner's values that Sec. 3's equations can take as the earlier quantities."""
    return {
        k: np.asarray(v, dtype=float)
        for k, v in answer.items()
        if k in KEYS and v is not None and _valid(v, spec.shape(k, case.x.shape))
    }


def _explain(spec: Layer, key: str, grade: Grade, all_cases, answers, expected, yardsticks) -> str:
    sym = spec.symbol(key)
    problem = grade.problem
    if problem.startswith("shape"):
        return _explain_shape(spec, key, grade, all_cases, answers, expected)
    if problem in ("NaN", "inf"):
        at = f"{list(grade.index)} on case {grade.case}"
        return f"{sym} is {problem} at {at}: look for 0/0, a √ of a negative number or an overflow"
    if problem.startswith("None"):
        return f"{sym} is None on case {grade.case} but given on others: return it on every case"
    if problem.startswith("dtype") and grade.rel_error is not None:
        return (
            f"{sym} is {problem[6:]}: it loses precision (rel err {grade.rel_error:.1e}, above {TOLERANCE:g}); "
            "compute and return float64"
        )
    if problem:
        return f"{sym}: {problem}"
    got = [np.asarray(a[key], dtype=float) for a in answers]
    exp = [e[key] for e in expected]
    size = [s[key] for s in yardsticks]

    def fits(predicted: list[np.ndarray]) -> bool:  # got = predicted on every case, to FIT_TOLERANCE
        return all(np.max(np.abs(g - p)) <= FIT_TOLERANCE * s for g, p, s in zip(got, predicted, size))

    # 1. a constant or per-feature factor: got = ±f · expected on every case
    fams = [_families(spec, key, c) for c in all_cases]
    for j, (name, _) in enumerate(fams[0]):
        for sign in (1.0, -1.0):
            if fits([sign * f[j][1] * e for f, e in zip(fams, exp)]):
                return _describe_factor(spec, key, name, sign)
    if fits([-e for e in exp]):
        return _describe_factor(spec, key, "1", -1.0)
    # 2. missing, doubled or scaled terms: got − expected = a · term, a fitted by least squares per case
    terms = [sec3_terms(c, spec, _given(spec, a, c))[key] for c, a in zip(all_cases, answers)]
    names = [t.format(**spec.words) for t in TERMS[key]]
    for t, name in enumerate(names):
        if all(np.max(np.abs(ts[t])) <= FIT_TOLERANCE * s for ts, s in zip(terms, size)):
            continue  # a term that is exactly zero (Σ_i (x_i − μ_B) = 0) explains nothing
        coef = [_fit(g - e, ts[t], s) for g, e, ts, s in zip(got, exp, terms, size)]
        if all(a is not None for a in coef):
            return _describe_term(spec, key, name, coef, all_cases)
    for r in range(2, len(names) + 1):
        for subset in itertools.combinations(range(len(names)), r):
            if fits([e - sum(ts[t] for t in subset) for e, ts in zip(exp, terms)]):
                return f"{sym} is missing the terms " + " and ".join(names[t] for t in subset)
    # 3. look-alikes: the unbiased variance in Alg. 1; x_i where ∂ℓ/∂γ has x̂_i
    w = spec.words
    if key != "dx_hat" and fits([_with_unbiased_variance(spec, key, c, a) for c, a in zip(all_cases, answers)]):
        unbiased = f"Σ(x_{w['i']} − μ{w['B']})²/({w['m']}−1)"
        return f"{sym} uses the unbiased variance {unbiased}; Alg. 1's σ²{w['B']} divides by {w['m']}"
    if key == "dgamma" and fits([(c.dy * c.x).sum(axis=0) for c in all_cases]):
        return f"{sym} is Σ_i ∂ℓ/∂y_i · x_i: Sec. 3 has x̂_i, the normalized input, where you have x_i"
    band = " (about float32 rounding: is something computed in float32?)" if grade.rel_error < 1e-5 else ""
    return (
        f"{sym} is wrong (rel err {grade.rel_error:.1e}{band}), and not by a constant factor or a term of "
        f"Sec. 3's equation {sym} = {' + '.join(names)}; compare your code with it term by term, "
        f"starting at case {grade.case}, entry {list(grade.index)}"
    )


def _fit(diff: np.ndarray, term: np.ndarray, size: float) -> float | None:
    """The least-squares a in diff ≈ a · term, or None when that leaves more than a rounding residual."""
    d, t = diff.ravel(), term.ravel()
    a = float(d @ t / (t @ t)) if t @ t > 0 else 0.0
    return a if np.max(np.abs(d - a * t)) <= FIT_TOLERANCE * size else None


def _with_unbiased_variance(spec: Layer, key: str, case: Case, answer: dict) -> np.ndarray:
    m = case.x.shape[spec.axis]
    var = np.var(case.x, axis=spec.axis, keepdims=True) * m / (m - 1)
    return sum(sec3_terms(case, spec, _given(spec, answer, case), var=var)[key])


def _explain_shape(spec: Layer, key: str, grade: Grade, all_cases, answers, expected) -> str:
    sym, n = spec.symbol(key), [c.name for c in all_cases].index(grade.case)
    got, exp, x = np.asarray(answers[n][key]), expected[n][key], all_cases[n].x
    where = f"{sym} has shape {got.shape} where {exp.shape} is expected (case {grade.case})"
    sums = spec.axis if key in ("dvar", "dmean") else 0  # the axis Sec. 3's Σ runs over
    over = spec.words["over"] if key in ("dvar", "dmean") else "the examples"
    if got.ndim == 2 and got.shape == exp.shape[::-1]:
        right = np.max(np.abs(got.T - exp)) <= TOLERANCE * max(1.0, float(np.max(np.abs(exp))))
        return where + (": transposed, the right numbers with rows and columns swapped" if right else ": transposed")
    if exp.ndim == 1 and got.shape in ((1, exp.size), (exp.size, 1)):
        return where + ": an extra axis of length 1 (keepdims=True?); return the 1-d array"
    if exp.ndim == 1 and got.shape == (x.shape[sums],):
        return where + f": summed over axis {1 - sums}; Sec. 3 sums over {over} (axis {sums})"
    if got.ndim == 0:
        return where + ": a single number, summed over every axis; Sec. 3 sums over one"
    if exp.ndim == 1 and got.shape == x.shape:
        return where + f": not summed; Sec. 3 sums this one over {over if key in ('dvar', 'dmean') else 'the examples'}"
    if exp.ndim == 2 and got.ndim == 1:
        return where + ": summed where Sec. 3 has one value per entry of x"
    return where


def _describe_term(spec: Layer, key: str, name: str, coef: list[float], all_cases) -> str:
    sym = spec.symbol(key)
    scalar_fams = [(n, v) for n, v in _families(spec, key, all_cases[0]) if np.ndim(v) == 0]
    per_case = [[v for _, v in _families(spec, key, c) if np.ndim(v) == 0] for c in all_cases]
    close = lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(b))  # noqa: E731
    for target, text in (
        (-1.0, "is missing the term"),
        (-2.0, "has the wrong sign on the term"),
        (1.0, "counts twice the term"),
    ):
        if all(close(a, target) for a in coef):
            return f"{sym} {text} {name}"
    counts = [_count(spec, key, c)[1] for c in all_cases]
    small, large = int(np.argmin(counts)), int(np.argmax(counts))
    for j, (fam, _) in enumerate(scalar_fams):  # the term appears fam times: got = … + fam · term
        if all(close(1 + a, per_case[n][j]) for n, a in enumerate(coef)):
            return f"{sym} has the term {name} multiplied by {fam}, where Sec. 3 has it once"
    for j, (fam, _) in enumerate(scalar_fams):  # an extra fam · term on top of the right answer
        for sign in (1.0, -1.0):
            if all(close(a, sign * per_case[n][j]) for n, a in enumerate(coef)):
                shrinks = abs(per_case[large][j]) < abs(per_case[small][j])
                tail = f"; it shrinks as {spec.words['m']} grows, so only small batches show it" if shrinks else ""
                return f"{sym} has an extra {'−' if sign < 0 else ''}{fam} × ({name}){tail}"
    shown = ", ".join(f"{a:.3g}" for a in coef[:3])
    return f"{sym} is off by a multiple of the term {name} (× {shown}, … on the cases in turn)"


# --- loading a learner's file ------------------------------------------------------------------


def load_attempt(path: str | Path, layer: str = "batchnorm") -> Callable[..., Mapping[str, Any]]:
    """Import the learner's file and return its `batchnorm_backward` (or `layernorm_backward`).

    Raises CheckError, one line naming the file and the problem, when it cannot.
    """
    path, name = Path(path), LAYERS[layer].function
    if not path.is_file():
        raise CheckError(f"{path}: no such file (write a template with: micrograd-bn exercise --out {path})")
    spec = importlib.util.spec_from_file_location(f"_attempt_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise CheckError(f"{path}: cannot be imported as Python (name it something.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would (dataclasses in the file look themselves up there)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise CheckError(f"{path}, line {err.lineno}: SyntaxError: {err.msg}") from err
    except Exception as err:
        raise CheckError(f"{path}: raised {type(err).__name__} while loading: {err}{_line(err)}") from err
    finally:
        sys.modules.pop(spec.name, None)
    fn = getattr(module, name, None)
    if not callable(fn):
        found = sorted(k for k, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == module.__name__)
        raise CheckError(f"{path}: no function {name}(dy, x, gamma, eps) (found: {', '.join(found) or 'none'})")
    try:
        inspect.signature(fn).bind(None, None, None, None)
    except TypeError:
        raise CheckError(f"{path}: {name}{inspect.signature(fn)} must take (dy, x, gamma, eps)") from None
    return fn
