"""One diagnosis under both checkers: the root cause of the first wrong quantity, once; then each later
wrong quantity said to follow from it, to be wrong on its own, or not yet decidable.

`check.check_backward` (Sec. 3's quantities) and `gradcheck.check_gradients` (labelled nodes)
each subclass `Diagnosis` with their evidence: what explains the first wrong quantity, which
earlier values a later one uses, and whether the learner's earlier values put into its
equation (or the chain rule) reproduce it. `lines` judges in the same order for both, and
`fit` is the least-squares step both use to call a difference a factor or a term.

>>> fit(np.array([2.0, 4.0]), np.array([1.0, 2.0]), size=1.0), fit(np.array([2.0, 0.0]), np.array([1.0, 2.0]), 1.0)
(2.0, None)

References: Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (each quantity's equation uses the earlier ones).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .grading import FIT_TOLERANCE, Grade, Problem, Report


def fit(diff: np.ndarray, term: np.ndarray, size: float) -> float | None:
    """The least-squares a in diff ≈ a · term, or None when that leaves more than a rounding residual
    (FIT_TOLERANCE of `size`, the size of the summed terms)."""
    d, t = diff.ravel(), np.broadcast_to(term, diff.shape).ravel()
    a = float(d @ t / (t @ t)) if t @ t > 0 else 0.0
    return a if np.max(np.abs(d - a * t)) <= FIT_TOLERANCE * size else None


class Factor(NamedTuple):
    """One factor a wrong value may be off by: its symbol, its value on a case, the exponents tried."""

    symbol: str
    value: Any  # a number, or an array that broadcasts against the quantity (γ per feature, √(σ² + ε) …)
    exponents: tuple[int, ...]
    root: bool = False  # the value is a square root: its exponents are named in half-powers of the symbol


def find_factor(
    got: list[np.ndarray], expected: list[np.ndarray], parts: list[list[Factor]], sizes: list[float], most: int = 0
) -> tuple[tuple[int, ...], float] | None:
    """The simplest (exponents, sign) with got = ±Π factor^exponent · expected on every case (`parts[n]`
    the factors' values on case n), to FIT_TOLERANCE of each case's `sizes`; `most` > 0 caps how many
    factors a product uses. None when no product does.

    >>> w = [[Factor("w", 2.0, (-1, 0, 1))], [Factor("w", 4.0, (-1, 0, 1))]]
    >>> find_factor([np.ones(2), np.ones(2)], [2 * np.ones(2), 4 * np.ones(2)], w, [1.0, 1.0])
    ((-1,), 1.0)
    """
    with np.errstate(all="ignore"):
        for exps in exponents(parts[0], most):
            for sign in (1.0, -1.0):
                if not any(exps) and sign > 0:
                    continue
                if all(
                    np.max(np.abs(g - sign * product(p, exps) * e)) <= FIT_TOLERANCE * s
                    for g, e, p, s in zip(got, expected, parts, sizes)
                ):
                    return exps, sign
    return None


def exponents(parts: list[Factor], most: int = 0) -> list[tuple[int, ...]]:
    """Every combination of exponents (of at most `most` factors, if > 0), simplest first (fewest
    factors, then lowest powers)."""
    combos = (e for e in itertools.product(*(p.exponents for p in parts)) if not most or sum(x != 0 for x in e) <= most)
    return sorted(combos, key=lambda e: (sum(x != 0 for x in e), sum(abs(x) for x in e)))


def product(parts: list[Factor], exps: tuple[int, ...]) -> Any:
    """Π factor^exponent on one case."""
    out: Any = 1.0
    for p, e in zip(parts, exps):
        if e:
            out = (
                out * np.float64(p.value) ** e if np.ndim(p.value) == 0 else out * np.asarray(p.value, dtype=float) ** e
            )
    return out


def factor_name(parts: list[Factor], exps: tuple[int, ...]) -> str:
    """The product in symbols: 2·m/(σ²_B + ε)^(3/2)."""
    top = [_power(p, e) for p, e in zip(parts, exps) if e > 0]
    bottom = [_power(p, -e) for p, e in zip(parts, exps) if e < 0]
    text = "·".join(top) or "1"
    if bottom:
        text += "/" + (bottom[0] if len(bottom) == 1 else f"({'·'.join(bottom)})")
    return text


def _power(part: Factor, e: int) -> str:
    if part.root:  # exponents of √(σ² + ε): half-powers of (σ² + ε)
        return part.symbol + {1: "^(1/2)", 2: "", 3: "^(3/2)", 4: "^2"}[e]
    if part.symbol == "2":
        return str(2**e)
    return part.symbol + ("" if e == 1 else "²")


def follows_from(symbol: str, earlier: list[str]) -> str:
    """The line for a later quantity that its equation, given the learner's earlier values, reproduces."""
    them = "it" if len(earlier) == 1 else "them"
    return f"{symbol} is right given your {' and '.join(earlier)}: it is wrong only because it uses {them}"


def on_its_own(symbol: str) -> str:
    """The line for a later quantity that is wrong even given the learner's earlier values."""
    return f"{symbol} is wrong on its own too: check it after this one"


def cannot_tell(symbol: str, earlier: list[str], why: str) -> str:
    """The line for a later quantity whose equation cannot take the learner's earlier values (shape, NaN, None)."""
    uses = " and ".join(f"your {e}" for e in earlier)
    return f"{symbol}: cannot tell yet: it uses {uses}, which cannot be put into its equation ({why}); fix that first"


@dataclass
class Cause:
    """What explains the first wrong quantity, and how a later quantity that follows it is named."""

    text: str
    models: tuple[Callable[[int], dict], ...] = ()  # each: case index -> the options of Sec. 3's terms under it
    follows: str = ""  # "{sym} …": a later quantity the same mistake explains
    root: str = ""  # a line that goes before `text`: the cause behind it (inputs changed in place)
    settled: dict[str, str] = field(default_factory=dict)  # later quantities it explains outright: key -> line


class Diagnosis:
    """The report's first wrong quantity explained once (`cause`), then each later wrong one judged in
    order: cannot tell yet (an earlier value it uses cannot be substituted), wrong on its own (a
    problem of its own), following from the earlier values, the same mistake, or wrong on its own."""

    def __init__(self, report: Report):
        self.report = report
        self.grades = {g.key: g for g in report.grades}

    def lines(self) -> list[str]:
        wrong = self.report.first_wrong
        assert wrong is not None
        cause = self.cause(wrong)
        lines = [cause.root, cause.text] if cause.root else [cause.text]
        for g in self.report.grades[self.report.grades.index(wrong) + 1 :]:
            if g.status == "WRONG":
                lines.append(cause.settled.get(g.key) or self.later(g, cause))
        return lines + self.closing(cause)

    def later(self, g: Grade, cause: Cause) -> str:
        blocked = self.blocked(g)
        if blocked:
            return cannot_tell(g.symbol, [b.symbol for b in blocked], blocked[0].problem)
        if g.kind not in (None, Problem.LOW_PRECISION):
            return self.wrong_anyway(g)
        earlier = self.follows(g)
        if earlier:
            return follows_from(g.symbol, earlier)
        return self.same_mistake(g, cause) or on_its_own(g.symbol)

    # -- what each checker knows

    def cause(self, wrong: Grade) -> Cause:
        """The root cause of the first wrong quantity."""
        raise NotImplementedError

    def blocked(self, g: Grade) -> list[Grade]:
        """The wrong earlier quantities `g` uses whose values cannot be put into its equation."""
        raise NotImplementedError

    def follows(self, g: Grade) -> list[str]:
        """The symbols of the wrong earlier values that, put in, give the learner's `g`; [] when they do not."""
        raise NotImplementedError

    def wrong_anyway(self, g: Grade) -> str:
        """The line for a later quantity with a problem of its own (a shape, NaN, None)."""
        return on_its_own(g.symbol)

    def same_mistake(self, g: Grade, cause: Cause) -> str:
        """The line for a later quantity the first one's mistake explains, or ""."""
        return ""

    def closing(self, cause: Cause) -> list[str]:
        """Lines after the later quantities' (none unless a checker has some)."""
        return []
