"""Sec. 3.2: for convolutions, BatchNorm normalizes each feature map over the batch and all positions.

The claim (Sec. 3.2): to keep the convolutional property, "different elements of the same feature
map, at different locations, are normalized in the same way": Alg. 1 runs per channel over all
m' = m·p·q values of a mini-batch of m examples with p × q maps, with one γ and one β per feature
map, not per activation.

What runs: 16 digits (8×8) are convolved in NumPy with three 3×3 filters (an ink counter, a
horizontal and a vertical edge detector), giving an input of shape (N, C, H, W) = (16, 3, 6, 6). It goes
through BatchNorm2d(3) in training mode, with a random upstream gradient dy (ℓ = Σ y·dy). NumPy
then recomputes each channel's μ_B and σ²_B over axes (N, H, W), the output, and the Sec. 3
gradient with m' = N·H·W (micrograd_bn.reference.backward_2d), and compares.

What to look at: each channel arrives with its own location and spread (ink: positive and wide,
edges: centred, of different widths) and leaves as mean 0, variance 1; the layer holds 3 γ and 3 β (a
per-activation BatchNorm1d over C·H·W = 108 features would hold 108 of each and average over
only N = 16 values). The summary prints the largest difference from NumPy (~1e-16).

    python demos/conv_feature_maps.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import numpy as np
from _common import figure, load_digits, parser, run_main, savefig

from micrograd_bn import BatchNorm2d, Value
from micrograd_bn.reference import backward_2d

FILTERS = {
    "ink (3×3 sum)": np.ones((3, 3)),
    "horizontal edges": np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]),
    "vertical edges": np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]),
}


def convolve(images: np.ndarray, kernels: list[np.ndarray]) -> np.ndarray:
    """(N, H, W) images, C kernels k×k -> (N, C, H−k+1, W−k+1) feature maps ('valid', no padding)."""
    k = kernels[0].shape[0]
    patches = np.lib.stride_tricks.sliding_window_view(images, (k, k), axis=(1, 2))  # (N, H', W', k, k)
    return np.stack([np.einsum("nhwij,ij->nhw", patches, kern) for kern in kernels], axis=1)


def _flat(batch: list) -> list[Value]:
    """The Values of an (N, C, H, W) nested list in C order (as NumPy's ravel)."""
    return [v for sample in batch for plane in sample for row in plane for v in row]


def main(argv: list[str] | None = None) -> dict:
    args = parser("conv_feature_maps", __doc__).parse_args(argv)
    n = 4 if args.quick else 16
    data = load_digits(seed=args.seed)
    x = convolve(np.array(data.x_train[:n]).reshape(n, 8, 8), list(FILTERS.values()))  # (N, C, H, W)
    c = x.shape[1]
    dy = np.random.default_rng(args.seed).normal(size=x.shape)

    bn = BatchNorm2d(c)  # γ = 1, β = 0, ε = 1e-5
    inputs = [[[[Value(float(v)) for v in row] for row in plane] for plane in sample] for sample in x]
    y = bn(inputs)
    loss = Value.sum([yv * float(d) for yv, d in zip(_flat(y), dy.ravel())])  # ℓ = Σ y·dy
    loss.backward()
    y_engine = np.array([[[[v.data for v in row] for row in plane] for plane in sample] for sample in y])
    dx_engine = np.array([[[[v.grad for v in row] for row in plane] for plane in sample] for sample in inputs])

    # NumPy, from the paper: statistics per channel over m' = N·H·W values (Sec. 3.2)
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))  # biased, 1/m', as Alg. 1 line 2
    x_hat = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + bn.eps)
    gamma, beta = np.array([g.data for g in bn.weight]), np.array([b.data for b in bn.bias])
    y_numpy = gamma[None, :, None, None] * x_hat + beta[None, :, None, None]
    grads = backward_2d(dy, x, gamma, bn.eps)
    m_prime = x.shape[0] * x.shape[2] * x.shape[3]
    errors = {
        "mean": float(np.max(np.abs([nodes.mean.data for nodes in bn.last] - mean))),
        "var": float(np.max(np.abs([nodes.var.data for nodes in bn.last] - var))),
        "y": float(np.max(np.abs(y_engine - y_numpy))),
        "dx": float(np.max(np.abs(dx_engine - grads["dx"]))),
        "dgamma": float(np.max(np.abs([g.grad for g in bn.weight] - grads["dgamma"]))),
        "dbeta": float(np.max(np.abs([b.grad for b in bn.bias] - grads["dbeta"]))),
    }

    fig = figure(11, 3.8)
    ax_before, ax_after = fig.subplots(1, 2, sharex=True, sharey=True)
    bins = np.linspace(min(x.min(), y_engine.min()), max(x.max(), y_engine.max()), 60)  # every value, before and after
    for k, name in enumerate(FILTERS):
        before, after = x[:, k].ravel(), y_engine[:, k].ravel()
        label = f"{name}: mean {mean[k]:.2f}, std {var[k] ** 0.5:.2f}"
        ax_before.hist(before, bins=bins, histtype="step", lw=1.5, label=label)
        label = f"{name}: mean {abs(after.mean()):.0f}, std {after.std():.2f}"
        ax_after.hist(after, bins=bins, histtype="step", lw=1.5, label=label)
    ax_before.set(title="(a) the input, per channel", xlabel="value", ylabel=f"count (of m' = {m_prime} per channel)")
    ax_after.set(title="(b) after BatchNorm2d (γ = 1, β = 0)", xlabel="value")
    for ax in (ax_before, ax_after):
        ax.legend(fontsize=8)
    fig.suptitle(
        f"BatchNorm2d on (N, C, H, W) = {x.shape}: one μ_B, σ²_B, γ, β per channel, over m' = N·H·W\n"
        f"seed {args.seed}; the bins hold every value (nothing clipped)"
    )
    path = savefig(fig, args.out, "conv_feature_maps.png")

    print(
        f"input (N, C, H, W) = {x.shape}: m' = N·H·W = {m_prime} values per channel; "
        f"{len(bn.weight)} γ and {len(bn.bias)} β"
    )
    print("per channel μ_B: " + ", ".join(f"{v:.3f}" for v in mean) + "; σ²_B: " + ", ".join(f"{v:.3f}" for v in var))
    print("largest |engine − NumPy|: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    return {
        "figure": path,
        "shape": x.shape,
        "m_prime": m_prime,
        "per_feature_values": [len(nodes.x) for nodes in bn.last],
        "num_gamma": len(bn.weight),
        "errors": errors,
        "after_mean": [float(y_engine[:, k].mean()) for k in range(c)],
        "after_var": [float(y_engine[:, k].var()) for k in range(c)],
    }


if __name__ == "__main__":
    run_main(main, "conv_feature_maps")
