"""RMSNorm and GroupNorm backwards as a learner writes them in NumPy: a right one each, and a zoo of wrong ones.

For the checker's grading tests (`check --layer rmsnorm | groupnorm`) and for this suite, which
checks the right ones against `micrograd_bn.reference` and that each wrong one first goes wrong
at the quantity it is tagged with (tests/test_rmsnorm.py, tests/test_groupnorm.py). Written from
the papers, not from the reference; each wrong one is the right one with one realistic slip.

Signatures (the learner's; what `exercise --layer ...` would hand out):

    rmsnorm_backward(dy, x, gamma, eps) -> {"dx_hat", "dms", "dx", "dgamma"}
        dy, x: (N, C); gamma: (C,). Over each row's C features (Zhang & Sennrich 2019, eq. 4):
        ms = (1/C) Σ_k x_k², x̂ = x/√(ms + ε), y = γ x̂. dx_hat, dx: (N, C); dms = ∂ℓ/∂ms: (N,);
        dgamma: (C,).
    groupnorm_backward(dy, x, gamma, eps, num_groups) -> {"dx_hat", "dvar", "dmean", "dx", "dgamma", "dbeta"}
        dy, x: (N, C) or (N, C, H, W); gamma: (C,). Alg. 1 over each example's group of C/G
        channels and their positions, m = (C/G)·H·W (Wu & He 2018, Sec. 3.1). dx_hat, dx: x's
        shape; dvar, dmean: (N, G), group g of example n at [n, g]; dgamma, dbeta: (C,).

Keys in the order the chain rule computes them: RMSNORM_KEYS, GROUPNORM_KEYS. Each wrong
derivation is a `Wrong`: the function, the first key (in that order) whose value is wrong, the
cause in the paper's symbols, and what a case needs for the slip to show at all (the checker's
cases must include it, or the slip passes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

RMSNORM_KEYS = ("dx_hat", "dms", "dx", "dgamma")
GROUPNORM_KEYS = ("dx_hat", "dvar", "dmean", "dx", "dgamma", "dbeta")


class Wrong(NamedTuple):
    backward: Callable[..., dict[str, np.ndarray]]
    first_wrong: str  # the first key whose value (or shape) is wrong
    cause: str  # what is wrong, in the paper's symbols
    shows_when: str  # what a case needs for it to show


def first_wrong(answer: dict, right: dict, keys: tuple[str, ...]) -> str | None:
    """The first of `keys` whose value in `answer` differs from `right`'s (in shape, or beyond rounding)."""
    for key in keys:
        got, want = np.asarray(answer[key]), np.asarray(right[key])
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-9, atol=1e-12):
            return key
    return None


# ---- RMSNorm (Zhang & Sennrich 2019): the right one, with a knob per slip (all off by default)


def rmsnorm_backward(dy, x, gamma, eps):
    """The right derivation, written out (see the module docstring for shapes)."""
    return _rmsnorm(dy, x, gamma, eps)


def _rmsnorm(dy, x, gamma, eps, eps_in_grad=True, two=2.0, ms_term=True, dgamma_axis=0, center=False, dgamma_x=False):
    C = x.shape[1]
    a = x - x.mean(axis=1, keepdims=True) if center else x  # RMSNorm squares x itself (center: LayerNorm's habit)
    ms = (a**2).mean(axis=1)  # ms = (1/C) Σ_k x_k², one per row
    rms = np.sqrt(ms + eps)[:, None]  # √(ms + ε)
    x_hat = a / rms
    dx_hat = dy * gamma  # ∂ℓ/∂x̂_k = ∂ℓ/∂y_k · γ_k
    # x̂_k = x_k (ms + ε)^(−1/2), so ∂x̂_k/∂ms = −½ x_k (ms + ε)^(−3/2)
    dms = (dx_hat * a).sum(axis=1) * -0.5 * (ms + eps if eps_in_grad else ms) ** -1.5
    # ∂ms/∂x_k = 2x_k / C
    dx = dx_hat / rms + (dms[:, None] * two * a / C if ms_term else 0.0)
    dgamma = (dy * (x if dgamma_x else x_hat)).sum(axis=dgamma_axis)  # Σ over the examples
    return {"dx_hat": dx_hat, "dms": dms, "dx": dx, "dgamma": dgamma}


def _rms(**slip) -> Callable[..., dict[str, np.ndarray]]:
    def rmsnorm_backward(dy, x, gamma, eps):
        return _rmsnorm(dy, x, gamma, eps, **slip)

    return rmsnorm_backward


RMSNORM_WRONG = {
    "ε forgotten in ∂ℓ/∂ms": Wrong(
        _rms(eps_in_grad=False),
        "dms",
        "(ms)^(−3/2) where the derivative of (ms + ε)^(−1/2) gives −½(ms + ε)^(−3/2): ε dropped",
        "ε not ≪ ms (e.g. ε = 1, or x ≈ 1e-3 with ε = 1e-5)",
    ),
    "LayerNorm's habit: x − μ": Wrong(
        _rms(center=True),
        "dms",
        "x_k − μ where RMSNorm has x_k: there is no μ (no re-centering, Sec. 3), so ms = (1/C) Σ x_k², not σ²",
        "rows whose mean is not 0",
    ),
    "the 2 of ∂(x²)/∂x forgotten": Wrong(
        _rms(two=1.0),
        "dx",
        "∂ℓ/∂ms · x_k/C where ∂ms/∂x_k = 2x_k/C: that term off by the factor ½",
        "always",
    ),
    "RMS treated as a constant": Wrong(
        _rms(ms_term=False),
        "dx",
        "missing the term ∂ℓ/∂ms · 2x_k/C: ms depends on x_k too",
        "always",
    ),
    "∂ℓ/∂γ summed over the features": Wrong(
        _rms(dgamma_axis=1),
        "dgamma",
        "Σ_k over each row (axis 1), shape (N,), where ∂ℓ/∂γ_k sums over the examples (axis 0), shape (C,)",
        "N ≠ C (else the shape is right and only the values are wrong)",
    ),
    "∂ℓ/∂γ with x for x̂": Wrong(
        _rms(dgamma_x=True),
        "dgamma",
        "Σ_n ∂ℓ/∂y · x where y = γ x̂ gives Σ_n ∂ℓ/∂y · x̂: the normalization forgotten",
        "ms + ε ≠ 1",
    ),
}


# ---- GroupNorm (Wu & He 2018): the right one, with a knob per slip


def groupnorm_backward(dy, x, gamma, eps, num_groups):
    """The right derivation, written out (see the module docstring for shapes)."""
    return _groupnorm(dy, x, gamma, eps, num_groups)


def _groupnorm(dy, x, gamma, eps, num_groups, stat_groups=None, m_is=None, ddof=0, dmean_term=True, dgamma_axes=None):
    N, C = x.shape[:2]
    G = stat_groups(num_groups, C) if stat_groups else num_groups  # where the statistics are taken
    xg = x.reshape(N, G, -1)  # row [n, g]: example n's group g, its C/G channels then their H·W positions
    m = m_is(xg.shape[2], C, G) if m_is else xg.shape[2]  # m = (C/G)·H·W
    mu = xg.mean(axis=2, keepdims=True)  # eq. 2: μ over the group's set S_i
    var = xg.var(axis=2, ddof=ddof, keepdims=True)  # σ², biased (1/m) as Alg. 1
    xmu = xg - mu
    inv_std = 1.0 / np.sqrt(var + eps)
    dx_hat = dy * gamma.reshape(C, *[1] * (x.ndim - 2))  # each entry's own channel's γ_k
    d = dx_hat.reshape(N, G, -1)
    dvar = (d * xmu).sum(axis=2) * -0.5 * (var[..., 0] + eps) ** -1.5  # (N, G)
    dmean = (d * -inv_std).sum(axis=2) + dvar * (-2.0 * xmu).sum(axis=2) / m
    dx = d * inv_std + dvar[..., None] * 2.0 * xmu / m + (dmean[..., None] / m if dmean_term else 0.0)
    x_hat = (xmu * inv_std).reshape(x.shape)
    axes = dgamma_axes(x) if dgamma_axes else (0, *range(2, x.ndim))  # over the examples and positions
    return {
        "dx_hat": dx_hat,
        "dvar": dvar,
        "dmean": dmean,
        "dx": dx.reshape(x.shape),
        "dgamma": (dy * x_hat).sum(axis=axes),
        "dbeta": dy.sum(axis=axes),
    }


def _gn(**slip) -> Callable[..., dict[str, np.ndarray]]:
    def groupnorm_backward(dy, x, gamma, eps, num_groups):
        return _groupnorm(dy, x, gamma, eps, num_groups, **slip)

    return groupnorm_backward


GROUPNORM_WRONG = {
    "LayerNorm's statistics: groups ignored": Wrong(
        _gn(stat_groups=lambda g, c: 1),
        "dvar",
        "μ, σ² over all C channels of an example (LayerNorm), shape (N, 1), where GroupNorm takes them per group "
        "of C/G channels, shape (N, G) (Wu & He, eq. 7)",
        "G > 1",
    ),
    "InstanceNorm's statistics: one per channel": Wrong(
        _gn(stat_groups=lambda g, c: c),
        "dvar",
        "μ, σ² per channel, shape (N, C), where a group holds C/G channels, shape (N, G)",
        "G < C",
    ),
    "the unbiased variance": Wrong(
        _gn(ddof=1),
        "dvar",
        "σ² with 1/(m − 1) (np.var(ddof=1), torch.var's default) where Alg. 1 and GroupNorm divide by m",
        "always (most when m is small)",
    ),
    "m = C/G: the positions forgotten": Wrong(
        _gn(m_is=lambda m, c, g: c // g),
        "dx",
        "the terms ∂ℓ/∂σ² · 2(x_i − μ)/m and ∂ℓ/∂μ/m with m = C/G where the group has m = (C/G)·H·W entries",
        "(N, C, H, W) with H·W > 1 (on (N, C) m = C/G is right)",
    ),
    "∂ℓ/∂μ · 1/m dropped": Wrong(
        _gn(dmean_term=False),
        "dx",
        "missing the term ∂ℓ/∂μ · 1/m of ∂ℓ/∂x_i",
        "always",
    ),
    "∂ℓ/∂γ, ∂ℓ/∂β summed over the examples only": Wrong(
        _gn(dgamma_axes=lambda x: 0),
        "dgamma",
        "Σ over axis 0 only, shape (C, H, W), where γ_k and β_k serve every example and position: Σ over n, h, w",
        "(N, C, H, W) (on (N, C) axis 0 is all there is)",
    ),
}
