"""Sec. 3.3: BatchNorm ignores the scale of the weights, and larger weights get smaller gradients.

The claim (Sec. 3.3): for a scalar a, BN(Wu) = BN((aW)u), so
    ∂BN((aW)u)/∂u = ∂BN(Wu)/∂u           (the gradient passed down is unchanged)
    ∂BN((aW)u)/∂(aW) = (1/a)·∂BN(Wu)/∂W   (the weights' own gradient shrinks as they grow)
"The scale does not affect the layer Jacobian nor, consequently, the gradient propagation" and
larger weights lead to smaller gradients, which stabilizes their growth. Exact for ε = 0; with
ε > 0 only up to the ε term.

What runs: one layer x = Wu (Linear 6 → 4, no bias) followed by BatchNorm1d(4), on a batch of 16
random inputs u, with the loss ℓ = Σ y·dy for a random upstream gradient dy (a plain Σ y would
be constant: normalized outputs sum to β per feature). For each a in 0.01 … 100 we set the
weights to aW, run forward and backward, and compare with a = 1: the outputs, ∂ℓ/∂u, and
a·∂ℓ/∂(aW) against ∂ℓ/∂W. Once with eps = 0 (exact), once with PyTorch's eps = 1e-5.

What to look at: (a) ‖∂ℓ/∂(aW)‖ falls on the 1/a line. (b) with ε = 0 every identity holds to
rounding (~1e-15); with ε = 1e-5 the error grows as a shrinks, where ε is no longer small next to
σ²_B = a²·Var[Wu].

    python demos/scale_invariance.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import numpy as np
from _common import figure, parser, run_main, savefig

from micrograd_bn import BatchNorm1d, Linear, Value

M, N_IN, N_OUT = 16, 6, 4


def layer_gradients(w: np.ndarray, u: np.ndarray, dy: np.ndarray, eps: float) -> dict[str, np.ndarray]:
    """Forward y = BN(Wu) and backward of ℓ = Σ y·dy; returns y, ∂ℓ/∂u and ∂ℓ/∂W as arrays."""
    linear = Linear(N_IN, N_OUT, bias=False)  # the bias is dropped before BN (Sec. 3.2)
    for row, values in zip(linear.weight, w):
        for p, v in zip(row, values):
            p.data = float(v)
    bn = BatchNorm1d(N_OUT, eps=eps)
    inputs = [[Value(float(v)) for v in row] for row in u]
    y = bn(linear(inputs))
    loss = Value.sum([yk * float(d) for row, drow in zip(y, dy) for yk, d in zip(row, drow)])  # ℓ = Σ y·dy
    loss.backward()
    return {
        "y": np.array([[v.data for v in row] for row in y]),
        "du": np.array([[v.grad for v in row] for row in inputs]),
        "dW": np.array([[p.grad for p in row] for row in linear.weight]),
    }


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a − b| relative to the size of b."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main(argv: list[str] | None = None) -> dict:
    args = parser("scale_invariance", __doc__).parse_args(argv)
    scales = [0.1, 10.0] if args.quick else np.logspace(-2, 2, 16).tolist()  # 0.01 … 100, without a = 1 itself
    rng = np.random.default_rng(args.seed)
    w, u, dy = rng.normal(size=(N_OUT, N_IN)), rng.normal(size=(M, N_IN)), rng.normal(size=(M, N_OUT))

    result: dict = {"scales": scales}
    for eps in (0.0, 1e-5):
        base = layer_gradients(w, u, dy, eps)  # a = 1
        rows = [layer_gradients(a * w, u, dy, eps) for a in scales]
        result[eps] = {
            "grad_norm": [float(np.linalg.norm(r["dW"])) for r in rows],
            "grad_ratio": [float(np.linalg.norm(r["dW"]) / np.linalg.norm(base["dW"])) for r in rows],
            "y_error": [max_rel(r["y"], base["y"]) for r in rows],  # BN((aW)u) vs BN(Wu)
            "du_error": [max_rel(r["du"], base["du"]) for r in rows],  # ∂ℓ/∂u unchanged
            "dW_error": [max_rel(a * r["dW"], base["dW"]) for a, r in zip(scales, rows)],  # a·∂ℓ/∂(aW) = ∂ℓ/∂W
        }

    fig = figure(10.5, 4)
    ax_grad, ax_err = fig.subplots(1, 2)
    exact = result[0.0]
    ax_grad.loglog(scales, exact["grad_norm"], "o", color="tab:blue", label="‖∂ℓ/∂(aW)‖, ε = 0")
    g1 = np.linalg.norm(layer_gradients(w, u, dy, 0.0)["dW"])
    ax_grad.loglog(scales, [g1 / a for a in scales], color="black", lw=0.8, label="‖∂ℓ/∂W‖ / a")
    ax_grad.set(title="(a) the weights' gradient scales as 1/a", xlabel="a (weights aW)", ylabel="gradient norm")
    ax_grad.legend()
    tiny = 1e-18  # exact zeros drawn at the bottom of the log scale
    quantities = (("y_error", "BN output"), ("du_error", "∂ℓ/∂u"), ("dW_error", "a·∂ℓ/∂(aW) vs ∂ℓ/∂W"))
    for key, name in quantities:
        ax_err.loglog(scales, np.maximum(result[1e-5][key], tiny), "o-", ms=3, label=f"{name}, ε = 1e-5")
    worst_exact = np.max([exact[key] for key, _ in quantities], axis=0)
    ax_err.loglog(scales, np.maximum(worst_exact, tiny), "s-", color="black", ms=3, label="all three, ε = 0")
    ax_err.set(title="(b) relative change against a = 1", xlabel="a (weights aW)", ylabel="max relative error")
    ax_err.legend(fontsize=7, ncol=2)
    fig.suptitle(
        "Sec. 3.3: BN(Wu) = BN((aW)u), ∂ℓ/∂u unchanged, ∂ℓ/∂(aW) = (1/a)·∂ℓ/∂W\n"
        f"random W, u, ∂ℓ/∂y from seed {args.seed}; in (b) an error of exactly 0 is drawn at {tiny:g}, the axis bottom"
    )
    result["figure"] = savefig(fig, args.out, "scale_invariance.png")

    for eps in (0.0, 1e-5):
        r = result[eps]
        worst = max(abs(g * a - 1.0) for g, a in zip(r["grad_ratio"], scales))
        print(
            f"eps = {eps:g}: max over a of |BN((aW)u) − BN(Wu)| (relative) = {max(r['y_error']):.1e}, "
            f"∂ℓ/∂u {max(r['du_error']):.1e}, a·∂ℓ/∂(aW) vs ∂ℓ/∂W {max(r['dW_error']):.1e}, "
            f"|a·ratio − 1| {worst:.1e}"
        )
    return result


if __name__ == "__main__":
    run_main(main, "scale_invariance")
