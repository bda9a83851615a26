"""The guided tour: demos/tour.py runs whole and shows what it promises; demos/tour.ipynb is the same
cells, committed with outputs, and re-runs headless with its graphs inline."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

DEMOS = Path(__file__).resolve().parent.parent / "demos"
TOUR, NOTEBOOK = DEMOS / "tour.py", DEMOS / "tour.ipynb"
SVG = "image/svg+xml"


def load_notebook_tools():
    spec = importlib.util.spec_from_file_location("tour_notebook", DEMOS / "_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def svg_outputs(nb: nbformat.NotebookNode) -> list[str]:
    return [o["data"][SVG] for c in nb.cells if c.cell_type == "code" for o in c.outputs if SVG in o.get("data", {})]


def text_outputs(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def html_outputs(nb: nbformat.NotebookNode) -> list[str]:
    return [
        o["data"]["text/html"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/html" in o.get("data", {})
    ]


def assert_shows_the_viewer_and_the_check(nb: nbformat.NotebookNode) -> None:
    """The step-through viewer is inline (an iframe holding the whole page), and the wrong attempt is caught."""
    viewers = [h for h in html_outputs(nb) if h.startswith("<iframe")]
    assert len(viewers) == 1 and "srcdoc=" in viewers[0] and "viewer" in viewers[0]
    out = text_outputs(nb)
    assert "first wrong: dvar (∂ℓ/∂σ²_B)" in out and "−3/2" in out


def assert_gradients_match_the_paper(out: str) -> None:
    """μ_B's and σ²_B's gradients, stepped through and after the pass, equal Sec. 3's closed form."""
    closed = dict(re.findall(r"∂ℓ/∂(σ²_B|μ_B) = (-?\d\.\d+)", out.split("Sec. 3 closed form:")[1].split("\n")[0]))
    stepped = dict(re.findall(r"(σ²_B|μ_B) receives ∂ℓ/∂\S+ = (\S+)", out))
    after = dict(re.findall(r"(σ²_B|μ_B) (-?\d\.\d+)", out.split("after one pass, .grad:")[1].split("\n")[0]))
    assert stepped.keys() == closed.keys() == after.keys() == {"σ²_B", "μ_B"}
    for key, value in closed.items():
        for found in (stepped[key], after[key]):  # .grad holds one pass: not twice the closed form
            assert abs(float(found) - float(value)) <= 1e-10 * abs(float(value)), key


def test_tour_runs_and_tells_the_truth(tmp_path):
    run = subprocess.run([sys.executable, str(TOUR), "--out", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "naive recursive backward: dc/da = 6.0  (a visited 4 times)" in out
    assert "reverse topological order: dc/da = 4.0" in out
    assert_gradients_match_the_paper(out)
    assert "all witnesses agree" in out and "first wrong: dvar (∂ℓ/∂σ²_B)" in out
    pictures = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert pictures == ["tour_1_after_backward.svg", "tour_1_before_backward.svg", "tour_4_batchnorm.svg"]
    assert "grad: not computed" in (tmp_path / "tour_1_before_backward.svg").read_text()
    assert "not computed" not in (tmp_path / "tour_1_after_backward.svg").read_text()


def test_tour_without_out_writes_nothing(tmp_path):
    run = subprocess.run([sys.executable, str(TOUR)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "all witnesses agree" in run.stdout and "picture:" not in run.stdout
    assert list(tmp_path.iterdir()) == []


def test_notebook_has_the_same_cells_as_its_source():
    """jupytext reads both files the same, outputs and metadata aside: edit tour.py, then run demos/_notebook.py."""
    source, notebook = jupytext.read(TOUR), jupytext.read(NOTEBOOK)
    cells = [[(c.cell_type, c.source) for c in nb.cells] for nb in (source, notebook)]
    assert cells[0] == cells[1], "demos/tour.ipynb differs from demos/tour.py: run `python demos/_notebook.py`"
    assert len(cells[0]) >= 12 and notebook.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    made = load_notebook_tools().notebook(TOUR)  # the cell ids _notebook.py gives: it made the committed file
    assert [c.id for c in made.cells] == [c.id for c in nbformat.read(NOTEBOOK, as_version=4).cells]


def test_committed_notebook_reads_on_its_own():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "the notebook is committed executed"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert len(svg_outputs(nb)) >= 3
    out = text_outputs(nb)
    assert_gradients_match_the_paper(out)
    assert "all witnesses agree" in out and "picture:" not in out
    assert_shows_the_viewer_and_the_check(nb)
    markdown = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for equation in (r"\frac{\partial \ell}{\partial \sigma^2_B}", r"\frac{\partial \ell}{\partial \mu_B}"):
        assert f"$$\n{equation}" in markdown or f"$${equation}" in markdown, equation  # Sec. 3 in LaTeX


def test_notebook_reruns_headless_with_graphs_inline_and_writes_nothing(tmp_path):
    tools = load_notebook_tools()
    nb = tools.execute(tools.notebook(TOUR), tmp_path)
    graphs = svg_outputs(nb)
    assert len(graphs) >= 3 and all(g.lstrip().startswith("<?xml") or "<svg" in g for g in graphs)
    assert "grad: not computed" in graphs[0] and "not computed" not in graphs[1]  # before and after backward()
    assert_gradients_match_the_paper(text_outputs(nb))
    assert_shows_the_viewer_and_the_check(nb)
    assert list(tmp_path.iterdir()) == []  # the notebook's working directory stays empty


def test_regenerating_the_notebook_with_nothing_edited_changes_no_byte(tmp_path):
    """`python demos/_notebook.py` (here on a copy of demos/): no object addresses, no kernel log lines."""
    for name in ("_notebook.py", "tour.py"):
        (tmp_path / name).write_bytes((DEMOS / name).read_bytes())
    run = subprocess.run([sys.executable, str(tmp_path / "_notebook.py")], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    text = (tmp_path / "tour.ipynb").read_text(encoding="utf-8")
    assert not re.search(r" at 0x[0-9a-f]+>", text) and "without encryption" not in text
    assert text == NOTEBOOK.read_text(encoding="utf-8"), "demos/tour.ipynb is stale: run `python demos/_notebook.py`"


@pytest.mark.parametrize(("args", "words"), [(["--out", "tour.py"], "'tour.py' is a file"), (["--x"], "--x")])
def test_tour_bad_argument_is_one_line_and_exit_code_2(args, words):
    run = subprocess.run([sys.executable, str(TOUR), *args], capture_output=True, text=True, cwd=DEMOS)
    assert run.returncode == 2 and run.stderr.startswith("tour.py: error: ") and words in run.stderr
    assert run.stderr.count("\n") == 1, run.stderr
