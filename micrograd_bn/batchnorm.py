"""Batch Normalization written with engine primitives, one line per step of Alg. 1.

Training mode builds Alg. 1 as a labelled graph, so its gradients (Sec. 3) arise from
`backward()`; evaluation mode applies Alg. 2's inference transform with population
statistics, computed as γ·(x − E[x])/√(Var[x]+ε) + β (`folded()` gives the same map as
scale·x + shift, to deploy). Names follow `torch.nn.BatchNorm1d/2d`: `weight` is γ, `bias`
is β. `LayerNorm` runs the same Alg. 1 code over each example's features instead, `RMSNorm`
the same without line 1 (no μ: the statistic is the mean square), `GroupNorm` over each
example's channels of one group (and their positions in the H × W plane).

Labels, one rule everywhere: an entry of example n and feature k is x with n as a
subscript (from 1, as the paper counts) and ⁽ᵏ⁾ as a superscript (from 0, as γ⁽ᵏ⁾;
BatchNorm drops it when there is one feature), e.g. x₁⁽²⁾; every node made from that
entry carries the same indices (x₁⁽²⁾−μ_B⁽²⁾, x̂₁⁽²⁾, γ⁽²⁾x̂₁⁽²⁾, y₁⁽²⁾) and every
statistic its group's index (BatchNorm's μ_B⁽²⁾, σ²_B⁽²⁾ of feature 2; LayerNorm's μ₁,
σ²₁ of example 1; GroupNorm's μ₁⁽ᵍ⁰⁾, σ²₁⁽ᵍ⁰⁾ of example 1, group 0, groups counted from 0 as
channels are). On (N, C, H, W), GroupNorm's entries add their position p in the H × W plane
(row-major, from 1) after a comma: x₁,₃⁽²⁾. RMSNorm has no μ: its statistic is RMS²₁, the
mean square of example 1 (Zhang & Sennrich's RMS(a), squared), its entries square x₁⁽²⁾
itself, (x₁⁽²⁾)², and without β its y₁⁽²⁾ is γ⁽²⁾x̂₁⁽²⁾.

References: Ioffe & Szegedy, "Batch Normalization", arXiv 1502.03167: Alg. 1 (training
transform), Alg. 2 (inference), Sec. 3.2 (per-feature-map BN for convolutions); Ba, Kiros
& Hinton, "Layer Normalization", arXiv 1607.06450, Sec. 3; Zhang & Sennrich, "Root Mean Square
Layer Normalization", arXiv 1910.07467, Sec. 3 (eq. 4); Wu & He, "Group Normalization", arXiv
1803.08494, Sec. 3.1 (eqs. 1, 2 and 6: Alg. 1 over a set S_i; eq. 7: GroupNorm's S_i).
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

from .engine import Value
from .nn import Module, check_batch
from .text import SUBSCRIPT, SUPERSCRIPT


@dataclass
class Alg1Nodes:
    """The nodes of Alg. 1 for one group of m values (a feature, an example, or an example's group of channels),
    as built by the last forward. RMSNorm's (`center=False`) have no line 1: no Σ x_i, μ_B or x_i − μ_B."""

    x: list[Value | float]  # x_i, the inputs
    sum_x: Value | None  # Σ x_i (None: RMSNorm)
    mean: Value | None  # μ_B (line 1; None: RMSNorm)
    deviation: list[Value]  # x_i − μ_B (empty: RMSNorm)
    square: list[Value]  # (x_i − μ_B)²; RMSNorm: x_i²
    sum_squares: Value  # Σ (x_i − μ_B)²; RMSNorm: Σ x_i²
    var: Value  # σ²_B (line 2); RMSNorm: the mean square RMS² = (1/m) Σ x_i²
    var_eps: Value  # σ²_B + ε
    std: Value  # √(σ²_B + ε)
    x_hat: list[Value]  # x̂_i (line 3)
    scaled: list[Value]  # γx̂_i (line 4; empty without γ)
    y: list[Value]  # y_i = γ x̂_i + β (line 4; γx̂_i itself without β, as `scaled`; x̂_i without γ and β)


@dataclass(frozen=True)
class Alg1Labels:
    """One group's labels, field for field as `Alg1Nodes` (a tuple holds entry i's at i; see the
    module docstring; made by `alg1_labels`), and the group's name for messages."""

    sum_x: str  # Σx_i⁽²⁾, the sum under μ_B (BatchNorm's feature 2)
    mean: str  # μ_B⁽²⁾, μ₁ (LayerNorm's example 1); "" for RMSNorm
    deviation: tuple[str, ...]  # x₁⁽²⁾−μ_B⁽²⁾, …
    square: tuple[str, ...]  # (x₁⁽²⁾−μ_B⁽²⁾)², …
    sum_squares: str  # Σ(x_i⁽²⁾−μ_B⁽²⁾)², the sum under σ²_B
    var: str  # σ²_B⁽²⁾, σ²₁; RMS²₁ (RMSNorm's mean square)
    var_eps: str  # σ²_B⁽²⁾+ε
    std: str  # √(σ²_B⁽²⁾+ε)
    x_hat: tuple[str, ...]  # x̂₁⁽²⁾, …
    scaled: tuple[str, ...]  # γ⁽²⁾x̂₁⁽²⁾, …
    y: tuple[str, ...]  # y₁⁽²⁾, …
    each: str  # what stands for every entry under a Σ: "_i⁽²⁾", "₁⁽ᵏ⁾"
    group: str  # for messages: "BatchNorm1d(3), feature 2"


def alg1_labels(
    stat: str, each: str, index: Sequence[str], feature: Sequence[str], group: str, center: bool = True
) -> Alg1Labels:
    """The labels of a group whose statistics carry `stat` ("_B⁽²⁾", "₁") and whose entry i is
    x{index[i]}, scaled by γ{feature[i]}.

    `center=False` (RMSNorm) has no μ: the statistic is the mean square RMS², and entry i's
    "deviation" is x_i itself, labelled as the entry (a number given as input becomes a leaf so named).

    >>> labels = alg1_labels("_B⁽²⁾", "_i⁽²⁾", ["₁⁽²⁾", "₂⁽²⁾"], ["⁽²⁾", "⁽²⁾"], "feature 2")
    >>> labels.var, labels.deviation[0], labels.scaled[1]
    ('σ²_B⁽²⁾', 'x₁⁽²⁾−μ_B⁽²⁾', 'γ⁽²⁾x̂₂⁽²⁾')
    >>> rms = alg1_labels("₁", "₁⁽ᵏ⁾", ["₁⁽⁰⁾", "₁⁽¹⁾"], ["⁽⁰⁾", "⁽¹⁾"], "example 1", center=False)
    >>> rms.var, rms.sum_squares, rms.std, rms.square[1]
    ('RMS²₁', 'Σ(x₁⁽ᵏ⁾)²', '√(RMS²₁+ε)', '(x₁⁽¹⁾)²')
    """
    mu, sigma2 = (f"μ{stat}", f"σ²{stat}") if center else ("", f"RMS²{stat}")
    minus = f"−{mu}" if center else ""  # x_i − μ, or x_i itself
    return Alg1Labels(
        sum_x=f"Σx{each}",
        mean=mu,
        deviation=tuple(f"x{i}{minus}" for i in index),
        square=tuple(f"(x{i}{minus})²" for i in index),
        sum_squares=f"Σ(x{each}{minus})²",
        var=sigma2,
        var_eps=f"{sigma2}+ε",
        std=f"√({sigma2}+ε)",
        x_hat=tuple(f"x̂{i}" for i in index),
        scaled=tuple(f"γ{k}x̂{i}" for i, k in zip(index, feature)),
        y=tuple(f"y{i}" for i in index),
        each=each,
        group=group,
    )


def normalize(
    xs: list,
    gammas: Sequence[Value] | None,
    betas: Sequence[Value] | None,
    eps: float,
    labels: Alg1Labels,
    center: bool = True,
) -> Alg1Nodes:
    """Alg. 1 on m values, each node named with the paper's symbol where it is made.

    BatchNorm passes one feature over the mini-batch, with the same γ and β for every
    entry; LayerNorm one example over its features, and GroupNorm one example's channels of
    a group, with entry i's own γ and β. `gammas`/`betas` None gives y_i = x̂_i; `betas`
    None alone gives y_i = γx̂_i (RMSNorm). `center=False` (RMSNorm, Zhang & Sennrich 2019,
    eq. 4) skips line 1 and the subtraction: line 2's statistic is then the mean square
    RMS² = (1/m) Σ x_i², and x̂_i = x_i / √(RMS² + ε). Raises ValueError when a statistic is
    not finite (a NaN or inf arrived from upstream) or σ²_B + ε = 0 (constant values, eps = 0).

    >>> labels = alg1_labels("_B", "_i", ["₁", "₂", "₃"], ["", "", ""], "one feature")
    >>> nodes = normalize([Value(1.0), Value(2.0), Value(3.0)], None, None, 0.0, labels)
    >>> round(nodes.var.data, 6), [round(v.data, 4) for v in nodes.x_hat], nodes.deviation[0].label
    (0.666667, [-1.2247, 0.0, 1.2247], 'x₁−μ_B')
    >>> rms = alg1_labels("₁", "₁⁽ᵏ⁾", ["₁⁽⁰⁾", "₁⁽¹⁾"], ["⁽⁰⁾", "⁽¹⁾"], "example 1", center=False)
    >>> nodes = normalize([3.0, 4.0], None, None, 0.0, rms, center=False)
    >>> nodes.var.data, [round(v.data, 4) for v in nodes.x_hat], nodes.mean, nodes.square[1].label
    (12.5, [0.8485, 1.1314], None, '(x₁⁽¹⁾)²')
    """
    m = len(xs)
    sum_x = mean = None
    if center:
        sum_x = _named(Value.sum(xs), labels.sum_x)
        mean = _named(sum_x / m, labels.mean)  # Alg. 1, line 1: μ_B = (1/m) Σ x_i
        deviation = _named_each([x - mean for x in xs], labels.deviation)
    else:  # RMSNorm: no line 1, x_i itself is squared (a number becomes a leaf, named as the entry)
        deviation = [x if isinstance(x, Value) else _named(Value(x), name) for x, name in zip(xs, labels.deviation)]
    square = _named_each([d**2 for d in deviation], labels.square)
    sum_squares = _named(Value.sum(square), labels.sum_squares)
    var = _named(sum_squares / m, labels.var)  # line 2: σ²_B = (1/m) Σ (x_i − μ_B)² (biased: 1/m); RMS² without μ
    _check_statistics(mean, var, eps, labels)
    var_eps = _named(var + eps, labels.var_eps)
    std = _named(var_eps.sqrt(), labels.std)
    x_hat = _named_each([d / std for d in deviation], labels.x_hat)  # line 3: x̂_i = (x_i − μ_B) / √(σ²_B + ε)
    scaled, y = [], x_hat  # no γ, β: y_i = x̂_i
    if gammas is not None:  # without β (RMSNorm) γx̂_i is y_i, and named so
        names = labels.scaled if betas is not None else labels.y
        scaled = y = _named_each([g * xh for g, xh in zip(gammas, x_hat)], names)
    if gammas is not None and betas is not None:
        y = _named_each([s + b for s, b in zip(scaled, betas)], labels.y)  # line 4: y_i = γ x̂_i + β
    deviation = deviation if center else []
    return Alg1Nodes(list(xs), sum_x, mean, deviation, square, sum_squares, var, var_eps, std, x_hat, scaled, y)


def _named(v: Value, label: str) -> Value:
    """`v`, labelled with the paper's symbol."""
    v.label = label
    return v


def _named_each(nodes: list[Value], labels: Sequence[str]) -> list[Value]:
    """`nodes`, node i labelled labels[i] (one loop, not a call a node: 15% off making them)."""
    for v, label in zip(nodes, labels):
        v.label = label
    return nodes


def _check_statistics(mean: Value | None, var: Value, eps: float, labels: Alg1Labels) -> None:
    stats = {labels.mean: mean, labels.var: var} if mean is not None else {labels.var: var}  # RMSNorm: no μ
    if not all(math.isfinite(v.data) for v in stats.values()):
        said = ", ".join(f"{name} = {v.data!r}" for name, v in stats.items())
        raise ValueError(
            f"{labels.group}: {said} {'are' if len(stats) > 1 else 'is'} not finite: an input Value is "
            "NaN or infinite; find where it became so in the layers before"
        )
    if var.data + eps <= 0.0:
        values = "constant" if mean is not None else "all 0"
        raise ValueError(
            f"{labels.group}: {labels.var} + ε = 0: the values are {values} and eps = {eps!r}, so x̂ = 0/0; "
            "use eps > 0 (e.g. 1e-5)"
        )


def _example(n: int) -> str:
    """Row n's subscript, counted from 1 as the paper counts examples: 0 → "₁"."""
    return str(n + 1).translate(SUBSCRIPT)


def _feature(k: int) -> str:
    """Feature k's superscript, counted from 0 as γ⁽ᵏ⁾ is: 2 → "⁽²⁾"."""
    return f"⁽{str(k).translate(SUPERSCRIPT)}⁾"


# The labels depend only on the layer's shape, so they are made once per shape and reused: made anew,
# a BatchNorm1d(16) forward on 32 examples takes 1.25× as long (Python engine), 1.6× (compiled).
@functools.lru_cache(maxsize=256)
def _batchnorm_labels(layer: str, s: str, k: int, m: int) -> Alg1Labels:
    """BatchNorm feature k (superscript `s`, "" for a layer of one feature) over a mini-batch of m."""
    return alg1_labels(f"_B{s}", f"_i{s}", [_example(n) + s for n in range(m)], [s] * m, f"{layer}, feature {k}")


@functools.lru_cache(maxsize=256)
def _row_labels(layer: str, c: int, n: int, center: bool) -> Alg1Labels:
    """LayerNorm (or RMSNorm, `center=False`) over C = c features, example n (row n, subscript n + 1)."""
    e, features = _example(n), [_feature(k) for k in range(c)]
    group = f"{layer}({c}), example {n + 1} (row {n})"
    return alg1_labels(e, f"{e}⁽ᵏ⁾", [e + k for k in features], features, group, center)


@functools.lru_cache(maxsize=256)
def _group_labels(layer: str, per: int, g: int, n: int, positions: int) -> Alg1Labels:
    """GroupNorm's group g (its `per` channels g·per, …) of example n: statistics μₙ⁽ᵍᵍ⁾; entries
    xₙ⁽ᵏ⁾ on (N, C) (`positions` 0), xₙ,ₚ⁽ᵏ⁾ at position p (from 1) of the H × W plane on (N, C, H, W)."""
    e, at = _example(n), [f",{_example(p)}" for p in range(positions)] or [""]
    channels = [_feature(k) for k in range(g * per, (g + 1) * per)]
    index, feature = [e + p + k for k in channels for p in at], [k for k in channels for _ in at]
    group = f"ᵍ{str(g).translate(SUPERSCRIPT)}"
    each = f"{e},ₚ⁽ᵏ∈{group}⁾" if positions else f"{e}⁽ᵏ∈{group}⁾"  # under a Σ: every channel k of group g
    return alg1_labels(f"{e}⁽{group}⁾", each, index, feature, f"{layer}, example {n + 1} (row {n}), group {g}")


def _alg1_groups(
    n: Alg1Nodes, over: str, labels: Alg1Labels, feature: str, params: list[Value]
) -> dict[str, list[Value]]:
    """One group's Alg. 1 steps as {cluster label: nodes}.

    `over` names what the statistics are taken over ("mini-batch"); `params` are the γ and β
    drawn inside line 4's cluster (none when other groups share them). RMSNorm's have no line 1,
    its line 2 is the mean square and its line 4 has no β.
    """
    each, groups = labels.each, {}
    if n.mean is not None:
        groups[f"Alg. 1 line 1: {over} mean {labels.mean}"] = [n.sum_x, n.mean]
        groups[f"Alg. 1 line 2: {over} variance {labels.var}"] = [*n.deviation, *n.square, n.sum_squares, n.var]
    else:  # RMSNorm: x_i itself is squared
        groups[f"Alg. 1 line 2 without μ (RMSNorm eq. 4): {over} mean square {labels.var}"] = [
            *n.square,
            n.sum_squares,
            n.var,
        ]
    groups[f"Alg. 1 line 3: normalize x̂{each}"] = [n.var_eps, n.std, *n.x_hat]
    if n.scaled and n.y is n.scaled:  # γ without β (RMSNorm): y_i = γx̂_i
        groups[f"Alg. 1 line 4: scale y{each} = γ{feature}x̂{each}"] = [*params, *n.scaled]
    elif n.scaled:  # affine: γx̂_i, then + β
        line_4 = f"Alg. 1 line 4: scale and shift y{each} = γ{feature}x̂{each} + β{feature}"
        groups[line_4] = [*params, *n.scaled, *n.y]
    return groups


def _shared_groups(
    layer: Module, labels: Sequence[Alg1Labels], over: str, per: str, weight: list | None, bias: list | None
) -> dict[str, list[Value]]:
    """Alg. 1's steps for each of `layer.last` (`labels` theirs), then the γ (and β) that all of them share."""
    if not layer.last:
        raise ValueError(f"{type(layer).__name__}.graph_groups(): no Alg. 1 graph yet; call the layer on a batch first")
    groups: dict[str, list[Value]] = {}
    for nodes, names in zip(layer.last, labels):
        groups.update(_alg1_groups(nodes, over, names, "⁽ᵏ⁾", []))
    if weight is not None:
        params = "γ⁽ᵏ⁾, β⁽ᵏ⁾" if bias is not None else "γ⁽ᵏ⁾"
        groups[f"{params}: one per {per}, for every example"] = [*weight, *(bias or [])]
    return groups


def _check_eps(eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, Real) or not (eps >= 0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite number ≥ 0, got {eps!r}")
    return float(eps)


def _check_number(x: Any, where: str) -> None:
    if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x):
        raise ValueError(f"{where}: entries must be Values or finite real numbers, got {type(x).__name__} {x!r}")


def _check_rows(batch: Any, c: int, where: str, name: str) -> None:
    """An (N, C) batch of C entries per row, each a Value or a finite number (else one-line ValueError)."""
    check_batch(batch, c, where)
    for row in batch:
        for x in row:
            if type(x) is not Value:
                _check_number(x, name)


def _feature_maps(batch: Any, c: int, where: str, name: str) -> tuple[list[list[list]], int, int]:
    """An (N, C, H, W) batch checked entry by entry: maps[n][k], channel k's H·W values of example n
    (row-major), and H, W."""
    check_batch(batch, c, where)
    h = len(batch[0][0]) if isinstance(batch[0][0], (list, tuple)) else 0
    w = len(batch[0][0][0]) if h and isinstance(batch[0][0][0], (list, tuple)) else 0
    if not (h and w):
        raise ValueError(f"{where}: each channel must be an H × W list of rows, got {batch[0][0]!r:.60}")
    maps: list[list[list]] = []
    for n, sample in enumerate(batch):
        maps.append([])
        for k, plane in enumerate(sample):
            _check_rows(plane, w, f"{where}: sample {n}, channel {k} must be {h} × {w}", name)
            if len(plane) != h:
                raise ValueError(f"{where}: sample {n}, channel {k} has {len(plane)} rows, expected H = {h}")
            maps[n].append([x for row in plane for x in row])
    return maps, h, w


def _rows_of(values: list, w: int) -> list[list]:
    """A plane's values, row-major, as its rows of w."""
    return [values[r : r + w] for r in range(0, len(values), w)]


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d; subclasses say how a batch splits into features."""

    absorbs_bias = True  # x_i + b − μ_B = x_i − μ_B: a bias before BatchNorm is cancelled, β replaces it (Sec. 3.2)

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
        if momentum is not None and (not isinstance(momentum, Real) or not 0 <= momentum <= 1):
            raise ValueError(f"momentum must be in [0, 1] or None (cumulative average), got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, _check_eps(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self._suffix = [_feature(k) if num_features > 1 else "" for k in range(num_features)]
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
            nodes = [self._normalize(k, col) for k, col in enumerate(columns)]
            if self.training and self.track_running_stats:
                self._update_running_stats(nodes, m)  # only after every feature succeeded
            self.last = nodes
            return self._merge(batch, [n.y for n in nodes])
        return self._merge(batch, [self._infer(col, k) for k, col in enumerate(columns)])

    def _normalize(self, k: int, xs: list) -> Alg1Nodes:
        """Alg. 1 on feature k's m values: one γ and one β for the whole column."""
        m = len(xs)
        gammas = [self.weight[k]] * m if self.affine else None
        betas = [self.bias[k]] * m if self.affine else None
        return normalize(xs, gammas, betas, self.eps, self._labels(k, m))

    def _labels(self, k: int, m: int) -> Alg1Labels:
        """Feature k's labels: μ_B⁽ᵏ⁾, σ²_B⁽ᵏ⁾, and x₁⁽ᵏ⁾ … x_m⁽ᵏ⁾, all scaled by γ⁽ᵏ⁾."""
        return _batchnorm_labels(f"{type(self).__name__}({self.num_features})", self._suffix[k], k, m)

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

        scale = γ/√(Var[x]+ε), shift = β − γ·E[x]/√(Var[x]+ε), from the running statistics:
        the map to deploy. (`eval()` computes the same map as γ·x̂ + β, which keeps its digits
        when |E[x]| ≫ √Var[x]: scale·x + shift then cancels.)
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
        """Alg. 2, line 11 on feature k, computed as y = γ·x̂ + β with x̂ = (x − E[x])/√(Var[x]+ε).

        E[x] and Var[x] are constants (no gradient). The same map as `folded()`'s scale·x + shift,
        but x − E[x] comes first, so y and ∂ℓ/∂γ = Σ ∂ℓ/∂y · x̂ keep their digits when
        |E[x]| ≫ √Var[x] (the fold's ∂ℓ/∂γ is x/√(Var[x]+ε) − E[x]/√(Var[x]+ε), which cancels).
        """
        mean, std = self.running_mean[k], math.sqrt(self.running_var[k] + self.eps)
        out = []
        labels = self._labels(k, len(xs))
        for x, x_hat_label, y_label in zip(xs, labels.x_hat, labels.y):
            x_hat = (x - mean) / std
            y = self.weight[k] * x_hat + self.bias[k] if self.affine else x_hat
            y = y if isinstance(y, Value) else Value(y)  # numbers in, affine=False: a leaf
            if isinstance(x_hat, Value) and x_hat is not y:
                x_hat.label = x_hat_label
            y.label = y_label
            out.append(y)
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
            params = [self.weight[k], self.bias[k]] if self.affine else []
            groups.update(_alg1_groups(n, "mini-batch", self._labels(k, len(n.x)), self._suffix[k], params))
        return groups


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
        _check_rows(batch, c, f"BatchNorm1d({c}) expects shape (N, {c})", "BatchNorm1d")
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
        maps, _, _ = _feature_maps(batch, c, f"BatchNorm2d({c}) expects shape (N, {c}, H, W)", "BatchNorm2d")
        return [[x for sample in maps for x in sample[k]] for k in range(c)]

    def _merge(self, batch: Any, columns: list[list[Value]]) -> list:
        h, w = len(batch[0][0]), len(batch[0][0][0])
        per_sample = h * w
        return [[_rows_of(col[n * per_sample : (n + 1) * per_sample], w) for col in columns] for n in range(len(batch))]


class _FeatureNorm(Module):
    """Shared by LayerNorm and RMSNorm: Alg. 1 over each example's C features, γ (and β) one per feature.

    Subclasses say whether line 1 is there (`center`) and how few features make sense.
    """

    center = True  # Alg. 1 line 1's μ and x − μ (LayerNorm); RMSNorm has neither, and no β
    fewest = 2  # the smallest C allowed
    why_fewest = "over one feature x − μ = 0, so y = β whatever x; "
    bias: list[Value] | None = None

    def __init__(self, normalized_shape: int | tuple[int], eps: float | None, elementwise_affine: bool) -> None:
        shape = tuple(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
        if len(shape) != 1 or isinstance(shape[0], bool) or not isinstance(shape[0], int) or shape[0] < self.fewest:
            raise ValueError(
                f"normalized_shape must be the number of features C ≥ {self.fewest}, or (C,), got "
                f"{normalized_shape!r} ({self.why_fewest}only the last axis can be normalized here)"
            )
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        features = [_feature(k) for k in range(shape[0])]
        self.weight = [Value(1.0, f"γ{k}") for k in features] if elementwise_affine else None
        if self.center:
            self.bias = [Value(0.0, f"β{k}") for k in features] if elementwise_affine else None
        self.last: list[Alg1Nodes] = []  # Alg. 1's nodes per example (row), from the last forward

    def __repr__(self) -> str:
        eps = "None" if self.eps is None else f"{self.eps:g}"
        return (
            f"{type(self).__name__}({self.normalized_shape}, eps={eps}, elementwise_affine={self.elementwise_affine})"
        )

    def forward(self, batch: Any) -> list:
        c, name = self.normalized_shape[0], type(self).__name__
        _check_rows(batch, c, f"{name}({c}) expects shape (N, {c})", name)
        eps = sys.float_info.epsilon if self.eps is None else self.eps  # None: RMSNorm's default, see there
        labels = [self._labels(n) for n in range(len(batch))]
        self.last = [normalize(list(r), self.weight, self.bias, eps, k, self.center) for r, k in zip(batch, labels)]
        return [n.y for n in self.last]

    def _labels(self, n: int) -> Alg1Labels:
        """Example n's labels: μₙ, σ²ₙ (RMSNorm: RMS²ₙ), and xₙ⁽⁰⁾ … xₙ⁽ᶜ⁻¹⁾, each scaled by its γ⁽ᵏ⁾ (n from 1)."""
        return _row_labels(type(self).__name__, self.normalized_shape[0], n, self.center)

    def graph_groups(self) -> dict[str, list[Value]]:
        """Alg. 1's steps per example as {cluster label: nodes}, then γ (and β), shared by every example."""
        labels = [self._labels(n) for n in range(len(self.last))]
        return _shared_groups(self, labels, "example", "feature", self.weight, self.bias)


class LayerNorm(_FeatureNorm):
    """Layer Normalization: Alg. 1 over each example's C features, the same in training and eval.

    Ba et al. (Sec. 3) take μ and σ² over the units of a layer for one example, so they
    need no mini-batch (a batch of one is fine) and keep no running statistics; γ
    (`weight`) and β (`bias`) are one per feature, as in `torch.nn.LayerNorm`.
    `normalized_shape` is C or (C,), with C ≥ 2 (over one feature x − μ = 0 and y = β).
    `last` holds Alg. 1's nodes per example: for row n, μₙ, σ²ₙ, √(σ²ₙ+ε), and the
    entries xₙ⁽ᵏ⁾ − μₙ, x̂ₙ⁽ᵏ⁾, yₙ⁽ᵏ⁾ = γ⁽ᵏ⁾x̂ₙ⁽ᵏ⁾ + β⁽ᵏ⁾ (n from 1, k from 0).

    >>> ln = LayerNorm(3)
    >>> y = ln([[1.0, 2.0, 4.0]])
    >>> [round(v.data, 4) for v in y[0]], ln.last[0].var.label, y[0][2].label
    ([-1.069, -0.2673, 1.3363], 'σ²₁', 'y₁⁽²⁾')
    >>> ln = LayerNorm(2); y = ln([[1.0, 2.0], [0.0, 4.0]])
    >>> for name, nodes in ln.graph_groups().items():
    ...     print(f"{name} ({len(nodes)} nodes)")
    Alg. 1 line 1: example mean μ₁ (2 nodes)
    Alg. 1 line 2: example variance σ²₁ (6 nodes)
    Alg. 1 line 3: normalize x̂₁⁽ᵏ⁾ (4 nodes)
    Alg. 1 line 4: scale and shift y₁⁽ᵏ⁾ = γ⁽ᵏ⁾x̂₁⁽ᵏ⁾ + β⁽ᵏ⁾ (4 nodes)
    Alg. 1 line 1: example mean μ₂ (2 nodes)
    Alg. 1 line 2: example variance σ²₂ (6 nodes)
    Alg. 1 line 3: normalize x̂₂⁽ᵏ⁾ (4 nodes)
    Alg. 1 line 4: scale and shift y₂⁽ᵏ⁾ = γ⁽ᵏ⁾x̂₂⁽ᵏ⁾ + β⁽ᵏ⁾ (4 nodes)
    γ⁽ᵏ⁾, β⁽ᵏ⁾: one per feature, for every example (4 nodes)
    """

    def __init__(self, normalized_shape: int | tuple[int], eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        super().__init__(normalized_shape, _check_eps(eps), elementwise_affine)


class RMSNorm(_FeatureNorm):
    """Root Mean Square Layer Normalization: Alg. 1 over each example's C features without line 1.

    Zhang & Sennrich (2019, Sec. 3, eq. 4) drop LayerNorm's re-centering: no μ, no β, and
    the statistic is the mean square RMS² = (1/C) Σ_k x⁽ᵏ⁾², so y⁽ᵏ⁾ = γ⁽ᵏ⁾ x⁽ᵏ⁾ / √(RMS² + ε),
    as in `torch.nn.RMSNorm` (`normalized_shape` C or (C,), `eps`, `elementwise_affine`; γ is
    `weight`, one per feature; there is no `bias`). The same `normalize` as LayerNorm's, with
    `center=False`: line 2's statistic is RMS², line 3 divides x itself, line 4 only scales.
    C = 1 is allowed (y = γ·x/√(x² + ε), the sign of x for a small ε). `last` holds one
    Alg1Nodes per example: for row n, RMS²ₙ (`var`), √(RMS²ₙ+ε) (`std`), and the entries
    (xₙ⁽ᵏ⁾)², x̂ₙ⁽ᵏ⁾, yₙ⁽ᵏ⁾ = γ⁽ᵏ⁾x̂ₙ⁽ᵏ⁾; its `mean`, `sum_x` are None and `deviation` empty.

    NB: `eps=None` (the default, as in torch) means torch's default, `torch.finfo(x.dtype).eps`
    of the input: Values are Python floats, i.e. float64, so ε = 2.220446049250313e-16
    (`sys.float_info.epsilon`), which keeps the layer equal to torch's on float64 tensors, its
    golden vectors' dtype. The paper's eq. 4 has no ε; torch puts it under the root, and so does
    this layer. `eps` stays None on the layer (torch's repr), the ε used is that number.

    >>> rms = RMSNorm(2)
    >>> y = rms([[3.0, 4.0], [1.0, -1.0]])
    >>> [round(v.data, 4) for v in y[0]], rms.last[0].var.label, rms.last[0].var.data, y[0][1].label
    ([0.8485, 1.1314], 'RMS²₁', 12.5, 'y₁⁽¹⁾')
    >>> rms
    RMSNorm((2,), eps=None, elementwise_affine=True)
    >>> for name, nodes in rms.graph_groups().items():
    ...     print(f"{name} ({len(nodes)} nodes)")
    Alg. 1 line 2 without μ (RMSNorm eq. 4): example mean square RMS²₁ (4 nodes)
    Alg. 1 line 3: normalize x̂₁⁽ᵏ⁾ (4 nodes)
    Alg. 1 line 4: scale y₁⁽ᵏ⁾ = γ⁽ᵏ⁾x̂₁⁽ᵏ⁾ (2 nodes)
    Alg. 1 line 2 without μ (RMSNorm eq. 4): example mean square RMS²₂ (4 nodes)
    Alg. 1 line 3: normalize x̂₂⁽ᵏ⁾ (4 nodes)
    Alg. 1 line 4: scale y₂⁽ᵏ⁾ = γ⁽ᵏ⁾x̂₂⁽ᵏ⁾ (2 nodes)
    γ⁽ᵏ⁾: one per feature, for every example (2 nodes)
    """

    center, fewest, why_fewest = False, 1, ""

    def __init__(
        self, normalized_shape: int | tuple[int], eps: float | None = None, elementwise_affine: bool = True
    ) -> None:
        super().__init__(normalized_shape, None if eps is None else _check_eps(eps), elementwise_affine)


class GroupNorm(Module):
    """Group Normalization: Alg. 1 over each example's channels of one group, the same in training and eval.

    Wu & He (2018, Sec. 3.1, eqs. 1, 2, 6 and 7) split the C channels into G = `num_groups` groups of
    C/G consecutive channels and take μ and σ² per example and group, over its C/G channels
    and all their H·W positions: m = (C/G)·H·W values (their set S_i, eq. 7). γ (`weight`) and β
    (`bias`) are one per channel, as in `torch.nn.GroupNorm(num_groups, num_channels, eps,
    affine)`, so each entry gets its own channel's γ and β (as LayerNorm's get their
    feature's). Batches are (N, C) or (N, C, H, W). One group is LayerNorm over (C, H, W);
    C groups (one channel each) is InstanceNorm (Wu & He, Fig. 2). `last` holds one
    Alg1Nodes per example and group, `last[n·G + g]`; labels: μₙ⁽ᵍᵍ⁾, σ²ₙ⁽ᵍᵍ⁾ (group g from
    0, as channels), entries xₙ⁽ᵏ⁾, or xₙ,ₚ⁽ᵏ⁾ at position p of the H × W plane (row-major, from 1).

    >>> gn = GroupNorm(2, 4)
    >>> y = gn([[1.0, 3.0, 10.0, 30.0]])
    >>> [round(v.data, 4) for v in y[0]], gn.last[1].mean.label, gn.last[1].mean.data, y[0][3].label
    ([-1.0, 1.0, -1.0, 1.0], 'μ₁⁽ᵍ¹⁾', 20.0, 'y₁⁽³⁾')
    >>> y = GroupNorm(1, 2)([[[[0.0, 1.0]], [[2.0, 3.0]]]])  # N=1, C=2, H=1, W=2: one group of m = 4
    >>> [[round(v.data, 4) for v in plane[0]] for plane in y[0]], y[0][1][0][1].label
    ([[-1.3416, -0.4472], [0.4472, 1.3416]], 'y₁,₂⁽¹⁾')
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        for name, value in (("num_groups", num_groups), ("num_channels", num_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if num_channels % num_groups:
            raise ValueError(
                f"num_channels must be divisible by num_groups, got {num_channels} channels in {num_groups} groups"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, _check_eps(eps), affine
        channels = [_feature(k) for k in range(num_channels)]
        self.weight = [Value(1.0, f"γ{k}") for k in channels] if affine else None
        self.bias = [Value(0.0, f"β{k}") for k in channels] if affine else None
        self.last: list[Alg1Nodes] = []  # Alg. 1's nodes per example and group, last[n·G + g]
        self._positions = 0  # H·W of the last forward's batch, 0 for (N, C): its labels

    def __repr__(self) -> str:
        return f"GroupNorm({self.num_groups}, {self.num_channels}, eps={self.eps:g}, affine={self.affine})"

    def forward(self, batch: Any) -> list:
        c, per, name = self.num_channels, self.num_channels // self.num_groups, self._name()
        if _has_planes(batch):  # (N, C, H, W): maps[n][k] holds channel k's H·W values
            maps, h, w = _feature_maps(batch, c, f"{name} expects shape (N, {c}, H, W)", "GroupNorm")
        else:  # (N, C): one value per channel
            _check_rows(batch, c, f"{name} expects shape (N, {c}) or (N, {c}, H, W)", "GroupNorm")
            maps, h, w = [[[x] for x in row] for row in batch], 0, 0
        count = max(h * w, 1)  # values per channel
        nodes = []
        for n, sample in enumerate(maps):
            for g in range(self.num_groups):
                ks = range(g * per, (g + 1) * per)  # the group's channels: Wu & He's ⌊k/(C/G)⌋ = g (Sec. 3.1)
                gammas, betas = ([p[k] for k in ks for _ in sample[k]] if p else None for p in (self.weight, self.bias))
                xs = [x for k in ks for x in sample[k]]
                nodes.append(normalize(xs, gammas, betas, self.eps, self._labels(n, g, h * w)))
        self.last, self._positions = nodes, h * w
        group_of = [nodes[n * self.num_groups : (n + 1) * self.num_groups] for n in range(len(maps))]
        channels = [[gs[k // per].y[k % per * count : (k % per + 1) * count] for k in range(c)] for gs in group_of]
        return [[_rows_of(y, w) if w else y[0] for y in sample] for sample in channels]

    def _name(self) -> str:
        return f"GroupNorm({self.num_groups}, {self.num_channels})"

    def _labels(self, n: int, g: int, positions: int) -> Alg1Labels:
        """Example n's group g: μₙ⁽ᵍᵍ⁾, σ²ₙ⁽ᵍᵍ⁾ and its channels' entries (at `positions` = H·W each, 0 on (N, C))."""
        return _group_labels(self._name(), self.num_channels // self.num_groups, g, n, positions)

    def graph_groups(self) -> dict[str, list[Value]]:
        """Alg. 1's steps per example and group as {cluster label: nodes}, then γ and β, one per channel.

        >>> gn = GroupNorm(2, 4, affine=False); y = gn([[1.0, 2.0, 4.0, 8.0]])
        >>> for name, nodes in gn.graph_groups().items():
        ...     print(f"{name} ({len(nodes)} nodes)")
        Alg. 1 line 1: group mean μ₁⁽ᵍ⁰⁾ (2 nodes)
        Alg. 1 line 2: group variance σ²₁⁽ᵍ⁰⁾ (6 nodes)
        Alg. 1 line 3: normalize x̂₁⁽ᵏ∈ᵍ⁰⁾ (4 nodes)
        Alg. 1 line 1: group mean μ₁⁽ᵍ¹⁾ (2 nodes)
        Alg. 1 line 2: group variance σ²₁⁽ᵍ¹⁾ (6 nodes)
        Alg. 1 line 3: normalize x̂₁⁽ᵏ∈ᵍ¹⁾ (4 nodes)
        """
        g = self.num_groups
        labels = [self._labels(i // g, i % g, self._positions) for i in range(len(self.last))]
        return _shared_groups(self, labels, "group", "channel", self.weight, self.bias)


def _has_planes(batch: Any) -> bool:
    """Whether batch[0][0] is a list: an (N, C, H, W) batch rather than (N, C)."""
    lists = (list, tuple)
    return (
        isinstance(batch, lists)
        and bool(batch)
        and isinstance(batch[0], lists)
        and bool(batch[0])
        and (isinstance(batch[0][0], lists))
    )
