"""Batch Normalization written with engine primitives, one line per step of Alg. 1.

Training mode builds Alg. 1 as a labelled graph, so its gradients (Sec. 3) arise from
`backward()`; evaluation mode applies Alg. 2's fixed affine map with population
statistics. Names follow `torch.nn.BatchNorm1d/2d`: `weight` is γ, `bias` is β.

References: Ioffe & Szegedy, "Batch Normalization", arXiv 1502.03167: Alg. 1 (training
transform), Alg. 2 (inference), Sec. 3.2 (per-feature-map BN for convolutions).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

from .engine import Value
from .nn import Module, check_batch

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _labelled(v: Value, label: str) -> Value:
    v.label = label
    return v


@dataclass
class Alg1Nodes:
    """The nodes of Alg. 1 for one feature k, as built by the last training forward."""

    x: list[Value | float]  # x_i, the inputs
    mean: Value  # μ_B (line 1)
    deviation: list[Value]  # x_i − μ_B
    var: Value  # σ²_B (line 2)
    std: Value  # √(σ²_B + ε)
    x_hat: list[Value]  # x̂_i (line 3)
    y: list[Value]  # y_i = γ x̂_i + β (line 4)


def normalize_feature(xs: list, gamma: Value | None, beta: Value | None, eps: float, k: str = "") -> Alg1Nodes:
    """Alg. 1 on the m values of one feature: every intermediate is a labelled node.

    `k` is appended to each label (the paper's superscript ⁽ᵏ⁾ for feature k).
    Raises ValueError when σ²_B + ε = 0 (a constant feature with eps = 0).

    >>> nodes = normalize_feature([Value(1.0), Value(2.0), Value(3.0)], None, None, eps=0.0)
    >>> round(nodes.var.data, 6), [round(v.data, 4) for v in nodes.x_hat]
    (0.666667, [-1.2247, 0.0, 1.2247])
    """
    m, names = len(xs), _labels(len(xs), k)
    # Alg. 1, line 1: μ_B = (1/m) Σ x_i
    mean = _labelled(_labelled(Value.sum(xs), f"Σx_i{k}") / m, f"μ_B{k}")
    # line 2: σ²_B = (1/m) Σ (x_i − μ_B)²  (biased: 1/m)
    dev = [_labelled(x - mean, name) for x, name in zip(xs, names["dev"])]
    squares = [_labelled(d**2, name) for d, name in zip(dev, names["square"])]
    var = _labelled(_labelled(Value.sum(squares), f"Σ(x_i{k}−μ_B)²") / m, f"σ²_B{k}")
    if var.data + eps <= 0.0:
        raise ValueError(
            f"σ²_B + ε = 0 for feature{k or ' 0'}: the batch is constant and eps = {eps!r}, so x̂ = 0/0; "
            "use eps > 0 (e.g. 1e-5)"
        )
    # line 3: x̂_i = (x_i − μ_B) / √(σ²_B + ε)
    std = _labelled(_labelled(var + eps, f"σ²_B{k}+ε").sqrt(), f"√(σ²_B{k}+ε)")
    x_hat = [_labelled(d / std, name) for d, name in zip(dev, names["x_hat"])]
    if gamma is None:  # affine=False: y_i = x̂_i
        y = x_hat
    else:  # line 4: y_i = γ x̂_i + β
        y = [
            _labelled(_labelled(gamma * xh, scaled) + beta, name)
            for xh, scaled, name in zip(x_hat, names["scaled"], names["y"])
        ]
    return Alg1Nodes(list(xs), mean, dev, var, std, x_hat, y)


@functools.lru_cache(maxsize=1024)
def _labels(m: int, k: str) -> dict[str, tuple[str, ...]]:
    """The per-example labels of feature k (x₁ … x_m: the paper counts from 1), made once per shape."""
    idx = [str(i + 1).translate(_SUB) for i in range(m)]
    return {
        "dev": tuple(f"x{i}{k}−μ_B" for i in idx),
        "square": tuple(f"(x{i}{k}−μ_B)²" for i in idx),
        "x_hat": tuple(f"x̂{i}{k}" for i in idx),
        "scaled": tuple(f"γx̂{i}{k}" for i in idx),
        "y": tuple(f"y{i}{k}" for i in idx),
    }


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; subclasses say how a batch splits into features."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"num_features must be a positive int, got {num_features!r}")
        if isinstance(eps, bool) or not isinstance(eps, Real) or not (eps >= 0 and math.isfinite(eps)):
            raise ValueError(f"eps must be a finite number ≥ 0, got {eps!r}")
        if momentum is not None and (not isinstance(momentum, Real) or not 0 <= momentum <= 1):
            raise ValueError(f"momentum must be in [0, 1] or None (cumulative average), got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        sup = (lambda k: f"⁽{str(k).translate(_SUP)}⁾") if num_features > 1 else (lambda k: "")
        self._suffix = [sup(k) for k in range(num_features)]
        # γ starts at 1 and β at 0, so the layer starts as the plain normalization.
        self.weight = [Value(1.0, f"γ{s}") for s in self._suffix] if affine else None
        self.bias = [Value(0.0, f"β{s}") for s in self._suffix] if affine else None
        self.running_mean = self.running_var = self.num_batches_tracked = None
        self.reset_running_stats()
        self.last: list[Alg1Nodes] = []  # Alg. 1's nodes per feature, from the last batch-statistics forward

    def reset_running_stats(self) -> None:
        """Forget the population statistics: running_mean 0, running_var 1, no batches seen."""
        if self.track_running_stats:
            c = self.num_features
            self.running_mean, self.running_var, self.num_batches_tracked = [0.0] * c, [1.0] * c, 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.num_features}, eps={self.eps:g}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats})"
        )

    # Subclasses: a batch -> one list of m values per feature, and back.
    def _split(self, batch: Any) -> list[list]:
        raise NotImplementedError

    def _merge(self, batch: Any, columns: list[list[Value]]) -> list:
        raise NotImplementedError

    def forward(self, batch: Any) -> list:
        columns = self._split(batch)
        if self.training or not self.track_running_stats:
            m = len(columns[0])
            if m < 2:
                raise ValueError(
                    f"{type(self).__name__}: expected more than 1 value per channel when using batch statistics "
                    f"(training), got {m}; use a batch of at least 2, or call .eval() for inference"
                )
            gammas = self.weight or [None] * self.num_features
            betas = self.bias or [None] * self.num_features
            nodes = [
                normalize_feature(col, g, b, self.eps, s) for col, g, b, s in zip(columns, gammas, betas, self._suffix)
            ]
            if self.training and self.track_running_stats:
                self._update_running_stats(nodes, m)  # only after every feature succeeded
            self.last = nodes
            return self._merge(batch, [n.y for n in nodes])
        return self._merge(batch, [self._infer(col, k) for k, col in enumerate(columns)])

    def _update_running_stats(self, nodes: list[Alg1Nodes], m: int) -> None:
        """running ← (1 − momentum)·running + momentum·batch statistic, as PyTorch does.

        NB: PyTorch (and this layer) keeps an exponential moving average with the unbiased
        m/(m−1)·σ²_B; with momentum=None the factor is 1/(batches seen), which gives the
        paper's Alg. 2 population statistics E_B[μ_B] and m/(m−1)·E_B[σ²_B] exactly.
        """
        self.num_batches_tracked += 1
        f = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        for k, n in enumerate(nodes):
            self.running_mean[k] = (1 - f) * self.running_mean[k] + f * n.mean.data
            self.running_var[k] = (1 - f) * self.running_var[k] + f * n.var.data * m / (m - 1)

    def folded(self) -> list[tuple[float, float]]:
        """Alg. 2, line 11: inference is y = scale·x + shift per feature; returns (scale, shift).

        scale = γ/√(Var[x]+ε), shift = β − γ·E[x]/√(Var[x]+ε), from the running statistics.
        """
        if not self.track_running_stats:
            raise ValueError("folded(): this layer has track_running_stats=False, so no population statistics")
        out = []
        for k in range(self.num_features):
            gamma = self.weight[k].data if self.affine else 1.0
            beta = self.bias[k].data if self.affine else 0.0
            scale = gamma / math.sqrt(self.running_var[k] + self.eps)
            out.append((scale, beta - scale * self.running_mean[k]))
        return out

    def _infer(self, xs: list, k: int) -> list[Value]:
        """Alg. 2, line 11 as a graph: y = γ/√(Var[x]+ε)·x + (β − γE[x]/√(Var[x]+ε))."""
        inv_std = 1.0 / math.sqrt(self.running_var[k] + self.eps)  # constants: no gradient
        s = self._suffix[k]
        if self.affine:
            scale = _labelled(self.weight[k] * inv_std, f"γ/√(Var[x]{s}+ε)")
            shift = _labelled(self.bias[k] - scale * self.running_mean[k], f"β−γE[x]{s}/√(Var[x]+ε)")
        else:
            scale, shift = inv_std, -inv_std * self.running_mean[k]
        out = []
        for x, name in zip(xs, _labels(len(xs), s)["y"]):
            y = scale * x + shift
            out.append(_labelled(y if isinstance(y, Value) else Value(y), name))
        return out

    def graph_groups(self) -> dict[str, list[Value]]:
        """Alg. 1's steps as {cluster label: nodes}, from the last training forward, for `draw(groups=...)`.

        >>> bn = BatchNorm1d(1); y = bn([[1.0], [2.0], [4.0]])
        >>> for name, nodes in bn.graph_groups().items():
        ...     print(f"{name} ({len(nodes)} nodes)")
        Alg. 1 line 1: mini-batch mean μ_B (2 nodes)
        Alg. 1 line 2: mini-batch variance σ²_B (8 nodes)
        Alg. 1 line 3: normalize x̂_i (5 nodes)
        Alg. 1 line 4: scale and shift y_i = γx̂_i + β (8 nodes)
        """
        if not self.last:
            raise ValueError(f"{type(self).__name__}.graph_groups(): no Alg. 1 graph yet; call it in training mode")
        groups: dict[str, list[Value]] = {}
        for k, n in enumerate(self.last):
            s = self._suffix[k]
            total = n.var.inputs[0]  # Σ_i (x_i − μ_B)², whose inputs are the squared deviations
            groups[f"Alg. 1 line 1: mini-batch mean μ_B{s}"] = [n.mean.inputs[0], n.mean]  # Σ_i x_i, then ÷ m
            groups[f"Alg. 1 line 2: mini-batch variance σ²_B{s}"] = [*n.deviation, *total.inputs, total, n.var]
            groups[f"Alg. 1 line 3: normalize x̂_i{s}"] = [n.std.inputs[0], n.std, *n.x_hat]  # σ²_B + ε, √, ÷
            if self.affine:
                scale_shift = [self.weight[k], self.bias[k], *(y.inputs[0] for y in n.y), *n.y]  # γ, β, γx̂_i, y_i
                groups[f"Alg. 1 line 4: scale and shift y_i = γx̂_i + β{s}"] = scale_shift
        return groups


def _check_entry(x: Any, where: str) -> None:
    if type(x) is not Value and (isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x)):
        raise ValueError(f"{where}: entries must be Values or finite real numbers, got {type(x).__name__} {x!r}")


class BatchNorm1d(_BatchNorm):
    """Batch Normalization over a batch of feature vectors, shape (N, C) (Alg. 1 and 2).

    `weight` is γ and `bias` is β (one per feature); `running_mean`/`running_var` are
    the population statistics used by `eval()`.

    >>> bn = BatchNorm1d(2)
    >>> y = bn([[1.0, 10.0], [3.0, 30.0]])
    >>> [[round(v.data, 3) for v in row] for row in y]
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> [round(v, 6) for v in bn.running_mean], [round(v, 6) for v in bn.running_var]
    ([0.2, 2.0], [1.1, 20.9])
    """

    def _split(self, batch: Any) -> list[list]:
        c = self.num_features
        check_batch(batch, c, f"BatchNorm1d({c}) expects shape (N, {c})")
        for row in batch:
            for x in row:
                _check_entry(x, "BatchNorm1d")
        return [list(col) for col in zip(*batch)]

    def _merge(self, batch: Any, columns: list[list[Value]]) -> list:
        return [list(row) for row in zip(*columns)]


class BatchNorm2d(_BatchNorm):
    """Per-feature-map Batch Normalization, shape (N, C, H, W) (Sec. 3.2).

    Each channel is normalized jointly over the batch and both spatial axes, so the
    effective mini-batch is m' = N·H·W, with one γ and β per channel.

    >>> bn = BatchNorm2d(1)
    >>> y = bn([[[[0.0, 2.0]]], [[[4.0, 6.0]]]])  # N=2, C=1, H=1, W=2: m' = 4
    >>> [round(v.data, 4) for v in (y[0][0][0] + y[1][0][0])]
    [-1.3416, -0.4472, 0.4472, 1.3416]
    """

    def _split(self, batch: Any) -> list[list]:
        c = self.num_features
        where = f"BatchNorm2d({c}) expects shape (N, {c}, H, W)"
        check_batch(batch, c, where)
        h = len(batch[0][0]) if isinstance(batch[0][0], (list, tuple)) else 0
        w = len(batch[0][0][0]) if h and isinstance(batch[0][0][0], (list, tuple)) else 0
        if not (h and w):
            raise ValueError(f"{where}: each channel must be an H × W list of rows, got {batch[0][0]!r:.60}")
        columns: list[list] = [[] for _ in range(c)]
        for n, sample in enumerate(batch):
            for k, plane in enumerate(sample):
                check_batch(plane, w, f"{where}: sample {n}, channel {k} must be {h} × {w}")
                if len(plane) != h:
                    raise ValueError(f"{where}: sample {n}, channel {k} has {len(plane)} rows, expected H = {h}")
                for row in plane:
                    for x in row:
                        _check_entry(x, "BatchNorm2d")
                    columns[k].extend(row)
        return columns

    def _merge(self, batch: Any, columns: list[list[Value]]) -> list:
        h, w = len(batch[0][0]), len(batch[0][0][0])
        per_sample = h * w
        return [
            [[col[n * per_sample + r * w : n * per_sample + (r + 1) * w] for r in range(h)] for col in columns]
            for n in range(len(batch))
        ]
