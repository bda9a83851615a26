"""Check your own derivatives of any function built from Values, node by labelled node.

You build ℓ with Values and label the intermediate nodes you derived (`h.label = "h"`, or
`h[i].label = f"h[{i}]"` for an array); your derivative function returns ∂ℓ/∂label for
each label. `check_gradients` grades each against autodiff (the same table as
`check.check_backward`), with central finite differences as a third witness for the
leaves, and warns when ℓ's own upstream gradient is constant (ℓ = Σ y_i probes nothing
that sums to a constant, e.g. normalized outputs).

References: Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (why the upstream gradient must be
random: Σ_i y_i is constant in x for normalized outputs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .compare import TOLERANCE as WITNESS_TOLERANCE
from .diagnosis import Cause, Diagnosis, Factor, factor_name, find_factor, fit
from .engine import Value, chain_rule, topological_order
from .grading import TOLERANCE, CheckError, Grade, Problem, Report, grade, raised_at
from .learner import learner_code
from .numeric import central_difference, relative_error, scaled_step
from .rules import default_name, op_title

Inputs = Mapping[str, Any]  # leaf name -> a number or an array (NumPy or nested lists)
_INDEXED = re.compile(r"^(.+)\[(\d+(?:,\s*\d+)*)\]$")  # "h[2]", "w[0, 1]"


def check_gradients(
    f: Callable[..., Value],
    inputs: Inputs | Sequence[Inputs],
    derivatives: Callable[..., Mapping[str, Any]],
    h: float = 1e-6,
) -> Report:
    """Grade `derivatives(**data) -> {label: ∂ℓ/∂label}` against autodiff of ℓ = `f(**leaves)`.

    `inputs` names the leaves: each number becomes a Value labelled with its name, each
    array a nested list of Values labelled `name[i]` / `name[i, j]`; give a list of such
    mappings to check several points. `f` builds ℓ (one Value) from them. `derivatives`
    gets the same inputs as floats and NumPy arrays and returns your ∂ℓ/∂label for any
    labels of ℓ's graph: leaves or nodes you labelled in `f` (an array label `h` gathers
    the nodes labelled `h[0]`, `h[1]`, …). Leaves are also checked by finite differences
    with step h·max(1, |x|). A label your dict leaves out, or maps to None, is "not done".

    >>> def f(x, w):  # ℓ = Σ_i tanh(w x_i) · c_i, with a non-constant upstream c
    ...     hs = []
    ...     for i, xi in enumerate(x):
    ...         hs.append(w * xi)
    ...         hs[-1].label = f"h[{i}]"
    ...     return Value.dot([v.tanh() for v in hs], [0.5, -1.0, 2.0])
    >>> def mine(x, w):  # ∂ℓ/∂h_i = c_i (1 − tanh² h_i), then ∂ℓ/∂w = Σ_i ∂ℓ/∂h_i x_i
    ...     dh = np.array([0.5, -1.0, 2.0]) * (1 - np.tanh(w * x) ** 2)
    ...     return {"h": dh, "w": (dh * x).sum(), "x": dh}  # x: w is missing
    >>> report = check_gradients(f, {"x": [0.3, -1.2, 0.8], "w": 0.7}, mine)
    >>> [(g.key, g.status) for g in report.grades]
    [('h', 'ok'), ('x', 'WRONG'), ('w', 'ok')]
    >>> print(report.diagnosis[0])
    ∂ℓ/∂x is off by the factor 1/w everywhere: a factor w is missing
    """
    points = [inputs] if isinstance(inputs, Mapping) else list(inputs)
    names = [f"point {n}" for n in range(len(points))] if len(points) > 1 else ["the point"]
    runs = [_run(f, point, derivatives, h) for point in points]
    leaves = list(points[0])
    # intermediates as backward reaches them, then the leaves in the order given
    keys = sorted(
        runs[0].mine, key=lambda k: (k in leaves, leaves.index(k) if k in leaves else runs[0].depth.get(k, 0))
    )
    notes = [note for run in runs for note in run.notes]
    grades: list[Grade] = []
    for key in keys:
        if key not in runs[0].autodiff:
            raise CheckError(f"no node labelled {key!r} (or {key}[i]) in ℓ's graph: label it in f, or drop the key")
        g = grade(
            key,
            f"∂ℓ/∂{key}",
            names,
            [r.mine.get(key) for r in runs],
            [r.autodiff[key] for r in runs],
            [r.size[key] for r in runs],
        )
        if key in runs[0].finite_diff:
            fd = [relative_error(np.max(np.abs(r.finite_diff[key] - r.autodiff[key])), r.size[key]) for r in runs]
            g.finite_diff = float(max(fd))
            if g.finite_diff > WITNESS_TOLERANCE["finite diff"]:
                notes.append(
                    f"finite differences disagree with autodiff on {key} ({g.finite_diff:.1e}): a kink near here?"
                )
        grades.append(g)
    title = f"check_gradients: {getattr(f, '__name__', 'f')}, {len(points)} point(s), against autodiff"
    report = Report(title + " (and finite differences for the leaves)", grades, notes=list(dict.fromkeys(notes)))
    if report.first_wrong is not None:
        report.diagnosis = NodeDiagnosis(report, runs).lines()
    return report


@dataclass
class Run:
    """One point: ℓ's graph, its labelled nodes, the learner's derivatives and autodiff's, per label."""

    point: Inputs
    loss: Value
    order: list[Value]  # topological: every node after its inputs
    nodes: dict[str, list[tuple[tuple[int, ...], Value]]]  # label -> (index, node) for each entry
    mine: dict[str, Any]  # the learner's ∂ℓ/∂label
    autodiff: dict[str, np.ndarray] = field(default_factory=dict)
    size: dict[str, float] = field(default_factory=dict)  # the size of the terms each gradient sums
    finite_diff: dict[str, np.ndarray] = field(default_factory=dict)  # leaves only
    depth: dict[str, int] = field(default_factory=dict)  # how soon backward reaches the label
    notes: list[str] = field(default_factory=list)


def _leaves(point: Inputs) -> tuple[dict[str, Any], dict[str, Any]]:
    """Values for f (labelled `name` or `name[i, j]`) and floats/arrays for the learner's function."""
    values, data = {}, {}
    for name, raw in point.items():
        arr = np.asarray(raw, dtype=float)
        data[name] = float(arr) if arr.ndim == 0 else arr.copy()
        if arr.ndim == 0:
            values[name] = Value(float(arr), name)
        else:
            flat = [Value(float(arr[idx]), f"{name}[{', '.join(map(str, idx))}]") for idx in np.ndindex(arr.shape)]
            values[name] = np.array(flat, dtype=object).reshape(arr.shape).tolist()
    return values, data


def _build(f: Callable[..., Value], values: dict[str, Any]) -> Value:
    loss = f(**values)
    if not isinstance(loss, Value):
        raise CheckError(
            f"f returned {type(loss).__name__}, not ℓ (one Value): "
            "for outputs y, return Value.dot(y, dy) with a random dy"
        )
    return loss


def _run(f: Callable[..., Value], point: Inputs, derivatives: Callable, h: float) -> Run:
    values, data = _leaves(point)
    loss = _build(f, values)
    loss.backward()
    order = topological_order(loss)
    nodes: dict[str, list[tuple[tuple[int, ...], Value]]] = {}
    for v in order:
        if v.label:
            match = _INDEXED.match(v.label)
            name, idx = (match[1], tuple(int(i) for i in match[2].split(","))) if match else (v.label, ())
            nodes.setdefault(name, []).append((idx, v))
    try:
        with learner_code("your derivatives function", timeout=None):
            mine = dict(derivatives(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in data.items()}))
    except CheckError:
        raise
    except Exception as err:
        raise CheckError(f"your derivatives function raised {type(err).__name__}: {err}{raised_at(err)}") from err
    size = {id(v): g for v, g, _ in chain_rule(loss, absolute=True)}  # the size of the terms each gradient sums
    run = Run(point, loss, order, nodes, mine)
    depth = {id(v): n for n, v in enumerate(reversed(order))}
    for key in mine:
        if key not in nodes:
            continue
        entries = nodes[key]
        if len({idx for idx, _ in entries}) != len(entries):
            raise CheckError(f"the label {key!r} is on {len(entries)} nodes: give each its own ({key}[0], {key}[1], …)")
        shape = (
            np.shape(point[key])
            if key in point
            else tuple(max(i[d] for i, _ in entries) + 1 for d in range(len(entries[0][0])))
        )
        grad, scale = np.zeros(shape), 0.0
        for idx, v in entries:
            grad[idx] = v.grad
            scale = max(scale, size[id(v)])
        run.autodiff[key], run.size[key] = grad, scale
        run.depth[key] = min(depth[id(v)] for _, v in entries)
        if key in point:
            run.finite_diff[key] = _finite_differences(f, point, key, h)
    _warn_constant_upstream(loss, run)
    return run


def _finite_differences(f: Callable[..., Value], point: Inputs, key: str, h: float) -> np.ndarray:
    """(ℓ(x + δ) − ℓ(x − δ)) / 2δ for each entry of the leaf `key`, δ = h·max(1, |x|)."""
    base = np.asarray(point[key], dtype=float)
    loss = lambda moved: _build(f, _leaves({**point, key: moved})[0]).data  # noqa: E731
    return np.asarray(central_difference(loss, base, scaled_step(base, h)))


def _warn_constant_upstream(loss: Value, run: Run) -> None:
    grads = loss.local_grads
    if len(grads) > 1 and len(set(grads)) == 1:
        run.notes.append(
            f"warning: ℓ's upstream gradient is constant (every ∂ℓ/∂input of its last {op_title(loss) or 'node'} is "
            f"{grads[0]:g}): a constant dy can hide a wrong derivative (Σ_i y_i of normalized outputs is constant, "
            "so ∂ℓ/∂x = 0); use ℓ = Value.dot(y, dy) with a random dy"
        )
    for key, g in run.autodiff.items():
        if g.size > 1 and np.max(np.abs(g)) <= TOLERANCE * run.size[key]:
            run.notes.append(f"warning: ∂ℓ/∂{key} is 0 everywhere here, so it proves nothing; change ℓ or the point")


class NodeDiagnosis(Diagnosis):
    """`diagnosis.Diagnosis` with the graph as the evidence: a later label follows when backpropagating
    your ∂ℓ/∂(first wrong label) in place of autodiff's gives your value."""

    def __init__(self, report: Report, runs: list[Run]):
        super().__init__(report)
        self.runs = runs
        self.wrong = report.first_wrong

    def cause(self, wrong: Grade) -> Cause:
        if wrong.problem:
            where = f" on {wrong.case}" + (f" at {list(wrong.index)}" if wrong.index else "")
            return Cause(f"{wrong.symbol}: {wrong.problem}{where}")
        return Cause(_explain(wrong, self.runs))

    def blocked(self, g: Grade) -> list[Grade]:  # only the first wrong label's values are put in
        return [self.wrong] if self.wrong.kind not in (None, Problem.LOW_PRECISION) else []

    def follows(self, g: Grade) -> list[str]:
        return [self.wrong.symbol] if all(_redone_from(run, self.wrong.key, g.key) for run in self.runs) else []


def _explain(wrong: Grade, runs: list[Run]) -> str:
    got = [np.asarray(r.mine[wrong.key], dtype=float) for r in runs]
    exp, size = [r.autodiff[wrong.key] for r in runs], [r.size[wrong.key] for r in runs]
    names = [n for n, v in runs[0].point.items() if np.ndim(v) == 0]  # a scalar input may be a factor
    parts = [[Factor(n, float(r.point[n]), (-1, 0, 1)) for n in names] for r in runs]
    found = find_factor(got, exp, parts, size, most=1)
    if found:
        exps, sign = found
        if not any(exps):
            return f"{wrong.symbol} has the wrong sign everywhere"
        name, power = next((n, e) for n, e in zip(names, exps) if e)
        what = f"{wrong.symbol} is off by the factor {'−' if sign < 0 else ''}{factor_name(parts[0], exps)} everywhere"
        return what + (f": a factor {name} is missing" if power < 0 else f": an extra factor {name}")
    k = [fit(g, e, s) for g, e, s in zip(got, exp, size)]  # got ≈ k · autodiff
    if all(a is not None for a in k):
        factors = ", ".join(dict.fromkeys(f"{a:.6g}" for a in k))
        return f"{wrong.symbol} is off by the constant factor {factors} everywhere"
    uses = sorted({default_name(v) for _, n in runs[0].nodes[wrong.key] for v in _consumers(runs[0], n)})
    return (
        f"{wrong.symbol} is wrong, and not by a constant factor: the chain rule sums ∂ℓ/∂u · ∂u/∂{wrong.key} over "
        f"every node u that uses {wrong.key} (here: {', '.join(uses) or 'ℓ itself'}); "
        f"worst on {wrong.case} at {list(wrong.index)}"
    )


def _consumers(run: Run, node: Value) -> list[Value]:
    return [v for v in run.order if any(child is node for child in v.inputs)]


def _redone_from(run: Run, given: str, key: str) -> bool:
    """Backpropagate with the learner's ∂ℓ/∂given in place of autodiff's; does it give their ∂ℓ/∂key?"""
    mine = np.asarray(run.mine[given], dtype=float)
    override = {id(v): float(mine[idx]) for idx, v in run.nodes[given]}
    g = {id(v): grad for v, grad, _ in chain_rule(run.loss, override)}
    redone = np.zeros(run.autodiff[key].shape)
    for idx, v in run.nodes[key]:
        redone[idx] = g[id(v)]
    got = np.asarray(run.mine[key], dtype=float)
    return bool(np.max(np.abs(got - redone)) <= TOLERANCE * run.size[key])
