"""Speed, scale and memory of micrograd_bn's two engines against micrograd 0.1.0 (and PyTorch on 0-d tensors).

    pip install -e ".[bench]"                # micrograd 0.1.0, the peer (and the compiled engine: setup.py)
    pip install torch==2.13.0                # optional: adds the torch-on-scalars rows
    python benchmarks/bench.py [--quick]     # both engines, one after the other, in one table
    python benchmarks/bench.py --engine compiled   # one engine only

Each engine runs in its own process (MICROGRAD_BN_ENGINE=python, then compiled): the library's
modules are bound to one engine at import. Within that process every case runs the
*same* computation on micrograd_bn and its peers, alternating them in a new order each
round; the table gives median times and speed-ups (peer time / ours), the issue's target
for that engine, and whether it is met. Each speed case has two rows: "fwd+bwd" stops the
clock with the graph still alive; "graph freed" also counts releasing it (see
`median_times`). The same-code case has a third: calls back to back, each engine's garbage
left to the collector as in a training loop (see `loop_times`). Before timing, each case
checks that the engines computed the same numbers (to 1e-9 relative).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from floor import Bare  # benchmarks/floor.py, beside this file

import micrograd_bn
from micrograd_bn import MLP, BatchNorm1d, Value, gc_paused, mse_loss

try:
    import micrograd.engine as mg_engine
    import micrograd.nn as mg_nn
except ImportError:  # pragma: no cover - the bench needs its peer
    mg_engine = mg_nn = None

try:
    import torch
except ImportError:
    torch = None

EPS = 1e-5
LOOP_CALLS = 10  # back-to-back calls per round in `loop_times`
ENGINES = ("python", "compiled")
# speed-ups over micrograd each engine must hold (issue 21's floors): same code, BatchNorm1d, MLP step
TARGETS = {"python": {"same": 1.5, "layer": 1.5, "mlp": 30}, "compiled": {"same": 10, "layer": 8, "mlp": 100}}


# ---- the workloads: one function each, written once and run on every engine -------------------------


def handwritten_batchnorm(make: Callable, x: list[list[float]], dy: list[list[float]]):
    """BatchNorm (Alg. 1, γ = 1, β = 0) with binary `+ * **` only, micrograd style; returns (inputs, loss)."""
    xs = [[make(v) for v in row] for row in x]
    m, loss = len(xs), None
    for j in range(len(xs[0])):
        col = [row[j] for row in xs]
        total = col[0]
        for v in col[1:]:
            total = total + v
        mean = total * (1.0 / m)
        dev = [v + mean * -1.0 for v in col]
        sq = dev[0] ** 2
        for d in dev[1:]:
            sq = sq + d**2
        inv_std = (sq * (1.0 / m) + EPS) ** -0.5
        for i, d in enumerate(dev):
            term = d * inv_std * dy[i][j]
            loss = term if loss is None else loss + term
    loss.backward()
    return xs, loss


def layer_batchnorm(x: list[list[float]], dy: list[list[float]]):
    """This project's BatchNorm1d: the same forward and loss, on its own n-ary nodes."""
    xs = [[Value(v) for v in row] for row in x]
    ys = BatchNorm1d(len(x[0]), eps=EPS)(xs)
    loss = Value.dot([v for row in ys for v in row], [d for row in dy for d in row])
    loss.backward()
    return xs, loss


def chain(make: Callable, n: int):
    """n layers of y ← y·0.9999999 + 1e-7 (two nodes a layer; micrograd adds two constant leaves), then backward."""
    x = make(1.0)
    y = x
    for _ in range(n):
        y = y * 0.9999999 + 1e-7
    y.backward()
    return x, y


# ---- harness ----------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Median seconds of one workload: `run` (forward and backward, the graph still alive)
    and `freed` (the same, plus releasing the graph and collecting any cycles it left)."""

    run: float
    freed: float


def shuffled_rounds(fns: dict[str, Callable[[], object]], rounds: int) -> Iterator[tuple[str, Callable]]:
    """Yield each (name, function) once a round, in a new order each round, each after a collection.

    Shuffling (seeded, so runs are repeatable) keeps any engine from always running right
    after the same one: a call runs measurably slower right after torch's, whose heap it
    inherits. (Rotating the order is not enough: it keeps every engine's predecessor.)
    Objects that existed before the benchmark (torch's, say) are frozen out of the collector
    first, so a collection costs what the workload left behind, not what was imported.
    """
    gc.collect()
    gc.freeze()
    order, shuffle = list(fns), random.Random(0).shuffle
    try:
        for _ in range(rounds):
            shuffle(order)
            for name in order:
                gc.collect()
                yield name, fns[name]
    finally:
        gc.unfreeze()


def median_times(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, Timing]:
    """Median times of each function over `rounds` calls (see `shuffled_rounds` for the order).

    A call's result (its graph) is kept until the `run` clock stops; then it is dropped and
    `gc.collect()` runs, and the `freed` clock stops. This is fair both ways: micrograd's
    graphs are reference cycles (node → closure → node) that only the cyclic collector frees,
    while this project's acyclic graphs are freed by reference counting when dropped.
    """
    runs: dict[str, list[float]] = {name: [] for name in fns}
    freed: dict[str, list[float]] = {name: [] for name in fns}
    for name, fn in shuffled_rounds(fns, rounds):
        t0 = time.perf_counter()
        result = fn()
        t1 = time.perf_counter()
        del result
        gc.collect()
        t2 = time.perf_counter()
        runs[name].append(t1 - t0)
        freed[name].append(t2 - t0)
    return {name: Timing(statistics.median(runs[name]), statistics.median(freed[name])) for name in fns}


def loop_times(fns: dict[str, Callable[[], object]], rounds: int, calls: int) -> dict[str, float]:
    """Median time per call when each function runs `calls` times back to back, as in training.

    Nothing is collected by hand inside the clock: each engine pays for its garbage when and
    as CPython's collector decides, while it builds the next graph. One untimed call first
    leaves the garbage a loop's previous step would have left.
    """
    per_call: dict[str, list[float]] = {name: [] for name in fns}
    for name, fn in shuffled_rounds(fns, rounds):
        fn()
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call[name].append((time.perf_counter() - t0) / calls)
    return {name: statistics.median(per_call[name]) for name in fns}


def peak_bytes(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak


def same(a: float, b: float, what: str) -> None:
    if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"{what}: engines disagree, {a!r} vs {b!r}")


@dataclass
class Row:
    case: str
    ours: float  # seconds (or bytes for memory rows)
    peer: str
    peer_value: float
    target: float  # speed-up needed (peer / ours); for growth and memory rows see `kind`
    kind: str = "speed"  # speed: peer/ours ≥ target; growth: ours ≤ target; memory: peer/ours ≥ target
    engine: str = micrograd_bn.ENGINE  # which micrograd_bn engine ran "ours"

    @property
    def ratio(self) -> float:
        return self.peer_value / self.ours

    @property
    def met(self) -> str:  # "yes", "NO", or "—" for a row with no target
        if math.isnan(self.target):
            return "—"  # the yardstick rows
        ok = self.ours <= self.target if self.kind == "growth" else self.ratio >= self.target
        return "yes" if ok else "NO"


def speed_rows(case: str, ours: Timing, peer: str, theirs: Timing, target: float) -> list[Row]:
    """Two rows: forward and backward with the graph kept, and the same with the graph freed."""
    return [
        Row(f"{case}: fwd+bwd", ours.run, peer, theirs.run, target),
        Row(f"{case}: fwd+bwd, graph freed", ours.freed, peer, theirs.freed, target),
    ]


def random_batch(m: int, c: int, seed: int) -> tuple[list[list[float]], list[list[float]]]:
    rng = random.Random(seed)
    return [[rng.gauss(0, 1) for _ in range(c)] for _ in range(m)], [
        [rng.gauss(0, 1) for _ in range(c)] for _ in range(m)
    ]


def bench_batchnorm(rounds: int) -> list[Row]:
    x, dy = random_batch(32, 16, 0)
    xs_a, loss_a = handwritten_batchnorm(Value, x, dy)
    xs_b, _ = handwritten_batchnorm(mg_engine.Value, x, dy)
    xs_c, loss_c = layer_batchnorm(x, dy)
    xs_d, _ = handwritten_batchnorm(Bare, x, dy)
    for a, b, c, d in zip(xs_a[0], xs_b[0], xs_c[0], xs_d[0]):
        same(a.grad, b.grad, "hand-written BN, ∂ℓ/∂x")
        same(a.grad, c.grad, "BatchNorm1d vs hand-written BN, ∂ℓ/∂x")
        same(a.grad, d.grad, "hand-written BN on floor.Bare, ∂ℓ/∂x")
    same(loss_a.data, loss_c.data, "BatchNorm1d vs hand-written BN, ℓ")
    fns = {
        "ours": lambda: handwritten_batchnorm(Value, x, dy),
        "micrograd": lambda: handwritten_batchnorm(mg_engine.Value, x, dy),
        "layer": lambda: layer_batchnorm(x, dy),
        "bare": lambda: handwritten_batchnorm(Bare, x, dy),
    }
    t = median_times(fns, rounds)
    target = TARGETS[micrograd_bn.ENGINE]
    rows = speed_rows(
        "hand-written BN, binary + * **, 32×16: same code", t["ours"], "micrograd", t["micrograd"], target["same"]
    )
    loop = loop_times({"ours": fns["ours"], "micrograd": fns["micrograd"]}, rounds, calls=LOOP_CALLS)
    same_code_loop = f"hand-written BN, binary + * **, 32×16: same code: {LOOP_CALLS} calls back to back, per call"
    rows.append(Row(same_code_loop, loop["ours"], "micrograd", loop["micrograd"], target["same"]))
    rows += speed_rows(
        "BatchNorm1d(16) on 32×16", t["layer"], "micrograd (hand-written)", t["micrograd"], target["layer"]
    )
    yardstick = "hand-written BN, same code on floor.Bare (a bare engine, not micrograd_bn)"
    rows += [
        Row(r.case, r.ours, r.peer, r.peer_value, r.target, engine="floor.Bare")
        for r in speed_rows(yardstick, t["bare"], "micrograd", t["micrograd"], math.nan)
    ]
    if torch is not None:  # timed on its own: whatever runs right after torch runs slower

        def scalar(v: float):
            return torch.tensor(v, dtype=torch.float64, requires_grad=True)

        xs_t, _ = handwritten_batchnorm(scalar, x, dy)
        same(xs_t[0][0].grad.item(), xs_a[0][0].grad, "torch scalars vs ours")
        t = median_times({"layer": fns["layer"], "torch": lambda: handwritten_batchnorm(scalar, x, dy)}, rounds)
        rows += speed_rows("BatchNorm1d(16) on 32×16", t["layer"], "torch, 0-d float64 tensors", t["torch"], 1)
    return rows


def bench_mlp(rounds: int) -> list[Row]:
    """One SGD step of a 16→32→32→1 relu MLP, batch 32, MSE, same weights in both."""
    rng = random.Random(1)
    x = [[rng.gauss(0, 1) for _ in range(16)] for _ in range(32)]
    t = [[rng.gauss(0, 1)] for _ in range(32)]
    peer = mg_nn.MLP(16, [32, 32, 1])
    ours = MLP([16, 32, 32, 1], activation="relu")
    for mine, theirs in zip((layer for layer in ours.layers if hasattr(layer, "weight")), peer.layers):
        for j, neuron in enumerate(theirs.neurons):
            for i, w in enumerate(neuron.w):
                mine.weight[j][i].data = w.data
            mine.bias[j].data = neuron.b.data

    # Each step returns its loss, so its graph lives until the "fwd+bwd" clock stops, as in
    # the other cases; "graph freed" adds freeing it (a step that returned only loss.data
    # would count our freeing, by reference counting, but not micrograd's, left to the collector).
    def step_ours():
        loss = mse_loss(ours(x), t)
        ours.zero_grad()
        loss.backward()
        for p in ours.parameters():
            p.data -= 1e-9 * p.grad  # a tiny rate: the nets stay equal for the next round
        return loss

    def step_peer():
        outs = [peer(row) for row in x]
        loss = sum(((o - tr[0]) ** 2 for o, tr in zip(outs, t)), mg_engine.Value(0.0)) * (1.0 / len(x))
        peer.zero_grad()
        loss.backward()
        for p in peer.parameters():
            p.data -= 1e-9 * p.grad
        return loss

    same(step_ours().data, step_peer().data, "MLP step, loss")
    same(ours.layers[0].weight[0][0].grad, peer.layers[0].neurons[0].w[0].grad, "MLP step, ∂ℓ/∂w")
    t = median_times({"ours": step_ours, "micrograd": step_peer}, rounds)
    mlp = "MLP 16→32→32→1 relu, batch 32, one SGD step"
    return speed_rows(mlp, t["ours"], "micrograd nn.MLP", t["micrograd"], TARGETS[micrograd_bn.ENGINE]["mlp"])


def paused_chain(n: int):
    """`chain` with the cyclic collector paused for the forward pass too (backward() always pauses it)."""
    with gc_paused():
        return chain(Value, n)


def bench_chain(small: int, large: int, mem_n: int, rounds: int, large_rounds: int) -> list[Row]:
    """Cost per node from `small` to `large` nodes (two per layer), and from large/10, past the CPU's
    caches (RESULTS.md); peak memory per layer against micrograd."""
    rows = []
    variants = (  # the growth with the collector running is CPython's collector (RESULTS.md): no target
        ("", lambda n: chain(Value, n), math.nan, micrograd_bn.ENGINE),
        (" on floor.Bare (a bare engine, not micrograd_bn)", lambda n: chain(Bare, n), math.nan, "floor.Bare"),
        (", forward in gc_paused()", paused_chain, 1.5, micrograd_bn.ENGINE),
    )
    for name, fn, target, engine in variants:
        per_node = {}
        sizes = sorted({small, large // 10, large})
        for nodes in sizes:
            layers = nodes // 2
            t = median_times({"ours": lambda n=layers, fn=fn: fn(n)}, rounds if nodes < large else large_rounds)
            per_node[nodes] = t["ours"].run / nodes
        speed, growth = per_node[large] * 1e6, per_node[large] / per_node[small]
        per = f"{large:.0e} / {small:.0e} nodes"
        rows += [
            Row(f"chain{name}: µs per node at {large:.0e} nodes", speed, "—", math.nan, math.nan, "info", engine),
            Row(f"chain{name}: cost per node, {per}", growth, "—", math.nan, target, "growth", engine),
        ]
        if len(sizes) == 3:  # from large/10, beyond the CPU's caches (RESULTS.md): no target
            past, per = per_node[large] / per_node[sizes[1]], f"{large:.0e} / {sizes[1]:.0e} nodes"
            rows.append(Row(f"chain{name}: cost per node, {per}", past, "—", math.nan, math.nan, "growth", engine))
    x_ours, _ = chain(Value, mem_n)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * mem_n))  # micrograd's topological sort recurses once per node
    try:
        x_peer, _ = chain(mg_engine.Value, mem_n)
        same(x_ours.grad, x_peer.grad, "chain, ∂y/∂x")
        mem_ours = peak_bytes(lambda: chain(Value, mem_n)) / mem_n
        mem_peer = peak_bytes(lambda: chain(mg_engine.Value, mem_n)) / mem_n
    finally:
        sys.setrecursionlimit(limit)
    memory = f"chain: peak bytes per layer ({mem_n:.0e} layers: 2 nodes each here, 4 in micrograd; tracemalloc)"
    return [*rows, Row(memory, mem_ours, "micrograd", mem_peer, 3, "memory")]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    torch_version = torch.__version__ if torch is not None else "not installed"
    return (
        f"{cpu}, {__import__('os').cpu_count()} cores; Python {platform.python_version()}; "
        f"micrograd_bn {micrograd_bn.__version__}, micrograd 0.1.0, torch {torch_version}"
    )


def run(quick: bool = False) -> list[Row]:
    if mg_engine is None:
        raise SystemExit("micrograd is not installed: pip install -e '.[bench]' (micrograd==0.1.0)")
    rounds = 3 if quick else 15
    rows = bench_batchnorm(rounds) + bench_mlp(3 if quick else 7)
    if quick:
        return rows + bench_chain(small=10**3, large=10**4, mem_n=10**3, rounds=rounds, large_rounds=1)
    return rows + bench_chain(small=10**4, large=10**6, mem_n=10**4, rounds=rounds, large_rounds=5)


def format_rows(rows: list[Row]) -> str:
    lines = ["| case | engine | ours | peer | peer's | ratio | target | met |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        head = f"| {r.case} | {r.engine} |"
        if r.kind == "info":
            lines.append(f"{head} {r.ours:.2f} µs | | | | | |")
        elif r.kind == "growth":
            target = "—" if math.isnan(r.target) else f"≤ {r.target:g}×"
            lines.append(f"{head} {r.ours:.2f}× | | | | {target} | {r.met} |")
        elif r.kind == "memory":
            lines.append(
                f"{head} {r.ours:.0f} B | {r.peer} | {r.peer_value:.0f} B | "
                f"{r.ratio:.1f}× less | ≥ {r.target:g}× | {r.met} |"
            )
        else:
            lines.append(
                f"{head} {r.ours * 1e3:.2f} ms | {r.peer} | {r.peer_value * 1e3:.2f} ms | "
                f"{r.ratio:.1f}× faster | {'—' if math.isnan(r.target) else f'≥ {r.target:g}×'} | {r.met} |"
            )
    return "\n".join(lines)


def run_engine(engine: str, quick: bool) -> list[Row]:
    """`run(quick)` in a fresh process on one engine (MICROGRAD_BN_ENGINE=engine), its rows read back."""
    args = [sys.executable, __file__, "--engine", engine, "--json", *(["--quick"] if quick else [])]
    env = {**os.environ, "MICROGRAD_BN_ENGINE": engine}
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"the {engine} engine's run failed:\n{out.stderr.strip()}")
    return [Row(**row) for row in json.loads(out.stdout)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a smoke run of a few seconds (smaller sizes, fewer rounds)")
    p.add_argument("--engine", choices=ENGINES, help="one engine only, in this process (default: both, in turn)")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # rows for `run_engine`
    args = p.parse_args(argv)
    if args.engine and micrograd_bn.ENGINE != args.engine:
        raise SystemExit(
            f"--engine {args.engine}: this process runs the {micrograd_bn.ENGINE} engine; "
            f"run with MICROGRAD_BN_ENGINE={args.engine} (or without --engine)"
        )
    if args.json:
        print(json.dumps([r.__dict__ for r in run(args.quick)]))
        return 0
    if args.engine:
        rows = run(args.quick)
    else:  # the floor.Bare yardstick does not depend on the engine: its rows come from the first run only
        rows = [r for e in ENGINES for r in run_engine(e, args.quick) if e == ENGINES[0] or r.engine != "floor.Bare"]
    engines = args.engine or " and ".join(ENGINES)
    print(f"machine: {machine()}")
    command = (
        "python benchmarks/bench.py"
        + (" --quick" if args.quick else "")
        + (f" --engine {args.engine}" if args.engine else "")
    )
    print(f"command: {command}  (engines: {engines}; medians; ratio = peer / ours)\n")
    print(format_rows(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
