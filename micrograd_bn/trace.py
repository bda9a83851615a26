"""Step through a backward pass one node at a time: a generator, a terminal table, an HTML page.

`backward_steps(root)` does what `Value.backward()` does, in the same order and with the
same floating-point operations, but pauses after each node: its gradient in this pass
is complete when its turn comes (every node that uses it has already sent its share),
and it then sends one chain-rule term, local derivative × upstream gradient, to each
input. `format_steps` prints the steps as a table; `write_html` makes a page with
previous/next controls showing the gradients fill in; `write_frames` writes one image
per step.

References: Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (BatchNorm's backward is these
chain-rule terms, summed); A. Karpathy, micrograd (2020).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .drawing import draw, format_number, image, node_names, pad, save, text_width
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
    sizes = _sizes(root, [{}, {s.node: s.grad for s in steps}], digits=digits, **draw_options)
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
    """A self-contained HTML page stepping through `steps`: the graph, previous/next, arrow keys.

    The graph is drawn once (Graphviz SVG, inline); each step's gradient and chain-rule
    terms come from embedded JSON. The page opens at `#step=K` if given, and
    `?clicks=N` (press "next" N times) or `?keys=rrl` (→ → ←) replay input on load, for tests.
    `draw_options` (groups, collapse, max_nodes) are passed to `draw`.

    >>> import tempfile
    >>> x = Value(2.0, "x")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     page = write_html(list(backward_steps(x * x)), Path(tmp) / "page.html").read_text()
    >>> page.count("<svg"), "grad: not computed" in page
    (1, True)
    """
    steps = list(steps)
    root = steps[0].node
    graph = draw(root, grads={}, digits=digits, **draw_options)  # every grad "not computed" until its step
    svg = image(graph, "svg").decode()
    svg = svg[svg.index("<svg") :]
    name, dot_name = _namer(steps), node_names(topological_order(root))
    frames = [
        {
            "node": dot_name[id(s.node)],
            "grad": f"grad {format_number(s.grad, digits)}",
            "text": f"∂{name(root)}/∂{name(s.node)} = {format_number(s.grad, digits)}",
            "op": s.node.op,
            "sends": _sends(s, name, digits),
            "inputs": [dot_name[id(t.input)] for t in s.terms],
        }
        for s in steps
    ]
    data = json.dumps({"frames": frames, "root": name(root)}, ensure_ascii=False).replace("<", "\\u003c")
    parts = {"SVG": svg, "DATA": data, "TITLE": html.escape(f"backward pass of {name(root)}")}
    return save(path, re.sub("__(SVG|DATA|TITLE)__", lambda m: parts[m[1]], _PAGE).encode())


def _sizes(root: Value, grads_options: list[dict], **draw_options) -> dict[str, tuple[str, str]]:
    """{DOT node: (width, height)} in inches, the largest Graphviz lays out over the given `grads=`."""
    sizes: dict[str, tuple[float, float]] = {}
    for grads in grads_options:
        for obj in json.loads(image(draw(root, grads=grads, **draw_options), "json")).get("objects", []):
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


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body { font-family: "DejaVu Sans", sans-serif; margin: 1em; }
#controls { position: sticky; top: 0; background: #fff; padding: .4em 0; border-bottom: 1px solid #ccc; }
button { font-size: 1em; }
#explain { font-family: "DejaVu Sans Mono", monospace; white-space: pre; margin: .5em 0; }
#graph { overflow: auto; }
#graph.fit svg { max-width: 100%; height: auto; }
.key { padding: 0 .4em; border: 1px solid #888; }
</style></head><body>
<h1>__TITLE__</h1>
<p>Reverse topological order: when a node's turn comes its gradient is complete, and it sends
local derivative × upstream gradient to each input (the chain rule). Keys: ← and →.
<span class="key" style="background:#ffd966">this step</span>
<span class="key" style="background:#fbd5d5">receives a term</span>
<span class="key" style="background:#d9f2dd">gradient complete</span>
<label><input type="checkbox" id="fit" checked> fit to width</label></p>
<div id="controls"><button id="prev">◀ previous</button>
<button id="next">next ▶</button>
step <span id="step">0</span> of <span id="count">0</span>
<div id="explain"></div></div>
<div id="graph" class="fit">__SVG__</div>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const byId = id => document.getElementById(id);
const data = JSON.parse(byId("data").textContent), frames = data.frames;
const nodes = {}, edges = [];  // DOT name -> {shape, fill, grad text, its blank}; [op node, edge] pairs
for (const g of document.querySelectorAll("#graph g.node, #graph g.edge")) {
  const title = g.querySelector("title").textContent;
  if (g.classList.contains("edge")) { edges.push([title.split("->")[1], g]); continue; }
  const shape = g.querySelector("polygon, path");
  const grad = [...g.querySelectorAll("text")].find(t => t.textContent.startsWith("grad"));
  nodes[title] = { shape, fill: shape && shape.getAttribute("fill"), grad, blank: grad && grad.textContent };
}
function paint(name, fill, width) {  // nodes collapsed into a box are not in the SVG: skipped
  const n = nodes[name];
  if (n && n.shape) { n.shape.setAttribute("fill", fill || n.fill); n.shape.setAttribute("stroke-width", width); }
}
let step = 0;
function show(k) {
  step = Math.max(0, Math.min(frames.length, k));
  for (const [name, n] of Object.entries(nodes)) { if (n.grad) n.grad.textContent = n.blank; paint(name, null, 1); }
  for (const [, e] of edges) e.querySelectorAll("path, polygon").forEach(p => p.removeAttribute("style"));
  frames.slice(0, step).forEach((f, i) => {
    if (nodes[f.node] && nodes[f.node].grad) nodes[f.node].grad.textContent = f.grad;
    paint(f.node, i === step - 1 ? "#ffd966" : "#d9f2dd", i === step - 1 ? 3 : 1);
  });
  let text = "before the pass: ∂" + data.root + "/∂" + data.root + " = 1 seeds it; press next";
  if (step > 0) {
    const f = frames[step - 1];
    f.inputs.forEach(name => paint(name, "#fbd5d5", 1));
    for (const [head, e] of edges) if (head === f.node + "op")
      e.querySelectorAll("path, polygon").forEach(p => p.setAttribute("style", "stroke:#d62728;stroke-width:3"));
    text = f.text + (f.op ? "   (op " + f.op + ")" : "") + "\\n" + f.sends.join("\\n");
  }
  byId("step").textContent = step;
  byId("explain").textContent = text;
  byId("prev").disabled = step === 0;
  byId("next").disabled = step === frames.length;
  history.replaceState(null, "", "#step=" + step);
}
byId("count").textContent = frames.length;
byId("fit").addEventListener("change", e => byId("graph").classList.toggle("fit", e.target.checked));
byId("prev").addEventListener("click", () => show(step - 1));
byId("next").addEventListener("click", () => show(step + 1));
document.addEventListener("keydown", e => {
  if (e.key === "ArrowRight") show(step + 1);
  if (e.key === "ArrowLeft") show(step - 1);
});
const start = /step=(\\d+)/.exec(location.hash);
show(start ? Number(start[1]) : 0);
// Test hooks: ?clicks=N presses "next" N times, ?keys=rrl presses → → ←; after each press the
// step shown and its node's grad text are appended to <body data-trail>.
const query = new URLSearchParams(location.search), trail = [];
function pressed() {
  const n = step > 0 && nodes[frames[step - 1].node];
  trail.push(step + ":" + (n && n.grad ? n.grad.textContent : ""));
}
for (let i = 0; i < Number(query.get("clicks") || 0); i++) { byId("next").click(); pressed(); }
for (const c of query.get("keys") || "") {
  document.dispatchEvent(new KeyboardEvent("keydown", { key: c === "r" ? "ArrowRight" : "ArrowLeft" }));
  pressed();
}
document.body.dataset.trail = trail.join("|");
</script></body></html>
"""
