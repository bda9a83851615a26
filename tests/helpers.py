"""Shared tolerances and checks for the test suite (stated once, used everywhere)."""

from __future__ import annotations

import numpy as np
import pytest

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
    """(f(x + h) − f(x − h)) / 2h with h scaled to x."""
    h = h * max(1.0, abs(x))
    return (f(x + h) - f(x - h)) / (2 * h)


def torch_or_skip():
    """Import torch, or skip the calling test with a reason (torch is an optional oracle)."""
    return pytest.importorskip("torch", reason="PyTorch not installed: its cross-check is optional")
