"""The paper beside autodiff: each node of a norm layer's graph named by its line of Alg. 1, and
each of Sec. 3's quantities, once backward completes it, set beside the closed form.

`paper_notes(layer, steps, name)` gives, per node of the layer's last forward (`layer.last`),
the Alg. 1 line that made it and, for ∂ℓ/∂x̂_i, ∂ℓ/∂σ²_B, ∂ℓ/∂μ_B, ∂ℓ/∂x_i, ∂ℓ/∂γ and ∂ℓ/∂β,
Sec. 3's equation with this batch's numbers, the closed-form value (`reference.py`, never
re-derived here), the autodiff total and their difference; for ∂ℓ/∂x_i also the three paths
through the graph (through x̂_i, through σ²_B, through μ_B) that are the equation's three terms.
LayerNorm is the same with its own symbols: statistics over one example's features.

References: Ioffe & Szegedy, arXiv 1502.03167, Alg. 1 and Sec. 3; Ba, Kiros & Hinton,
arXiv 1607.06450, Sec. 3 (Layer Normalization).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .batchnorm import Alg1Nodes, LayerNorm
from .engine import Value
from .norms import NORMS, Norm
from .text import format_number, signed
from .trace import Step


@dataclass(frozen=True)
class Symbols:
    """How a layer writes its statistics in Alg. 1 and Sec. 3."""

    mean: str  # μ_B
    var: str  # σ²_B
    m: str  # how many values a statistic is taken over
    over: str  # over what, in words


def symbols(layer: object) -> Symbols:
    """The layer's symbols, as `norms` names them: BatchNorm's μ_B, σ²_B over m values of the batch;
    LayerNorm's μ, σ² over the C features of one example (Ba et al., Sec. 3)."""
    words = _norm(layer).words
    return Symbols("μ" + words["B"], words["var"], words["m"], words["over"])


def alg1_lines(s: Symbols) -> dict[str, str]:
    """Alg. 1's lines as the paper writes them, in this layer's symbols."""
    return {
        "input": f"Alg. 1 input: x_i, one of the {s.m} values of {s.over}",
        "1": f"Alg. 1 line 1: {s.mean} ← (1/{s.m}) Σ_i x_i (mean)",
        "2": f"Alg. 1 line 2: {s.var} ← (1/{s.m}) Σ_i (x_i − {s.mean})² (variance)",
        "3": f"Alg. 1 line 3: x̂_i ← (x_i − {s.mean}) / √({s.var} + ε) (normalize)",
        "4": "Alg. 1 line 4: y_i ← γ x̂_i + β (scale and shift)",
        "param": "Alg. 1 line 4's parameters: γ and β, learned",
    }


def paper_notes(layer: object, steps: Sequence[Step], name: Callable[[Value], str], digits: int = 4) -> dict[int, dict]:
    """{id(node): {"line": its Alg. 1 line, "sec3": Sec. 3 beside autodiff or None}} for the layer's nodes.

    `layer` is a BatchNorm1d/2d or LayerNorm after a training forward (its `last` holds Alg. 1's
    nodes per group: a feature, or an example); `steps` the backward pass over a loss built on it.
    """
    groups: list[Alg1Nodes] = list(getattr(layer, "last", []) or [])
    if not groups:
        raise ValueError("the paper's notes need a norm layer after a training forward (its .last is empty)")
    layer_norm = isinstance(layer, LayerNorm)
    sym = symbols(layer)
    lines = alg1_lines(sym)
    grad = {id(s.node): s.grad for s in steps}
    sent = {(id(s.node), id(t.input)): t.contribution for s in steps for t in s.terms}
    f = lambda x: format_number(float(x), digits)  # noqa: E731
    weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    gammas = [1.0] * (len(groups[0].x) if layer_norm else len(groups)) if weight is None else [g.data for g in weight]
    x = np.array([[_data(v) for v in g.x] for g in groups])  # (groups, m)
    dy = np.array([[grad.get(id(v), 0.0) for v in g.y] for g in groups])
    eps = float(layer.eps)  # type: ignore[attr-defined]
    # Sec. 3 term by term (reference.py), each per-entry term as (groups, m): BatchNorm's on the transposes
    by_column = _norm(layer).terms(dy if layer_norm else dy.T, x if layer_norm else x.T, np.array(gammas), eps)
    terms = {k: [t if layer_norm or k not in ("dx_hat", "dx") else t.T for t in ts] for k, ts in by_column.items()}
    closed = {k: sum(ts[1:], ts[0]) for k, ts in terms.items()}
    notes: dict[int, dict] = {}

    def note(v: object, line: str, sec3: dict | None = None) -> None:
        if isinstance(v, Value) and id(v) not in notes:
            notes[id(v)] = {"line": f"{name(v)}: {line}", "sec3": sec3}

    def beside(v: Value, title: str, equation: str, numbers: str, value: float, paths: list | None = None) -> dict:
        auto = grad[id(v)]
        return {
            "title": title,
            "equation": equation,
            "numbers": numbers,
            "closed": f(value),
            "autodiff": f(auto),
            "difference": format_number(auto - float(value), 2),
            "paths": paths or [],
            "paths_total": f"the terms add up to {f(auto)}, the autodiff total" if paths else "",
        }

    for g, n in enumerate(groups):
        m, mu, var, std = len(n.x), name(n.mean), name(n.var), name(n.std)
        dx_hat, dvar, dmean = closed["dx_hat"][g], float(closed["dvar"][g]), float(closed["dmean"][g])
        for i in range(m):
            k = i if layer_norm else g  # whose γ
            gamma_name = name(weight[k]) if weight is not None else "1"
            xh, yi = n.x_hat[i], n.y[i]
            eq = f"∂ℓ/∂{name(xh)} = ∂ℓ/∂{name(yi)} · {gamma_name}"
            nums = f"{f(dy[g][i])} · {signed(f(gammas[k]))} = {f(dx_hat[i])}"
            note(xh, lines["3"], beside(xh, f"Sec. 3: ∂ℓ/∂{name(xh)} is complete", eq, nums, dx_hat[i]))
            xi = n.x[i]
            if isinstance(xi, Value):
                dev, sq = n.deviation[i], n.square[i]
                t1, t2, t3 = (float(t[g][i]) for t in terms["dx"])  # through x̂_i, σ²_B, μ_B
                eq = (
                    f"∂ℓ/∂{name(xi)} = ∂ℓ/∂{name(xh)} · 1/{std} + ∂ℓ/∂{var} · 2({name(dev)})/{sym.m} "
                    f"+ ∂ℓ/∂{mu} · 1/{sym.m}   ({sym.m} = {m})"
                )
                nums = f"{f(t1)} + {signed(f(t2))} + {signed(f(t3))} = {f(closed['dx'][g][i])}"
                paths = [
                    [f"through {name(xh)} directly", f"{name(xh)} → {name(dev)} → {name(xi)}",
                     f(sent.get((id(xh), id(dev)), 0.0)), f(t1)],
                    [f"through {var}", f"{name(sq)} → {name(dev)} → {name(xi)}",
                     f(sent.get((id(sq), id(dev)), 0.0)), f(t2)],
                    [f"through {mu}", f"{name(n.sum_x)} → {name(xi)}",
                     f(sent.get((id(n.sum_x), id(xi)), 0.0)), f(t3)],
                ]  # fmt: skip
                title = f"Sec. 3: ∂ℓ/∂{name(xi)} is complete: three paths, three terms"
                note(xi, lines["input"], beside(xi, title, eq, nums, closed["dx"][g][i], paths))
            for v in (n.deviation[i], n.square[i]):
                note(v, lines["2"])
            note(n.scaled[i] if n.scaled else None, lines["4"])
            note(yi, lines["4"])
        dev_sum = sum(d.data for d in n.deviation)
        s_var = sum(float(dx_hat[i]) * n.deviation[i].data for i in range(m))
        eq = f"∂ℓ/∂{var} = Σ_i ∂ℓ/∂x̂_i · (x_i − {mu}) · (−1/2)({name(n.var_eps)})^(−3/2)"
        nums = f"{f(s_var)} · (−1/2) · {f(n.var_eps.data)}^(−3/2) = {f(dvar)}"
        note(n.var, lines["2"], beside(n.var, f"Sec. 3: ∂ℓ/∂{var} is complete", eq, nums, dvar))
        a = float(terms["dmean"][0][g])  # the term through x̂_i
        eq = f"∂ℓ/∂{mu} = Σ_i ∂ℓ/∂x̂_i · (−1/{std}) + ∂ℓ/∂{var} · Σ_i −2(x_i − {mu})/{sym.m}   ({sym.m} = {m})"
        nums = f"{f(a)} + {signed(f(dvar))} · {signed(f(-2.0 * dev_sum / m))} = {f(dmean)}"
        note(n.mean, lines["1"], beside(n.mean, f"Sec. 3: ∂ℓ/∂{mu} is complete", eq, nums, dmean))
        note(n.sum_x, lines["1"])
        note(n.sum_squares, lines["2"])
        for v in (n.var_eps, n.std):
            note(v, lines["3"])
    for k, (gamma, beta) in enumerate(zip(weight or [], bias or [])):
        entries = [(g, i) for g, n in enumerate(groups) for i in range(len(n.x)) if (i if layer_norm else g) == k]
        terms = [f"{signed(f(dy[g][i]))}·{signed(f(groups[g].x_hat[i].data))}" for g, i in entries]
        eq = f"∂ℓ/∂{name(gamma)} = Σ_i ∂ℓ/∂y_i · x̂_i"
        nums = f"{_sum(terms)} = {f(closed['dgamma'][k])}"
        note(gamma, lines["param"], beside(gamma, f"Sec. 3: ∂ℓ/∂{name(gamma)} is complete", eq, nums,
                                           closed["dgamma"][k]))  # fmt: skip
        eq = f"∂ℓ/∂{name(beta)} = Σ_i ∂ℓ/∂y_i"
        nums = f"{_sum([signed(f(dy[g][i])) for g, i in entries])} = {f(closed['dbeta'][k])}"
        note(beta, lines["param"], beside(beta, f"Sec. 3: ∂ℓ/∂{name(beta)} is complete", eq, nums,
                                          closed["dbeta"][k]))  # fmt: skip
    return notes


def problem(layer: object, steps: Sequence[Step], name: Callable[[Value], str], digits: int = 4) -> dict:
    """Where the page states the problem: the layer, its input x and the upstream gradient dy = ∂ℓ/∂y,
    one row per value of a statistic's group (each row a feature's column for BatchNorm)."""
    groups: list[Alg1Nodes] = list(layer.last)  # type: ignore[attr-defined]
    grad = {id(s.node): s.grad for s in steps}
    f = lambda x: format_number(float(x), digits)  # noqa: E731

    def table(cell: Callable[[Alg1Nodes, int], str]) -> list[list[str]]:
        rows = [[cell(g, i) for g in groups] for i in range(len(groups[0].x))]
        return [list(r) for r in zip(*rows)] if isinstance(layer, LayerNorm) else rows  # one row per example

    x_cell = lambda g, i: f"{name(g.x[i]) if isinstance(g.x[i], Value) else 'x'} = {f(_data(g.x[i]))}"  # noqa: E731
    dy_cell = lambda g, i: f"∂ℓ/∂{name(g.y[i])} = {f(grad.get(id(g.y[i]), 0.0))}"  # noqa: E731
    return {
        "head": f"The problem: {layer!r} on a batch x; backward brings it dy = ∂ℓ/∂y",
        "tables": [["x, the layer's input", table(x_cell)], ["dy = ∂ℓ/∂y, what the loss sends back", table(dy_cell)]],
    }


def overview(layer: object) -> tuple[object, dict[int, str]]:
    """Alg. 1 as a small graph of vectors (x, μ_B, x − μ_B, …, y, γ, β): a `graphviz.Digraph` whose node
    `k` has the SVG id `ov-k`, and {id(node): k} placing each scalar node of the layer's graph in it."""
    import graphviz

    sym = symbols(layer)
    mu, var = sym.mean, sym.var
    labels = {
        "x": "x", "mean": mu, "deviation": f"x − {mu}", "square": f"(x − {mu})²", "var": var,
        "std": f"√({var} + ε)", "x_hat": "x̂", "gamma": "γ", "scaled": "γx̂", "beta": "β", "y": "y",
    }  # fmt: skip
    edges = [("x", "mean"), ("x", "deviation"), ("mean", "deviation"), ("deviation", "square"), ("square", "var"),
             ("var", "std"), ("deviation", "x_hat"), ("std", "x_hat"), ("x_hat", "scaled"), ("gamma", "scaled"),
             ("scaled", "y"), ("beta", "y")]  # fmt: skip
    groups: list[Alg1Nodes] = list(layer.last)  # type: ignore[attr-defined]
    if not groups[0].scaled:
        edges = [e for e in edges if "scaled" not in e and "beta" not in e]
        del labels["gamma"], labels["scaled"], labels["beta"], labels["y"]
    graph = graphviz.Digraph(
        graph_attr={"rankdir": "LR", "nodesep": "0.08", "ranksep": "0.18", "margin": "0", "fontname": "DejaVu Sans"},
        node_attr={"shape": "box", "style": "rounded", "fontname": "DejaVu Sans", "fontsize": "13",
                   "height": "0.3", "margin": "0.06,0.02"},
        edge_attr={"arrowsize": "0.5"},
    )  # fmt: skip
    for key, label in labels.items():
        graph.node(key, graphviz.nohtml(label), id=f"ov-{key}")
    for a, b in edges:
        graph.edge(a, b)
    where: dict[int, str] = {}
    for n in groups:
        parts = {"x": n.x, "mean": [n.sum_x, n.mean], "deviation": n.deviation, "square": [*n.square, n.sum_squares],
                 "var": [n.var], "std": [n.var_eps, n.std], "x_hat": n.x_hat, "scaled": n.scaled}  # fmt: skip
        if n.scaled:
            parts["y"] = n.y
        for key, values in parts.items():
            where.update((id(v), key) for v in values if isinstance(v, Value))
    for key, params in (("gamma", getattr(layer, "weight", None)), ("beta", getattr(layer, "bias", None))):
        where.update((id(v), key) for v in params or [])
    return graph, where


def _norm(layer: object) -> Norm:
    return NORMS["layernorm" if isinstance(layer, LayerNorm) else "batchnorm"]


def _data(v: object) -> float:
    return v.data if isinstance(v, Value) else float(v)  # type: ignore[arg-type]


def _sum(terms: list[str]) -> str:
    """ "a + b + c", and for more than 4 terms "a + b + … + z": one line."""
    return " + ".join(terms if len(terms) <= 4 else [*terms[:2], "…", terms[-1]])
