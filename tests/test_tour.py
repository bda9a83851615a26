"""The guided tour (demos/tour.py) runs whole and shows what it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

TOUR = Path(__file__).resolve().parent.parent / "demos" / "tour.py"


def test_tour_runs_and_tells_the_truth(tmp_path):
    run = subprocess.run([sys.executable, str(TOUR), "--out", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "naive recursive backward: dc/da = 6.0  (a visited 4 times)" in out
    assert "reverse topological order: dc/da = 4.0" in out
    autodiff = dict(re.findall(r"(σ²_B|μ_B) receives ∂ℓ/∂\S+ = (\S+)", out))
    closed = dict(re.findall(r"∂ℓ/∂(σ²_B|μ_B) = (-?\d\.\d+)", out.split("Sec. 3 closed form:")[1]))
    assert autodiff.keys() == closed.keys() == {"σ²_B", "μ_B"}
    for key in autodiff:
        assert abs(float(autodiff[key]) - float(closed[key])) <= 1e-10 * abs(float(closed[key]))
    assert "all witnesses agree" in out
    pictures = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert pictures == ["tour_1_after_backward.svg", "tour_1_before_backward.svg", "tour_4_batchnorm.svg"]
    assert "grad: not computed" in (tmp_path / "tour_1_before_backward.svg").read_text()
    assert "not computed" not in (tmp_path / "tour_1_after_backward.svg").read_text()


def test_tour_is_a_notebook_of_percent_cells():
    text = TOUR.read_text()
    assert text.count("# %% [markdown]") >= 6 and text.count("# %%\n") >= 6
