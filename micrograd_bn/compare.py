"""Three witnesses for BatchNorm's gradients: autodiff, the paper's closed form, finite differences.

`compare(...)` builds Alg. 1 on the engine, backpropagates ℓ = Σ_i y_i·dy_i with a random
upstream gradient dy (a plain Σ y_i would give ∂ℓ/∂x = 0 and prove nothing), reads each
gradient off its labelled node, and sets it beside `reference.py`'s closed form, central
finite differences and, where installed, PyTorch. `format_table` prints one row per
quantity of Sec. 3.

Errors are relative to the size of the terms the paper's sums add up (the same
equations with every factor made positive), so a result that is small only because
terms cancel (Σ_i ∂ℓ/∂x_i = 0) is not judged against its own tiny size.

References: Ioffe & Szegedy, arXiv 1502.03167, Alg. 1 and Sec. 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import reference
from .batchnorm import BatchNorm1d, BatchNorm2d
from .engine import Value
from .nn import upstream_loss
from .norms import NORMS
from .numeric import central_difference, relative_error, scaled_step
from .text import pad, text_width

TOLERANCE = {"autodiff": 1e-10, "finite diff": 1e-6, "torch": 1e-10}  # relative, float64
WITNESSES = ("autodiff", "finite diff", "torch")

# (key in reference.backward, the paper's symbol) — one table row each, in Sec. 3's order.
QUANTITIES = (
    ("y", "y_i = γx̂_i + β"),
    ("dx_hat", "∂ℓ/∂x̂_i"),
    ("dvar", "∂ℓ/∂σ²_B"),
    ("dmean", "∂ℓ/∂μ_B"),
    ("dx", "∂ℓ/∂x_i"),
    ("dgamma", "∂ℓ/∂γ"),
    ("dbeta", "∂ℓ/∂β"),
    ("running_mean", "running_mean (E[x])"),
    ("running_var", "running_var (Var[x])"),
)


@dataclass
class Row:
    """One quantity: every witness's values, and each witness's error against the closed form."""

    key: str
    symbol: str
    closed_form: np.ndarray
    scale: float  # size of the summed terms; relative error = max|Δ| / scale
    values: dict[str, np.ndarray] = field(default_factory=dict)
    abs_error: dict[str, float] = field(default_factory=dict)
    rel_error: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.rel_error[w] <= TOLERANCE[w] for w in self.rel_error)


@dataclass
class Comparison:
    rows: list[Row]
    x: np.ndarray  # (m, C) columns, one per feature (feature maps flattened, Sec. 3.2)
    dy: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float
    torch_note: str
    title: str  # the norm and the batch, the table's first line

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)


def compare(
    batch: int = 8,
    features: int = 3,
    seed: int = 0,
    eps: float = 1e-5,
    momentum: float | None = 0.1,
    spatial: tuple[int, int] | None = None,
    x: np.ndarray | None = None,
    dy: np.ndarray | None = None,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> Comparison:
    """Compare BatchNorm's gradients from the four witnesses; returns the data behind the table.

    Random x, dy, γ, β are drawn from `seed` unless given (x and dy as (N, C), or
    (N, C, H, W) with `spatial=(H, W)` for BatchNorm2d). Two more rows check the running
    statistics after this one training step with `momentum` (Alg. 2 as PyTorch keeps it).
    `progress(done, total)` is called as the finite differences go, entry by entry.

    >>> result = compare(batch=4, features=2, seed=0)
    >>> result.ok, [r.symbol for r in result.rows][:3]
    (True, ['y_i = γx̂_i + β', '∂ℓ/∂x̂_i', '∂ℓ/∂σ²_B'])
    """
    rng = np.random.default_rng(seed)
    shape = (batch, features, *(spatial or ()))
    x = rng.normal(size=shape) if x is None else np.asarray(x, dtype=float)
    dy = rng.normal(size=shape) if dy is None else np.asarray(dy, dtype=float)
    gamma = rng.normal(size=features) if gamma is None else np.asarray(gamma, dtype=float)
    beta = rng.normal(size=features) if beta is None else np.asarray(beta, dtype=float)
    cols = reference.to_columns if x.ndim == 4 else np.asarray
    xc, dyc = cols(x), cols(dy)

    m = xc.shape[0]
    if m < 2:
        raise ValueError(f"compare: expected more than 1 value per channel for batch statistics, got {m}")
    fwd = reference.forward_train(xc, gamma, beta, eps)
    factor = 1.0 if momentum is None else momentum  # momentum=None averages: after one batch, factor 1
    closed = {
        **reference.backward(dyc, xc, gamma, eps),
        "y": fwd["y"],
        "running_mean": reference.running_update(np.zeros(features), fwd["mean"], factor),
        "running_var": reference.running_update(np.ones(features), fwd["var"] * m / (m - 1), factor),
    }
    witnesses = {
        "autodiff": autodiff(x, dy, gamma, beta, eps, momentum),
        "finite diff": _finite_differences(xc, dyc, gamma, beta, eps, progress),
    }
    by_torch, torch_note = _torch(x, dy, gamma, beta, eps, momentum)
    if by_torch is not None:
        witnesses["torch"] = by_torch

    scales = term_scales(xc, dyc, gamma, beta, eps)
    title = f"BatchNorm, m = {m} values per feature, {features} features, ε = {eps:g}; ℓ = Σ y·dy, random dy"
    return Comparison(_rows(QUANTITIES, closed, witnesses, scales), xc, dyc, gamma, beta, eps, torch_note, title)


def compare_norm(
    layer: str,
    batch: int = 4,
    features: int = 4,
    seed: int = 0,
    eps: float = 1e-5,
    num_groups: int = 2,
    spatial: tuple[int, int] | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> Comparison:
    """LayerNorm's, RMSNorm's or GroupNorm's gradients (`norms.NORMS[layer]`): autodiff against the
    closed form, and central finite differences of ℓ for the leaves x, γ (and β).

    x and dy are (N, C), or (N, C, H, W) with `spatial` (GroupNorm); `num_groups` is GroupNorm's G;
    `progress` as `compare`'s.

    >>> result = compare_norm("rmsnorm", batch=2, features=3)
    >>> result.ok, [r.key for r in result.rows]
    (True, ['y', 'dx_hat', 'dms', 'dx', 'dgamma'])
    """
    norm = NORMS[layer]
    if spatial and not norm.params:
        raise ValueError(f"compare_norm: {norm.name} takes (N, C) batches here, got spatial={spatial}")
    if norm.params and features % num_groups:
        raise ValueError(f"compare_norm: num_groups={num_groups} must divide features={features}")
    args = (num_groups,) if norm.params else ()
    rng = np.random.default_rng(seed)
    x, dy = rng.normal(size=(2, batch, features, *(spatial or ())))
    gamma, beta = rng.normal(size=(2, features))
    closed = {k: sum(t[1:], t[0]) for k, t in norm.terms(dy, x, gamma, eps, *args).items()}
    closed["y"] = norm.forward(x, gamma, beta, eps, *args)["y"]
    by_autodiff = layer_gradients(norm.layer(x.shape, eps, *args), x, dy, gamma, beta, norm.axis, *args)

    def loss_of(x=x, gamma=gamma, beta=beta) -> float:
        return float(np.sum(norm.forward(x, gamma, beta, eps, *args)["y"] * dy))

    leaves = {"dx": ("x", x), "dgamma": ("gamma", gamma), "dbeta": ("beta", beta)}
    steps = {k: (arg, at, scaled_step(at, 1e-5)) for k, (arg, at) in leaves.items() if k in closed}
    witnesses = {"autodiff": by_autodiff, "finite diff": _partials(loss_of, steps, progress)}
    absolute = {k: sum(t[1:], t[0]) for k, t in norm.terms(dy, x, gamma, eps, *args, absolute=True).items()}
    zeros = np.zeros(features)
    absolute["y"] = np.abs(norm.forward(x, np.abs(gamma), zeros, eps, *args)["y"])  # |γ x̂|
    absolute["y"] += norm.forward(x, zeros, np.abs(beta), eps, *args)["y"]  # + |β| (0 without β)
    scales = {k: float(np.max(v)) for k, v in absolute.items()}
    y = f"y_{norm.words['i']} = γx̂_{norm.words['i']}" + (" + β" if "dbeta" in closed else "")
    quantities = [("y", y)] + [(k, norm.symbol(k)) for k in norm.keys]
    shape = "×".join(map(str, x.shape))
    groups = f", G = {num_groups} groups" if norm.params else ""
    title = f"{norm.name}, x {shape}{groups}, ε = {eps:g}; ℓ = Σ y·dy, random dy"
    note = f"PyTorch: compare's column is BatchNorm's only; {norm.name} is held to torch's in tests/golden"
    return Comparison(_rows(quantities, closed, witnesses, scales), x, dy, gamma, beta, eps, note, title)


def _rows(quantities, closed: dict, witnesses: dict[str, dict], scales: dict[str, float]) -> list[Row]:
    """One Row per (key, symbol): each witness's values beside the closed form, and their errors."""
    rows = []
    for key, symbol in quantities:
        row = Row(key, symbol, closed[key], scales[key])
        for name, values in witnesses.items():
            if key in values:
                delta = float(np.max(np.abs(values[key] - closed[key])))
                row.values[name] = values[key]
                row.abs_error[name] = delta
                row.rel_error[name] = relative_error(delta, row.scale)
        rows.append(row)
    return rows


def _partials(loss_of: Callable[..., float], points: dict[str, tuple[str, np.ndarray, np.ndarray]], progress) -> dict:
    """Central differences of ℓ: {key: ∂ℓ/∂arg at `at`, step `step`} for each key: (arg, at, step);
    `progress(done, total)` after each entry, counted over all of them."""
    total, done = sum(np.size(at) for _, at, _ in points.values()), 0

    def tick() -> None:
        nonlocal done
        done += 1
        progress(done, total)

    each = tick if progress is not None else None
    return {
        key: central_difference(lambda v, a=arg: loss_of(**{a: v}), at, step, each)
        for key, (arg, at, step) in points.items()
    }


def autodiff(x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, momentum) -> dict:
    """Build the layer on Values, backpropagate ℓ = Σ y·dy, read grads off the labelled nodes."""
    c = x.shape[1]
    layer = (BatchNorm2d if x.ndim == 4 else BatchNorm1d)(c, eps=eps, momentum=momentum)
    out = layer_gradients(layer, x, dy, gamma, beta, axis=0)
    return {**out, "running_mean": np.array(layer.running_mean), "running_var": np.array(layer.running_var)}


def layer_gradients(
    layer, x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, beta: np.ndarray, axis: int, groups: int | None = None
) -> dict:
    """Run a norm `layer` (γ, β set) on x, backpropagate ℓ = Σ y·dy, and read Sec. 3's quantities off
    the nodes of Alg. 1 it names (`layer.last`: one per feature for axis 0, per example for axis 1,
    per example and group for GroupNorm's `groups`, its statistics then (N, G)). RMSNorm's
    statistic is the mean square, read as dms; a layer without β (RMSNorm) has no dbeta."""
    for k in range(len(gamma)):
        layer.weight[k].data = float(gamma[k])
        if layer.bias is not None:
            layer.bias[k].data = float(beta[k])
    upstream_loss(layer(_nested(x.tolist(), Value)), dy.tolist()).backward()
    nodes = layer.last

    def entries(name: str, attr: str = "grad") -> np.ndarray:
        values = [[getattr(v, attr) for v in getattr(n, name)] for n in nodes]
        return np.column_stack(values) if axis == 0 else np.array(values).reshape(x.shape)

    def stats(name: str) -> np.ndarray:
        grads = np.array([getattr(n, name).grad for n in nodes])
        return grads.reshape(x.shape[0], groups) if groups else grads

    centered = nodes[0].mean is not None  # RMSNorm's are not: no μ
    out = {"y": entries("y", "data"), "dx_hat": entries("x_hat"), "dvar" if centered else "dms": stats("var")}
    if centered:
        out["dmean"] = stats("mean")
    out |= {"dx": entries("x"), "dgamma": np.array([g.grad for g in layer.weight])}
    if layer.bias is not None:
        out["dbeta"] = np.array([b.grad for b in layer.bias])
    return out


def _nested(data, fn: Callable):
    return [_nested(d, fn) for d in data] if isinstance(data, list) else fn(data)


def _finite_differences(
    x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, progress=None
) -> dict:
    """Central differences (f(v+h) − f(v−h)) / 2h of ℓ, in NumPy, for every quantity.

    For an intermediate (x̂, σ²_B, μ_B) ℓ is written as a function of it, keeping what
    the paper holds fixed: ℓ(σ²) with μ_B fixed; ℓ(μ) with σ²_B = (1/m)Σ(x_i − μ)² following μ.
    """
    fwd = reference.forward_train(x, gamma, beta, eps)
    mean, var = fwd["mean"], fwd["var"]
    std = np.sqrt(var + eps)

    def loss_of(x=x, gamma=gamma, beta=beta, mean=None, var=None, x_hat=None) -> float:
        if x_hat is None:
            mu = reference.batch_mean(x) if mean is None else mean
            s2 = reference.batch_mean((x - mu) ** 2) if var is None else var
            x_hat = (x - mu) / np.sqrt(s2 + eps)
        return float(np.sum((gamma * x_hat + beta) * dy))

    rel = 1e-5
    return _partials(
        loss_of,
        {
            "dx_hat": ("x_hat", fwd["x_hat"], np.full_like(x, rel)),
            "dvar": ("var", var, rel * (var + eps)),
            "dmean": ("mean", mean, rel * std),
            "dx": ("x", x, np.broadcast_to(rel * std, x.shape)),
            "dgamma": ("gamma", gamma, scaled_step(gamma, rel)),
            "dbeta": ("beta", beta, scaled_step(beta, rel)),
        },
        progress,
    )


def _torch(x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, momentum) -> tuple:
    """PyTorch's own batch_norm kernel in float64, where torch is installed."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch not installed: its column is left out (pip install torch==2.13.0 adds it)"
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    g = torch.tensor(gamma, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(beta, dtype=torch.float64, requires_grad=True)
    c = x.shape[1]
    running_mean, running_var = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    factor = 1.0 if momentum is None else momentum  # what nn.BatchNorm uses on its first batch
    y = torch.nn.functional.batch_norm(xt, running_mean, running_var, g, b, training=True, momentum=factor, eps=eps)
    (y * torch.tensor(dy, dtype=torch.float64)).sum().backward()
    cols = reference.to_columns if x.ndim == 4 else np.asarray
    out = {"y": cols(y.detach().numpy()), "dx": cols(xt.grad.numpy())}
    out.update(dgamma=g.grad.numpy(), dbeta=b.grad.numpy(), running_mean=running_mean.numpy())
    out["running_var"] = running_var.numpy()
    return out, f"PyTorch {torch.__version__} (F.batch_norm, float64): gives y, ∂ℓ/∂x, ∂ℓ/∂γ, ∂ℓ/∂β, running stats"


def term_scales(x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> dict[str, float]:
    """Sec. 3's equations with every factor replaced by its absolute value (`reference.sec3_terms`):
    the size of the terms each quantity sums, which bounds how much rounding can move it."""
    m = x.shape[0]
    fwd = reference.forward_train(x, gamma, beta, eps)
    xmu, var = np.abs(x - fwd["mean"]), fwd["var"]
    terms = {k: sum(t[1:], t[0]) for k, t in reference.sec3_terms(dy, x, gamma, eps, absolute=True).items()}
    terms["y"] = np.abs(gamma) * xmu * (1.0 / np.sqrt(var + eps)) + np.abs(beta)
    terms["running_mean"] = np.abs(fwd["mean"])  # (1 − f)·0 + f·μ_B
    terms["running_var"] = np.maximum(var * m / (m - 1), 1.0)  # (1 − f)·1 + f·m/(m−1)·σ²_B
    return {k: float(np.max(v)) for k, v in terms.items()}


def format_table(result: Comparison) -> str:
    """The comparison as a text table: first entry of each witness, errors, verdict."""
    present = [w for w in WITNESSES if any(w in r.values for r in result.rows)]
    head = ["quantity", "closed form[0]"] + [f"{w}[0]" for w in present] + ["max |Δ|"]
    head += [f"rel err {w}" for w in present] + ["ok"]
    lines = []
    for r in result.rows:
        cells = [r.symbol, f"{r.closed_form.flat[0]: .12g}"]
        cells += [f"{r.values[w].flat[0]: .12g}" if w in r.values else "—" for w in present]
        cells.append(f"{max(r.abs_error.values()):.1e}")
        cells += [f"{r.rel_error[w]:.1e}" if w in r.rel_error else "—" for w in present]
        cells.append("pass" if r.ok else "FAIL")
        lines.append(cells)
    widths = [max(text_width(row[i]) for row in [head, *lines]) for i in range(len(head))]
    rule = "  ".join("-" * w for w in widths)

    def line(cells: list[str]) -> str:  # padded by display width: x̂'s hat takes no column
        return "  ".join(pad(c, w) for c, w in zip(cells, widths))

    out = [
        result.title,
        line(head),
        rule,
        *(line(row) for row in lines),
        "",
        "tolerances (relative to the size of the summed terms): " + ", ".join(f"{w} {TOLERANCE[w]:g}" for w in present),
        result.torch_note,
        "all witnesses agree" if result.ok else "SOME WITNESSES DISAGREE (see FAIL rows)",
    ]
    return "\n".join(out)
