"""Shared tolerances and checks for the test suite (stated once, used everywhere)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from micrograd_bn import BatchNorm1d, Value, numeric

# float64 tolerances (see README, "How the gradients are checked").
RTOL_EXACT = 1e-10  # autodiff vs the paper's closed form, relative
RTOL_FD = 1e-6  # central finite differences, relative
ATOL = 1e-12


def assert_close(actual, expected, rtol: float = RTOL_EXACT, atol: float = ATOL, scale: float | None = None) -> None:
    """|actual − expected| ≤ atol + rtol·scale elementwise, scale = max|expected| unless given."""
    a, e = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    s = float(np.max(np.abs(e))) if scale is None else scale
    err = float(np.max(np.abs(a - e))) if a.size else 0.0
    assert err <= atol + rtol * s, f"max |Δ| = {err:.3e} > {atol:g} + {rtol:g}·{s:.3e}"


def central_difference(f, x: float, h: float = 1e-6) -> float:
    """(f(x + h) − f(x − h)) / 2h with h scaled to x (the package's one routine, `numeric.central_difference`)."""
    return numeric.central_difference(lambda v: f(float(v)), x, float(numeric.scaled_step(x, h)))


def torch_or_skip():
    """Import torch, or skip the calling test with a reason (torch is an optional oracle)."""
    return pytest.importorskip("torch", reason="PyTorch not installed: its cross-check is optional")


def bn_loss(batch: int = 3, seed: int = 0) -> tuple[Value, BatchNorm1d]:
    """BatchNorm1d(1) on a random batch x₀ … and ℓ = Σ_i y_i·dy_i with a random dy (labelled "ℓ")."""
    rng = random.Random(seed)
    layer = BatchNorm1d(1)
    y = layer([[Value(rng.gauss(0, 1), f"x{i}")] for i in range(batch)])
    loss = Value.dot([row[0] for row in y], [rng.gauss(0, 1) for _ in range(batch)])
    loss.label = "ℓ"
    return loss, layer
