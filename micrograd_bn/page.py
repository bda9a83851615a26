"""The step-through page: the graph, the list of steps and the current one in detail, in one HTML file.

`write_html(steps, path)` writes it; `StepThrough(root)` shows it inline in Jupyter. Every
text the page shows is made here (`page_data`): each node's gradient as its terms arrive
("grad 1.537 · 2/4": 2 of its 4 terms so far), and each chain-rule term three ways: symbolic, the op's
local-derivative rule with the numbers put in (`rules.local_rule`), and the product. The
front end (HTML, CSS, JS in `micrograd_bn/viewer/`) only displays it.

References: Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (BatchNorm's backward is these
chain-rule terms, summed); tinygrad's VIZ (list, graph and detail panes).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from .drawing import NOT_COMPUTED, draw, image, node_names, record_fields, save, size_to_fit
from .engine import Value, topological_order
from .nn import UPSTREAM
from .paper import overview, paper_notes, problem
from .rules import chain_of_equals, forward_text, local_rule_parts, op_title
from .text import format_number, operand
from .trace import Step, backward_steps, step_names


def write_html(
    steps: Sequence[Step], path: str | os.PathLike, *, digits: int = 4, layer: object = None, **draw_options
) -> Path:
    """A self-contained page stepping through `steps`: the graph, the list of steps, the current one in detail.

    One HTML file with everything inlined (the viewer's HTML, CSS and JS from
    `micrograd_bn/viewer/`, the Graphviz SVG, the steps as JSON): it opens from disk and
    asks the network for nothing. It opens at `#step=K` if given. `layer` (a BatchNorm or
    LayerNorm the loss was built on) adds the paper beside autodiff: each node's Alg. 1 line
    and Sec. 3's quantities set beside the closed form. `draw_options` (groups, collapse,
    max_nodes) are passed to `draw`.

    >>> import tempfile
    >>> x = Value(2.0, "x")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = write_html(list(backward_steps(x * x)), Path(tmp) / "page.html").read_text()
    >>> page.count("<svg"), "http" in page.replace("http://www.w3.org/", "")
    (1, False)
    """
    return save(path, page_html(steps, digits=digits, layer=layer, **draw_options).encode())


class StepThrough:
    """The step-through page inline in Jupyter: `StepThrough(loss)` as a cell's last line.

    Runs one backward pass with `backward_steps` and puts every `.grad` back as it was.
    The page sits in an `<iframe srcdoc>`, so several viewers in one notebook keep
    their own scripts and keys; stepping needs no kernel. `draw_options` (groups,
    collapse, max_nodes) are passed to `draw`; `layer` as for `write_html`; `height` is the
    frame's, in CSS px.

    >>> x = Value(2.0, "x"); y = x * x
    >>> view = StepThrough(y)
    >>> len(view.steps), x.grad, view._repr_html_().startswith("<iframe")
    (2, 0.0, True)
    """

    def __init__(
        self, root: Value, *, digits: int = 4, height: int = 720, layer: object = None, **draw_options
    ) -> None:
        order = topological_order(root) if isinstance(root, Value) else []
        before = [v.grad for v in order]
        try:
            self.steps = list(backward_steps(root))
        finally:
            for v, g in zip(order, before):
                v.grad = g
        self.height = height
        self.html = page_html(self.steps, digits=digits, layer=layer, **draw_options)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html)}" sandbox="allow-scripts" '
            f'style="width: 100%; height: {self.height}px; border: 1px solid #ccc"></iframe>'
        )


def page_html(steps: Sequence[Step], *, digits: int = 4, layer: object = None, **draw_options) -> str:
    """The step-through page as one HTML string: what `write_html` writes and `StepThrough` shows.

    The graph is laid out once with every node sized for the longest grad text it will
    show, so nothing moves while the gradients fill in: the viewer changes texts and classes.
    """
    steps = list(steps)
    if not steps:
        raise ValueError("the page needs at least one step: pass list(backward_steps(root))")
    mine = sorted({"grads", "grad_view", "highlight", "names"} & draw_options.keys())
    if mine:
        raise TypeError(f"the page shows the gradients step by step itself: leave out {', '.join(mine)}")
    root, name = steps[0].node, step_names(steps)
    unlabelled = {s.node: name(s.node) for s in steps if not s.node.label}  # "#3" on the graph as in the steps
    graph = draw(root, grads={}, digits=digits, names=unlabelled, show_data=False, **draw_options)
    graph.graph_attr.update(ranksep="0.08", nodesep="0.08")  # compact: a step and its inputs share the screen
    data = page_data(steps, digits=digits, collapse=draw_options.get("collapse"), layer=layer)
    widest = graph.copy()  # each node showing its longest grad text, to size it
    longest = {name: max(node["texts"], key=len) for name, node in data["nodes"].items()}
    widest.body = [_GRAD_FIELD.sub(lambda m: m[1] + longest.get(m[2], NO_GRAD_YET), line) for line in graph.body]
    graph.body = [_GRAD_FIELD.sub(lambda m: m[1] + NO_GRAD_YET, line) for line in graph.body]
    size_to_fit(graph, [graph, widest])
    svg = image(graph, "svg").decode()
    small = image(overview(layer)[0], "svg").decode() if layer is not None else ""
    parts = {
        "TITLE": html.escape(f"backward pass of {data['root']}"),
        "CSS": _viewer_file("viewer.css"),
        "JS": _viewer_file("viewer.js"),
        "SVG": svg[svg.index("<svg") :],
        "OVERVIEW": small[small.index("<svg") :] if small else "",
        "DATA": json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),  # no "</script>" inside
    }
    return re.sub("__(TITLE|CSS|JS|SVG|OVERVIEW|DATA)__", lambda m: parts[m[1]], _viewer_file("page.html"))


def page_data(steps: Sequence[Step], *, digits: int = 4, collapse: Mapping | None = None, layer: object = None) -> dict:
    """Every text the page shows, made here: per node its grad texts, per step its node and terms.

    - `nodes[dot]`: `texts[k]`, the node's grad text once k of its n terms have arrived
      ("no grad yet", "grad 2 · 1/2", …, "grad 4"), `arrivals`, the step
      at which each term arrives (0 for the root's seed ∂ℓ/∂ℓ = 1), and `field`, which of
      the record's texts is the gradient (`drawing.record_fields`: the last), `step`, the
      step at which its gradient is complete, and `tip`, its name and data for hovering.
    - `steps[i]`: `node` (its DOT name in `draw`, or its box's when collapsed), `name`,
      `op`, `grad`, `forward`; `received`: the terms that made its gradient (from which
      step and node, the running sum); `sends`: each term it sends, three ways: `chain`
      (symbolic), `rule` (the op's local derivative, then with the numbers put in) and
      `numbers` (local derivative × gradient = term), and `got` ("k of n terms"); and the
      step's headings, its gradient's name `grad_of` (∂ℓ/∂(σ²_B+ε), one notation everywhere).
    - `text`: the page's fixed texts.
    - With a norm `layer`: each step's `paper` (`paper.paper_notes`: its Alg. 1 line, and for
      Sec. 3's quantities the closed form beside autodiff), `problem` (x and dy), the loss's
      rule ∂ℓ/∂y_i = dy_i, and Alg. 1's overview: each step's vector (`overview`) and each
      vector's first step.

    >>> x = Value(2.0, "x"); y = x * x; y.label = "y"
    >>> d = page_data(list(backward_steps(y)))
    >>> d["nodes"]["v0"]["texts"]
    ['no grad yet', 'grad 2 · 1/2', 'grad 4']
    >>> [d["steps"][0]["sends"][0][k] for k in ("chain", "rule", "numbers")]
    ['∂y/∂x += ∂y/∂x · ∂y/∂y', '∂y/∂x = x = 2', '2 × 1 = 2']
    """
    steps = list(steps)
    name, order = step_names(steps), [s.node for s in reversed(steps)]
    number = {id(s.node): s.number for s in steps}
    dot = node_names(order)
    shown_as = {**dot, **_box_names(order, collapse)}  # a collapsed node is shown by its box
    f = lambda x: format_number(x, digits)  # noqa: E731
    r = name(order[-1])
    arrivals: dict[int, list[tuple[int, str, float]]] = {id(order[-1]): [(0, f"the seed ∂{r}/∂{r}", 1.0)]}
    position: dict[tuple[int, int], int] = {}  # (step, j): where term j of that step falls in its input's arrivals
    for s in steps:
        for j, t in enumerate(s.terms):
            got = arrivals.setdefault(id(t.input), [])
            position[s.number, j] = len(got)
            got.append((s.number, f"{name(s.node)} (step {s.number})", t.contribution))
    sums: dict[int, list[float]] = {}  # running sums, added in the order backward() adds them
    for i, got in arrivals.items():
        total, sums[i] = 0.0, []
        for _, _, term in got:
            total += term
            sums[i].append(total)
    nodes: dict[str, dict] = {}
    for v in order:
        n = len(sums.get(id(v), []))
        texts = [NO_GRAD_YET] + [f"grad {f(g)} · {k}/{n}" for k, g in enumerate(sums.get(id(v), []), 1)]
        texts[n] = f"grad {f(sums[id(v)][-1])}" if n else NO_GRAD_YET
        field = len(record_fields(v, digits, {}, name(v), show_data=False)) - 1  # the gradient: the last field
        nodes[dot[id(v)]] = {
            "texts": texts,
            "arrivals": [k for k, _, _ in arrivals.get(id(v), [])],
            "field": field,
            "step": number[id(v)],  # where its gradient is complete: a click on it goes there
            "tip": [name(v), f"data {f(v.data)}"],  # on hover, with its grad text of the moment
        }
    notes = paper_notes(layer, steps, name, digits) if layer is not None else {}
    placed = overview(layer)[1] if layer is not None else {}  # scalar node -> its vector in Alg. 1's overview
    first: dict[str, int] = {}  # overview node -> the first step of its scalar nodes
    for s in steps:
        if id(s.node) in placed:
            first.setdefault(placed[id(s.node)], s.number)
    rows, last = [], len(steps)
    for s in steps:
        v, received = s.node, zip(arrivals.get(id(s.node), []), sums.get(id(s.node), []))
        grad_of = f"∂{r}/∂{operand(name(v))}"
        parts = local_rule_parts(v, name, digits)
        if v.op == UPSTREAM:  # ℓ = Σ y_i·dy_i: its local derivatives are the numbers dy_i
            parts = [[p[0], f"d{name(u)}", p[3], p[3]] for p, u in zip(parts, v.inputs)]
        sends = []
        for j, (t, rule) in enumerate(zip(s.terms, parts)):
            u, to = name(t.input), operand(name(t.input))
            head = f"∂{operand(name(v))}/∂{to}"
            sends.append(
                {
                    "to": shown_as[id(t.input)],
                    "name": u,
                    "chain": f"∂{r}/∂{to} += {head} · ∂{r}/∂{operand(name(v))}",
                    "rule": chain_of_equals(rule),
                    "ask": f"{rule[0]} = ?",  # practice: the local derivative, with three hints
                    "hints": [chain_of_equals(rule[:2]), chain_of_equals(rule[:3]), chain_of_equals(rule)],
                    "answer": t.local_grad if math.isfinite(t.local_grad) else None,
                    "numbers": f"{f(t.local_grad)} × {f(s.grad)} = {f(t.contribution)}",
                    "got": _k_of_n(position[s.number, j] + 1, len(arrivals[id(t.input)])),
                }
            )
        rows.append(
            {
                "node": shown_as[id(v)],
                "name": name(v),
                "op": op_title(v),
                "grad": f(s.grad),
                "title": f"Step {s.number} of {last}: {name(v)}",
                "forward": forward_text(v, name, digits),
                "received_head": f"Its gradient {grad_of} is the sum of the terms it received",
                "grad_of": grad_of,
                "received": [{"from": who, "term": f(term), "sum": f(total)} for (_, who, term), total in received],
                "sends_head": f"It sends one term to each input ({len(sends)})" if sends else "It sends nothing",
                "leaf": "" if sends else f"A leaf (an input or a parameter): {grad_of} = {f(s.grad)} is final.",
                "sends": sends,
                "paper": notes.get(id(v)),
                "overview": placed.get(id(v)),
            }
        )
    return {
        "root": r,
        "nodes": nodes,
        "steps": rows,
        "text": _texts(r),
        "problem": problem(layer, steps, name, digits) if layer is not None else None,
        "overview": first,
    }


def _texts(r: str) -> dict[str, object]:
    """The page's fixed texts: step 0, the headers of the list and the table, the last step's note."""
    return {
        "before": "Before the pass",
        "intro": [
            f"Backward starts at {r} with the seed ∂{r}/∂{r} = 1 and visits every node once, in reverse "
            "topological order: when a node's turn comes, every node that uses it has sent its term, so its "
            "gradient is complete.",
            "The node then sends one chain-rule term to each input: its local derivative × its gradient. "
            "An input's gradient is the sum of the terms it receives (the += in backward).",
        ],
        "press": "Press → or ▶ for step 1.",
        "step0": "before the pass",
        "columns": ["step", "node", "op", f"∂{r}/∂node"],
        "table": ["from", "term", "sum so far"],
        "labels": ["chain rule", "local rule", "numbers"],
        "now_has": "now has",
        "last": "That was the last step: every gradient is final, as backward() leaves it.",
        "sec3_head": ["Sec. 3 (reference.py)", "autodiff (the graph)", "difference"],
        "practice": {
            "on": "Practice: predict each local derivative before the page shows its term. Type a number "
            f"and press Enter; right means within {PRACTICE_TOLERANCE:.0%} (or {PRACTICE_ABSOLUTE:g}).",
            "tolerance": [PRACTICE_TOLERANCE, PRACTICE_ABSOLUTE],
            "right": "Right.",
            "wrong": "Not yet: try again, or take a hint.",
            "hint": "Hint",
            "hints": ["the rule", "the rule with its numbers", "the answer"],
            "reveal": "Shown by the hints.",
            "score": "{right} right of {asked} asked, {hints} hints",
            "held": "held back: answer above to see it",
        },
        "paths_head": ["path", "in the graph", "graph's term", "Sec. 3's term"],
        "overview": "Alg. 1 by vectors: where this step is; click to go there",
    }


PRACTICE_TOLERANCE, PRACTICE_ABSOLUTE = 0.01, 1e-3  # practice: an answer within 1 % (or 0.001) is right
NO_GRAD_YET = "no grad yet"  # the page's grad text before a node's first term (short: compact records)
_GRAD_FIELD = re.compile(r"^(\t+(v\d+) \[label=\".*\|)" + re.escape(NOT_COMPUTED))  # a record's grad field in DOT


def _k_of_n(k: int, n: int) -> str:
    return f"{k} of {n} term{'s' if n > 1 else ''}"


def _box_names(order: list[Value], collapse: Mapping | None) -> dict[int, str]:
    """{id: DOT name of its box} for collapsed Values, named as `draw` names them (box0, box1, … in order)."""
    owner = {id(v): name for name, values in (collapse or {}).items() for v in values}
    boxes = list(dict.fromkeys(owner[id(v)] for v in order if id(v) in owner))
    return {id(v): f"box{boxes.index(owner[id(v)])}" for v in order if id(v) in owner}


def _viewer_file(name: str) -> str:
    """A file of the viewer's front end (package data in micrograd_bn/viewer/)."""
    return resources.files("micrograd_bn").joinpath("viewer", name).read_text(encoding="utf-8")
