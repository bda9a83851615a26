"""trace.py: the stepper equals backward() bit for bit; the table, the frames, the page's data and
the local-derivative rules (the page in a browser: test_page.py); the `trace` subcommand."""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import bn_loss
from hypothesis import given
from hypothesis import strategies as st

from micrograd_bn import BatchNorm1d, Value, topological_order
from micrograd_bn.cli import main
from micrograd_bn.drawing import NOT_COMPUTED, format_number
from micrograd_bn.trace import (
    Step,
    backward_steps,
    format_steps,
    write_frames,
)

SVG = "{http://www.w3.org/2000/svg}"

# Operations for random graphs; products go through tanh so values stay finite.
OPS = (
    lambda a, b, c: a + b,
    lambda a, b, c: a - b,
    lambda a, b, c: (a * b).tanh(),
    lambda a, b, c: (a * a).tanh(),  # one input used twice
    lambda a, b, c: a.sigmoid(),
    lambda a, b, c: a.relu(),
    lambda a, b, c: Value.sum([a, b, c, 1.5]),
    lambda a, b, c: Value.dot([a, b], [c, 0.5]).tanh(),
    lambda a, b, c: a / (b * b + 1.0),
    lambda a, b, c: 2.5 - a,
)


@st.composite
def graphs(draw) -> Value:
    """A random DAG of engine operations over 1-4 leaves; the root sums its last nodes."""
    nodes = [Value(draw(st.floats(-2, 2)), f"leaf{i}") for i in range(draw(st.integers(1, 4)))]
    for _ in range(draw(st.integers(0, 30))):
        op = draw(st.sampled_from(OPS))
        a, b, c = (nodes[draw(st.integers(0, len(nodes) - 1))] for _ in range(3))
        nodes.append(op(a, b, c))
    root = Value.sum(nodes[-3:]) * 0.7
    for v in topological_order(root):  # earlier passes: gradients already held, to be added to
        v.grad = draw(st.sampled_from([0.0, -0.0, 1.0, draw(st.floats(-3, 3))]))
    return root


# ---- the stepper


@given(graphs())
def test_exhausted_steps_give_backwards_gradients_bit_for_bit(root):
    order = topological_order(root)
    before = [v.grad for v in order]
    steps = list(backward_steps(root))
    stepped = [v.grad.hex() for v in order]
    for v, g in zip(order, before):
        v.grad = g
    root.backward()
    assert stepped == [v.grad.hex() for v in order]
    assert [s.node for s in steps] == order[::-1]


@given(graphs())
def test_each_step_sends_local_derivative_times_its_gradient(root):
    received = {id(root): [1.0]}
    for s in backward_steps(root):
        assert s.grad == sum(received.get(id(s.node), []))  # the terms it received, added in order
        assert [t.input for t in s.terms] == list(s.node.inputs)
        for t, d in zip(s.terms, s.node.local_grads):
            assert t.local_grad == d and t.contribution == d * s.grad
            received.setdefault(id(t.input), []).append(t.contribution)


def test_a_node_comes_after_every_node_that_uses_it():
    loss, _ = bn_loss()
    seen = set()
    for s in backward_steps(loss):
        assert not {id(u) for u in s.node.inputs} & seen  # its inputs are still to come
        seen.add(id(s.node))


def test_passes_accumulate_like_backward():
    loss, layer = bn_loss()
    for _ in backward_steps(loss):
        pass
    once = layer.last[0].mean.grad
    list(backward_steps(loss))
    assert layer.last[0].mean.grad == 2 * once


def test_the_generator_works_lazily_one_node_at_a_time():
    x = Value(2.0, "x")
    y = x * x
    steps = backward_steps(y)
    first = next(steps)
    assert (first.node, first.grad, y.grad, x.grad) == (y, 1.0, 1.0, 0.0)  # x not reached yet
    second = next(steps)
    assert (second.node, second.grad, x.grad) == (x, 4.0, 4.0)  # both terms of x * x arrived
    assert [t.contribution for t in first.terms] == [2.0, 2.0]


def test_non_value_root_is_a_type_error_at_once():
    with pytest.raises(TypeError, match="needs a Value"):
        backward_steps(3.0)


# ---- the table


def test_format_steps_names_columns_nodes_and_terms():
    loss, layer = bn_loss()
    steps = list(backward_steps(loss))
    table = format_steps(steps)
    lines = table.splitlines()
    assert lines[0].startswith("step  node") and "∂ℓ/∂node  sends to each input: ∂node/∂input × ∂ℓ/∂node" in lines[0]
    assert sum(line[:4].strip().isdigit() for line in lines) == len(steps)  # one row per step
    mean_step = next(s for s in steps if s.node is layer.last[0].mean)
    row = next(line for line in lines if line.split()[:2] == [str(mean_step.number), "μ_B"])
    assert f" {format_number(mean_step.grad, 4)} " in row
    assert table.count("(a leaf: nothing to send)") == 5  # x₁, x₂, x₃, γ, β
    assert re.search(r"Σx_i \+= 0\.3333 × ", table)  # μ_B = Σx_i / m sends 1/m × ∂ℓ/∂μ_B to Σx_i


def test_format_steps_columns_line_up_on_screen():
    loss, _ = bn_loss()
    lines = format_steps(backward_steps(loss)).splitlines()
    screen = ["".join(c for c in line if not unicodedata.combining(c)) for line in lines]  # x̂ is one column
    grad_col, sends_col = screen[0].index("∂ℓ/∂node"), screen[0].index("sends")
    for line in screen:
        assert line[sends_col - 2 : sends_col] == "  " and line[sends_col] != " ", line
        if line[:4].strip():  # a step's first line
            assert line[grad_col - 2 : grad_col] == "  " and line[grad_col] != " ", line


def test_format_steps_digits():
    x = Value(1.0 / 3.0, "x")
    y = x * 3.0
    y.label = "y"
    assert "x += 3 × 1 = 3" in format_steps(backward_steps(y), digits=2)


def test_format_steps_of_no_steps_says_what_it_needs():
    with pytest.raises(ValueError, match=r"no steps to show; pass backward_steps\(root\)"):
        format_steps([])


# ---- frames


def node_boxes(svg: Path) -> dict[str, str | tuple]:
    """{DOT node: where its outline is (a polygon's points, an ellipse's centre)} from a Graphviz SVG."""
    root = ET.parse(svg).getroot()
    boxes = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node":
            shape = g.find(f"{SVG}polygon")
            shape = g.find(f"{SVG}ellipse") if shape is None else shape
            boxes[g.find(f"{SVG}title").text] = shape.get("points") or (shape.get("cx"), shape.get("cy"))
    return boxes


def two_feature_loss(batch: int) -> tuple[Value, BatchNorm1d]:
    """ℓ = Σ y·dy through BatchNorm1d(2): laid out anew, its frames moved nodes (4 × 2: 40 of 65)."""
    layer = BatchNorm1d(2)
    y = layer([[Value(0.3 * i - 0.7 * k * i * i + k) for k in range(2)] for i in range(batch)])
    flat = [v for row in y for v in row]
    return Value.dot(flat, [(-1.0) ** i * (1 + 0.1 * i) for i in range(len(flat))]), layer


@pytest.mark.parametrize("make", [bn_loss, lambda: two_feature_loss(4), lambda: two_feature_loss(3)])
def test_frames_one_per_step_same_layout_gradients_filling_in(tmp_path, make):
    loss, layer = make()
    steps = list(backward_steps(loss))
    paths = write_frames(steps, tmp_path / "frames", groups=layer.graph_groups())
    assert [p.name for p in paths] == [f"step_{k:03d}.svg" for k in range(1, len(steps) + 1)]
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [p.name for p in paths]
    first = node_boxes(paths[0])
    assert all(node_boxes(p) == first for p in paths[1:])  # nodes stay put while the gradients fill in
    texts = [[t.text for t in ET.parse(p).getroot().iter(f"{SVG}text")] for p in paths]
    assert [t.count(NOT_COMPUTED) for t in texts] == list(range(len(steps) - 1, -1, -1))


def test_frames_png(tmp_path):
    x = Value(2.0, "x")
    paths = write_frames(list(backward_steps(x * x)), tmp_path, "png")
    assert len(paths) == 2 and all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_frames_errors_leave_no_folder(tmp_path, monkeypatch):
    steps = list(backward_steps(Value(1.0, "x") + 1))
    with pytest.raises(ValueError, match="choose one of"):
        write_frames(steps, tmp_path / "a", "gif")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="cannot create the frames folder"):
        write_frames(steps, tmp_path / "file" / "frames")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="apt-get install graphviz"):
        write_frames(steps, tmp_path / "b")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


# ---- the HTML page's data and the local-derivative rules (the page in a browser: test_page.py)


# ---- the `trace` subcommand


def test_cli_trace_prints_the_table(capsys):
    assert main(["trace", "--batch", "3", "--features", "1", "--seed", "0"]) == 0
    header, table = capsys.readouterr().out.split("\n\n", 1)
    assert table.startswith("step  node") and "μ_B" in table and "σ²_B" in table and "x₁" in table
    assert "(a leaf: nothing to send)" in table
    # the header names x, dy and ℓ = Σ y·dy; ℓ's row shows that op, and sends dy_i to each y_i
    first, xs, dys = header.splitlines()
    assert first.endswith("ℓ = Σ y·dy") and xs.startswith("x  = ") and dys.startswith("dy = ")
    assert re.search(r"^   1  ℓ +Σ y·dy ", table, re.M)
    sent = re.findall(r"y[₁₂₃] \+= (\S+) × 1 =", table.split("\n   2 ")[0])
    assert sent == re.findall(r"\[(\S+)\]", dys.split("  (")[0]) and len(sent) == 3


def test_cli_trace_bad_batch_is_one_line_exit_2(capsys):
    assert main(["trace", "--batch", "1"]) == 2
    assert "more than 1 value per channel" in capsys.readouterr().err


def test_step_is_a_frozen_record():
    s = next(backward_steps(Value(1.0)))
    assert isinstance(s, Step) and (s.number, s.grad, s.terms) == (1, 1.0, ())
    with pytest.raises(AttributeError):
        s.grad = 2.0


def test_unlabelled_nodes_are_named_by_their_step():
    a = Value(2.0, label="a")
    out = (a * a).tanh()  # the product has no label
    table = format_steps(backward_steps(out))
    assert re.search(r"#2 \+= 0\.001341 × 1", table)  # tanh (step 1) sends to the product, step 2
    assert table.count("a += 2 × 0.001341") == 2  # x * x: two edges, two terms
