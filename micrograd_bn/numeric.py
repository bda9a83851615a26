"""The numeric yardsticks every checker shares: central differences and the relative error.

Pure NumPy, below compare, gradcheck and grading (and the tests), so each is written once.

References: Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (the gradients these measure).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_difference(
    f: Callable[[np.ndarray], float], at: np.ndarray | float, step, each: Callable[[], object] | None = None
) -> np.ndarray | float:
    """(f(v + h) − f(v − h)) / 2h for each entry v of `at`, h = `step` (a number, or one per entry);
    `each()` is called after each entry (a progress bar's tick).

    >>> round(central_difference(lambda v: float(v) ** 3, 2.0, 1e-5), 6)  # d/dv v³ = 12
    12.0
    >>> central_difference(lambda v: float((v**2).sum()), np.array([1.0, -3.0]), 1e-6).round(6).tolist()
    [2.0, -6.0]
    """
    base = np.asarray(at, dtype=float)
    steps = np.broadcast_to(np.asarray(step, dtype=float), base.shape)
    out = np.zeros(base.shape)
    for idx in np.ndindex(base.shape):
        h = steps[idx]
        hi, lo = base.copy(), base.copy()
        hi[idx] += h
        lo[idx] -= h
        out[idx] = (f(hi) - f(lo)) / (2 * h)
        if each is not None:
            each()
    return float(out) if np.ndim(at) == 0 else out


def scaled_step(at: np.ndarray | float, h: float) -> np.ndarray | float:
    """A difference step for each entry of `at`: h·max(1, |v|), relative for large values, absolute near 0.

    >>> scaled_step(np.array([0.5, -200.0]), 1e-5).tolist()
    [1e-05, 0.002]
    """
    return h * np.maximum(1.0, np.abs(at))


def relative_error(delta, scale: float):
    """|Δ| over the size of the summed terms (`compare.term_scales`); |Δ| itself when every term is 0."""
    return delta / scale if scale > 0 else delta
