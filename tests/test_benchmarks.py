"""The benchmark's workloads compute the same numbers on every engine (no timing is asserted here)."""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
pytest.importorskip("micrograd", reason="micrograd 0.1.0 (the benchmark's peer) is not installed")

import bench

from micrograd_bn import Value


def test_handwritten_and_layer_batchnorm_agree_across_engines():
    x, dy = bench.random_batch(6, 3, 0)
    ours, loss_ours = bench.handwritten_batchnorm(Value, x, dy)
    peer, loss_peer = bench.handwritten_batchnorm(bench.mg_engine.Value, x, dy)
    layer, loss_layer = bench.layer_batchnorm(x, dy)
    assert loss_ours.data == pytest.approx(loss_peer.data, rel=1e-12)
    assert loss_layer.data == pytest.approx(loss_ours.data, rel=1e-12)
    flat = [[v for row in xs for v in row] for xs in (ours, peer, layer)]
    for a, b, c in zip(*flat):
        assert a.grad == pytest.approx(b.grad, rel=1e-9, abs=1e-12)
        assert c.grad == pytest.approx(a.grad, rel=1e-9, abs=1e-12)


def test_quick_run_is_complete_and_checks_agreement():
    rows = bench.run(quick=True)  # raises AssertionError if any two engines disagree
    cases = [r.case for r in rows]
    assert any("MLP" in c for c in cases) and any("peak bytes" in c for c in cases)
    for r in rows:
        assert r.ours > 0 and (r.kind == "info" or r.kind == "growth" or r.peer_value > 0)
    assert [r.met for r in rows if "floor.Bare" in r.case] == ["—"] * 4  # the yardstick has no target
    table = bench.format_rows(rows)
    assert table.count("\n") == len(rows) + 1 and all(
        line.endswith(("| yes |", "| NO |", "| — |")) or "µs" in line for line in table.splitlines()[2:]
    )


def test_floor_engine_is_a_true_yardstick():
    """benchmarks/floor.py computes the same gradients as the engine, and its example runs."""
    import floor

    assert doctest.testmod(floor).failed == 0
    a, b = floor.Bare(1.5), Value(1.5)
    ya, yb = (a * a + 2.0) * a**-0.5, (b * b + 2.0) * b**-0.5
    ya.backward()
    yb.backward()
    assert (ya.data, a.grad) == pytest.approx((yb.data, b.grad), rel=1e-15)


def test_disagreement_is_caught():
    with pytest.raises(AssertionError, match="engines disagree"):
        bench.same(1.0, 1.0 + 1e-6, "demo")
    bench.same(1.0, 1.0 + 1e-13, "demo")  # within 1e-9 relative: no error


def test_no_engine_always_runs_right_after_the_same_one():
    """The run order changes every round: a call right after torch's runs slower, so a fixed
    predecessor (as a rotated order keeps) would tilt every median against one engine."""
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in "abcd"}
    bench.median_times(fns, rounds=12)
    assert sorted(calls) == sorted("abcd" * 12)  # each ran once a round
    rounds = [calls[i : i + 4] for i in range(0, len(calls), 4)]
    for name in "abcd":
        before = {r[r.index(name) - 1] for r in rounds if r.index(name) > 0}  # within a round
        assert len(before) >= 2, f"{name} always ran right after {before}"


def test_loop_times_runs_each_engine_back_to_back():
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in "ab"}
    per_call = bench.loop_times(fns, rounds=3, calls=4)
    assert set(per_call) == {"a", "b"} and all(t > 0 for t in per_call.values())
    assert calls.count("a") == calls.count("b") == 3 * (1 + 4)  # one untimed call, then four timed, a round
    assert "abab" not in "".join(calls)  # never interleaved inside a round's loop


def test_each_row_names_its_engine_and_one_engine_is_refused_in_the_others_process():
    import micrograd_bn

    row = bench.Row("case", 1.0, "micrograd", 2.0, 3)
    assert row.engine == micrograd_bn.ENGINE and bench.TARGETS[row.engine]["same"] in (1.5, 10)
    assert f"| case | {micrograd_bn.ENGINE} |" in bench.format_rows([row])
    other = "python" if micrograd_bn.ENGINE == "compiled" else "compiled"
    with pytest.raises(SystemExit, match=f"MICROGRAD_BN_ENGINE={other}"):
        bench.main(["--engine", other])
