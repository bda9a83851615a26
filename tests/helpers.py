"""Shared tolerances and checks for the test suite (stated once, used everywhere)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import strategies as st

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


def assert_each_close(got: dict, want: dict, scales: dict, rtol: float = RTOL_EXACT) -> None:
    """Each quantity of `want` within rtol of `got`'s, relative to the size of the terms it sums."""
    for key, expected in want.items():
        assert_close(got[key], expected, rtol=rtol, atol=1e-300, scale=scales[key])


def random_case(draw, eps=None) -> tuple[np.random.Generator, float, float]:
    """(rng, scale, ε) drawn by hypothesis: a seeded generator, a scale 1e-3…1e3, ε 1e-8…1 (or `eps`'s draw)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (
        rng,
        10.0 ** draw(st.floats(-3, 3)),
        draw(eps if eps is not None else st.floats(-8, 0).map(lambda p: 10.0**p)),
    )


def gamma_some_zero(rng: np.random.Generator, c: int) -> np.ndarray:
    """γ ~ N(0, 1) with about a quarter set to 0: γ = 0 switches a feature off, its gradients must be exactly 0."""
    gamma = rng.normal(size=c)
    gamma[rng.random(c) < 0.25] = 0.0
    return gamma


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
