"""Derive it yourself: grade a learner's BatchNorm (LayerNorm, RMSNorm, GroupNorm) backward, quantity by quantity.

`check_backward(fn)` runs the learner's `batchnorm_backward(dy, x, gamma, eps)` on a fixed
set of cases chosen so that a careless derivation cannot pass by luck, sets each returned
quantity beside autodiff (read off the nodes of Alg. 1 the layer names) and, for the first
wrong quantity in Sec. 3's order, names the root cause once: a shape, NaN or complex value,
float32 rounding, a whole derivation with another variance or without ε, inputs changed in
place, a look-alike quantity, a factor, or a missing or extra term of Sec. 3's equation.
Each later wrong quantity is then said to follow from it, to be wrong on its own (shown by
substituting your earlier values into its equation), or "cannot tell yet".

A norm is data (`norms.Norm`): its function's name and quantities, the axis Alg. 1 sums over,
its symbols and its closed form term by term (`reference.sec3_terms` and the others, with
their names); its cases are here. Errors are measured as `compare` measures them, over the
size of the terms each equation sums.

References: Ioffe & Szegedy, arXiv 1502.03167, Alg. 1, Sec. 3 (the chain rule), Sec. 3.2
(per-feature-map statistics); Ba et al., arXiv 1607.06450 (LayerNorm: the same Alg. 1 over
each example's features); Zhang & Sennrich 2019 (RMSNorm, eq. 4: no μ); Wu & He 2018
(GroupNorm, Sec. 3.1: Alg. 1 over each example's groups of C/G channels).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import compare, reference
from .diagnosis import Cause, Diagnosis, Factor, exponents, factor_name, find_factor, fit, product
from .grading import (
    FIT_TOLERANCE,
    TOLERANCE,
    CheckError,
    CheckInterrupted,
    Grade,
    Problem,
    Report,
    as_float,
    grade,
    raised_at,
)
from .learner import function_name, learner_code, load_module
from .norms import NORMS, STATISTICS, Norm

UPSTREAM = {  # the earlier quantities each equation uses (those a norm has)
    "dvar": ("dx_hat",),
    "dms": ("dx_hat",),
    "dmean": ("dx_hat", "dvar"),
    "dx": ("dx_hat", "dvar", "dms", "dmean"),
}
TUPLE_KEYS = ("dx", "dgamma", "dbeta")  # CS231n's batchnorm_backward returns (dx, dgamma, dbeta)
PRECISION = 1e-4  # below this on every case, a wrong answer is rounding (float32), not algebra
TIMEOUT = 60.0  # seconds a learner's function (or file) may run


# --- the cases, and a norm as data ----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One input to the learner's function; x and dy are (m, C) (BatchNorm2d's feature maps as columns),
    or GroupNorm's (N, C) or (N, C, H, W)."""

    name: str
    x: np.ndarray
    dy: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float
    spatial: tuple[int, int, int, int] | None = None  # BatchNorm2d's (N, C, H, W), Sec. 3.2
    args: tuple = ()  # the arguments after eps: GroupNorm's num_groups


# name, rows, C, ε, shift, scale, and BatchNorm2d's (N, H, W) or GroupNorm's (G,), (G, H, W), or None
PER_EXAMPLE_CASES = (  # LayerNorm's and RMSNorm's: N rows of C features, C playing m's part
    ("C=2", 3, 2, 1e-5, 0.0, 1.0, None),
    ("C=3, N=1", 1, 3, 1e-5, 0.0, 1.0, None),
    ("C=4, ε=1", 2, 4, 1.0, 0.0, 1.0, None),
    ("C=5, ε=1e-12, x·1e-3", 3, 5, 1e-12, 0.0, 1e-3, None),
    ("C=7, x+100", 4, 7, 1e-5, 100.0, 1.0, None),  # a row mean far from 0: x − μ ≠ x (RMSNorm)
    ("C=10, x·1e3", 3, 10, 1e-5, 0.0, 1e3, None),
    ("C=64", 2, 64, 1e-5, 0.0, 1.0, None),
)
CASE_SPECS = {
    "batchnorm": (
        ("m=2", 2, 3, 1e-5, 0.0, 1.0, None),
        ("m=3, C=1", 3, 1, 1e-5, 0.0, 1.0, None),
        ("m=4, ε=1", 4, 2, 1.0, 0.0, 1.0, None),
        ("m=5, ε=1e-12, x·1e-3", 5, 3, 1e-12, 0.0, 1e-3, None),
        ("m=7, x+100", 7, 2, 1e-5, 100.0, 1.0, None),
        ("m=10, x·1e3", 10, 4, 1e-5, 0.0, 1e3, None),
        ("m=64", 64, 3, 1e-5, 0.0, 1.0, None),
        ("BatchNorm2d 2×3×2×3, m'=12", 12, 3, 1e-5, 1.0, 2.0, (2, 2, 3)),
    ),
    "layernorm": PER_EXAMPLE_CASES,
    "rmsnorm": PER_EXAMPLE_CASES,
    "groupnorm": (  # G between 1 and C, G = C (InstanceNorm), (N, C) and (N, C, H, W); m ≥ 2
        ("C=4, G=2", 3, 4, 1e-5, 0.0, 1.0, (2,)),
        ("1×3×2×2, G=3 (InstanceNorm)", 1, 3, 1e-5, 0.0, 1.0, (3, 2, 2)),
        ("C=6, G=3, ε=1", 2, 6, 1.0, 0.0, 1.0, (3,)),
        ("C=6, G=2, ε=1e-12, x·1e-3", 3, 6, 1e-12, 0.0, 1e-3, (2,)),
        ("C=8, G=4, x+100", 2, 8, 1e-5, 100.0, 1.0, (4,)),
        ("2×4×2×3, G=2", 2, 4, 1e-5, 1.0, 2.0, (2, 2, 3)),
        ("3×6×3×2, G=3, x·1e3", 3, 6, 1e-5, 0.0, 1e3, (3, 3, 2)),
    ),
}


def cases(layer: str = "batchnorm") -> list[Case]:
    """The fixed cases, each with its own seed: small m (some wrong terms vanish as m grows),
    C ≠ m (a transposed answer has the wrong shape), γ ≠ 1 and β ≠ 0 (so a missing γ shows),
    ε tiny and large, shifted and scaled inputs, and a fresh random dy, never constant.

    >>> [c.name for c in cases()][:3]
    ['m=2', 'm=3, C=1', 'm=4, ε=1']
    """
    out, spec = [], NORMS[layer]
    for seed, (name, rows, c, eps, shift, scale, spatial) in enumerate(CASE_SPECS[layer]):
        rng = np.random.default_rng(1300 + seed)
        x = shift + scale * rng.normal(size=(rows, c))
        dy = rng.normal(size=(rows, c))  # continuous: never constant
        sign = rng.choice([-1.0, 1.0], size=(2, c))
        gamma, beta = sign * rng.uniform(0.5, 2.0, size=(2, c))  # away from 0 and from 1
        shape, args = None, ()
        if spec.params:  # GroupNorm: (N, C) or (N, C, H, W), in its own shape
            args, hw = spatial[:1], spatial[1:]
            x = shift + scale * rng.normal(size=(rows, c, *hw))
            dy = rng.normal(size=(rows, c, *hw))
        elif spatial:
            n, h, w = spatial
            shape = (n, c, h, w)
            x = reference.to_columns(shift + scale * rng.normal(size=shape))
            dy = reference.to_columns(rng.normal(size=shape))
        out.append(Case(name, x, dy, gamma, beta, eps, shape, args))
    return out


def autodiff(case: Case, layer: str = "batchnorm") -> dict[str, np.ndarray]:
    """Every quantity of Sec. 3 for one case, read off the nodes of Alg. 1 the engine's layer names."""
    spec = NORMS[layer]
    x, dy = case.x, case.dy
    if case.spatial:
        x, dy = reference.from_columns(x, case.spatial), reference.from_columns(dy, case.spatial)
    out = compare.layer_gradients(
        spec.layer(x.shape, case.eps, *case.args), x, dy, case.gamma, case.beta, spec.axis, *case.args
    )
    return {key: out[key] for key in spec.keys}


def sec3_terms(case: Case, spec: Norm, given: Mapping[str, np.ndarray] | None = None, **model) -> dict:
    """Each quantity's terms from the norm's closed form, with `given` (the learner's values) for
    the earlier quantities each equation uses; `model` as `reference.sec3_terms`'s (ddof, absolute)."""
    eps = model.pop("eps", case.eps)
    return spec.terms(
        model.pop("dy", case.dy),
        model.pop("x", case.x),
        model.pop("gamma", case.gamma),
        eps,
        *case.args,
        given=dict(given or {}),
        **model,
    )


def scales(case: Case, layer: str = "batchnorm") -> dict[str, float]:
    """The size of the terms each quantity sums (Sec. 3 with every factor positive): every error's yardstick."""
    terms = sec3_terms(case, NORMS[layer], absolute=True)
    return {k: float(np.max(sum(t[1:], t[0]))) for k, t in terms.items()}


# --- running the learner's function -----------------------------------------------------------


@dataclass
class Attempt:
    """The learner's function on one case: what it returned (by key) and the inputs it changed in place."""

    case: Case
    answer: dict[str, Any]
    changed: dict[str, np.ndarray] = field(default_factory=dict)  # argument name -> its value after the call
    as_tuple: bool = False  # CS231n's (dx, dgamma, dbeta)


def _call(fn: Callable, case: Case, spec: Norm, timeout: float | None) -> Attempt:
    args = {"dy": case.dy.copy(), "x": case.x.copy(), "gamma": case.gamma.copy()}  # copies: fn may write to them
    try:
        with learner_code(f"{function_name(fn)} (on case {case.name})", timeout):
            out = fn(args["dy"], args["x"], args["gamma"], float(case.eps), *case.args)
    except CheckError:
        raise
    except Exception as err:
        raise CheckError(
            f"{function_name(fn)} raised {type(err).__name__}: {err} (on case {case.name}){raised_at(err)}"
        ) from err
    originals = {"dy": case.dy, "x": case.x, "gamma": case.gamma}
    changed = {k: v for k, v in args.items() if not np.array_equal(v, originals[k])}
    as_tuple = tuple(k for k in TUPLE_KEYS if k in spec.keys)
    if isinstance(out, tuple) and len(out) == len(as_tuple):
        return Attempt(case, dict(zip(as_tuple, out)), changed, as_tuple=True)
    if not isinstance(out, Mapping):
        raise CheckError(
            f"{function_name(fn)} returned {type(out).__name__}, not a dict: "
            f"return {{'{spec.keys[0]}': ..., '{spec.keys[1]}': ..., ...}} "
            f"with any of the keys {', '.join(spec.keys)} (or the tuple ({', '.join(as_tuple)}), CS231n's order)"
        )
    return Attempt(case, dict(out), changed)


def check_backward(fn: Callable[..., Any], layer: str | None = None, timeout: float | None = TIMEOUT) -> Report:
    """Grade `fn(dy, x, gamma, eps) -> {"dx_hat": ..., ...}` against autodiff over `cases(layer)`.

    A key left out, or None, is "not done"; CS231n's tuple (dx, dgamma, dbeta) is graded as those
    three. `layer` None: the norm whose function `fn` is named after (else BatchNorm). Raises
    CheckError when fn raises or returns no dict; CheckTimeout when one call runs longer than
    `timeout` seconds, CheckInterrupted on Ctrl-C, LearnerExit on sys.exit (each has `exit_code`).

    >>> def attempt(dy, x, gamma, eps):
    ...     return {"dx_hat": dy * gamma, "dbeta": dy.mean(axis=0)}  # a mean where Sec. 3 sums
    >>> report = check_backward(attempt)
    >>> report.ok, report.first_wrong.key, report.not_done
    (False, 'dbeta', ['dvar', 'dmean', 'dx', 'dgamma'])
    >>> print(report.diagnosis[0])
    ∂ℓ/∂β is off by the factor 1/m on every case: Sec. 3 sums over the batch, Σ_i, where a mean divides by m
    """
    if layer is None:
        layer = next((k for k, s in NORMS.items() if s.function == getattr(fn, "__name__", "")), "batchnorm")
    spec = NORMS[layer]
    try:
        all_cases = cases(layer)
        attempts = [_call(fn, case, spec, timeout) for case in all_cases]
        expected = [autodiff(case, layer) for case in all_cases]
        sizes = [scales(case, layer) for case in all_cases]
    except KeyboardInterrupt:
        raise CheckInterrupted("interrupted (Ctrl-C) while checking") from None
    names = [c.name for c in all_cases]
    grades = [
        grade(
            key,
            spec.symbol(key),
            names,
            [a.answer.get(key) for a in attempts],
            [e[key] for e in expected],
            [s[key] for s in sizes],
        )
        for key in spec.keys
    ]
    notes = [
        f"ignored key {k!r}: the keys are {', '.join(spec.keys)}" for k in attempts[0].answer if k not in spec.keys
    ]
    if attempts[0].as_tuple:
        given = ", ".join(attempts[0].answer)
        notes.append(f"graded your tuple as ({given}), CS231n's order: return a dict to check the rest")
        for g in grades:
            if g.key not in TUPLE_KEYS:
                g.status = "not given"
    report = Report(
        f"{spec.name} backward: {function_name(fn)}, {len(all_cases)} cases, against autodiff", grades, notes=notes
    )
    if report.first_wrong is not None:
        report.diagnosis = Sec3Diagnosis(spec, attempts, expected, sizes, report).lines()
    elif any(a.changed for a in attempts):
        report.notes.append(_changed_line(attempts))
    return report


# --- the diagnosis -----------------------------------------------------------------------------


class Sec3Diagnosis(Diagnosis):
    """`diagnosis.Diagnosis` with Sec. 3's equations as the evidence: a later quantity follows when its
    equation with your earlier values gives yours, or the first one's whole-derivation mistake does."""

    def __init__(self, spec: Norm, attempts: list[Attempt], expected: list[dict], sizes: list[dict], report: Report):
        super().__init__(report)
        self.spec, self.attempts, self.expected, self.sizes = spec, attempts, expected, sizes
        self.cases = [a.case for a in attempts]
        self.given = [_given(spec, a, e) for a, e in zip(attempts, expected)]

    def closing(self, cause: Cause) -> list[str]:
        return [_changed_line(self.attempts)] if any(a.changed for a in self.attempts) and not cause.root else []

    # -- evidence

    def values(self, key: str) -> list[np.ndarray] | None:
        """The learner's `key` on every case as float arrays, or None when one cannot be used."""
        out = [g.get(key) for g in self.given]
        return None if any(v is None for v in out) else out

    def predict(self, key: str, model: Callable[[int], dict] | None = None) -> list[np.ndarray]:
        """`key` from Sec. 3's equation with your earlier values substituted (under a model of a mistake)."""
        return [
            sum(sec3_terms(c, self.spec, self.given[n], **(model(n) if model else {}))[key])
            for n, c in enumerate(self.cases)
        ]

    def fits(self, key: str, predicted: list[np.ndarray], tolerance: float = FIT_TOLERANCE) -> bool:
        got = self.values(key)
        return got is not None and all(
            np.shape(p) == g.shape and np.max(np.abs(g - p)) <= tolerance * s[key]
            for g, p, s in zip(got, predicted, self.sizes)
        )

    # -- the first wrong quantity

    def cause(self, wrong: Grade) -> Cause:
        key, sym = wrong.key, wrong.symbol
        if wrong.kind not in (None, Problem.LOW_PRECISION):
            return Cause(self.problem(wrong))
        got, exp = self.values(key), [e[key] for e in self.expected]
        assert got is not None
        errors = [float(np.max(np.abs(g - e))) / s[key] for g, e, s in zip(got, exp, self.sizes)]
        if wrong.kind is Problem.LOW_PRECISION:
            dtype = _low_dtype(a.answer[key] for a in self.attempts)
            return Cause(
                f"{sym} is {dtype}: it loses precision (rel err {wrong.rel_error:.1e}, above {TOLERANCE:g}); "
                "compute and return float64",
                follows="{sym} is rounded the same way",
            )
        if max(errors) <= PRECISION:
            return self.precision(sym, got, max(errors))
        for cause in self.models(key):
            if any(self.fits(key, self.predict(key, model)) for model in cause.models):
                return cause
        swapped = self.look_alike(key)
        if swapped:
            return swapped
        for find in (self.factor, self.terms):
            text = find(key, got, exp)
            if text:
                return Cause(text)
        names = self.spec.equation_terms(key)
        return Cause(
            f"{sym} is wrong (rel err {wrong.rel_error:.1e}), and not by a constant factor or a term of "
            f"Sec. 3's equation {sym} = {' + '.join(names)}; compare your code with it term by term, "
            f"starting at case {wrong.case}, entry {list(wrong.index or ())}"
        )

    def precision(self, sym: str, got: list[np.ndarray], error: float) -> Cause:
        single = all(np.array_equal(g, g.astype(np.float32).astype(float)) for g in got)
        how = (
            "its values are float32 numbers cast back to float64: compute in float64 throughout"
            if single
            else "it loses digits as float32 arithmetic would: is something computed in float32 "
            "(np.float32, a float32 array), or two nearly equal numbers subtracted?"
        )
        return Cause(
            f"{sym} is right only to about float32's precision (rel err up to {error:.1e} on every case, "
            f"above {TOLERANCE:g}): rounding, not algebra; {how}",
            follows="{sym} is rounded the same way",
        )

    def models(self, key: str) -> list[Cause]:
        """Whole derivations with one consistent mistake, run through Sec. 3's chain."""
        w, sym = self.spec.words, self.spec.symbol(key)
        unbiased = f"Σ(x_{w['i']} − μ{w['B']})²/({w['m']}−1)"
        out = [
            Cause(
                f"{sym} leaves out ε: Sec. 3 has {w['var']} + ε where you have {w['var']} "
                "(the case with ε = 1 shows it)",
                (lambda n: {"eps": 0.0},),
                "{sym} leaves out ε too (the same mistake)",
            ),
        ]
        if "dmean" not in self.spec.keys:  # RMSNorm: no μ, and a learner's LayerNorm habit brings it back
            centered = [c.x - c.x.mean(axis=1, keepdims=True) for c in self.cases]
            out.append(
                Cause(
                    f"{sym} uses x_{w['i']} − μ where RMSNorm has x_{w['i']}: there is no μ (no re-centering), "
                    f"{w['var']} = (1/{w['m']}) Σ_{w['i']} x_{w['i']}², not σ²",
                    (lambda n: {"x": centered[n]},),
                    f"{{sym}} uses x_{w['i']} − μ too (the same mistake)",
                )
            )
        else:  # a variance: around μ
            out.insert(
                0,
                Cause(
                    f"{sym} uses the unbiased variance {unbiased}; Alg. 1's σ²{w['B']} divides by {w['m']}",
                    (lambda n: {"ddof": 1}, lambda n: {"ddof": 1, "ddof_slope": 0}),  # all through; its value only
                    "{sym} uses the same unbiased variance",
                ),
            )
        if any(a.changed for a in self.attempts):
            names = sorted({k for a in self.attempts for k in a.changed})
            out.append(
                Cause(
                    f"{sym} is computed from the {' and '.join(names)} your function changed in place: "
                    "it follows from that",
                    (lambda n: dict(self.attempts[n].changed),),
                    "{sym} is computed from the changed inputs too",
                    root=_changed_line(self.attempts),
                )
            )
        return out

    def look_alike(self, key: str) -> Cause | None:
        """Another quantity's values where this one's belong (two swapped), or x_i where ∂ℓ/∂γ has x̂_i."""
        sym = self.spec.symbol(key)
        for other in self.spec.keys:
            if other != key and self.fits(key, [e[other] for e in self.expected]):
                them = self.spec.symbol(other)
                if self.fits(other, [e[key] for e in self.expected]):
                    line = f"{them} holds {sym}'s values: the other half of the swap"
                    return Cause(f"{sym} and {them} are swapped: each holds the other's values", settled={other: line})
                return Cause(f"{sym} holds {them}'s values: is it the right variable?")
        over = [(0, *range(2, c.x.ndim)) for c in self.cases]  # every axis but the feature's (channel's)
        if key == "dgamma" and self.fits(key, [(c.dy * c.x).sum(axis=a) for c, a in zip(self.cases, over)]):
            return Cause(f"{sym} is Σ_i ∂ℓ/∂y_i · x_i: Sec. 3 has x̂_i, the normalized input, where you have x_i")
        return None

    def factor(self, key: str, got: list[np.ndarray], exp: list[np.ndarray]) -> str:
        """got = ±f · expected on every case, f a product of 2, m, m−1, γ and powers of √(σ²_B + ε)."""
        parts = [_factor_parts(self.spec, key, c) for c in self.cases]
        found = find_factor(got, exp, parts, [s[key] for s in self.sizes])
        return _describe_factor(self.spec, key, parts[0], *found) if found else ""

    def terms(self, key: str, got: list[np.ndarray], exp: list[np.ndarray]) -> str:
        """got − expected = a · (a term of Sec. 3's equation, or the sum of some) on every case."""
        terms = [sec3_terms(c, self.spec, g)[key] for c, g in zip(self.cases, self.given)]
        names = self.spec.equation_terms(key)
        size = [s[key] for s in self.sizes]
        for r in range(1, len(names) + 1):
            for subset in itertools.combinations(range(len(names)), r):
                part = [sum(ts[t] for t in subset) for ts in terms]
                if all(np.max(np.abs(p)) <= FIT_TOLERANCE * s for p, s in zip(part, size)):
                    continue  # a term that is exactly zero (Σ_i (x_i − μ_B) = 0) explains nothing
                coef = [fit(g - e, p, s) for g, e, p, s in zip(got, exp, part, size)]
                if all(a is not None for a in coef):
                    return _describe_term(self.spec, key, [names[t] for t in subset], coef, self.cases)
        return ""

    def problem(self, wrong: Grade) -> str:
        sym, n = wrong.symbol, [c.name for c in self.cases].index(wrong.case)
        kind = wrong.kind
        if kind is Problem.SHAPE:
            return _explain_shape(
                self.spec, wrong.key, self.cases[n], self.attempts[n].answer[wrong.key], self.expected[n]
            )
        if kind in (Problem.NAN, Problem.INF):
            where = f"{list(wrong.index)} on case {wrong.case}"
            return f"{sym} is {kind.value} at {where}: look for 0/0, a √ of a negative number or an overflow"
        if kind is Problem.MISSING:
            return f"{sym} is None on case {wrong.case} but given on others: return it on every case"
        if kind is Problem.COMPLEX:
            got = np.asarray(self.attempts[n].answer[wrong.key])
            exp = self.expected[n][wrong.key]
            size = np.shape(got) == exp.shape and np.allclose(np.abs(got), np.abs(exp), rtol=1e-6, atol=0)
            return (
                f"{sym} is complex on case {wrong.case}: in Python, a negative number to a fractional power, "
                "(−a) ** −1.5, is complex"
                + (" (yours has the right size: the sign went inside the power)" if size else "")
                + "; keep the minus sign outside the power: −0.5 * (var + eps) ** -1.5, "
                "not (-0.5 * (var + eps)) ** -1.5"
            )
        return f"{sym}: {wrong.problem}"

    # -- the later wrong quantities

    def upstream(self, g: Grade) -> list[Grade]:
        """The earlier quantities `g`'s equation uses that are wrong."""
        keys = [u for u in UPSTREAM.get(g.key, ()) if u in self.spec.keys]
        return [self.grades[u] for u in keys if self.grades[u].status == "WRONG"]

    def blocked(self, g: Grade) -> list[Grade]:
        return [u for u in self.upstream(g) if self.values(u.key) is None]

    def wrong_anyway(self, g: Grade) -> str:
        return f"{g.symbol} is wrong on its own too: {g.problem} on case {g.case}"

    def follows(self, g: Grade) -> list[str]:
        return [u.symbol for u in self.upstream(g)] if self.fits(g.key, self.predict(g.key), TOLERANCE) else []

    def same_mistake(self, g: Grade, cause: Cause) -> str:
        if any(self.fits(g.key, self.predict(g.key, model)) for model in cause.models):
            return cause.follows.format(sym=g.symbol)
        if cause.follows and not cause.models and g.rel_error is not None and g.rel_error <= PRECISION:
            return cause.follows.format(sym=g.symbol)
        return ""


def _given(spec: Norm, attempt: Attempt, expected: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The learner's values that Sec. 3's equations can take as the earlier quantities: those `as_float`
    reads as float numbers of the right shape, finite (float32 too)."""
    out = {}
    for k, v in attempt.answer.items():
        if k in spec.keys and v is not None:
            arr, kind, _ = as_float(v, expected[k].shape)
            if arr is not None and kind in (None, Problem.LOW_PRECISION):
                out[k] = arr
    return out


def _low_dtype(values) -> str:
    """The name of the first dtype narrower than float64 among the learner's values (float32, float16)."""
    return next(d.name for d in (np.asarray(v).dtype for v in values) if d.kind == "f" and d.itemsize < 8)


def _changed_line(attempts: list[Attempt]) -> str:
    names = sorted({k for a in attempts for k in a.changed})
    return (
        f"your function changes its argument {' and '.join(names)} in place (an alias such as dx_hat = dy "
        f"followed by dx_hat *= gamma writes into dy): the caller's array changes, and whatever is computed "
        "from it afterwards sees the new values; write dx_hat = dy * gamma, or copy first (.copy())"
    )


def _factor_parts(spec: Norm, key: str, case: Case) -> list[Factor]:
    """The factors a product may use on one case; √(σ²+ε) in half-powers (a root).
    The numbers come first: 2, m, m − 1 and the other axis's count (GroupNorm: H·W)."""
    M, m = spec.count(key, case.x, *case.args)
    wide = (-2, -1, 0, 1, 2)
    parts = [Factor("2", 2.0, wide), Factor(M, m, wide), Factor(f"({M}−1)", m - 1, (-1, 0, 1))]
    if spec.params:  # GroupNorm: the positions of a channel
        parts.append(Factor("H·W", case.x[0, 0].size, (-1, 0, 1)))
    else:
        parts.append(Factor("N" if M == "C" else "C", case.x.size / m, (-1, 0, 1)))  # the other axis: x.shape[1] for m
    entries = key in ("dx_hat", "dx")
    if spec.axis == 0 or key not in STATISTICS:  # LayerNorm's γ is per feature, σ² per example
        parts.append(Factor("γ", case.gamma.reshape(-1, *[1] * (case.x.ndim - 2)) if entries else case.gamma, wide))
    if spec.axis == 0 or key not in ("dgamma", "dbeta"):
        std = np.sqrt(spec.statistic(case.x, case.gamma, case.beta, case.eps, *case.args) + case.eps)
        std = _spread(spec, std, case.x) if entries else std
        parts.append(Factor(f"({spec.words['var']} + ε)", std, tuple(range(-4, 5)), root=True))
    return parts


def _spread(spec: Norm, stat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A value per group of Alg. 1 onto each of the group's entries of x (BatchNorm's broadcast as they are)."""
    if spec.axis == 0:
        return stat
    n = x.shape[0]
    return np.broadcast_to(stat.reshape(n, -1, 1), (n, stat.size // n, x.size // stat.size)).reshape(x.shape)


def _describe_factor(spec: Norm, key: str, parts, exps: tuple[int, ...], sign: float) -> str:
    sym = spec.symbol(key)
    if not any(exps):
        return f"{sym} has the wrong sign (× −1) on every case"
    name = factor_name(parts, exps)
    used = {p[0]: e for p, e in zip(parts, exps) if e}
    what = f"{sym} is off by the factor {'−' if sign < 0 else ''}{name} on every case"
    var = f"({spec.words['var']} + ε)"
    count = parts[1][0]
    if key == "dvar" and used == {"2": 1, var: 1} and sign > 0:
        return f"{what}: that is ∂ℓ/∂σ, the derivative with respect to σ = √{var}; Sec. 3 wants {sym} = ∂ℓ/∂σ · 1/(2σ)"
    if used == {count: -1} and sign > 0 and key in ("dgamma", "dbeta", *STATISTICS):
        over = spec.sums_over(key)[1]
        i = spec.words["i"] if key in STATISTICS else "i"
        return f"{what}: Sec. 3 sums over {over}, Σ_{i}, where a mean divides by {count}"
    if used == {"γ": -1}:
        return what + ": a factor γ is missing"
    if used == {"γ": 1}:
        return what + ": an extra factor γ"
    if set(used) == {var}:
        if key == "dvar":
            return what + f": check the power of {var}, −3/2 in Sec. 3"
        return what + f": check the powers of {var} (x̂ divides by its square root)"
    return what


def _describe_term(spec: Norm, key: str, names: list[str], coef: list[float], all_cases: list[Case]) -> str:
    """got − expected = coef · (the sum of the terms `names`) in words: missing, a sign, a factor, an extra."""
    sym = spec.symbol(key)
    what, name, it = (
        (f"the term {names[0]}", names[0], "it")
        if len(names) == 1
        else (
            f"the terms {' and '.join(names)}",
            " + ".join(names),
            "them",
        )
    )
    close = lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(b))  # noqa: E731
    for target, text in (
        (-1.0, "is missing"),
        (-2.0, "has the wrong sign on"),
        (1.0, "counts twice"),
    ):
        if all(close(a, target) for a in coef):
            return f"{sym} {text} {what}"
    parts = [[p for p in _factor_parts(spec, key, c) if np.ndim(p[1]) == 0] for c in all_cases]  # the numbers
    counts = [spec.count(key, c.x, *c.args)[1] for c in all_cases]
    small, large = int(np.argmin(counts)), int(np.argmax(counts))
    with np.errstate(all="ignore"):
        candidates = [
            (factor_name(parts[0], e), [float(product(p, e)) for p in parts]) for e in exponents(parts[0]) if any(e)
        ]
    for fam, values in candidates:  # the term appears fam times: got = … + fam · term
        if all(close(1 + a, v) for a, v in zip(coef, values)):
            return f"{sym} has {what} multiplied by {fam}, where Sec. 3 has {it} once"
    for fam, values in candidates:  # an extra fam · term on top of the right answer
        for sign in (1.0, -1.0):
            if all(close(a, sign * v) for a, v in zip(coef, values)):
                shrinks = abs(values[large]) < abs(values[small])
                tail = f"; it shrinks as {spec.words['m']} grows, so only small batches show it" if shrinks else ""
                return f"{sym} has an extra {'−' if sign < 0 else ''}{fam} × ({name}){tail}"
    shown = ", ".join(f"{a:.3g}" for a in coef[:3])
    return f"{sym} is off by a multiple of {what} (× {shown}, … on the cases in turn)"


def _explain_shape(spec: Norm, key: str, case: Case, value: Any, expected: dict) -> str:
    """A wrong shape in words a learner recognises: transposed, squeezed, keepdims, summed over the wrong axis."""
    sym, got, exp, x = spec.symbol(key), np.asarray(value), expected[key], case.x
    where = f"{sym} has shape {got.shape} where {exp.shape} is expected (case {case.name})"
    axis, over = spec.sums_over(key)
    per = "feature" if exp.ndim == 2 or key in ("dgamma", "dbeta") or spec.axis == 0 else "example"
    if key in STATISTICS and exp.ndim == 2 and got.ndim == 2 and got.shape[0] == exp.shape[0]:  # GroupNorm's (N, G)
        one = {1: "one per example, over all C channels (LayerNorm's)", x.shape[1]: "one per channel (InstanceNorm's)"}
        if got.shape[1] in one:
            return where + f": {one[got.shape[1]]}; GroupNorm's are one per example and group of C/G channels"
    if key in ("dgamma", "dbeta") and x.ndim > 2 and got.shape == x.shape[1:]:
        return where + (
            ": summed over the examples only; γ_k and β_k serve every example and position: "
            f"Σ over the axes {(0, *range(2, x.ndim))}"
        )
    if got.ndim == 2 and got.shape == exp.shape[::-1] and got.shape != exp.shape:
        right = np.max(np.abs(got.T - exp)) <= TOLERANCE * max(1.0, float(np.max(np.abs(exp))))
        return where + (": transposed, the right numbers with rows and columns swapped" if right else ": transposed")
    if got.size == exp.size and tuple(d for d in got.shape if d != 1) == tuple(d for d in exp.shape if d != 1):
        if got.ndim > exp.ndim:
            return where + ": an extra axis of length 1 (keepdims=True?); return the 1-d array"
        dims = ("N" if spec.axis == 1 else "m", "C") if exp.ndim == 2 else (("C",) if per == "feature" else ("N",))
        one = " and ".join(f"{d} = 1" for d, n in zip(dims, exp.shape) if n == 1)
        return where + (
            f": {one} on this case, and .squeeze() (or np.squeeze, float(), .item()) dropped that axis of length 1 "
            f"too; squeeze only the axis you mean (.squeeze(axis=…)), or sum with .sum(axis={axis}) without keepdims"
        )
    if exp.ndim == 1 and got.shape == (x.shape[axis],):
        return where + f": summed over axis {1 - axis}; Sec. 3 sums over {over} (axis {axis})"
    if exp.ndim == 1 and got.ndim == 2 and got.shape[axis] != 1 and got.shape[1 - axis] == 1:
        return where + f": summed over axis {1 - axis} with keepdims; Sec. 3 sums over {over} (axis {axis})"
    if got.ndim == 0:
        return where + ": a single number, summed over every axis; Sec. 3 sums over one"
    if exp.ndim == 1 and got.shape == x.shape:
        flat = [
            x.shape[a] > 1 and bool(np.all(np.ptp(got, axis=a) <= 1e-12 * max(1.0, np.max(np.abs(got)))))
            for a in (0, 1)
        ]
        if flat[axis]:
            return where + (
                f": one value per {per} repeated along axis {axis}, the sums broadcast back to x's shape; "
                f"return them once, shape {exp.shape} (.sum(axis={axis}) without keepdims)"
            )
        if flat[1 - axis]:
            return where + (
                f": summed over axis {1 - axis} and broadcast back to x's shape; Sec. 3 sums over {over} "
                f"(axis {axis}), one value per {per}"
            )
        return where + f": not summed; Sec. 3 sums this one over {over} (axis {axis})"
    if exp.ndim == 2 and got.ndim == 1:
        return where + ": summed where Sec. 3 has one value per entry of x"
    return where


# --- loading a learner's file ------------------------------------------------------------------


def load_attempt(path: str | Path, layer: str | None = None, timeout: float | None = TIMEOUT) -> Callable[..., Any]:
    """Import the learner's file and return its `batchnorm_backward` (or `layernorm_backward`, `rmsnorm_backward`,
    `groupnorm_backward`):
    with `layer` None, whichever norm's function the file defines.

    Raises CheckError, one line naming the file and the problem, when it cannot (CheckTimeout,
    CheckInterrupted, LearnerExit when the file runs too long, is interrupted or exits).
    """
    path = Path(path)
    module = load_module(path, timeout)
    found = {k: v for k, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == module.__name__}
    wanted = [NORMS[layer]] if layer else list(NORMS.values())
    spec = next((s for s in wanted if s.function in found), None)
    if spec is None:
        others = [f"--layer {k}" for k, s in NORMS.items() if s.function in found]
        defined = " and ".join(s.function for s in NORMS.values() if s.function in found)
        hint = f": it defines {defined}, so use {' or '.join(others)} (or leave --layer out)" if others else ""
        listed = ", ".join(sorted(found)) or "none"
        raise CheckError(f"{path}: no function {' or '.join(s.signature for s in wanted)} (found: {listed}){hint}")
    fn = found[spec.function]
    try:
        inspect.signature(fn).bind(*[None] * (4 + len(spec.params)))
    except TypeError:
        takes = spec.signature[len(spec.function) :]
        raise CheckError(f"{path}: {spec.function}{inspect.signature(fn)} must take {takes}") from None
    return fn
