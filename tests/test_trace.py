"""trace.py: the stepper equals backward() bit for bit; the table, the frames, the page's data and
the local-derivative rules (the page in a browser: test_page.py); the `trace` subcommand."""

from __future__ import annotations

import fnmatch
import html as html_lib
import json
import math
import random
import re
import unicodedata
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest
import tomllib
from hypothesis import given
from hypothesis import strategies as st

from micrograd_bn import BatchNorm1d, Value, topological_order
from micrograd_bn.cli import main
from micrograd_bn.drawing import NOT_COMPUTED, format_number, module_nodes, node_names
from micrograd_bn.trace import (
    Step,
    StepThrough,
    backward_steps,
    format_steps,
    forward_text,
    local_rule,
    page_html,
    write_frames,
    write_html,
)
from micrograd_bn.trace import page_data as page_data_of

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


def bn_loss(batch: int = 3, seed: int = 0) -> tuple[Value, BatchNorm1d]:
    rng = random.Random(seed)
    layer = BatchNorm1d(1)
    y = layer([[Value(rng.gauss(0, 1), f"x{i}")] for i in range(batch)])
    loss = Value.dot([row[0] for row in y], [rng.gauss(0, 1) for _ in range(batch)])
    loss.label = "ℓ"
    return loss, layer


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


def test_frames_one_per_step_same_layout_gradients_filling_in(tmp_path):
    loss, layer = bn_loss()
    steps = list(backward_steps(loss))
    paths = write_frames(steps, tmp_path / "frames", groups=layer.graph_groups())
    assert [p.name for p in paths] == [f"step_{k:03d}.svg" for k in range(1, len(steps) + 1)]
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [p.name for p in paths]
    first, last = node_boxes(paths[0]), node_boxes(paths[-1])
    assert first == last  # nodes stay put while the gradients fill in
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


def embedded(html: str) -> dict:
    return json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_html_page_is_one_self_contained_file(tmp_path):
    loss, layer = bn_loss()
    steps = list(backward_steps(loss))
    html = write_html(steps, tmp_path / "page.html", groups=layer.graph_groups()).read_text()
    assert html.count("<svg") == 1 and "<link" not in html and not re.search(r"<script[^>]* src=", html)
    assert not re.search(r"https?://(?!www\.w3\.org/)", html)  # only XML namespaces name a URL
    for name in ("viewer.css", "viewer.js"):  # the front end, inlined
        assert (resources.files("micrograd_bn") / "viewer" / name).read_text().strip() in html
    names = node_names(topological_order(loss))
    assert [s["node"] for s in embedded(html)["steps"]] == [names[id(s.node)] for s in steps]
    assert "Alg. 1 line 2: mini&#45;batch variance σ²_B" in html  # Graphviz writes "-" as &#45;


def test_viewer_files_are_package_data():
    viewer = resources.files("micrograd_bn") / "viewer"
    shipped = sorted(p.name for p in viewer.iterdir() if not p.name.startswith("."))
    assert shipped == ["page.html", "viewer.css", "viewer.js"]
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    globs = tomllib.loads(pyproject)["tool"]["setuptools"]["package-data"]["micrograd_bn"]
    assert all(any(fnmatch.fnmatch(f"viewer/{name}", g) for g in globs) for name in shipped)


def test_page_data_grad_texts_are_the_partial_sums_of_the_terms_received():
    loss, layer = bn_loss()
    steps = list(backward_steps(loss))
    data = page_data_of(steps)
    names = node_names(topological_order(loss))
    received = {id(loss): [(0, 1.0)]}  # the seed
    for s in steps:
        for t in s.terms:
            received.setdefault(id(t.input), []).append((s.number, t.contribution))
    for s in steps:
        node = data["nodes"][names[id(s.node)]]
        got = received[id(s.node)]
        n, total, texts = len(got), 0.0, [NOT_COMPUTED]
        for k, (_, term) in enumerate(got, start=1):
            total += term
            texts.append(f"grad {format_number(total, 4)}" + (f" · {k} of {n} terms" if k < n else ""))
        assert node["texts"] == texts and node["arrivals"] == [k for k, _ in got]
        assert total == s.grad  # the terms add up to the step's gradient, bit for bit
    assert len(received[id(layer.last[0].mean)]) == 3  # μ_B feeds x_i − μ_B for each of the 3 examples


def test_page_data_shows_each_term_three_ways():
    loss, layer = bn_loss()
    steps = list(backward_steps(loss))
    data = page_data_of(steps)
    n = layer.last[0]
    k = next(i for i, s in enumerate(steps) if s.node is n.x_hat[0])
    s, row = steps[k], data["steps"][k]
    assert row["name"] == "x̂₁" and row["forward"].startswith("x̂₁ = (x₁−μ_B) / √(σ²_B+ε) = ")
    first = row["sends"][0]
    assert first["chain"] == "∂ℓ/∂(x₁−μ_B) += ∂x̂₁/∂(x₁−μ_B) · ∂ℓ/∂x̂₁"
    std = format_number(n.std.data, 4)
    assert first["rule"] == f"∂x̂₁/∂(x₁−μ_B) = 1/√(σ²_B+ε) = 1/{std} = {format_number(1 / n.std.data, 4)}"
    t = s.terms[0]
    assert first["numbers"] == " × ".join(format_number(x, 4) for x in (t.local_grad, s.grad)) + (
        f" = {format_number(t.contribution, 4)}"
    )
    assert [r["term"] for r in row["received"]] == [format_number(s.grad, 4)]  # from γx̂₁ only


CATALOGUE = {  # op: a node built with it (inputs a = 1.5, b = -0.7)
    "+": lambda a, b: a + b,
    "+ c": lambda a, b: a + 2.0,
    "−": lambda a, b: a - b,
    "c −": lambda a, b: 3.0 - a,
    "*": lambda a, b: a * b,
    "* c": lambda a, b: a * 3.0,
    "x·x": lambda a, b: a * a,
    "/": lambda a, b: a / b,
    "/ c": lambda a, b: a / 4.0,
    "c /": lambda a, b: 2.0 / a,
    "neg": lambda a, b: -a,
    "**2": lambda a, b: b**2,
    "**-0.5": lambda a, b: a**-0.5,
    "exp": lambda a, b: b.exp(),
    "log": lambda a, b: a.log(),
    "sqrt": lambda a, b: a.sqrt(),
    "tanh": lambda a, b: b.tanh(),
    "σ": lambda a, b: b.sigmoid(),
    "relu on": lambda a, b: a.relu(),
    "relu off": lambda a, b: b.relu(),
    "Σ": lambda a, b: Value.sum([a, b, 2.0]),
    "Σw·x": lambda a, b: Value.dot([a, b], [b, -3.0]),
    "Σw·x+b": lambda a, b: Value.dot([a, b], [b, a], bias=a),
}
PYTHON = {"−": "-", "·": "*", "×": "*", "²": "**2", "√": "math.sqrt", "^": "**", "exp": "math.exp", "log": "math.log"}


@pytest.mark.parametrize("op", CATALOGUE)
def test_each_rule_with_its_numbers_gives_the_engines_local_derivative(op):
    a, b = Value(1.5, "a"), Value(-0.7, "b")
    v = CATALOGUE[op](a, b)
    v.label = "o"
    rules = local_rule(v, digits=12)
    assert len(rules) == len(v.inputs) and None not in rules
    for rule, d in zip(rules, v.local_grads):
        parts = [p.split(" (as ")[0] for p in rule.split(" = ")[1:]]  # relu: "1 (as 1.5 > 0)"
        assert parts[-1] in (format_number(d, 12), format_number(d, 12).replace("-", "−"))
        evaluated = 0
        for part in parts:  # the rule with the numbers put in, and the result
            if re.search(r"[^\W\d_]", re.sub(r"exp|log|\de-", "", part)):  # the rule written with names
                continue
            expr = part
            for sym, py in PYTHON.items():
                expr = expr.replace(sym, py)
            value = eval(expr, {"math": math})
            assert value == pytest.approx(d, rel=1e-9), (rule, part, d)
            evaluated += 1
        assert evaluated >= 1
    assert forward_text(v, digits=12).replace("−", "-").endswith(f" = {format_number(v.data, 12)}")


def test_a_rule_that_does_not_give_the_stored_derivative_is_not_shown():
    a = Value(1.5, "a")
    v = a * 2.0
    v.op = "+"  # a renamed op: the table's rule (1) would be wrong
    assert local_rule(v) == [None]
    w = a**2
    w.op = "**two"  # not an exponent the table can read
    assert local_rule(w) == [None] and forward_text(w).endswith(" = 2.25")
    page = page_data_of(list(backward_steps(v)))
    assert page["steps"][0]["sends"][0]["rule"].endswith("= 2 (as the engine stored it: no rule for op '+')")


def test_page_with_a_collapsed_module_shows_its_steps_on_the_box(tmp_path):
    x = [Value(v, f"x{i}") for i, v in enumerate([0.5, -1.0, 2.0])]
    h = [(xi * 2.0).tanh() for xi in x]
    loss = Value.sum(h) * 0.5
    loss.label = "ℓ"
    inner = module_nodes(x, h)
    steps = list(backward_steps(loss))
    html = write_html(steps, tmp_path / "p.html", collapse={"layer": inner}).read_text()
    shown = [s["node"] for s in embedded(html)["steps"]]
    inside = {id(v) for v in inner}
    assert [n == "box0" for n in shown] == [id(s.node) in inside for s in steps]
    assert "<title>box0</title>" in html and "layer" in html
    with pytest.raises(ValueError, match="max_nodes=3"):
        write_html(steps, tmp_path / "q.html", max_nodes=3)
    with pytest.raises(TypeError, match="leave out grad_view"):
        write_html(steps, tmp_path / "q.html", grad_view=True)
    with pytest.raises(ValueError, match="digits must be a positive int"):
        write_html(steps, tmp_path / "q.html", digits=0)
    assert not (tmp_path / "q.html").exists()


def test_html_escapes_script_closing_in_labels(tmp_path):
    x = Value(1.0, "</script><b>")
    html = write_html(list(backward_steps(x * 2.0)), tmp_path / "p.html").read_text()
    assert "</script><b>" not in html
    assert embedded(html)["steps"][1]["name"] == "</script><b>"


def test_step_through_shows_the_page_in_a_frame_and_leaves_grads_alone():
    loss, layer = bn_loss()
    order = topological_order(loss)
    for v in order:
        v.grad = 0.25
    view = StepThrough(loss, groups=layer.graph_groups())
    assert all(v.grad == 0.25 for v in order)
    frame = view._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and frame.endswith("</iframe>")
    srcdoc = html_lib.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert srcdoc == page_html(list(backward_steps(loss)), groups=layer.graph_groups())


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
