"""The norms as data: Alg. 1 over the batch (BatchNorm), over each example's features (LayerNorm;
RMSNorm without μ), over each example's groups of channels (GroupNorm).

A `Norm` names the learner's function and its quantities in the paper's symbols, builds the
engine's layer, and points at its closed form in `reference` (forward, terms, the terms'
names): `compare` sets the layer's autodiff beside that closed form, `check` grades a
learner's backward against it.

>>> NORMS["groupnorm"].signature, NORMS["rmsnorm"].symbol("dx"), NORMS["batchnorm"].symbol("dvar")
('groupnorm_backward(dy, x, gamma, eps, num_groups)', '∂ℓ/∂x_k', '∂ℓ/∂σ²_B')

References: Ioffe & Szegedy, arXiv 1502.03167, Alg. 1, Sec. 3, Sec. 3.2; Ba et al., arXiv
1607.06450 (LayerNorm); Zhang & Sennrich 2019, eq. 4 (RMSNorm); Wu & He 2018, Sec. 3.1 (GroupNorm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import reference
from .batchnorm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm

KEYS = ("dx_hat", "dvar", "dmean", "dx", "dgamma", "dbeta")  # Sec. 3's order
STATISTICS = ("dvar", "dmean", "dms")  # one per statistic of Alg. 1 (RMSNorm's ms: its mean square)
SYMBOLS = {
    "dx_hat": "∂ℓ/∂x̂_{i}",
    "dvar": "∂ℓ/∂σ²{B}",
    "dms": "∂ℓ/∂ms",
    "dmean": "∂ℓ/∂μ{B}",
    "dx": "∂ℓ/∂x_{i}",
    "dgamma": "∂ℓ/∂γ",
    "dbeta": "∂ℓ/∂β",
}


@dataclass(frozen=True)
class Norm:
    """One norm: the learner's function, the axis Alg. 1 sums over, the symbols, the layer autodiff
    builds, the closed form (forward, terms with their names) and the quantities."""

    name: str
    function: str
    axis: int  # Alg. 1's statistics: over the batch (0, BatchNorm) or within each example (1)
    words: dict[str, str]  # fills the {B}, {i}, {m} of the equations; what Σ runs over; var: the root's statistic
    layer: Callable[..., Any]  # (x's shape, ε, *args) -> the engine's layer
    forward: Callable[..., dict[str, np.ndarray]]  # (x, gamma, beta, eps, *args) -> y and the statistics
    terms: Callable[..., dict[str, list[np.ndarray]]]  # (dy, x, gamma, eps, *args, given=, **model) -> terms
    term_names: Mapping[str, tuple[str, ...]]  # the terms' names, from reference
    keys: tuple[str, ...] = KEYS
    params: tuple[str, ...] = ()  # the arguments after eps: GroupNorm's num_groups

    @property
    def signature(self) -> str:
        return f"{self.function}({', '.join(('dy', 'x', 'gamma', 'eps', *self.params))})"

    def symbol(self, key: str) -> str:
        return SYMBOLS[key].format(**self.words)

    def equation_terms(self, key: str) -> list[str]:
        return [t.format(**self.words) for t in self.term_names[key]]

    def statistic(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, *args) -> np.ndarray:
        """σ²_B (RMSNorm: ms), one per group of Alg. 1."""
        return self.forward(x, gamma, beta, eps, *args)["ms" if "dms" in self.keys else "var"]

    def count(self, key: str, x: np.ndarray, *args) -> tuple[str, float]:
        """How many entries the quantity's Σ adds up, and its symbol: m (BatchNorm, GroupNorm); C or N (LayerNorm)."""
        if key in ("dgamma", "dbeta") and self.axis == 1:  # γ and β sum over the examples (and positions)
            return "N·H·W" if self.params else "N", x.size / x.shape[1]
        groups = x.shape[1] if self.axis == 0 else x.shape[0] * (args[0] if args else 1)
        return self.words["m"], x.size / groups

    def sums_over(self, key: str) -> tuple[int, str]:
        """The axis Sec. 3's Σ runs over for a per-feature or per-example quantity, and it in words."""
        if key in STATISTICS:
            return self.axis, self.words["over"]
        return 0, self.words["params_over"]


NORMS = {
    "batchnorm": Norm(
        "BatchNorm",
        "batchnorm_backward",
        0,
        {"B": "_B", "i": "i", "m": "m", "over": "the batch", "params_over": "the batch", "var": "σ²_B"},
        lambda shape, eps: (BatchNorm2d if len(shape) == 4 else BatchNorm1d)(shape[1], eps=eps),
        reference.forward_train,
        reference.sec3_terms,
        reference.SEC3_TERM_NAMES,
    ),
    "layernorm": Norm(  # LayerNorm normalizes each of the N rows over its C features: C plays m's part
        "LayerNorm",
        "layernorm_backward",
        1,
        {"B": "", "i": "j", "m": "C", "over": "each example's features", "params_over": "the examples", "var": "σ²"},
        lambda shape, eps: LayerNorm(shape[1], eps=eps),
        reference.layer_norm_forward,
        reference.layer_norm_terms,
        reference.SEC3_TERM_NAMES,
    ),
    "rmsnorm": Norm(  # RMSNorm: LayerNorm's rows without μ and β; the statistic is ms = (1/C) Σ_k x_k²
        "RMSNorm",
        "rmsnorm_backward",
        1,
        {"B": "", "i": "k", "m": "C", "over": "each example's features", "params_over": "the examples", "var": "ms"},
        lambda shape, eps: RMSNorm(shape[1], eps=eps),
        lambda x, gamma, beta, eps: reference.rms_norm_forward(x, gamma, eps),
        reference.rms_norm_terms,
        reference.RMS_NORM_TERM_NAMES,
        ("dx_hat", "dms", "dx", "dgamma"),
    ),
    "groupnorm": Norm(  # GroupNorm: Alg. 1 over each example's group of C/G channels and their positions
        "GroupNorm",
        "groupnorm_backward",
        1,
        {
            "B": "",
            "i": "i",
            "m": "m",
            "over": "each example's group of C/G channels",
            "params_over": "the examples and positions",
            "var": "σ²",
        },
        lambda shape, eps, num_groups: GroupNorm(num_groups, shape[1], eps=eps),
        reference.group_norm_forward,
        reference.group_norm_terms,
        reference.SEC3_TERM_NAMES,
        params=("num_groups",),
    ),
}
