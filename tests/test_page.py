"""The step-through page's Python side (page.py): one self-contained file, every text it shows, StepThrough.

The same page in a real browser: tests/test_page_browser.py.
"""

from __future__ import annotations

import fnmatch
import html as html_lib
import json
import random
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import tomllib
from helpers import bn_loss

from micrograd_bn import BatchNorm1d, LayerNorm, StepThrough, Value, reference, topological_order
from micrograd_bn.drawing import format_number, module_nodes, node_names
from micrograd_bn.nn import upstream_loss
from micrograd_bn.page import NO_GRAD_YET, page_html, write_html
from micrograd_bn.page import page_data as page_data_of
from micrograd_bn.trace import backward_steps


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
        n, total, texts = len(got), 0.0, [NO_GRAD_YET]
        for k, (_, term) in enumerate(got, start=1):
            total += term
            texts.append(f"grad {format_number(total, 4)}" + (f" · {k}/{n}" if k < n else ""))
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


def test_one_notation_one_minus_sign_and_the_grad_field_named_from_python():
    loss, layer = bn_loss()
    data = page_data_of(list(backward_steps(loss)))
    n = layer.last[0]
    names = node_names(topological_order(loss))
    row = next(r for r in data["steps"] if r["node"] == names[id(n.var_eps)])
    assert row["grad_of"] == "∂ℓ/∂(σ²_B+ε)" and "∂ℓ/∂(σ²_B+ε) is the sum" in row["received_head"]
    shown = json.dumps(data, ensure_ascii=False)
    shown = re.sub(r'"(answer|tolerance)": [^,}]*', "", shown)  # numbers, not texts: the practice checks them
    assert re.search(r"-\d", shown) is None and "−" in shown  # texts carry the one minus sign, −
    assert {node["field"] for node in data["nodes"].values()} == {1}  # label | grad (data on hover)


def test_a_label_that_starts_with_grad_is_not_taken_for_the_gradient(tmp_path):
    x = Value(1.5, "grad x")
    y = x * x
    data = page_data_of(list(backward_steps(y)))
    assert data["nodes"]["v0"]["field"] == 1 and data["nodes"]["v1"]["field"] == 1  # "#1" names y on the graph
    html = write_html(list(backward_steps(y)), tmp_path / "p.html").read_text()
    assert ">#1</text>" in html and ">grad x</text>" in html


def upstream_bn(batch: int, features: int, layer_type=None, seed: int = 0):
    """A norm layer on a random batch of Values, ℓ = Σ y·dy with a random dy; returns (ℓ, layer, x, dy)."""
    rng = random.Random(seed)
    layer = (layer_type or BatchNorm1d)(features)
    x = [[Value(rng.gauss(0, 1), f"x{i}{k}") for k in range(features)] for i in range(batch)]
    dy = [[rng.gauss(0, 1) for _ in range(features)] for _ in range(batch)]
    return upstream_loss(layer(x), dy), layer, x, dy


@pytest.mark.parametrize("layer_type", [BatchNorm1d, LayerNorm])
def test_the_paper_beside_autodiff_reads_the_closed_form_from_reference(layer_type):
    loss, layer, x, dy = upstream_bn(4, 3, layer_type)
    steps = list(backward_steps(loss))
    data = page_data_of(steps, layer=layer)
    xs, dys, gamma = np.array([[v.data for v in row] for row in x]), np.array(dy), np.ones(3)
    if layer_type is LayerNorm:
        closed, groups = reference.layer_norm_backward(dys, xs, gamma, layer.eps), lambda a: a
    else:
        closed, groups = reference.backward(dys, xs, gamma, layer.eps), lambda a: a.T  # one row per feature
    f = lambda v: format_number(float(v), 4)  # noqa: E731
    by_node = {s.node: row for s, row in zip(steps, data["steps"])}
    expected = {}  # node: its Sec. 3 quantity in reference.py
    for g, n in enumerate(layer.last):
        expected |= {n.var: closed["dvar"][g], n.mean: closed["dmean"][g]}
        expected |= {v: d for v, d in zip(n.x_hat, groups(closed["dx_hat"])[g])}
        expected |= {v: d for v, d in zip(n.x, groups(closed["dx"])[g])}
    expected |= dict(zip(layer.weight, closed["dgamma"])) | dict(zip(layer.bias, closed["dbeta"]))
    for v, value in expected.items():
        s, q = next(s for s in steps if s.node is v), by_node[v]["paper"]["sec3"]
        assert q["closed"] == f(value) and q["autodiff"] == f(s.grad), v.label
        assert q["numbers"].endswith(f"= {f(value)}") and q["title"].endswith(
            "is complete" if v.inputs or v in layer.weight or v in layer.bias else "three terms"
        )
        assert abs(float(q["difference"].replace("−", "-"))) < 1e-12
    n = layer.last[0]
    q = by_node[n.x[0]]["paper"]["sec3"]  # ∂ℓ/∂x_1: the three paths of the graph are Sec. 3's three terms
    graph_terms = [float(p[2].replace("−", "-")) for p in q["paths"]]
    sec3_terms = [float(p[3].replace("−", "-")) for p in q["paths"]]
    assert len(q["paths"]) == 3 and [p[0].split()[1] for p in q["paths"]] == [
        n.x_hat[0].label,
        n.var.label,
        n.mean.label,
    ]
    assert sum(graph_terms) == pytest.approx(n.x[0].grad, rel=1e-3) and graph_terms == pytest.approx(
        sec3_terms, rel=1e-3
    )
    lines = {v: by_node[v]["paper"]["line"] for v in (n.mean, n.var, n.std, n.y[0], n.x[0])}
    assert [line.split(": ", 1)[1].split(":")[0] for line in lines.values()] == [
        "Alg. 1 line 1", "Alg. 1 line 2", "Alg. 1 line 3", "Alg. 1 line 4", "Alg. 1 input"
    ]  # fmt: skip
    loss_row = data["steps"][0]  # ℓ = Σ y·dy: its rule names dy
    assert (
        loss_row["sends"][0]["rule"]
        == f"∂ℓ/∂{loss.inputs[0].label} = d{loss.inputs[0].label} = {f(loss.local_grads[0])}"
    )
    tables = dict(data["problem"]["tables"])
    x_table, dy_table = tables["x, the layer's input"], tables["dy = ∂ℓ/∂y, what the loss sends back"]
    assert len(x_table) == 4 and x_table[1][2] == f"x12 = {f(x[1][2].data)}"  # one row per example
    assert dy_table[1][2].endswith(f"= {f(dy[1][2])}")


def test_without_a_layer_the_page_has_no_paper():
    loss, _ = bn_loss()
    data = page_data_of(list(backward_steps(loss)))
    assert data["problem"] is None and {row["paper"] for row in data["steps"]} == {None}


def test_every_node_the_mlp_page_names_is_named_on_its_graph():
    """An MLP with BatchNorm: each step's node and each receiver is on the graph by the same name;
    Linear's weights and biases by theirs (W₁[j,i], b₂[j]), not by step numbers."""
    from micrograd_bn import MLP, mse_loss

    rng = random.Random(0)
    net = MLP([2, 3, 1], norm=BatchNorm1d, seed=0)
    loss = mse_loss(net([[Value(rng.gauss(0, 1)) for _ in range(2)] for _ in range(4)]), [[1.0]] * 4)
    layer = next(m for m in net.layers if isinstance(m, BatchNorm1d))
    page = page_html(list(backward_steps(loss)), groups=layer.graph_groups(), layer=layer)
    graph = page[page.index('<div id="graph"') :]
    texts = {html_lib.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", graph)}
    steps = embedded(page)["steps"]
    named = {s["name"] for s in steps} | {t["name"] for s in steps for t in s["sends"]}
    assert named <= texts
    weights = {
        p.label for m in net.layers if hasattr(m, "weight") and not isinstance(m, BatchNorm1d) for p in m.parameters()
    }
    assert {"W₁[2,1]", "W₂[0,2]", "b₂[0]"} <= weights <= named
