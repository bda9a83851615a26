"""Make demos/tour.ipynb from demos/tour.py (its source) and run it, so the notebook keeps its outputs.

    python demos/_notebook.py          rewrite demos/tour.ipynb: tour.py's cells, executed

The two files are paired by jupytext (the notebook's metadata says `ipynb,py:percent`): edit
tour.py, then run this. The cells run in a fresh `python3` kernel (ipykernel, from the
environment running this script) with a temporary folder as the working directory, so the
notebook writes nothing beside itself. Nothing in it changes from run to run (no object
addresses, no kernel log lines), so with nothing edited the file is rewritten byte for byte.
tests/test_tour.py uses the same functions.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import jupytext
import nbclient
import nbformat

TOUR = Path(__file__).resolve().parent / "tour.py"
NOTEBOOK = TOUR.with_suffix(".ipynb")


def notebook(source: Path = TOUR) -> nbformat.NotebookNode:
    """tour.py's cells as a notebook without outputs, paired with its source and set to the python3 kernel."""
    nb = jupytext.read(source)
    ids: set[str] = set()
    for cell in nb.cells:  # ids from the cell's text, not random: regenerating changes only what changed
        base = hashlib.sha1(f"{cell.cell_type}:{cell.source}".encode()).hexdigest()[:8]
        cell.id, k = base, 1
        while cell.id in ids:  # two cells with the same text
            cell.id, k = f"{base}-{k}", k + 1
        ids.add(cell.id)
    nb.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell in a fresh python3 kernel whose working directory is `cwd`; returns `nb` with outputs."""
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
        extra_arguments=["--log-level=ERROR"],  # not the kernel's "running over TCP without encryption" warning
    )
    nb = client.execute()
    for cell in nb.cells:  # a picture's or page's text twin, <graphviz.graphs.Digraph at 0x7f…>, changes every run
        for output in cell.get("outputs", []):
            if {"image/svg+xml", "text/html"} & set(output.get("data", {})):
                output["data"].pop("text/plain", None)
    return nb


def executed_text(source: Path = TOUR) -> str:
    """The notebook file's text for `source`, run in a fresh kernel in an empty temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        return nbformat.writes(execute(notebook(source), Path(tmp))) + "\n"


def main() -> int:
    NOTEBOOK.write_text(executed_text(), encoding="utf-8")
    print(f"wrote {NOTEBOOK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
