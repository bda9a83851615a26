"""Step through a backward pass one node at a time: a generator, a terminal table, an HTML page.

`backward_steps(root)` does what `Value.backward()` does, in the same order and with the
same floating-point operations, but pauses after each node: its gradient in this pass
is complete when its turn comes (every node that uses it has already sent its share),
and it then sends one chain-rule term, local derivative × upstream gradient, to each
input. `format_steps` prints the steps as a table; `write_frames` writes one image per
step; `write_html` makes a page (and `StepThrough` shows it in Jupyter) with the graph,
the list of steps and each chain-rule term written three ways: symbolic, the op's
local-derivative rule with the numbers put in (`local_rule`), and the product.

References: Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (BatchNorm's backward is these
chain-rule terms, summed); A. Karpathy, micrograd (2020).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import graphviz

from .drawing import NOT_COMPUTED, draw, format_number, image, node_names, pad, save, text_width
from .engine import Value, topological_order


@dataclass(frozen=True)
class Term:
    """One chain-rule term a node sends back: `input.grad += local_grad × upstream gradient`."""

    input: Value
    local_grad: float  # ∂node/∂input, stored beside the forward result
    contribution: float  # local_grad × ∂root/∂node


@dataclass(frozen=True)
class Step:
    """Step `number` (from 1) of a backward pass: `node`, its gradient this pass, and what it sends."""

    number: int
    node: Value
    grad: float  # ∂root/∂node accumulated in this pass: complete when the node's step comes
    terms: tuple[Term, ...]


def backward_steps(root: Value) -> Iterator[Step]:
    """Run `root.backward()` one node at a time, yielding a `Step` after each node.

    Each step adds the node's gradient into `.grad` exactly as `backward()` does (same
    order, same floating-point operations: the results are bit-identical, and add to
    what `.grad` already holds). NB: unlike `backward()` it does not raise on NaN or
    infinity, which is left to show in the steps; stopping early leaves a partial pass.

    >>> a = Value(3.0, "a"); b = (a * a).relu()
    >>> [(s.node.label or s.node.op, s.grad) for s in backward_steps(b)]
    [('relu', 1.0), ('*', 1.0), ('a', 6.0)]
    >>> a.grad
    6.0
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps() needs a Value, got {type(root).__name__}: {root!r:.60}")
    return _steps(root)


def _steps(root: Value) -> Iterator[Step]:
    order = topological_order(root)
    pass_grad = {id(v): 0.0 for v in order}  # this pass's ∂root/∂v, as backward()'s per-pass sum
    pass_grad[id(root)] = 1.0  # seed: ∂root/∂root = 1
    for number, v in enumerate(reversed(order), start=1):
        g = pass_grad[id(v)]
        v.grad += g
        terms = []
        for child, d in zip(v.inputs, v.local_grads):
            term = d * g  # chain rule: ∂root/∂child += ∂v/∂child · ∂root/∂v
            pass_grad[id(child)] += term
            terms.append(Term(child, d, term))
        yield Step(number, v, g, tuple(terms))


def format_steps(steps: Iterable[Step], digits: int = 4) -> str:
    """The steps as a table: one row per node, one line per chain-rule term it sends.

    Nodes without a label are named by their step number (`#3`).

    >>> x = Value(2.0, "x"); y = x * 3.0; y.label = "y"
    >>> print(format_steps(backward_steps(y)))
    step  node  op  ∂y/∂node  sends to each input: ∂node/∂input × ∂y/∂node = term
       1  y     *   1         x += 3 × 1 = 3
       2  x         3         (a leaf: nothing to send)
    """
    steps = list(steps)
    if not steps:
        raise ValueError("format_steps: no steps to show; pass backward_steps(root) for a Value root")
    name = _namer(steps)
    root = name(steps[0].node)
    rows = [
        (str(s.number), name(s.node), s.node.op, format_number(s.grad, digits), _sends(s, name, digits)) for s in steps
    ]
    head = ("step", "node", "op", f"∂{root}/∂node", f"sends to each input: ∂node/∂input × ∂{root}/∂node = term")
    widths = [max(text_width(r[k]) for r in [head, *rows]) for k in range(4)]
    lines = []
    for row in [(*head[:4], [head[4]]), *rows]:
        first = [pad(row[0], widths[0], right=True), *(pad(c, w) for c, w in zip(row[1:4], widths[1:]))]
        for k, send in enumerate(row[4]):
            cells = first if k == 0 else [" " * w for w in widths]
            lines.append("  ".join([*cells, send]).rstrip())
    return "\n".join(lines)


def write_frames(
    steps: Sequence[Step], folder: str | os.PathLike, format: str = "svg", *, digits: int = 4, **draw_options
) -> list[Path]:
    """One image per step (`step_001.svg`, …) in `folder`: the gradients found so far, this node outlined.

    Every frame has the same layout: each node is given the size it needs in its widest
    frame (gradient not computed, or computed), so only texts and outlines change.
    `draw_options` (groups, collapse, grad_view, max_nodes) are passed to `draw`.

    >>> import tempfile
    >>> x = Value(2.0, "x")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_frames(list(backward_steps(x * x)), tmp)]
    ['step_001.svg', 'step_002.svg']
    """
    folder, root, done, paths = Path(folder), steps[0].node, {}, []
    sizes = _sizes(draw(root, grads=g, digits=digits, **draw_options) for g in ({}, {s.node: s.grad for s in steps}))
    for s in steps:
        done[s.node] = s.grad
        graph = draw(root, grads=done, highlight=[s.node], digits=digits, **draw_options)
        for name, (width, height) in sizes.items():  # a repeated node statement only adds attributes
            graph.node(name, width=width, height=height)
        data = image(graph, format)
        if not paths:  # the first image is made: the format and `dot` work
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise type(err)(f"cannot create the frames folder {folder}: {err.strerror or err}") from err
        paths.append(save(folder / f"step_{s.number:03d}.{format}", data))
    return paths


def write_html(steps: Sequence[Step], path: str | os.PathLike, *, digits: int = 4, **draw_options) -> Path:
    """A self-contained page stepping through `steps`: the graph, the list of steps, the current one in detail.

    One HTML file with everything inlined (the viewer's HTML, CSS and JS from
    `micrograd_bn/viewer/`, the Graphviz SVG, the steps as JSON): it opens from disk and
    asks the network for nothing. It opens at `#step=K` if given. `draw_options` (groups,
    collapse, max_nodes) are passed to `draw`.

    >>> import tempfile
    >>> x = Value(2.0, "x")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = write_html(list(backward_steps(x * x)), Path(tmp) / "page.html").read_text()
    >>> page.count("<svg"), "http" in page.replace("http://www.w3.org/", "")
    (1, False)
    """
    return save(path, page_html(steps, digits=digits, **draw_options).encode())


class StepThrough:
    """The step-through page inline in Jupyter: `StepThrough(loss)` as a cell's last line.

    Runs one backward pass with `backward_steps` and puts every `.grad` back as it was.
    The page sits in an `<iframe srcdoc>`, so several viewers in one notebook keep
    their own scripts and keys; stepping needs no kernel. `draw_options` (groups,
    collapse, max_nodes) are passed to `draw`; `height` is the frame's, in CSS px.

    >>> x = Value(2.0, "x"); y = x * x
    >>> view = StepThrough(y)
    >>> len(view.steps), x.grad, view._repr_html_().startswith("<iframe")
    (2, 0.0, True)
    """

    def __init__(self, root: Value, *, digits: int = 4, height: int = 720, **draw_options) -> None:
        order = topological_order(root) if isinstance(root, Value) else []
        before = [v.grad for v in order]
        try:
            self.steps = list(backward_steps(root))
        finally:
            for v, g in zip(order, before):
                v.grad = g
        self.height = height
        self.html = page_html(self.steps, digits=digits, **draw_options)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html)}" sandbox="allow-scripts" '
            f'style="width: 100%; height: {self.height}px; border: 1px solid #ccc"></iframe>'
        )


def page_html(steps: Sequence[Step], *, digits: int = 4, **draw_options) -> str:
    """The step-through page as one HTML string: what `write_html` writes and `StepThrough` shows.

    The graph is laid out once with every node sized for the longest grad text it will
    show, so nothing moves while the gradients fill in: the viewer changes texts and classes.
    """
    steps = list(steps)
    if not steps:
        raise ValueError("the page needs at least one step: pass list(backward_steps(root))")
    mine = sorted({"grads", "grad_view", "highlight"} & draw_options.keys())
    if mine:
        raise TypeError(f"the page shows the gradients step by step itself: leave out {', '.join(mine)}")
    root = steps[0].node
    graph = draw(root, grads={}, digits=digits, **draw_options)  # every grad "not computed" until a term arrives
    data = page_data(steps, digits=digits, collapse=draw_options.get("collapse"))
    widest = graph.copy()  # each node showing its longest grad text, to size it
    longest = {name: max(node["texts"], key=len) for name, node in data["nodes"].items()}
    widest.body = [_GRAD_FIELD.sub(lambda m: m[1] + longest.get(m[2], NOT_COMPUTED), line) for line in graph.body]
    for name, (width, height) in _sizes([graph, widest]).items():  # a repeated node statement adds attributes
        graph.node(name, width=width, height=height)
    svg = image(graph, "svg").decode()
    parts = {
        "TITLE": html.escape(f"backward pass of {data['root']}"),
        "CSS": _viewer_file("viewer.css"),
        "JS": _viewer_file("viewer.js"),
        "SVG": svg[svg.index("<svg") :],
        "DATA": json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),  # no "</script>" inside
    }
    return re.sub("__(TITLE|CSS|JS|SVG|DATA)__", lambda m: parts[m[1]], _viewer_file("page.html"))


def page_data(steps: Sequence[Step], *, digits: int = 4, collapse: Mapping | None = None) -> dict:
    """Every text the page shows, made here: per node its grad texts, per step its node and terms.

    - `nodes[dot]`: `texts[k]`, the node's grad text once k of its n terms have arrived
      ("grad: not computed", "grad 2 · 1 of 2 terms", …, "grad 4"), and `arrivals`,
      the step at which each term arrives (0 for the root's seed ∂ℓ/∂ℓ = 1).
    - `steps[i]`: `node` (its DOT name in `draw`, or its box's when collapsed), `name`,
      `op`, `grad`, `forward`; `received`: the terms that made its gradient (from which
      step and node, the running sum); `sends`: each term it sends, three ways: `chain`
      (symbolic), `rule` (the op's local derivative, then with the numbers put in) and
      `numbers` (local derivative × gradient = term), and `got` ("k of n terms").

    >>> x = Value(2.0, "x"); y = x * x; y.label = "y"
    >>> d = page_data(list(backward_steps(y)))
    >>> d["nodes"]["v0"]["texts"]
    ['grad: not computed', 'grad 2 · 1 of 2 terms', 'grad 4']
    >>> [d["steps"][0]["sends"][0][k] for k in ("chain", "rule", "numbers")]
    ['∂y/∂x += ∂y/∂x · ∂y/∂y', '∂y/∂x = x = 2', '2 × 1 = 2']
    """
    steps = list(steps)
    name, order = _namer(steps), [s.node for s in reversed(steps)]
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
        texts = [NOT_COMPUTED] + [f"grad {f(g)} · {_k_of_n(k, n)}" for k, g in enumerate(sums.get(id(v), []), 1)]
        texts[n] = f"grad {f(sums[id(v)][-1])}" if n else NOT_COMPUTED
        nodes[dot[id(v)]] = {"texts": texts, "arrivals": [k for k, _, _ in arrivals.get(id(v), [])]}
    rows = []
    for s in steps:
        v, received = s.node, zip(arrivals.get(id(s.node), []), sums.get(id(s.node), []))
        rules = local_rule(v, name, digits)
        sends = []
        for j, (t, rule) in enumerate(zip(s.terms, rules)):
            u, to = name(t.input), _operand(name(t.input))
            head = f"∂{_operand(name(v))}/∂{to}"
            sends.append(
                {
                    "to": shown_as[id(t.input)],
                    "name": u,
                    "chain": f"∂{r}/∂{to} += {head} · ∂{r}/∂{_operand(name(v))}",
                    "rule": rule or f"{head} = {f(t.local_grad)} (as the engine stored it: no rule for op {v.op!r})",
                    "numbers": f"{f(t.local_grad)} × {f(s.grad)} = {f(t.contribution)}",
                    "got": _k_of_n(position[s.number, j] + 1, len(arrivals[id(t.input)])),
                }
            )
        rows.append(
            {
                "node": shown_as[id(v)],
                "name": name(v),
                "op": v.op,
                "grad": f(s.grad),
                "forward": forward_text(v, name, digits),
                "received": [{"from": who, "term": f(term), "sum": f(total)} for (_, who, term), total in received],
                "sends": sends,
            }
        )
    return {"root": r, "nodes": nodes, "steps": rows}


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


# ---- local-derivative rules: each op's ∂out/∂input from the node's inputs and output
# A rule is a pair of templates over the inputs ({0}, {1}, …) and the output ({o}): the
# forward formula, and per input its local derivative (written with the names, written
# with the numbers) beside the value the template gives, checked against `local_grads`.


@dataclass(frozen=True)
class Rule:
    """One node's op as formulas: `forward` (e.g. "{0} / {1}") and per input (names, numbers, value)."""

    forward: str
    grads: tuple[tuple[str, str, float], ...]


def local_rule(
    node: Value, name: Callable[[Value], str] = lambda v: v.label or v.op, digits: int = 4
) -> list[str | None]:
    """Per input of `node`: "∂node/∂input = rule = rule with numbers = local derivative", or None.

    The rule comes from the op's entry in the table (+, −, *, /, neg, **k, exp, log, sqrt,
    tanh, σ, relu, Σ, Σw·x, Σw·x+b), written with the node's inputs and output. None
    where the op has no entry, or the rule does not give the local derivative the engine
    stored (an `op` renamed by hand): then only the stored number can be shown.

    >>> a = Value(3.0, "a"); b = Value(4.0, "b"); q = a / b; q.label = "q"
    >>> local_rule(q)
    ['∂q/∂a = 1/b = 1/4 = 0.25', '∂q/∂b = −a/b² = −3/4² = -0.1875']
    """
    f = lambda x: format_number(x, digits)  # noqa: E731
    rule = _rule(node, f)
    out = []
    for k, (u, d) in enumerate(zip(node.inputs, node.local_grads)):
        if rule is None or not _same(rule.grads[k][2], d):
            out.append(None)
            continue
        names, numbers, _ = rule.grads[k]
        parts = [
            f"∂{_operand(name(node))}/∂{_operand(name(u))}",
            _fill(names, node, name, f),
            _fill(numbers, node, None, f),
            f(d),
        ]
        out.append(_chain_of_equals(parts))
    return out


def forward_text(node: Value, name: Callable[[Value], str] = lambda v: v.label or v.op, digits: int = 4) -> str:
    """The op that made `node` as a formula, with names and with numbers: "x̂₁ = (x₁−μ_B) / √(σ²_B+ε) = …".

    >>> a = Value(3.0, "a"); b = Value(4.0, "b"); q = a / b; q.label = "q"
    >>> forward_text(q)
    'q = a / b = 3 / 4 = 0.75'
    """
    f = lambda x: format_number(x, digits)  # noqa: E731
    rule = _rule(node, f)
    if not node.inputs:
        return f"{name(node)} = {f(node.data)} (a leaf: an input or a parameter)"
    if rule is None:
        return f"{name(node)} = {node.op or 'op'}({', '.join(name(u) for u in node.inputs)}) = {f(node.data)}"
    return _chain_of_equals(
        [name(node), _fill(rule.forward, node, name, f), _fill(rule.forward, node, None, f), f(node.data)]
    )


def _rule(v: Value, f: Callable[[float], str]) -> Rule | None:
    x, o, d = [u.data for u in v.inputs], v.data, v.local_grads
    if not x:
        return None
    one = len(x) == 1  # the other operand is a constant, folded into the local derivative
    op, c_ = v.op, lambda c: _signed(f(c))
    if op == "+":
        return Rule("{0} + " + c_(o - x[0]) if one else "{0} + {1}", (("1", "1", 1.0),) * len(x))
    if op == "-" and one:  # a − c or c − a
        return (
            Rule(f"{{0}} − {c_(x[0] - o)}", (("1", "1", 1.0),))
            if d[0] > 0
            else Rule(f"{c_(o + x[0])} − {{0}}", (("−1", "−1", -1.0),))
        )
    if op == "-":
        return Rule("{0} − {1}", (("1", "1", 1.0), ("−1", "−1", -1.0)))
    if op == "*":
        return (
            Rule(f"{{0}} · {c_(d[0])}", ((f(d[0]),) * 2 + (d[0],),))
            if one
            else Rule("{0} · {1}", (("{1}", "{1}", x[1]), ("{0}", "{0}", x[0])))
        )
    if op == "/" and one:  # a / c or c / a
        if _same(d[0] * x[0], o):
            c = c_(1.0 / d[0])
            return Rule(f"{{0}} / {c}", ((f"1/{c}", f"1/{c}", d[0]),))
        c = o * x[0]
        return Rule(f"{c_(c)} / {{0}}", ((f"−{c_(c)}/{{0}}²",) * 2 + (-c / (x[0] * x[0]),),))
    if op == "/":
        return Rule("{0} / {1}", (("1/{1}", "1/{1}", 1.0 / x[1]), ("−{0}/{1}²", "−{0}/{1}²", -x[0] / (x[1] * x[1]))))
    if op == "neg":
        return Rule("−{0}", (("−1", "−1", -1.0),))
    if re.fullmatch(r"\*\*-?[\d.]+(e-?\d+)?", op):
        k = float(op[2:])
        slope = "2·{0}" if k == 2 else f"{c_(k)}·{{0}}{_power(k - 1)}"
        return Rule("{0}" + _power(k), ((slope, slope, k * x[0] ** (k - 1) if k != 0 else 0.0),))
    if op == "exp":
        return Rule("exp({0})", (("exp({0})", "{o}", o),))
    if op == "log":
        return Rule("log({0})", (("1/{0}", "1/{0}", 1.0 / x[0]),))
    if op == "sqrt":
        return Rule("√{0}", (("1/(2·{o})", "1/(2·{o})", 0.5 / o),))
    if op == "tanh":
        return Rule("tanh({0})", (("1 − tanh²({0})", "1 − {o}²", 1.0 - o * o),))
    if op == "σ":
        return Rule("σ({0})", (("σ({0})·(1 − σ({0}))", "{o}·(1 − {o})", o * (1.0 - o)),))
    if op == "relu":
        on = x[0] > 0.0
        return Rule("relu({0})", (("1 if {0} > 0, else 0", "1 (as {0} > 0)" if on else "0 (as {0} ≤ 0)", float(on)),))
    if op == "Σ":  # numbers among the terms were added into the node's data
        c = o - math.fsum(x)
        plus = f" + {c_(c)}" if not _same(o, math.fsum(x)) else ""
        return Rule(_sum_of([f"{{{i}}}" for i in range(len(x))]) + plus, (("1", "1", 1.0),) * len(x))
    if op in ("Σw·x", "Σw·x+b"):
        return _dot_rule(v, f)
    return None


def _dot_rule(v: Value, f: Callable[[float], str]) -> Rule | None:
    """Σ_i w_i·x_i (+ b): the inputs are (w…, the x_i that are Values…, b); ∂/∂w_i = x_i, ∂/∂x_i = w_i."""
    ins, d = v.inputs, v.local_grads
    t = len(ins) - (v.op == "Σw·x+b")
    for m in range((t + 1) // 2, t + 1):  # m weights; the smallest m that pairs every x node with one
        partner: list[int | None] = [None] * len(ins)
        j = m
        for i in range(m):
            if j < t and d[i] == ins[j].data and d[j] == ins[i].data:
                partner[i], partner[j], j = j, i, j + 1
        if j == t:
            break
    else:
        return None
    terms, grads = [], []
    for i in range(m):
        x = f"{{{partner[i]}}}" if partner[i] is not None else _signed(f(d[i]))
        terms.append(f"{{{i}}}·{x}")
    for i in range(len(ins)):
        p = partner[i]
        if i >= t:  # the bias
            grads.append(("1", "1", 1.0))
        elif p is None:  # a weight whose x_i is a number
            grads.append((f(d[i]), f(d[i]), d[i]))
        else:
            grads.append((f"{{{p}}}", f"{{{p}}}", ins[p].data))
    return Rule(_sum_of(terms) + (f" + {{{t}}}" if t < len(ins) else ""), tuple(grads))


def _sum_of(terms: list[str]) -> str:
    """ "a + b + c", and for more than 8 terms "a + b + c + … + z": a formula stays one line."""
    return " + ".join(terms if len(terms) <= 8 else [*terms[:3], "…", terms[-1]])


def _fill(template: str, v: Value, name: Callable[[Value], str] | None, f: Callable[[float], str]) -> str:
    """A template with the names (`name` given) or the numbers put in; negative numbers in parentheses."""
    if name is not None:
        return template.format(*(_operand(name(u)) for u in v.inputs), o=_operand(name(v)))
    if re.fullmatch(r"\{\w+\}", template):  # a lone number needs no parentheses
        return template.format(*(f(u.data) for u in v.inputs), o=f(v.data))
    text = template.format(*(_signed(f(u.data)) for u in v.inputs), o=_signed(f(v.data)))
    return re.sub(r"\(\((-[^()]*)\)\)", r"(\1)", text)  # tanh((-0.7)) -> tanh(-0.7)


def _signed(number: str) -> str:
    """A number as an operand: negative ones in parentheses."""
    return f"({number})" if number.startswith("-") else number


def _chain_of_equals(parts: list[str]) -> str:
    """ "a = b = c", leaving out a part that repeats the one before (−1 = -1, or 1 (as 1.5 > 0) = 1)."""
    kept = parts[:1]
    for p in parts[1:]:
        before = kept[-1].replace("−", "-")
        if p.replace("−", "-") != before and not before.startswith(p + " ("):
            kept.append(p)
    return " = ".join(kept)


def _operand(text: str) -> str:
    """`text` in parentheses if it has an operator outside parentheses: x₁−μ_B → (x₁−μ_B); √(σ²_B+ε) stays."""
    depth = 0
    for c in text:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c in "+-−*/·× ":
            return f"({text})"
    return text


def _power(k: float) -> str:
    return {2.0: "²", 3.0: "³", 1.0: ""}.get(k) or f"^{format_number(k, 4)}"


def _same(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def _sizes(graphs: Iterable[graphviz.Digraph]) -> dict[str, tuple[str, str]]:
    """{DOT node: (width, height)} in inches, the largest Graphviz lays out over the given graphs."""
    sizes: dict[str, tuple[float, float]] = {}
    for graph in graphs:
        for obj in json.loads(image(graph, "json")).get("objects", []):
            if "width" in obj:  # a node (clusters have none)
                w, h = sizes.get(obj["name"], (0.0, 0.0))
                sizes[obj["name"]] = (max(w, float(obj["width"])), max(h, float(obj["height"])))
    return {name: (str(w), str(h)) for name, (w, h) in sizes.items()}


def _namer(steps: list[Step]) -> Callable[[Value], str]:
    number = {id(s.node): s.number for s in steps}

    def name(v: Value) -> str:
        return v.label or f"#{number[id(v)]}"

    return name


def _sends(step: Step, name: Callable[[Value], str], digits: int) -> list[str]:
    if not step.terms:
        return ["(a leaf: nothing to send)"]
    g = format_number(step.grad, digits)
    return [
        f"{name(t.input)} += {format_number(t.local_grad, digits)} × {g} = {format_number(t.contribution, digits)}"
        for t in step.terms
    ]
