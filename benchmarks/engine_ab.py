"""Two engine.py files side by side in one process: the same hand-written BN and a dot/relu/sum net.

    git show REV:micrograd_bn/engine.py > old_engine.py; cp micrograd_bn/engine.py new_engine.py
    mypyc old_engine.py new_engine.py          # for the compiled pair; skip it for the Python pair
    python benchmarks/engine_ab.py old_engine new_engine

Alternates the two in a new order each round, 31 rounds; prints medians and new/old.
"""

import gc
import importlib
import random
import statistics
import sys
import time

mods = [importlib.import_module(m) for m in sys.argv[1:]]
rng = random.Random(0)
X = [[rng.gauss(0, 1) for _ in range(16)] for _ in range(32)]


def bn(V: type) -> object:
    xs = [[V(v) for v in row] for row in X]
    out = []
    for k in range(16):
        col = [r[k] for r in xs]
        mean = col[0]
        for c in col[1:]:
            mean = mean + c
        mean = mean * (1 / 32)
        var = (col[0] - mean) ** 2
        for c in col[1:]:
            var = var + (c - mean) ** 2
        var = var * (1 / 32)
        std = (var + 1e-5) ** 0.5
        out += [((c - mean) * std**-1) * 1.5 + 0.5 for c in col]
    loss = out[0]
    for o in out[1:]:
        loss = loss + o * 0.3
    loss.backward()
    return loss


def mlp(V: type) -> object:
    W = [[V(rng.uniform(-0.3, 0.3)) for _ in range(16)] for _ in range(32)]
    loss = None
    for row in X:
        hs = [V.dot(w, row).relu() for w in W]
        s = V.sum(hs)
        loss = s if loss is None else loss + s
    loss.backward()
    return loss


for name, fn in (("same-code BN", bn), ("dot/relu/sum", mlp)):
    times = {m.__name__: [] for m in mods}
    for r in range(31):
        for m in mods if r % 2 else mods[::-1]:
            gc.collect()
            t = time.perf_counter()
            keep = fn(m.Value)
            times[m.__name__].append(time.perf_counter() - t)
            del keep
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(
        name,
        {k: f"{v:.2f} ms" for k, v in med.items()},
        "new/old = %.2f" % (med[mods[1].__name__] / med[mods[0].__name__]),
    )
