"""The paper's closed-form Batch Normalization in NumPy (float64), independent of the engine.

A second witness for the autodiff gradients: nothing here imports `micrograd_bn.engine`.
Arrays are (m, C) — m examples, C features — and every statistic is per feature
(axis 0). For convolutions, `to_columns` turns (N, C, H, W) into (N·H·W, C) (Sec. 3.2);
LayerNorm is the same equations on the transpose (`layer_norm_forward/backward`).

References: Ioffe & Szegedy, arXiv 1502.03167: Alg. 1 (forward), Sec. 3 (the chain rule
for the backward), Alg. 2 (inference); Santurkar et al., arXiv 1805.11604, Fact C.1
(the compact ∂ℓ/∂x_i); Ba et al., arXiv 1607.06450, Sec. 3 (Layer Normalization).
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray


def batch_mean(x: Array) -> Array:
    """Per-feature mean (1/m) Σ x_i, summed exactly (math.fsum): 1e6 + noise keeps its digits."""
    return np.array([math.fsum(col) for col in x.T]) / x.shape[0]


def forward_train(x: Array, gamma: Array, beta: Array, eps: float) -> dict[str, Array]:
    """Alg. 1: returns mean (μ_B), var (σ²_B, biased), x_hat (x̂) and y, each per feature.

    >>> out = forward_train(np.array([[1.0], [2.0], [3.0]]), np.ones(1), np.zeros(1), 0.0)
    >>> out["y"].ravel().round(4).tolist()
    [-1.2247, 0.0, 1.2247]
    """
    mean, _, var, _, x_hat = _normalize(x, eps)  # lines 1–3
    return {"mean": mean, "var": var, "x_hat": x_hat, "y": gamma * x_hat + beta}  # line 4: y_i = γx̂_i + β


def _normalize(x: Array, eps: float) -> tuple[Array, Array, Array, Array, Array]:
    """Alg. 1, lines 1–3: μ_B, x_i − μ_B, σ²_B, 1/√(σ²_B + ε) and x̂_i (the backward needs them all)."""
    mean = batch_mean(x)  # line 1: μ_B = (1/m) Σ x_i
    xmu = x - mean
    var = batch_mean(xmu**2)  # line 2: σ²_B = (1/m) Σ (x_i − μ_B)², two-pass
    std = np.sqrt(var + eps)
    x_hat = xmu / std  # line 3: x̂_i = (x_i − μ_B)/√(σ²_B + ε)
    return mean, xmu, var, 1.0 / std, x_hat


def forward_eval(x: Array, running_mean: Array, running_var: Array, gamma: Array, beta: Array, eps: float) -> Array:
    """Alg. 2, line 11, y = γ/√(Var[x]+ε)·x + (β − γE[x]/√(Var[x]+ε)), computed as γ·x̂ + β.

    x − E[x] first: the folded form cancels when |E[x]| ≫ √Var[x] (x ≈ 1e6 ± 0.01).
    """
    x_hat = (x - running_mean) / np.sqrt(running_var + eps)
    return gamma * x_hat + beta


def sec3_terms(
    dy: Array,
    x: Array,
    gamma: Array,
    eps: float,
    given: dict[str, Array] | None = None,
    ddof: int = 0,
    ddof_slope: int | None = None,
    absolute: bool = False,
    param_axis: int | tuple[int, ...] = 0,
) -> dict[str, list[Array]]:
    """Sec. 3's chain rule term by term: each quantity's list of terms, whose sum is the quantity.

    Keys dx_hat (∂ℓ/∂x̂_i), dvar (∂ℓ/∂σ²_B), dmean (∂ℓ/∂μ_B), dx (∂ℓ/∂x_i), dgamma, dbeta;
    statistics over axis 0. `given` replaces the earlier quantities an equation uses
    (dx_hat, dvar, dmean) by other values, e.g. a learner's; `ddof=1` is the same chain with
    the unbiased variance Σ(x_i − μ_B)²/(m−1) in both σ²_B and ∂σ²_B/∂x_i = 2(x_i − μ_B)/(m−1)
    (`ddof_slope=0`: in σ²_B only);
    `absolute=True` makes every factor positive (the size of the terms, `compare.term_scales`);
    γ and β sum over `param_axis` (1 for LayerNorm's transposed rows; (): per entry, not summed);
    `gamma` may be one γ per entry, (m, C), as GroupNorm's channels give.

    >>> x, dy = np.array([[1.0], [2.0], [4.0]]), np.array([[0.5], [-1.0], [2.0]])
    >>> terms = sec3_terms(dy, x, np.ones(1), 1e-5)
    >>> [len(terms[k]) for k in ("dx_hat", "dvar", "dmean", "dx")]
    [1, 1, 2, 3]
    >>> bool(np.allclose(sum(terms["dx"]), backward(dy, x, np.ones(1), 1e-5)["dx"]))
    True
    """
    pos = np.abs if absolute else (lambda v: v)
    given = given or {}
    m = x.shape[0]
    _, xmu, var, inv_std, x_hat = _normalize(x, eps)
    if ddof:  # the learner's variance, in σ²_B and in ∂σ²_B/∂x_i alike
        var = var * m / (m - ddof)
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = xmu * inv_std
    n = m - (ddof if ddof_slope is None else ddof_slope)  # what ∂σ²_B/∂x_i = 2(x_i − μ_B)/n divides by
    terms: dict[str, list[Array]] = {"dx_hat": [pos(dy * gamma)]}
    dx_hat = pos(given.get("dx_hat", terms["dx_hat"][0]))
    terms["dvar"] = [(dx_hat * pos(xmu)).sum(axis=0) * pos(-0.5) * (var + eps) ** -1.5]
    dvar = pos(given.get("dvar", terms["dvar"][0]))
    terms["dmean"] = [(dx_hat * pos(-inv_std)).sum(axis=0), dvar * pos(-2.0 * xmu).sum(axis=0) / n]
    dmean = pos(given.get("dmean", terms["dmean"][0] + terms["dmean"][1]))
    terms["dx"] = [dx_hat * inv_std, dvar * 2.0 * pos(xmu) / n, dmean / m * np.ones_like(x)]
    terms["dgamma"] = [pos(dy * x_hat).sum(axis=param_axis)]
    terms["dbeta"] = [pos(dy).sum(axis=param_axis)]
    return terms


# Each quantity's terms in the paper's symbols, in `sec3_terms`'s order: the checker's diagnoses and the
# exercise's comments name them ({B}, {i}, {m} filled in per norm: μ_B, x_i, m for BatchNorm).
SEC3_TERM_NAMES = {
    "dx_hat": ("∂ℓ/∂y_{i} · γ",),
    "dvar": ("Σ_{i} ∂ℓ/∂x̂_{i} · (x_{i} − μ{B}) · (−1/2)(σ²{B} + ε)^(−3/2)",),
    "dmean": ("Σ_{i} ∂ℓ/∂x̂_{i} · −1/√(σ²{B} + ε)", "∂ℓ/∂σ²{B} · Σ_{i} −2(x_{i} − μ{B}) / {m}"),
    "dx": ("∂ℓ/∂x̂_{i} · 1/√(σ²{B} + ε)", "∂ℓ/∂σ²{B} · 2(x_{i} − μ{B}) / {m}", "∂ℓ/∂μ{B} · 1/{m}"),
    "dgamma": ("Σ_i ∂ℓ/∂y_i · x̂_i",),
    "dbeta": ("Σ_i ∂ℓ/∂y_i",),
}


def backward(dy: Array, x: Array, gamma: Array, eps: float) -> dict[str, Array]:
    """Sec. 3's chain rule, one quantity per equation, given dy = ∂ℓ/∂y: the sums of `sec3_terms`.

    Returns dx_hat (∂ℓ/∂x̂_i), dvar (∂ℓ/∂σ²_B), dmean (∂ℓ/∂μ_B), dx (∂ℓ/∂x_i),
    dgamma (∂ℓ/∂γ) and dbeta (∂ℓ/∂β).
    """
    return {k: sum(t[1:], t[0]) for k, t in sec3_terms(dy, x, gamma, eps).items()}


def backward_compact(dy: Array, x: Array, gamma: Array, eps: float) -> Array:
    """∂ℓ/∂x_i = γ / (m√(σ²_B+ε)) · (m ∂ℓ/∂y_i − Σ_j ∂ℓ/∂y_j − x̂_i Σ_j ∂ℓ/∂y_j x̂_j).

    The same as `backward(...)["dx"]`: the Σ(x_i − μ_B) term of ∂ℓ/∂μ_B is zero.
    """
    m = x.shape[0]
    _, _, _, inv_std, x_hat = _normalize(x, eps)
    return gamma * inv_std / m * (m * dy - dy.sum(axis=0) - x_hat * (dy * x_hat).sum(axis=0))


def running_update(running: Array, batch_stat: Array, factor: float) -> Array:
    """PyTorch's running statistics: (1 − factor)·running + factor·batch_stat."""
    return (1.0 - factor) * running + factor * batch_stat


def to_columns(x: Array) -> Array:
    """(N, C, H, W) → (N·H·W, C): each feature map's values become one column (Sec. 3.2)."""
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n * h * w, c)


def from_columns(cols: Array, shape: tuple[int, int, int, int]) -> Array:
    """Undo `to_columns` for an (N, C, H, W) shape."""
    n, c, h, w = shape
    return cols.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def forward_train_2d(x: Array, gamma: Array, beta: Array, eps: float) -> dict[str, Array]:
    """Alg. 1 per feature map over m' = N·H·W values; x_hat and y keep the (N, C, H, W) shape."""
    out = forward_train(to_columns(x), gamma, beta, eps)
    return {**out, "x_hat": from_columns(out["x_hat"], x.shape), "y": from_columns(out["y"], x.shape)}


def backward_2d(dy: Array, x: Array, gamma: Array, eps: float) -> dict[str, Array]:
    """Sec. 3's backward per feature map; dx_hat and dx keep the (N, C, H, W) shape."""
    out = backward(to_columns(dy), to_columns(x), gamma, eps)
    return {**out, "dx_hat": from_columns(out["dx_hat"], x.shape), "dx": from_columns(out["dx"], x.shape)}


def layer_norm_forward(x: Array, gamma: Array, beta: Array, eps: float) -> dict[str, Array]:
    """LayerNorm: Alg. 1 over each row's C features, i.e. BatchNorm on xᵀ with γ and β per row of xᵀ.

    Returns mean (μ, (N,)), var (σ², biased, (N,)), x_hat and y ((N, C)).

    >>> out = layer_norm_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3), 0.0)
    >>> out["y"].round(4).tolist(), out["mean"].tolist()
    ([[-1.2247, 0.0, 1.2247]], [2.0])
    """
    rows = forward_train(x.T, _per_row(gamma), _per_row(beta), eps)
    return {"mean": rows["mean"], "var": rows["var"], "x_hat": rows["x_hat"].T, "y": rows["y"].T}


def layer_norm_terms(
    dy: Array, x: Array, gamma: Array, eps: float, given: dict[str, Array] | None = None, **options
) -> dict[str, list[Array]]:
    """`sec3_terms` for LayerNorm: Sec. 3 over each row (on the transposes), γ and β summed over the rows.

    dx_hat and dx terms are (N, C), dvar and dmean (N,), dgamma and dbeta (C,); `given` and the
    options as `sec3_terms`'s, in LayerNorm's shapes.
    """
    given = {k: (v.T if k == "dx_hat" else v) for k, v in (given or {}).items()}
    rows = sec3_terms(dy.T, x.T, _per_row(gamma), eps, given, param_axis=1, **options)
    return {k: [t.T if k in ("dx_hat", "dx") else t for t in ts] for k, ts in rows.items()}


def layer_norm_backward(dy: Array, x: Array, gamma: Array, eps: float) -> dict[str, Array]:
    """Sec. 3's chain rule over each row, then ∂ℓ/∂γ, ∂ℓ/∂β over the rows: the sums of `layer_norm_terms`.

    Keys as `backward`'s: dx_hat (N, C), dvar (N,), dmean (N,), dx (N, C), dgamma (C,), dbeta (C,).
    """
    return {k: sum(t[1:], t[0]) for k, t in layer_norm_terms(dy, x, gamma, eps).items()}


def _per_row(param: Array) -> Array:
    """γ or β of shape (C,) as a (C, 1) column, so that it scales the rows of xᵀ."""
    return np.asarray(param, dtype=float)[:, None]


# ---- RMSNorm (Zhang & Sennrich 2019) and GroupNorm (Wu & He 2018): the same chain rule on other groups


def rms_norm_forward(x: Array, gamma: Array, eps: float) -> dict[str, Array]:
    """RMSNorm (Zhang & Sennrich 2019, Sec. 3, eq. 4) over each row's C features: no μ, no β.

    ms = (1/C) Σ_k x_k² (the mean square, RMS(x)²), x̂_k = x_k / √(ms + ε), y_k = γ_k x̂_k.
    Returns ms ((N,)), x_hat and y ((N, C)).

    >>> out = rms_norm_forward(np.array([[3.0, 4.0]]), np.ones(2), 0.0)
    >>> out["ms"].tolist(), out["y"].round(4).tolist()
    ([12.5], [[0.8485, 1.1314]])
    """
    ms = batch_mean(x.T**2)  # (1/C) Σ_k x_k², summed exactly, one per row
    x_hat = x / np.sqrt(ms + eps)[:, None]  # eq. 4: x̂_k = x_k / RMS(x), with torch's ε under the root
    return {"ms": ms, "x_hat": x_hat, "y": gamma * x_hat}


def rms_norm_backward(dy: Array, x: Array, gamma: Array, eps: float) -> dict[str, Array]:
    """The chain rule through eq. 4 over each row's C features, given dy = ∂ℓ/∂y (Σ over k = 1..C):

        ∂ℓ/∂x̂_k = ∂ℓ/∂y_k · γ_k
        ∂ℓ/∂ms  = Σ_k ∂ℓ/∂x̂_k · x_k · (−½)(ms + ε)^(−3/2)      since x̂_k = x_k (ms + ε)^(−½)
        ∂ℓ/∂x_k = ∂ℓ/∂x̂_k / √(ms + ε) + ∂ℓ/∂ms · 2x_k / C      since ∂ms/∂x_k = 2x_k / C
        ∂ℓ/∂γ_k = Σ_n ∂ℓ/∂y_nk · x̂_nk                           over the examples

    Sec. 3's equations without ∂ℓ/∂μ (there is no μ), and x_k where they have x_i − μ_B.
    Returns dx_hat (N, C), dms (N,), dx (N, C) and dgamma (C,).

    >>> g = rms_norm_backward(np.array([[1.0, 0.0]]), np.array([[3.0, 4.0]]), np.ones(2), 0.0)
    >>> g["dms"].round(6).tolist(), g["dx"].round(6).tolist()
    ([-0.033941], [[0.181019, -0.135765]])
    """
    return {key: sum(terms[1:], terms[0]) for key, terms in rms_norm_terms(dy, x, gamma, eps).items()}


def rms_norm_terms(
    dy: Array, x: Array, gamma: Array, eps: float, given: dict[str, Array] | None = None, absolute: bool = False
) -> dict[str, list[Array]]:
    """`rms_norm_backward`'s equations term by term: each quantity's list of terms, whose sum is it.

    `given` replaces the earlier quantities an equation uses (dx_hat, dms) by other values, e.g.
    a learner's; `absolute=True` makes every factor positive (the size of the terms, to judge
    rounding by).

    >>> terms = rms_norm_terms(np.array([[1.0, 0.0]]), np.array([[3.0, 4.0]]), np.ones(2), 0.0)
    >>> [len(terms[k]) for k in ("dx_hat", "dms", "dx", "dgamma")]
    [1, 1, 2, 1]
    """
    pos = np.abs if absolute else (lambda v: v)
    given, c = given or {}, x.shape[1]
    ms, x_hat = (rms_norm_forward(x, np.ones(c), eps)[key] for key in ("ms", "x_hat"))
    terms: dict[str, list[Array]] = {"dx_hat": [pos(dy * gamma)]}
    dx_hat = pos(given.get("dx_hat", terms["dx_hat"][0]))
    terms["dms"] = [(dx_hat * pos(x)).sum(axis=1) * pos(-0.5) * (ms + eps) ** -1.5]
    dms = pos(given.get("dms", terms["dms"][0]))
    terms["dx"] = [dx_hat / np.sqrt(ms + eps)[:, None], dms[:, None] * 2.0 * pos(x) / c]
    terms["dgamma"] = [_per_channel_sum(pos(dy * x_hat))]
    return terms


RMS_NORM_TERM_NAMES = {  # `rms_norm_terms`'s, as SEC3_TERM_NAMES
    "dx_hat": ("∂ℓ/∂y_k · γ_k",),
    "dms": ("Σ_k ∂ℓ/∂x̂_k · x_k · (−1/2)(ms + ε)^(−3/2)",),
    "dx": ("∂ℓ/∂x̂_k · 1/√(ms + ε)", "∂ℓ/∂ms · 2x_k / C"),
    "dgamma": ("Σ_n ∂ℓ/∂y_n · x̂_n",),
}


def group_norm_forward(x: Array, gamma: Array, beta: Array, eps: float, num_groups: int) -> dict[str, Array]:
    """GroupNorm (Wu & He 2018, Sec. 3.1, eqs. 1, 2, 6 and 7): Alg. 1 over each example's group of C/G channels
    and their positions, m = (C/G)·H·W values (their set S_i), then y = γ_k x̂ + β_k with channel k's γ, β.

    x is (N, C) or (N, C, H, W). Returns mean, var ((N, G), biased), x_hat and y (x's shape).

    >>> out = group_norm_forward(np.array([[1.0, 3.0, 10.0, 30.0]]), np.ones(4), np.zeros(4), 0.0, 2)
    >>> out["mean"].tolist(), out["y"].tolist()
    ([[2.0, 20.0]], [[-1.0, 1.0, -1.0, 1.0]])
    """
    groups = forward_train(_groups(x, num_groups), np.ones(1), np.zeros(1), eps)  # Alg. 1, lines 1–3 per group
    x_hat = _ungroup(groups["x_hat"], x.shape)
    stats = {key: groups[key].reshape(x.shape[0], num_groups) for key in ("mean", "var")}
    return {**stats, "x_hat": x_hat, "y": _per_channel(gamma, x) * x_hat + _per_channel(beta, x)}  # line 4


def group_norm_backward(dy: Array, x: Array, gamma: Array, eps: float, num_groups: int) -> dict[str, Array]:
    """Sec. 3's chain rule over each example's group of m = (C/G)·H·W entries i, with entry i's own
    channel k's γ_k (Σ over the group's i; μ, σ² that group's):

        ∂ℓ/∂x̂_i = ∂ℓ/∂y_i · γ_k
        ∂ℓ/∂σ²  = Σ_i ∂ℓ/∂x̂_i (x_i − μ) (−½)(σ² + ε)^(−3/2)
        ∂ℓ/∂μ   = Σ_i ∂ℓ/∂x̂_i · (−1/√(σ² + ε)) + ∂ℓ/∂σ² · Σ_i −2(x_i − μ) / m
        ∂ℓ/∂x_i = ∂ℓ/∂x̂_i / √(σ² + ε) + ∂ℓ/∂σ² · 2(x_i − μ)/m + ∂ℓ/∂μ / m
        ∂ℓ/∂γ_k = Σ_n Σ_hw ∂ℓ/∂y · x̂,  ∂ℓ/∂β_k = Σ_n Σ_hw ∂ℓ/∂y      over examples and positions

    These are `backward`'s lines once ∂ℓ/∂x̂_i is formed, so it runs on the groups (columns of
    the transpose) with each entry's γ_k (`group_norm_terms`). Returns dx_hat and dx (x's shape), dvar and
    dmean ((N, G)), dgamma and dbeta ((C,)).

    >>> x, dy = np.array([[1.0, 2.0, 4.0, 0.0, 3.0, 6.0]]), np.array([[1.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    >>> g = group_norm_backward(dy, x, np.ones(6), 0.0, 2)  # two groups of 3 channels
    >>> g["dvar"].round(4).tolist(), g["dx"].round(4).tolist()
    ([[0.3436, -0.1021]], [[0.2291, -0.3436, 0.1145, 0.068, -0.1361, 0.068]])
    """
    return {key: sum(terms[1:], terms[0]) for key, terms in group_norm_terms(dy, x, gamma, eps, num_groups).items()}


def group_norm_terms(
    dy: Array, x: Array, gamma: Array, eps: float, num_groups: int, given: dict[str, Array] | None = None, **options
) -> dict[str, list[Array]]:
    """`group_norm_backward`'s equations term by term: `sec3_terms` on the groups (`_groups`'s columns), each
    entry with its channel's γ_k, then ∂ℓ/∂γ_k, ∂ℓ/∂β_k summed over the examples and positions.

    Shapes as `group_norm_backward`'s; `given` and the options as `sec3_terms`'s, in GroupNorm's shapes.

    >>> terms = group_norm_terms(np.ones((1, 4)), np.arange(4.0)[None], np.ones(4), 0.0, 2)
    >>> [len(terms[k]) for k in ("dx_hat", "dvar", "dmean", "dx")], terms["dvar"][0].shape
    ([1, 1, 2, 3], (1, 2))
    """
    stats = (x.shape[0], num_groups)
    given = {k: (_groups(v, num_groups) if k == "dx_hat" else v.reshape(-1)) for k, v in (given or {}).items()}
    gammas = _groups(np.broadcast_to(_per_channel(gamma, x), x.shape), num_groups)  # entry i's γ_k
    cols = sec3_terms(_groups(dy, num_groups), _groups(x, num_groups), gammas, eps, given, param_axis=(), **options)
    back = {
        "dx_hat": lambda t: _ungroup(t, x.shape),
        "dx": lambda t: _ungroup(t, x.shape),
        "dvar": lambda t: t.reshape(stats),
        "dmean": lambda t: t.reshape(stats),
        "dgamma": lambda t: _per_channel_sum(_ungroup(t, x.shape)),  # ∂ℓ/∂γ_k: Σ over examples and positions
        "dbeta": lambda t: _per_channel_sum(_ungroup(t, x.shape)),
    }
    return {k: [back[k](t) for t in ts] for k, ts in cols.items()}


def _per_channel_sum(v: Array) -> Array:
    """Σ over every axis of (N, C, …) but the channel's, axis 1."""
    return v.sum(axis=(0, *range(2, v.ndim)))


def _groups(x: Array, num_groups: int) -> Array:
    """(N, C, …) → (m, N·G): column n·G + g holds example n's group g, its channels then positions (S_i)."""
    return x.reshape(x.shape[0] * num_groups, -1).T


def _ungroup(columns: Array, shape: tuple[int, ...]) -> Array:
    """Undo `_groups` for x's shape."""
    return columns.T.reshape(shape)


def _per_channel(param: Array, x: Array) -> Array:
    """γ or β of shape (C,), shaped to scale axis 1 of x, (N, C) or (N, C, H, W)."""
    return np.asarray(param, dtype=float).reshape(-1, *[1] * (x.ndim - 2))
