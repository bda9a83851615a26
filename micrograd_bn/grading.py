"""Grades and the report: a learner's values for each quantity against autodiff, as one table.

Shared by `check.check_backward` (the norms' Sec. 3 quantities) and `gradcheck.check_gradients`
(any labelled node), as `diagnosis` is. An error is max |Δ| over the size of the
terms the quantity sums, as `compare` measures it (`numeric.relative_error`).
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from .numeric import relative_error

TOLERANCE = 1e-8  # relative to the size of the summed terms; a right float64 answer gives ~1e-14
FIT_TOLERANCE = 1e-7  # how exactly a diagnosis (a factor, a term, a model of a mistake) must explain the difference


class CheckError(ValueError):
    """The learner's file cannot be loaded, or their function raises or returns no dict (exit status 2)."""

    exit_code = 2


class LearnerExit(CheckError):
    """The learner's file or function called sys.exit (or raised SystemExit): exit status 4."""

    exit_code = 4


class CheckTimeout(CheckError):
    """The learner's function (or file) ran longer than the timeout: exit status 124, as `timeout(1)`."""

    exit_code = 124


class CheckInterrupted(CheckError):
    """Ctrl-C while the learner's code or the check ran: exit status 130 (128 + SIGINT)."""

    exit_code = 130


def raised_at(err: BaseException) -> str:
    """Where an exception was raised: " at FILE, line N" (its innermost frame), or ""."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "" if tb is None else f" at {Path(tb.tb_frame.f_code.co_filename).name}, line {tb.tb_lineno}"


class Problem(Enum):
    """Why a learner's value cannot be compared entry by entry (or cannot pass)."""

    MISSING = "None on this case"
    NOT_NUMBERS = "not numbers"
    COMPLEX = "complex"
    SHAPE = "shape"
    INTEGER = "integer"
    NAN = "NaN"
    INF = "inf"
    LOW_PRECISION = "low precision"  # float16/float32: graded, but never ok


@dataclass
class Grade:
    """One row of the table: a quantity, its verdict, and its worst entry over all cases."""

    key: str
    symbol: str
    status: str  # "ok", "WRONG", "not done" or "not given" (a format that has no place for it)
    rel_error: float | None = None  # max over cases of max|Δ| / (size of the summed terms)
    case: str | None = None  # where the worst entry is
    index: tuple[int, ...] | None = None
    expected: float | None = None
    got: float | None = None
    problem: str = ""  # why it cannot be compared entry by entry (shape, dtype, NaN, None), in words
    kind: Problem | None = None  # the same, as data
    finite_diff: float | None = None  # check_gradients: finite differences against autodiff, relative

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Report:
    """The data behind the table: one Grade per quantity, the diagnosis of the first wrong one."""

    title: str
    grades: list[Grade]
    diagnosis: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tolerance: float = TOLERANCE

    @property
    def ok(self) -> bool:
        """True when every quantity is done and right on every case."""
        return all(g.ok for g in self.grades)

    @property
    def first_wrong(self) -> Grade | None:
        return next((g for g in self.grades if g.status == "WRONG"), None)

    @property
    def not_done(self) -> list[str]:
        return [g.key for g in self.grades if g.status in ("not done", "not given")]

    def __str__(self) -> str:
        return format_report(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in _HEAD)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(g)) + "</tr>" for g in self.grades)
        tail = "".join(f"<p>{html.escape(line)}</p>" for line in _tail(self))
        return f"<p>{html.escape(self.title)}</p><table><tr>{head}</tr>{rows}</table>{tail}"


_HEAD = ("quantity", "key", "status", "worst at", "expected", "got", "rel err")


def _cells(g: Grade) -> list[str]:
    where = "" if g.case is None else f"{g.case} {list(g.index)}" if g.index else g.case
    num = lambda v: "" if v is None else f"{v:.6g}"  # noqa: E731
    cells = [g.symbol, g.key, g.status, where, num(g.expected), num(g.got)]
    cells.append(
        g.problem if g.problem and g.rel_error is None else "" if g.rel_error is None else f"{g.rel_error:.1e}"
    )
    if g.finite_diff is not None:
        cells.append(f"{g.finite_diff:.1e}")
    return cells


def _width(text: str) -> int:  # x̂ is two code points, one column
    return sum(not unicodedata.combining(ch) for ch in text)


def _tail(report: Report) -> list[str]:
    lines = []
    wrong = report.first_wrong
    if wrong is not None:
        lines.append(f"first wrong: {wrong.key} ({wrong.symbol})")
        lines += [f"  {d}" for d in report.diagnosis]
    for status, text in (("not done", "not done yet"), ("not given", "not given")):
        keys = [g.key for g in report.grades if g.status == status]
        if keys:
            lines.append(f"{text}: {', '.join(keys)}")
    if report.ok:
        lines.append("all right: every quantity matches autodiff on every case")
    return lines + report.notes


def format_report(report: Report) -> str:
    """The table, one row per quantity, then `first wrong: KEY (SYMBOL)` and the diagnosis."""
    head = list(_HEAD) + (["finite diff"] if any(g.finite_diff is not None for g in report.grades) else [])
    rows = [head] + [_cells(g) + [""] * (len(head) - len(_cells(g))) for g in report.grades]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(head))]
    pad = lambda s, w: s + " " * (w - _width(s))  # noqa: E731
    lines = [report.title] + ["  ".join(pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append(
        f"rel err: max |Δ| over the size of the summed terms (as `micrograd-bn compare`); a right answer\n"
        f"gives about 1e-14 in float64, anything above {report.tolerance:g} is a mistake, not rounding"
    )
    return "\n".join(lines + _tail(report))


def as_float(value: Any, expected_shape: tuple[int, ...]) -> tuple[np.ndarray | None, Problem | None, str]:
    """The learner's value as a float64 array (or None), the kind of problem with it, and that in words."""
    try:
        arr = np.asarray(value)
    except Exception as err:  # ragged lists and the like
        return None, Problem.NOT_NUMBERS, f"not an array of numbers ({type(err).__name__}: {err})"
    if arr.dtype.kind == "c":
        return None, Problem.COMPLEX, f"dtype {arr.dtype}: complex numbers"
    if arr.dtype.kind not in "fiu" or arr.dtype == bool:
        return None, Problem.NOT_NUMBERS, f"dtype {arr.dtype}: not real numbers; return a float64 NumPy array"
    if arr.shape != expected_shape:
        return None, Problem.SHAPE, f"shape {arr.shape} where {expected_shape} is expected"
    if arr.dtype.kind in "iu":
        return (
            None,
            Problem.INTEGER,
            f"dtype {arr.dtype}: integers; return a float64 array (did an int array or // creep in?)",
        )
    if not np.all(np.isfinite(arr)):
        kind = Problem.NAN if np.isnan(arr).any() else Problem.INF
        return arr, kind, kind.value
    if arr.dtype.itemsize < 8:  # float16, float32: graded, but never ok
        return arr.astype(float), Problem.LOW_PRECISION, f"dtype {arr.dtype}"
    return arr.astype(float), None, ""


def grade(key: str, symbol: str, names: list[str], got: list, expected: list, sizes: list[float]) -> Grade:
    """Grade one quantity over the cases: `got` the learner's values (None: not done), `sizes`
    the size of the summed terms on each case (errors are relative to it). A problem that stops
    the comparison is reported on the first case it shows on, with that case's own entry."""
    row = Grade(key, symbol, "not done")
    if all(g is None for g in got):
        return row
    row.status = "WRONG"
    worst = -1.0
    for name, g, e, size in zip(names, got, expected, sizes):
        if g is None:
            arr, kind, problem = None, Problem.MISSING, Problem.MISSING.value
        else:
            arr, kind, problem = as_float(g, e.shape)
        if arr is None or kind in (Problem.NAN, Problem.INF):
            row.problem, row.kind, row.case = problem, kind, name
            row.index = row.expected = row.got = row.rel_error = None  # nothing from an earlier case
            if arr is not None:
                row.index = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
                row.expected, row.got = e[row.index], arr[row.index]
            return row
        if kind:  # low precision: graded, but never ok
            row.problem, row.kind = problem, kind
        err = relative_error(np.abs(arr - e), size)
        idx = np.unravel_index(int(np.argmax(err)), err.shape)
        if err[idx] > worst:
            worst = float(err[idx])
            row.case, row.index, row.expected, row.got = name, tuple(int(i) for i in idx), e[idx], arr[idx]
    row.rel_error = worst
    if worst <= TOLERANCE and not row.problem:
        row.status = "ok"
    return row
