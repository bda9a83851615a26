"""Draw a Value graph with Graphviz: one record per Value, one small node per operation.

Each Value is a record showing its label (the paper's symbol where set: "μ_B", "x̂₁"),
`data` and `grad`; each operation (`op`) is a small oval between its inputs and its
result, so edges follow the forward data flow, left to right. Callers may group nodes
into labelled clusters (`BatchNorm1d.graph_groups()` gives Alg. 1's steps), collapse a
whole module into one box (`module_nodes`), and colour nodes and edges by their gradient's sign and size.
Reads only the engine's public attributes: data, grad, inputs, local_grads, op, label.

References: A. Karpathy, micrograd's `trace_graph` notebook (2020); Ioffe & Szegedy,
arXiv 1502.03167, Alg. 1; Graphviz's DOT language (record shapes, clusters).
"""

from __future__ import annotations

import html
import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import graphviz

from .engine import DotOp, SumOp, Value, topological_order
from .nn import flatten
from .rules import op_title
from .text import format_number

FORMATS = ("svg", "png", "pdf", "dot", "json")  # dot: the DOT source (no Graphviz needed); json: the layout
NOT_COMPUTED = "grad: not computed"
_EDGE_STATEMENT = re.compile(r"^(?P<indent>\s*)(?P<tail>\w+) -> (?P<head>\w+)(?: \[(?P<attrs>.*)\])?\n?$")
_RECORD_SPECIAL = re.compile(r'([\\{}|<>"])')
_FILL, _LEAF_FILL = "white", "#e8f0fe"  # inputs and parameters
_CLUSTER_FILLS = ("#f4f6fb", "#f7f4fb", "#f3faf5", "#fbf8f0", "#fbf3f3")
_NEGATIVE, _POSITIVE = (33, 102, 172), (178, 24, 43)  # the grad view: −max blue, 0 white, +max red


class GraphTooLarge(ValueError):
    """`draw` refused a graph bigger than `max_nodes`, before Graphviz ran.

    `count` is the number of nodes it would draw (records and operations), `values` the
    number of Values. The message suggests collapsing modules only when the graph has some
    (`collapsible`); the command line rewords the remedy as its `--max-nodes` option.
    """

    def __init__(self, count: int, values: int, max_nodes: int, collapsible: bool) -> None:
        self.count, self.values, self.max_nodes = count, values, max_nodes
        size = f"the graph would draw {count} nodes ({values} Values), more than max_nodes={max_nodes}"
        fold = "collapse modules into boxes (draw(root, collapse={'BatchNorm1d': module_nodes(inputs, outputs)})) or "
        super().__init__(f"{size}; {fold if collapsible else ''}raise it (draw(root, max_nodes={count}))")


def draw(
    root: Value,
    *,
    groups: Mapping[str, Iterable[Value]] | None = None,
    collapse: Mapping[str, Iterable[Value]] | None = None,
    grads: bool | Mapping[Value, float] | None = None,
    digits: int = 4,
    grad_view: bool = False,
    highlight: Iterable[Value] = (),
    max_nodes: int = 500,
    names: Mapping[Value, str] | None = None,
    show_data: bool = True,
) -> graphviz.Digraph:
    """The graph of every Value `root` depends on, as a `graphviz.Digraph` (rankdir LR).

    - `groups`: {cluster label: Values}, each drawn inside a labelled box (leaves such as γ and β beside it).
    - `collapse`: {name: Values}, all drawn as one box, with edges in and out.
    - `grads`: `None` (auto) shows `.grad` if any node's grad is non-zero, else
      "grad: not computed" (`.grad` starts at 0.0 and `backward()` always adds 1 to the
      root's, so an all-zero graph has had no backward since its last `zero_grad`);
      `True` always shows `.grad`; `False` leaves the grad row out; a mapping
      {Value: gradient} shows those and "not computed" for the rest.
    - `grad_view`: fill nodes by the sign and size of their gradient (blue negative, white 0,
      red positive, with a colour bar) and widen edges by |local grad × upstream|.
    - `highlight`: Values drawn with a thick red outline.
    - `max_nodes`: `GraphTooLarge` (a ValueError), before Graphviz runs, if more nodes would be drawn.
    - `names`: {Value: name} shown for Values without a label (the page's `#3`).
    - `show_data`: False leaves the data row out (the page shows it on hover, and stays compact).

    Value number i of `topological_order(root)` is DOT node `v{i}`, its operation `v{i}op`;
    a record's fields are `record_fields`, the gradient last. In Jupyter the returned Digraph
    displays inline; `render` writes it to a file.

    >>> a = Value(3.0, "a"); b = a * a
    >>> g = draw(b)
    >>> g.source.count("shape=record"), g.source.count("-> v1op"), NOT_COMPUTED in g.source
    (2, 2, True)
    """
    _check_arguments(root, digits)
    plan = _plan(root, groups, collapse, grads, max_nodes)
    if grad_view and not plan.shown and not isinstance(grads, Mapping):  # a given mapping may be empty (step 0)
        raise ValueError("grad_view needs gradients: call backward() first (or pass grads=)")
    return _emit(plan, digits, grad_view, {id(v) for v in highlight}, names or {}, show_data)


class _Plan(NamedTuple):
    """What `draw` will draw, decided before any DOT is written."""

    order: list[Value]  # every Value, inputs first
    names: dict[int, str]  # DOT name by id
    boxes: dict[int, str]  # collapsed Values: id -> the name of their box
    box_sizes: Counter  # box name -> how many Values it holds
    clusters: dict[int, str]  # grouped Values: id -> cluster label
    drawn: list[Value]  # the Values drawn as records
    shown: dict[int, float] | None  # the gradients to show (None: no grad field)


def _check_arguments(root: object, digits: object) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"draw() needs a Value as its root, got {type(root).__name__}: {root!r:.60}")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise ValueError(f"digits must be a positive int, got {digits!r}")


def _plan(root: Value, groups, collapse, grads, max_nodes: int) -> _Plan:
    """The Values, their names, boxes and clusters; refuses a graph over `max_nodes` before Graphviz runs."""
    order = topological_order(root)
    boxes, clusters = _membership(collapse, "collapse"), _membership(groups, "groups")
    # leaves (γ, β) outside the clusters: consecutive lines sit side by side, and a batch keeps its order
    clusters = {id(v): clusters[id(v)] for v in order if id(v) in clusters and v.inputs}
    box_sizes = Counter(boxes[id(v)] for v in order if id(v) in boxes)
    drawn = [v for v in order if id(v) not in boxes]
    count = len(drawn) + sum(1 for v in drawn if v.op is not None) + len(box_sizes)
    if count > max_nodes:
        raise GraphTooLarge(count, len(order), max_nodes, collapsible=_has_modules(drawn))
    return _Plan(order, node_names(order), boxes, box_sizes, clusters, drawn, _shown_grads(order, grads))


def _emit(
    plan: _Plan, digits: int, grad_view: bool, marked: set[int], names: Mapping[Value, str], show_data: bool
) -> graphviz.Digraph:
    """The DOT graph of a plan: boxes, then each record and its operation, inputs first, then the clusters."""
    known = plan.shown or {}
    # The colour scales: the largest |gradient| of a node, and of a term local grad × upstream grad.
    top = max((abs(known[id(v)]) for v in plan.drawn if id(v) in known), default=0.0) or 1.0
    top_term = (
        max((abs(d * known[id(v)]) for v in plan.drawn if id(v) in known for d in v.local_grads), default=0.0) or 1.0
    )

    def flow(term: float) -> dict[str, str]:  # the look of an edge carrying this term
        if not grad_view:
            return {}
        return {"penwidth": f"{0.6 + 4.4 * abs(term) / top_term:.2f}", "color": _diverging(term / top_term, True)}

    graph = graphviz.Digraph(
        # newrank: ranks across clusters, so that a chain of points (_in_order) may join them
        graph_attr={"rankdir": "LR", "newrank": "true", "fontname": "DejaVu Sans", "nodesep": "0.15", "ranksep": "0.3"},
        node_attr={"fontname": "DejaVu Sans", "fontsize": "11"},
        edge_attr={"arrowsize": "0.6"},
    )
    if grad_view:
        graph.attr(label=_colour_bar(top, top_term, digits), labelloc="b")
    subgraphs = {name: _cluster(k, name) for k, name in enumerate(dict.fromkeys(plan.clusters.values()))}
    box_names = {name: f"box{k}" for k, name in enumerate(plan.box_sizes)}
    for name, box in box_names.items():
        label = graphviz.nohtml(f"{_escape_dot(name)}\\n({plan.box_sizes[name]} Values)")
        graph.node(box, label, shape="box3d", style="filled", fillcolor="#dfe7f3")
    source = {**plan.names, **{i: box_names[name] for i, name in plan.boxes.items()}}  # where a Value's edges start
    box_edges: set[tuple[str, str]] = set()
    by_id = {id(v): name for v, name in names.items()}
    for v in plan.order:  # inputs first: dot's first placement of a batch's entries is then in order
        if id(v) in plan.boxes:  # one edge into the box per outside source, however many wires
            box = source[id(v)]
            for tail in (source[id(u)] for u in v.inputs):
                if tail != box and (tail, box) not in box_edges:
                    box_edges.add((tail, box))
                    graph.edge(tail, box)
            continue
        where = subgraphs.get(plan.clusters.get(id(v)), graph)
        name, g = plan.names[id(v)], known.get(id(v))
        fields = record_fields(v, digits, plan.shown, by_id.get(id(v), ""), show_data)
        fill = _diverging(g / top) if grad_view and g is not None else _FILL if v.inputs else _LEAF_FILL
        outline = {"color": "#d62728", "penwidth": "3"} if id(v) in marked else {}
        where.node(name, "|".join(map(_escape, fields)), shape="record", style="filled", fillcolor=fill, **outline)
        if v.op is not None:  # the operation: inputs -> op -> result
            title = graphviz.nohtml(_escape_dot(op_title(v)))
            where.node(f"{name}op", title, shape="oval", margin="0.02,0.01", height="0.3", width="0.3")
            for u, d in zip(v.inputs, v.local_grads):
                graph.edge(source[id(u)], f"{name}op", **(flow(d * g) if g is not None else {}))
            graph.edge(f"{name}op", name, **(flow(g * top_term / top) if g is not None else {}))
    _keep_input_order(graph, plan)
    _keep_output_order(graph, plan.order[-1], source, plan.clusters)
    for sub in subgraphs.values():
        if sub.body:
            graph.subgraph(sub)
    return graph


def _keep_input_order(graph: graphviz.Digraph, plan: _Plan) -> None:
    """Keep a batch's inputs in order, top to bottom: the leaves a Σ sums (BatchNorm's x₁ … x_N of
    each feature, summed for μ_B); crossing minimisation drew x₉ … x₁₆ above x₁ … x₈."""
    leaves = {
        id(u): plan.names[id(u)]
        for v in reversed(plan.order)
        if isinstance(v.op, SumOp) and id(v) not in plan.boxes
        for u in v.inputs
        if not u.inputs and id(u) not in plan.boxes
    }
    _in_order(graph, list(leaves.values()), "inputs", before=True)


def _keep_output_order(
    graph: graphviz.Digraph, root: Value, source: Mapping[int, str], clusters: Mapping[int, str]
) -> None:
    """Keep a layer's outputs in order, top to bottom: what the root combines (BatchNorm's y₁ … y_N of
    each feature, dotted with dy for ℓ), a cluster's (or a folded box's) together, in the order they
    first appear. Without this, dot drew feature 0's y₁ … y_N below feature 1's, and y₉ … y₁₆ above
    y₁ … y₈."""
    tails = list(dict.fromkeys(source[id(u)] for u in root.inputs))  # a folded box once
    group = {source[id(u)]: clusters.get(id(u), source[id(u)]) for u in root.inputs}
    first: dict[str, int] = {}
    for tail in tails:
        first.setdefault(group[tail], len(first))
    _in_order(graph, sorted(tails, key=lambda t: first[group[t]]), "outputs", before=False)


def _in_order(graph: graphviz.Digraph, names: list[str], prefix: str, before: bool) -> None:
    """Hold nodes top to bottom in the order of `names`: each gets an invisible point one rank
    before (or after) it, and the points are chained on one rank (a chain between the records
    themselves makes dot fail: records cannot take a flat edge)."""
    if len(names) < 2:
        return
    rank = graphviz.Digraph(graph_attr={"rank": "same"})
    for k, name in enumerate(names):
        rank.node(f"{prefix}{k}", "", shape="point", style="invis", width="0", height="0")
        ends = (f"{prefix}{k}", name) if before else (name, f"{prefix}{k}")
        graph.edge(*ends, style="invis", weight="10")
    for k in range(1, len(names)):
        rank.edge(f"{prefix}{k - 1}", f"{prefix}{k}", style="invis")
    graph.subgraph(rank)


def record_fields(
    v: Value, digits: int, shown: Mapping[int, float] | None, name: str = "", show_data: bool = True
) -> list[str]:
    """A record's fields, top to bottom: its label (or `name`), `data` (if `show_data`), and last the
    gradient (None `shown`: no gradient field). The page finds the gradient's text as the last field.

    >>> record_fields(Value(-2.0, "x"), 3, {})
    ['x', 'data −2', 'grad: not computed']
    """
    label = " ".join((v.label or name).split())  # one line: a record field has one text
    fields = [label] if label else []
    if show_data:
        fields.append(f"data {format_number(v.data, digits)}")
    if shown is not None:
        g = shown.get(id(v))
        fields.append(NOT_COMPUTED if g is None else f"grad {format_number(g, digits)}")
    return fields


def fold(layer: object, expand: int = 0) -> dict[str, dict[str, list[Value]]]:
    """`draw` options that show one group of a norm layer (a feature, or an example) in full, with
    Alg. 1's clusters, and fold every other group (its inputs, Alg. 1's nodes, its γ and β) into one
    box: `draw(loss, **fold(bn, expand=0))`, so that a 16 × 4 batch draws readably.

    >>> from micrograd_bn import BatchNorm1d
    >>> bn = BatchNorm1d(3); y = bn([[Value(1.0), Value(2.0), Value(0.0)], [Value(3.0), Value(5.0), Value(1.0)]])
    >>> list(fold(bn, expand=1)["collapse"])
    ['Alg. 1 for μ_B⁽⁰⁾ (folded)', 'Alg. 1 for μ_B⁽²⁾ (folded)']
    """
    last = list(getattr(layer, "last", []) or [])
    if not last or not hasattr(layer, "graph_groups"):
        raise ValueError("fold() needs a norm layer after a training forward (BatchNorm1d/2d, LayerNorm)")
    if isinstance(expand, bool) or not isinstance(expand, int) or not 0 <= expand < len(last):
        raise ValueError(f"expand must be a group of the layer, 0 … {len(last) - 1}, got {expand!r}")
    shared = len(getattr(layer, "weight", None) or []) != len(last)  # LayerNorm: γ⁽ᵏ⁾ and β⁽ᵏ⁾ serve every example
    collapse: dict[str, list[Value]] = {}
    folded: set[int] = set()
    for k, n in enumerate(last):
        if k == expand:
            continue
        nodes = [x for x in n.x if isinstance(x, Value) and not x.inputs]
        nodes += [n.sum_x, n.mean, *n.deviation, *n.square, n.sum_squares, n.var, n.var_eps, n.std, *n.x_hat]
        nodes += [*n.scaled, *(n.y if n.scaled else [])]
        if not shared:
            nodes += [p[k] for p in (getattr(layer, "weight", None), getattr(layer, "bias", None)) if p]
        collapse[f"Alg. 1 for {n.mean.label} (folded)"] = nodes
        folded.update(id(v) for v in nodes)
    groups = {
        name: values
        for name, values in layer.graph_groups().items()  # type: ignore[attr-defined]
        if not any(id(v) in folded for v in values)
    }
    return {"groups": groups, "collapse": collapse}


def node_names(order: list[Value]) -> dict[int, str]:
    """DOT node names keyed by `id(value)`: `v{i}` for the i-th Value of a topological order.

    >>> a = Value(1.0); b = a + 1
    >>> list(node_names(topological_order(b)).values())
    ['v0', 'v1']
    """
    return {id(v): f"v{i}" for i, v in enumerate(order)}


def module_nodes(inputs: Iterable, outputs: Iterable) -> list[Value]:
    """The Values a module made: reachable backwards from `outputs`, and not `inputs` or before them.

    Both may be batches (nested lists); numbers among the inputs are ignored. The result
    includes the module's parameters (γ, β), which no input depends on. Use it to collapse
    a layer: `draw(loss, collapse={"BatchNorm1d": module_nodes(h, bn(h))})`.

    >>> x = Value(2.0); w = Value(3.0); y = (x * w).tanh(); z = y + 1
    >>> [op_title(v) or "leaf" for v in module_nodes([x], [y])]
    ['tanh', '*', 'leaf']
    """
    before = _reachable(v for v in flatten(inputs) if isinstance(v, Value))
    outs = flatten(outputs)
    for v in outs:
        if not isinstance(v, Value):
            raise TypeError(f"module_nodes: outputs must be Values, got {type(v).__name__}: {v!r:.60}")
    return [v for i, v in _reachable(outs).items() if i not in before]


def render(graph: graphviz.Digraph | Value, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write `graph` (or `draw(graph)` for a Value) to `path` as SVG, PNG, PDF or DOT source.

    The format is `format`, or else the path's suffix. The file appears whole or not at
    all: the image is made first, then written beside `path` and moved into place (`save`).
    Raises ValueError for an unknown format, FileNotFoundError when Graphviz's `dot`
    program is missing, and OSError naming the path when it cannot be written.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = render(Value(1.0, "x"), Path(tmp) / "x.svg")
    ...     "<svg" in out.read_text()
    True
    """
    path = Path(path)
    return save(path, image(graph, format or path.suffix.lstrip(".")))


def image(graph: graphviz.Digraph | Value, format: str) -> bytes:
    """`graph` (or `draw(graph)`) as SVG, PNG, PDF or layout JSON made by Graphviz's `dot`, or its DOT source.

    >>> image(Value(2.0), "dot").decode().startswith("digraph")
    True
    """
    fmt = _image_format(format)
    if isinstance(graph, Value):
        graph = draw(graph)
    elif not isinstance(graph, graphviz.Digraph):
        raise TypeError(f"needs a graphviz.Digraph or a Value, got {type(graph).__name__}: {graph!r:.60}")
    return graph.source.encode() if fmt == "dot" else _run_graphviz(graph, fmt)


def _image_format(format: str) -> str:
    fmt = format.lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {format or '(none)'!r}; choose one of: {', '.join(FORMATS)}")
    return fmt


def _run_graphviz(graph: graphviz.Digraph, fmt: str, **options: int) -> bytes:
    try:
        return graph.pipe(format=fmt, **options)
    except graphviz.ExecutableNotFound as err:
        raise FileNotFoundError(
            f"Graphviz's `dot` program was not found, so no {fmt.upper()} can be made: install it "
            "(apt-get install graphviz, or brew install graphviz), or write the DOT source (format 'dot')"
        ) from err


def image_in_layout(graph: graphviz.Digraph, layout: dict, format: str) -> bytes:
    """`graph` as `image` makes it, with every node, edge and cluster where `layout` put them.

    `layout` is the JSON layout (`image(g, "json")`) of a graph with the same nodes, edges and
    clusters, whose texts and colours may differ: Graphviz's `neato -n2` then draws `graph`
    without laying it out again. Frames of one backward pass need this: `dot`, laying out each
    frame anew, moved nodes between frames whose only change was a gradient's text.

    >>> x = Value(2.0, "x"); y = x * x
    >>> image_in_layout(draw(y), json.loads(image(draw(y), "json")), "svg").startswith(b"<?xml")
    True
    """
    fmt = _image_format(format)
    name = {o["_gvid"]: o["name"] for o in layout["objects"]}
    splines: dict[tuple[str, str], list[str]] = {}
    for e in layout.get("edges", []):  # in the order the DOT source states them
        splines.setdefault((name[e["tail"]], name[e["head"]]), []).append(e["pos"])
    pinned = graph.copy()
    pinned.body = [_with_spline(line, splines) for line in graph.body]
    for o in layout["objects"]:
        if "bb" in o:  # a cluster
            with pinned.subgraph(name=o["name"]) as cluster:
                cluster.attr(bb=o["bb"], lp=o.get("lp", ""))
        elif "pos" in o:  # a node: its place and its size
            pinned.node(o["name"], pos=o["pos"], width=o["width"], height=o["height"], fixedsize="true")
    pinned.attr(bb=layout["bb"], lp=layout.get("lp", ""))
    pinned.engine = "neato"
    return pinned.source.encode() if fmt == "dot" else _run_graphviz(pinned, fmt, neato_no_op=2)


def _with_spline(line: str, splines: dict[tuple[str, str], list[str]]) -> str:
    """A DOT body line; an edge statement gets the next spline laid out for its tail and head."""
    edge = _EDGE_STATEMENT.match(line)
    if edge is None:
        return line
    pos = f'pos="{splines[edge["tail"], edge["head"]].pop(0)}"'
    attrs = edge["attrs"]
    return f"{edge['indent']}{edge['tail']} -> {edge['head']} [{attrs + ' ' if attrs else ''}{pos}]\n"


def save(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically: a temporary file beside it, then `os.replace`.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save(Path(tmp) / "a.txt", b"hi").read_bytes()
    b'hi'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise type(err)(f"cannot write {path}: {err.strerror or err}") from err
    return path


def size_to_fit(graph: graphviz.Digraph, drafts: Iterable[graphviz.Digraph]) -> None:
    """Give each node of `graph` the largest size Graphviz lays it out at over `drafts` (the same
    graph with other texts), so that no text change moves it (a repeated node statement only adds
    attributes)."""
    sizes: dict[str, tuple[float, float]] = {}
    for draft in drafts:
        for obj in json.loads(image(draft, "json")).get("objects", []):
            if "width" in obj:  # a node (clusters have none)
                w, h = sizes.get(obj["name"], (0.0, 0.0))
                sizes[obj["name"]] = (max(w, float(obj["width"])), max(h, float(obj["height"])))
    for name, (w, h) in sizes.items():
        graph.node(name, width=str(w), height=str(h))


def _cluster(k: int, label: str) -> graphviz.Digraph:
    fill = _CLUSTER_FILLS[k % len(_CLUSTER_FILLS)]
    style = {"label": graphviz.nohtml(_escape_dot(label)), "labelloc": "t", "style": "rounded,filled"}
    style |= {"color": "#9aa5b8", "fillcolor": fill}
    return graphviz.Digraph(name=f"cluster_{k}", graph_attr=style)


def _membership(spec: Mapping[str, Iterable[Value]] | None, what: str) -> dict[int, str]:
    """{id(value): name} from {name: values}; a Value may belong to one name only."""
    owner: dict[int, str] = {}
    for name, values in (spec or {}).items():
        for v in values:
            if not isinstance(v, Value):
                raise TypeError(f"{what}[{name!r}] must hold Values, got {type(v).__name__}: {v!r:.60}")
            if owner.setdefault(id(v), name) != name:
                raise ValueError(f"{what}: a Value ({v!r}) is in both {owner[id(v)]!r} and {name!r}")
    return owner


def _shown_grads(order: list[Value], grads: bool | Mapping[Value, float] | None) -> dict[int, float] | None:
    """{id: gradient to show}; absent ids are "not computed"; None hides the grad row."""
    if isinstance(grads, Mapping):
        return {id(v): float(g) for v, g in grads.items()}
    if grads is False:
        return None
    if grads is None and all(v.grad == 0.0 for v in order):  # backward() adds 1 to the root: not run
        return {}
    return {id(v): v.grad for v in order}


def _has_modules(values: list[Value]) -> bool:
    """Whether layers made some of these Values: a fused neuron (`Value.dot`, as Linear makes)
    or a labelled operation (BatchNorm labels every step with the paper's symbol)."""
    return any(v.inputs and (v.label or isinstance(v.op, DotOp)) for v in values)


def _reachable(values: Iterable[Value]) -> dict[int, Value]:
    """Every Value the given ones depend on, themselves included, keyed by id."""
    seen: dict[int, Value] = {}
    stack = list(values)
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen[id(v)] = v
            stack.extend(v.inputs)
    return seen


def _escape(text: str) -> str:  # record labels treat { } | < > as structure
    return _RECORD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _escape_dot(text: str) -> str:
    """A plain (not record) label's text, as written: a backslash is not an escape, a newline a space."""
    return " ".join(text.replace("\\", "\\\\").split())


def _diverging(r: float, edge: bool = False) -> str:
    """A colour for r in [−1, 1]: blue (negative) through white (0) to red (positive).
    An edge's white end is grey, so an edge carrying nothing stays visible."""
    end = _POSITIVE if r > 0 else _NEGATIVE
    start = (190, 190, 190) if edge else (255, 255, 255)
    a = min(1.0, abs(r))
    return "#" + "".join(f"{round(lo + (hi - lo) * a):02x}" for lo, hi in zip(start, end))


def _colour_bar(top: float, top_term: float, digits: int) -> str:
    """The grad view's legend, an HTML-like label: the fill's colour bar from −max to +max, and the edge widths."""
    f = lambda x: html.escape(format_number(x, digits))  # noqa: E731
    cells = "".join(f'<td width="18" bgcolor="{_diverging(k / 4)}"> </td>' for k in range(-4, 5))
    return (
        f'<<table border="0" cellspacing="0" cellborder="1"><tr><td border="0">fill: grad {f(-top)}</td>{cells}'
        f'<td border="0">{f(top)}</td></tr><tr><td border="0" colspan="11">'
        f"edge width ∝ |local grad × upstream grad| (max {f(top_term)}); colour: its sign</td></tr></table>>"
    )
