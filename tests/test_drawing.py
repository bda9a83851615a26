"""draw.py: records, operations and edges of known graphs; clusters, collapse, gradient view,
the node budget, rendering with Graphviz's `dot`, and clear errors; the `graph` subcommand."""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

from micrograd_bn import MLP, BatchNorm1d, Value, mse_loss, operation, topological_order
from micrograd_bn.cli import main
from micrograd_bn.drawing import (
    NOT_COMPUTED,
    GraphTooLarge,
    draw,
    fold,
    image,
    module_nodes,
    node_names,
    record_fields,
    render,
)

SVG = "{http://www.w3.org/2000/svg}"
EDGE = re.compile(r"^\t(\w+) -> (\w+)", re.M)
RECORD = re.compile(r"^\t+(\w+) \[label=\"([^\"]*)\".*shape=record", re.M)


def records(g: graphviz.Digraph) -> dict[str, str]:
    """{DOT node: record label} for every record in the source."""
    return dict(RECORD.findall(g.source))


def edges(g: graphviz.Digraph) -> list[tuple[str, str]]:
    return EDGE.findall(g.source)


def clusters(g: graphviz.Digraph) -> dict[str, set[str]]:
    """{cluster label: DOT nodes declared inside it}."""
    out = {}
    for block in g.source.split("subgraph cluster_")[1:]:
        body = block[: block.index("\n\t}")]
        label = re.search(r'label="([^"]*)"', body).group(1)
        out[label] = set(re.findall(r"^\t\t(\w+) \[", body, re.M)) - {"graph"}
    return out


def bn_loss(batch: int = 4, features: int = 1, seed: int = 0):
    """ℓ = Σ y·dy through BatchNorm1d, with random x and dy (as the CLI builds it)."""
    rng = random.Random(seed)
    layer = BatchNorm1d(features)
    x = [[Value(rng.gauss(0, 1), f"x{i}") for _ in range(features)] for i in range(batch)]
    y = layer(x)
    loss = Value.dot([v for row in y for v in row], [rng.gauss(0, 1) for _ in range(batch * features)])
    loss.label = "ℓ"
    return loss, layer


def svg_texts(data: bytes) -> list[str]:
    return [t.text or "" for t in ET.fromstring(data).iter(f"{SVG}text")]


# ---- the DOT source of known small graphs


def test_one_record_per_value_one_oval_per_operation_and_every_edge():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b
    d = c + a
    e = d.tanh()
    g = draw(e)
    names = node_names(topological_order(e))
    n = {v: names[id(v)] for v in (a, b, c, d, e)}
    assert sorted(records(g)) == sorted(n.values())  # exactly one record per Value
    assert g.source.count("shape=oval") == 3  # *, +, tanh; leaves have none
    expected = [
        (n[e] + "op", n[e]), (n[d], n[e] + "op"),
        (n[d] + "op", n[d]), (n[c], n[d] + "op"), (n[a], n[d] + "op"),
        (n[c] + "op", n[c]), (n[a], n[c] + "op"), (n[b], n[c] + "op"),
    ]  # fmt: skip
    assert sorted(edges(g)) == sorted(expected)
    assert "rankdir=LR" in g.source


def test_x_times_x_draws_two_edges_into_the_product():
    x = Value(3.0, "x")
    y = x * x
    g = draw(y)
    names = node_names(topological_order(y))
    assert edges(g).count((names[id(x)], names[id(y)] + "op")) == 2
    assert len(records(g)) == 2


def test_record_shows_label_data_and_grad_rounded_to_digits():
    x = Value(1.0 / 3.0, "x")
    y = x * 2.0
    y.backward()
    assert records(draw(y))[node_names(topological_order(y))[id(x)]] == "x|data 0.3333|grad 2"
    assert "data 0.333333" in draw(y, digits=6).source
    with pytest.raises(ValueError, match="digits"):
        draw(y, digits=0)


def test_record_special_characters_are_escaped_and_dot_accepts_them():
    v = Value(1.0, 'a{b|c}<d>"e"\\')
    svg = image(draw(v * 2.0), "svg")
    assert 'a{b|c}<d>"e"\\' in svg_texts(svg)


def test_op_group_and_box_names_that_look_like_html_are_text_for_dot():
    @operation("<b>x</b>", forward="{a}", derivatives=["1"])
    def same(a: float) -> tuple[float, list[float]]:
        return a, [1.0]

    a = Value(1.0, "a")
    y = same(a)
    z = y + 1.0
    svg = image(draw(z, groups={"<i>g</i>\\N": [y]}, collapse={"<u>m</u>": [z]}), "svg").decode()
    texts = svg_texts(svg.encode())
    assert "<b>x</b>" in texts and "<i>g</i>\\N" in texts and "<u>m</u>" in texts


def test_unlabelled_values_show_the_given_names_and_the_grad_is_the_last_field():
    a = Value(1.0, "a")
    b = a * 2.0
    b.backward()
    g = draw(b, names={b: "#1", a: "unused"}, grads=True)
    assert '"#1|data 2|grad 1"' in g.source and '"a|data 1|grad 2"' in g.source
    assert record_fields(b, 4, None, "#1") == ["#1", "data 2"]


# ---- gradients: not computed, shown, hidden, given


def test_before_backward_gradients_are_not_computed_not_zero():
    loss, _ = bn_loss()
    before = draw(loss)
    assert before.source.count(NOT_COMPUTED) == len(topological_order(loss))
    assert "grad 0" not in before.source
    loss.backward()
    after = draw(loss)
    assert NOT_COMPUTED not in after.source
    assert "grad 1" in records(after)[node_names(topological_order(loss))[id(loss)]]


def test_grads_option_forces_shows_hides_or_takes_a_mapping():
    x = Value(2.0, "x")
    y = x * 3.0
    assert "grad 0" in draw(y, grads=True).source  # before backward, on request
    assert "grad" not in draw(y, grads=False).source
    partial = draw(y, grads={y: 1.0})
    names = node_names(topological_order(y))
    assert records(partial)[names[id(y)]].endswith("grad 1")
    assert records(partial)[names[id(x)]].endswith(NOT_COMPUTED)


def test_after_zero_grad_the_graph_reads_not_computed_again():
    from micrograd_bn import zero_grad

    loss, _ = bn_loss(batch=2)
    loss.backward()
    zero_grad(loss)
    assert NOT_COMPUTED in draw(loss).source


# ---- paper symbols and Alg. 1 clusters


def test_batchnorm_labels_carry_the_papers_symbols():
    loss, _ = bn_loss(batch=4)
    labels = [label.split("|")[0] for label in records(draw(loss)).values()]
    for symbol in ("μ_B", "σ²_B", "√(σ²_B+ε)", "x̂₁", "x̂₄", "x₁−μ_B", "γx̂₂", "y₃", "γ", "β", "ℓ"):
        assert symbol in labels, symbol
    assert len(labels) == len(topological_order(loss))


def test_graph_groups_become_clusters_citing_alg_1():
    loss, layer = bn_loss(batch=4)
    groups = layer.graph_groups()
    g = draw(loss, groups=groups)
    found = clusters(g)
    assert list(found) == list(groups)
    assert list(groups) == [
        "Alg. 1 line 1: mini-batch mean μ_B",
        "Alg. 1 line 2: mini-batch variance σ²_B",
        "Alg. 1 line 3: normalize x̂_i",
        "Alg. 1 line 4: scale and shift y_i = γx̂_i + β",
    ]
    names = node_names(topological_order(loss))
    for label, nodes in groups.items():
        expected = {names[id(v)] for v in nodes if v.inputs} | {names[id(v)] + "op" for v in nodes if v.op}
        assert found[label] == expected
    n = layer.last[0]
    assert not {names[id(layer.weight[0])], names[id(layer.bias[0])]} & set().union(*found.values())  # γ, β beside
    assert names[id(n.mean)] in found["Alg. 1 line 1: mini-batch mean μ_B"]
    assert {names[id(v)] for v in n.x_hat} <= found["Alg. 1 line 3: normalize x̂_i"]
    assert len(records(g)) == len(topological_order(loss))  # clusters move records, never copy them


@pytest.mark.parametrize(
    ("batch", "features", "expand"),
    [(16, 4, None), (16, 1, None), (16, 4, 2), (3, 2, None), (8, 3, None), (10, 5, None)],
)
def test_a_batch_keeps_its_order_top_to_bottom(batch, features, expand):
    """Each feature's x₁ … x_N, x̂₁ … x̂_N and y₁ … y_N top to bottom, feature 0's above feature 1's (dot
    alone drew y₉ … y₁₆, β, y₁ … y₈, and from a batch of 8 down, feature 0's y's below feature 1's)."""
    loss, layer = bn_loss(batch, features)
    options = {"groups": layer.graph_groups()} if expand is None else fold(layer, expand)
    layout = json.loads(image(draw(loss, max_nodes=1000, **options), "json"))
    down = {o["name"]: -float(o["pos"].split(",")[1]) for o in layout["objects"] if "pos" in o}  # y grows upwards
    names = node_names(topological_order(loss))
    shown = layer.last if expand is None else layer.last[expand : expand + 1]
    for key in ("x", "deviation", "x_hat", "y"):
        for n in shown:
            heights = [down[names[id(v)]] for v in getattr(n, key)]
            assert heights == sorted(heights), [
                v.label for v in sorted(getattr(n, key), key=lambda v: down[names[id(v)]])
            ]
        tops = [down[names[id(getattr(n, key)[0])]] for n in shown]
        assert tops == sorted(tops), f"{key}: features out of order"


def test_graph_groups_per_feature_and_without_affine():
    layer = BatchNorm1d(2, affine=False)
    layer([[1.0, 2.0], [3.0, 5.0]])
    assert list(layer.graph_groups()) == [
        "Alg. 1 line 1: mini-batch mean μ_B⁽⁰⁾",
        "Alg. 1 line 2: mini-batch variance σ²_B⁽⁰⁾",
        "Alg. 1 line 3: normalize x̂_i⁽⁰⁾",
        "Alg. 1 line 1: mini-batch mean μ_B⁽¹⁾",
        "Alg. 1 line 2: mini-batch variance σ²_B⁽¹⁾",
        "Alg. 1 line 3: normalize x̂_i⁽¹⁾",
    ]
    with pytest.raises(ValueError, match="training mode"):
        BatchNorm1d(1).graph_groups()


def test_groups_must_not_overlap_and_hold_values():
    x = Value(1.0)
    y = x + 1
    with pytest.raises(ValueError, match="in both 'a' and 'b'"):
        draw(y, groups={"a": [x], "b": [x]})
    with pytest.raises(TypeError, match="must hold Values"):
        draw(y, groups={"a": [1.0]})


# ---- collapsing a module


def mlp_with_batchnorm(seed: int = 0):
    """A 2-3-1 MLP with BatchNorm1d on a batch of 4; returns (loss, {name: BatchNorm's nodes})."""
    rng = random.Random(seed)
    net = MLP([2, 3, 1], norm=BatchNorm1d, seed=seed)
    acts, collapse = [[rng.gauss(0, 1), rng.gauss(0, 1)] for _ in range(4)], {}
    for layer in net.layers:
        out = layer(acts)
        if isinstance(layer, BatchNorm1d):
            collapse["BatchNorm1d"] = module_nodes(acts, out)
        acts = out
    return mse_loss(acts, [[1.0]] * 4), collapse


def test_module_nodes_are_the_layers_own_nodes_and_parameters():
    h = [[Value(1.0)], [Value(2.0)], [Value(4.0)]]
    before = Value.sum([row[0] for row in h])  # something upstream: not in the module
    layer = BatchNorm1d(1)
    y = layer(h)
    inside = {id(v) for v in module_nodes(h, y)}
    n = layer.last[0]
    assert {id(layer.weight[0]), id(layer.bias[0]), id(n.mean), id(n.var), id(n.std)} <= inside
    assert {id(v) for v in n.y + n.x_hat} <= inside
    assert not {id(v) for row in h for v in row} & inside and id(before) not in inside
    with pytest.raises(TypeError, match="outputs must be Values"):
        module_nodes(h, [1.0])


def test_collapse_draws_a_module_as_one_box_with_edges_in_and_out():
    loss, collapse = mlp_with_batchnorm()
    loss.backward()
    inside = {id(v) for v in collapse["BatchNorm1d"]}
    full, boxed = draw(loss, max_nodes=1000), draw(loss, collapse=collapse)
    assert len(records(boxed)) == len(records(full)) - len(inside)
    assert boxed.source.count("shape=box3d") == 1 and f"({len(inside)} Values)" in boxed.source
    into = [e for e in edges(boxed) if e[1] == "box0"]
    out_of = [e for e in edges(boxed) if e[0] == "box0"]
    assert len(into) == len(set(into)) == 12  # one per Linear output h_ij feeding BatchNorm
    assert len(out_of) == 12  # each y_ij into its tanh
    assert len(image(boxed, "svg")) > 0


def test_collapse_keeps_a_large_mlp_under_the_budget():
    loss, collapse = mlp_with_batchnorm()
    with pytest.raises(ValueError, match="max_nodes=150") as err:
        draw(loss, max_nodes=150)
    assert "collapse modules" in str(err.value)
    import micrograd_bn  # the message's module_nodes is importable from the package, as the README says

    assert "module_nodes(inputs, outputs)" in str(err.value) and micrograd_bn.module_nodes is module_nodes
    draw(loss, collapse=collapse, max_nodes=150)


# ---- gradient view and highlight


def test_grad_view_colours_and_widens_by_gradient():
    loss, layer = bn_loss()
    with pytest.raises(ValueError, match="call backward"):
        draw(loss, grad_view=True)
    loss.backward()
    g = draw(loss, grad_view=True, groups=layer.graph_groups())
    widths = [float(w) for w in re.findall(r"penwidth=([\d.]+)", g.source)]
    assert max(widths) == 5.0 and min(widths) < 1.5  # the largest term gets the widest edge
    fills = {v: f for v, f in re.findall(r'\t(v\d+) \[label=.*fillcolor="(#[0-9a-f]{6})" shape=record', g.source)}
    assert len(set(fills.values())) > 5
    names = node_names(topological_order(loss))
    for v in topological_order(loss):  # coloured by sign: red above 0, blue below
        red, blue = int(fills[names[id(v)]][1:3], 16), int(fills[names[id(v)]][5:7], 16)
        assert (red > blue) == (v.grad > 0) or v.grad == 0 or red == blue
    svg = image(g, "svg").decode()
    assert "fill: grad −" in svg and svg.count('fill="#ffffff"') >= 1  # the colour bar: −max, white 0, +max


def test_highlight_outlines_a_node():
    x = Value(1.0, "x")
    y = x + 1
    g = draw(y, highlight=[x])
    assert re.search(r"\tv0 \[label=\"x\|.*penwidth=3", g.source)
    assert not re.search(r"\tv1 \[label=.*penwidth", g.source)


# ---- node budget


def test_budget_error_says_size_limit_and_remedy_before_running_dot(monkeypatch, tmp_path):
    v = Value(0.0)
    for _ in range(300):
        v = v + 1.0
    monkeypatch.setattr(graphviz.Digraph, "pipe", lambda *a, **k: pytest.fail("dot must not run"))
    with pytest.raises(ValueError) as err:
        render(v, tmp_path / "big.svg")
    message = str(err.value)
    assert "601 nodes (301 Values)" in message and "max_nodes=500" in message
    assert "max_nodes=601" in message  # the remedy: a limit that fits
    assert "collapse" not in message  # a chain of additions has no modules to fold
    assert list(tmp_path.iterdir()) == []
    draw(v, max_nodes=601)


# ---- rendering


def test_render_svg_runs_dot_and_the_svg_holds_the_labels(tmp_path):
    loss, layer = bn_loss()
    loss.backward()
    out = render(draw(loss, groups=layer.graph_groups()), tmp_path / "bn.svg")
    root = ET.parse(out).getroot()
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for symbol in ("μ_B", "σ²_B", "x̂₁", "γ", "β", "ℓ", "Alg. 1 line 1: mini-batch mean μ_B"):
        assert symbol in texts, symbol
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    values = topological_order(loss)
    assert len(nodes) == 2 * len(values) - sum(not v.inputs for v in values)  # a record each, an oval if not a leaf


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".dot", b"digraph")])
def test_render_png_pdf_and_dot_by_suffix(tmp_path, suffix, magic):
    out = render(Value(1.0, "x") * 2.0, tmp_path / f"g{suffix}")
    assert out.read_bytes().startswith(magic)


def test_render_format_argument_overrides_the_suffix(tmp_path):
    out = render(Value(1.0, "x"), tmp_path / "graph.out", format="SVG")
    assert out.read_bytes().lstrip().startswith(b"<?xml")


def test_jupyter_displays_the_digraph_inline():
    bundle = draw(Value(1.0, "x") + 1)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


# ---- bad input: clear errors, no partial file


def test_non_value_root_is_a_type_error(tmp_path):
    for bad in (42, [Value(1.0)], None):
        with pytest.raises(TypeError, match="Value"):
            draw(bad)
        with pytest.raises(TypeError, match="Value"):
            render(bad, tmp_path / "x.svg")
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_lists_the_formats(tmp_path):
    for path in ("g.gif", "g"):
        with pytest.raises(ValueError, match="choose one of: svg, png, pdf, dot, json"):
            render(Value(1.0), tmp_path / path)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_is_a_clear_error_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"cannot write {tmp_path}/missing/g.svg"):
        render(Value(1.0), tmp_path / "missing" / "g.svg")
    (tmp_path / "folder.svg").mkdir()
    with pytest.raises(IsADirectoryError, match=r"cannot write .*folder\.svg"):
        render(Value(1.0), tmp_path / "folder.svg")  # the temporary file is made, then cannot replace a folder
    assert [p.name for p in tmp_path.iterdir()] == ["folder.svg"] and not any((tmp_path / "folder.svg").iterdir())


def test_failed_write_keeps_the_old_file_whole(tmp_path, monkeypatch):
    out = render(Value(1.0, "old"), tmp_path / "g.svg")
    before = out.read_bytes()

    def broken(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("micrograd_bn.drawing.os.replace", broken)
    with pytest.raises(PermissionError, match="cannot write"):
        render(Value(2.0, "new"), out)
    assert out.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["g.svg"]


def test_missing_dot_says_how_to_install_it_and_dot_source_still_works(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` anywhere on PATH
    with pytest.raises(FileNotFoundError, match="apt-get install graphviz"):
        render(Value(1.0), tmp_path / "g.svg")
    assert list(tmp_path.iterdir()) == []
    assert render(Value(1.0), tmp_path / "g.dot").read_text().startswith("digraph")


# ---- the `graph` subcommand


def test_cli_graph_writes_the_image_page_and_frames(tmp_path, capsys):
    out, page, frames = tmp_path / "bn.svg", tmp_path / "bn.html", tmp_path / "frames"
    args = ["graph", "--batch", "2", "--seed", "1", "--out", str(out), "--html", str(page), "--frames", str(frames)]
    assert main(args) == 0
    texts = svg_texts(out.read_bytes())
    assert "x₁" in texts and "Alg. 1 line 3: normalize x̂_i" in texts and NOT_COMPUTED not in texts
    assert "grad 1" in texts  # ∂ℓ/∂ℓ: drawn after backward
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert len(list(frames.glob("step_*.svg"))) == int(capsys.readouterr().out.split("wrote ")[-1].split()[0])


def test_cli_graph_expand_draws_16_by_4_with_one_feature_in_full(tmp_path):
    out, page = tmp_path / "bn.svg", tmp_path / "bn.html"
    args = ["--batch", "16", "--features", "4", "--expand", "2", "--out", str(out), "--html", str(page)]
    assert main(["graph", *args]) == 0  # within the default --max-nodes
    texts = svg_texts(out.read_bytes())
    folded = {t for t in texts if t.endswith("(folded)")}
    assert folded == {f"Alg. 1 for μ_B⁽{k}⁾ (folded)" for k in "⁰¹³"}  # every feature but 2, in a box
    assert "x̂₁₆⁽²⁾" in texts and "x̂₁⁽⁰⁾" not in texts
    assert "The problem: BatchNorm1d(4" in page.read_text()  # the page has the layer: the paper beside autodiff


def test_cli_graph_png_and_grad_view(tmp_path):
    assert main(["graph", "--out", str(tmp_path / "bn.png"), "--grad-view"]) == 0
    assert (tmp_path / "bn.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/g.gif"], "unknown image format 'gif'"),
        (["--out", "{tmp}/no/g.svg"], "cannot write"),
        (["--out", "{tmp}/g.svg", "--batch", "64"], "more than --max-nodes 500; pass --max-nodes"),
        (["--out", "{tmp}/g.svg", "--max-nodes", "10"], "more than --max-nodes 10; pass --max-nodes"),
        (["--out", "{tmp}/g.svg", "--batch", "16", "--features", "4"], "more than --max-nodes 500; pass --expand 0"),
        (["--out", "{tmp}/g.svg", "--features", "4", "--expand", "4"], "--expand 4 is not a feature of --features 4"),
        (["--out", "{tmp}/g.svg", "--batch", "1"], "more than 1 value per channel"),
        (["--out", "{tmp}/x.png", "--format", "svg"], "--out {tmp}/x.png ends in .png but --format is svg"),
        (["--out", "{tmp}/noext"], "has no suffix: end it in .svg, .png or .pdf, or pass --format svg|png|pdf"),
        (["--out", "{tmp}/g.svg", "--html", "{tmp}/none/p.html"], "--html {tmp}/none/p.html: the folder"),
        (["--out", "{tmp}/g.svg", "--frames", "/dev/null/f"], "--frames /dev/null/f: /dev/null is not a folder"),
    ],
)
def test_cli_graph_errors_are_one_line_exit_2_and_leave_no_file(tmp_path, capsys, args, message):
    assert main(["graph", *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and err.count("\n") == 1 and "Traceback" not in err
    assert "json" not in err and "collapse" not in err  # only what this command accepts and can do
    assert list(tmp_path.iterdir()) == []  # every output path is checked before any is written


def test_cli_graph_format_option_names_the_format_of_a_path_without_suffix(tmp_path):
    assert main(["graph", "--out", str(tmp_path / "graph"), "--format", "svg"]) == 0
    assert "<svg" in (tmp_path / "graph").read_text()


def test_cli_graph_without_dot_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 2
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_readme_style_example_round_trip(tmp_path):
    """The docstring's promise: a Value graph drawn, rendered and read back."""
    a = Value(2.0, "a")
    b = (a * a + 1.0).tanh()
    b.backward()
    out = render(draw(b, grad_view=True), Path(tmp_path) / "b.svg")
    assert f"grad {b.grad:.4g}" in svg_texts(out.read_bytes())


def test_fold_expands_one_feature_and_folds_the_rest_so_16_by_4_draws():
    rng = random.Random(0)
    bn = BatchNorm1d(4)
    y = bn([[Value(rng.gauss(0, 1), f"x{i}{k}") for k in range(4)] for i in range(16)])
    loss = Value.dot([v for row in y for v in row], [rng.gauss(0, 1) for _ in range(64)])
    with pytest.raises(GraphTooLarge):
        draw(loss)  # 16 × 4 in full: over the default budget of 500 nodes
    options = fold(bn, expand=2)
    g = draw(loss, **options)  # within the default budget
    assert g.source.count("shape=box3d") == 3 and list(options["collapse"]) == [
        f"Alg. 1 for {bn.last[k].mean.label} (folded)" for k in (0, 1, 3)
    ]
    assert all("⁽²⁾" in name for name in options["groups"])  # only feature 2's Alg. 1 clusters
    # ℓ; per x_i of feature 2: x_i, x_i − μ_B, its square, x̂_i, γx̂_i, y_i; its 6 statistics; γ and β
    assert g.source.count("shape=record") == 1 + 6 * 16 + 6 + 2
    with pytest.raises(ValueError, match="expand must be a group of the layer, 0 … 3"):
        fold(bn, expand=4)
    with pytest.raises(ValueError, match="needs a norm layer"):
        fold(BatchNorm1d(2))
