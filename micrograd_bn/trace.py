"""Step through a backward pass one node at a time: a generator, a terminal table, one image per step.

`backward_steps(root)` does what `Value.backward()` does, in the same order and with the
same floating-point operations, but pauses after each node: its gradient in this pass
is complete when its turn comes (every node that uses it has already sent its share),
and it then sends one chain-rule term, local derivative × upstream gradient, to each
input. `format_steps` prints the steps as a table; `write_frames` writes one image per
step. The step-through page built on these steps is `page.py`'s.

References: Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (BatchNorm's backward is these
chain-rule terms, summed); A. Karpathy, micrograd (2020).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .drawing import draw, image, image_in_layout, save, size_to_fit
from .engine import Value, chain_rule
from .rules import op_title
from .text import format_number, pad, text_width


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
    >>> [(s.node.label or op_title(s.node), s.grad) for s in backward_steps(b)]
    [('relu', 1.0), ('*', 1.0), ('a', 6.0)]
    >>> a.grad
    6.0
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps() needs a Value, got {type(root).__name__}: {root!r:.60}")
    return _steps(root)


def _steps(root: Value) -> Iterator[Step]:
    for number, (v, g, terms) in enumerate(chain_rule(root), start=1):
        v.grad += g  # complete now: every node that uses v has sent its term
        yield Step(number, v, g, tuple(Term(*t) for t in terms))


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
    name = step_names(steps)
    root = name(steps[0].node)
    rows = [
        (str(s.number), name(s.node), op_title(s.node), format_number(s.grad, digits), _sends(s, name, digits))
        for s in steps
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

    Every frame has the same layout, so only texts, colours and outlines change: the graph is
    laid out once, each node given the size it needs in its widest frame (gradient not
    computed, or computed), and each frame is drawn in that layout (`image_in_layout`).
    `draw_options` (groups, collapse, grad_view, max_nodes) are passed to `draw`.

    >>> import tempfile
    >>> x = Value(2.0, "x")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_frames(list(backward_steps(x * x)), tmp)]
    ['step_001.svg', 'step_002.svg']
    """
    folder, root, done, paths = Path(folder), steps[0].node, {}, []
    widest = draw(root, grads={s.node: s.grad for s in steps}, digits=digits, **draw_options)
    size_to_fit(widest, [draw(root, grads={}, digits=digits, **draw_options), widest])
    layout = json.loads(image(widest, "json"))  # laid out once; each frame is drawn in it
    for s in steps:
        done[s.node] = s.grad
        graph = draw(root, grads=done, highlight=[s.node], digits=digits, **draw_options)
        data = image_in_layout(graph, layout, format)
        if not paths:  # the first image is made: the format and `dot` work
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise type(err)(f"cannot create the frames folder {folder}: {err.strerror or err}") from err
        paths.append(save(folder / f"step_{s.number:03d}.{format}", data))
    return paths


def step_names(steps: list[Step]) -> Callable[[Value], str]:
    """How tables and the page name a node: its label, or else its step number (`#3`)."""
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
