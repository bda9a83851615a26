"""Internal covariate shift, measured as Santurkar et al. (2018) define it, with and without BN.

The claim (Sec. 1–2): Batch Normalization is motivated as a way to reduce internal covariate shift
(ICS), "the change in the distribution of network activations due to the change in network
parameters during training". Santurkar et al., "How Does Batch Normalization Help Optimization?"
(arXiv 1805.11604), Sec. 2.2, measure it by what a layer has to adapt to: the change of its
gradient caused by the update of the layers below it, on the same batch. For layer i at step t:
    G_{t,i}  = ∇_{W_i} ℓ(W_1^(t),   …, W_{i−1}^(t),   W_i^(t), …, W_k^(t); x^(t), y^(t))
    G'_{t,i} = ∇_{W_i} ℓ(W_1^(t+1), …, W_{i−1}^(t+1), W_i^(t), …, W_k^(t); x^(t), y^(t))
    ICS (their Definition 2.1) = ‖G_{t,i} − G'_{t,i}‖₂, and (their Fig. 3) cos(G_{t,i}, G'_{t,i}).
If the layers below barely changed what layer i sees, G' = G: distance 0, cosine 1. Santurkar et
al. found that BN networks do not show less ICS by this measure (often more), although they train
better; their argument is that BN helps by making the loss landscape smoother instead (their
Sec. 3.1 and Fig. 4, measured in loss_landscape.py).

What runs: Figure 1's toy net (64 → 16 → 16 → 16 → 10 sigmoid, N(0, 0.5²) weights, lr 1, batches of
16), 200 SGD steps with and without BN, over 3 seeds (`--seeds`). Every 5th step, for layers i = 2, 3, 4 (layer 1 has no
layers below it), after the normal step we put the layers ≥ i back to their old values, keep the
updated layers < i, and recompute the gradient of W_i (a Linear's weights) on the same batch.
"Layer j" is the Linear W_j together with its BatchNorm's γ and β. The probes leave the running
statistics untouched.

What to look at: top row, the distance ‖G − G'‖; bottom row, the cosine; one column per layer. BN
does not make G' closer to G, as Santurkar et al. report: over the first ~100 steps its distances
in layers 2 and 3 are several times larger and its cosines lower; layer 4 and the later steps
look alike, but for a few deep cosine dips of the plain net (down to −0.6 in the band). Over the
whole run BN's median distance is the larger in layers 2 and 3 in every seed (0–2). Lines are
medians over the seeds, bands min–max; nothing is clipped or smoothed. NB:
early on the plain net barely moves (it sits on the sigmoid plateau), which alone keeps its G'
close to G. The summary prints the medians, also of ‖G − G'‖/‖G‖ (the gradients differ in size).

    python demos/covariate_shift.py [--quick] [--out DIR] [--seed N] [--seeds K]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from _common import (
    BATCH,
    BN,
    COLORS,
    LR,
    NO_BN,
    add_seeds,
    figure,
    linear_layers,
    load_digits,
    minibatches,
    parser,
    progress,
    run_main,
    savefig,
    seed_band,
    seed_text,
    sgd_step,
    sigmoid_mlp,
)

from micrograd_bn import MLP, SGD, BatchNorm1d, Linear, Value, cross_entropy, gc_paused

EVERY = 5  # measure at every 5th step


def layer_blocks(net: MLP) -> list[list[Value]]:
    """Parameters per layer j: the j-th Linear and the BatchNorm right after it (if any)."""
    blocks: list[list[Value]] = []
    for layer in net.layers:
        if isinstance(layer, Linear):
            blocks.append([])
        blocks[-1].extend(layer.parameters())
    return blocks


def weight_gradient(layer: Linear) -> np.ndarray:
    """∇_{W} ℓ of a Linear's weights, flattened (the G of Santurkar et al.)."""
    return np.array([p.grad for row in layer.weight for p in row])


@contextlib.contextmanager
def running_stats_kept(net: MLP) -> Iterator[None]:
    """Run probe forwards in training mode without leaving a trace in BN's running statistics."""
    layers = [layer for layer in net.layers if isinstance(layer, BatchNorm1d)]
    saved = [(bn.running_mean[:], bn.running_var[:], bn.num_batches_tracked) for bn in layers]
    try:
        yield
    finally:
        for bn, (mean, var, count) in zip(layers, saved):
            bn.running_mean, bn.running_var, bn.num_batches_tracked = mean, var, count


def shifted_gradients(net: MLP, old: list[list[float]], rows: list, labels: list[int]) -> dict[int, np.ndarray]:
    """G'_{t,i} for i = 2..k: layers < i at their new values, layers ≥ i at their old ones."""
    blocks, linears = layer_blocks(net), linear_layers(net)
    new = [[p.data for p in block] for block in blocks]
    out = {}
    with running_stats_kept(net):
        for i in range(1, len(blocks)):  # 0-based: layer i + 1 in the paper's counting
            for j, block in enumerate(blocks):
                for p, v_old, v_new in zip(block, old[j], new[j]):
                    p.data = v_new if j < i else v_old
            loss = cross_entropy(net(rows), labels)
            net.zero_grad()
            loss.backward()
            out[i] = weight_gradient(linears[i])
    for block, values in zip(blocks, new):  # back to W^(t+1) everywhere
        for p, v in zip(block, values):
            p.data = v
    return out


def run(batchnorm: bool, steps: int, seed: int) -> dict:
    data = load_digits(seed=seed)
    net = sigmoid_mlp(batchnorm, seed=seed)  # figure1.py's net
    opt, blocks, linears = SGD(net.parameters(), LR), layer_blocks(net), linear_layers(net)
    record: dict = {"step": [], "distance": [], "cosine": [], "relative": [], "loss": []}
    label = f"covariate_shift {BN if batchnorm else NO_BN}"
    with gc_paused():
        for step, idx in enumerate(progress(minibatches(len(data.y_train), BATCH, steps, seed), steps, label), 1):
            rows, labels = [data.x_train[i] for i in idx], [data.y_train[i] for i in idx]
            old = [[p.data for p in block] for block in blocks]  # W^(t)
            loss, _ = sgd_step(net, [opt], rows, labels)  # gradients G_{t,·} at W^(t), then W^(t+1)
            record["loss"].append(loss)
            if step % EVERY and step != 1:
                continue
            g = {i: weight_gradient(linears[i]) for i in range(1, len(blocks))}
            g_shifted = shifted_gradients(net, old, rows, labels)
            record["step"].append(step)
            record["distance"].append([float(np.linalg.norm(g[i] - g_shifted[i])) for i in g])
            record["cosine"].append(
                [float(g[i] @ g_shifted[i] / np.linalg.norm(g[i]) / np.linalg.norm(g_shifted[i])) for i in g]
            )
            record["relative"].append([float(np.linalg.norm(g[i] - g_shifted[i]) / np.linalg.norm(g[i])) for i in g])
    return {k: np.array(v) for k, v in record.items()}


def main(argv: list[str] | None = None) -> dict:
    p = parser("covariate_shift", __doc__)
    add_seeds(p, default=3)
    args = p.parse_args(argv)
    seeds = list(range(args.seed, args.seed + args.seeds))
    steps = 25 if args.quick else 200
    runs = {label: [run(bn, steps, s) for s in seeds] for label, bn in ((NO_BN, False), (BN, True))}

    fig = figure(12, 6)
    axes = fig.subplots(2, 3, sharex=True)
    for layer in range(3):  # layers 2, 3, 4
        for row, key in enumerate(("distance", "cosine")):
            ax = axes[row, layer]
            for label, rs in runs.items():
                curves = [r[key][:, layer] for r in rs]
                seed_band(ax, rs[0]["step"], curves, COLORS[label], label, marker=".", lw=1, ms=3)
            if key == "distance":
                ax.set(yscale="log", title=f"layer {layer + 2}: ‖G − G'‖₂ (Definition 2.1)")
            else:
                ax.set(ylim=(min(0.0, ax.get_ylim()[0]), 1.02), title=f"layer {layer + 2}: cos(G, G')", xlabel="step")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        "Internal covariate shift as Santurkar et al. measure it: how the update of the layers below changes G\n"
        f"{seed_text(seeds)}: lines = median, bands = min–max over the seeds; nothing clipped or smoothed"
    )
    path = savefig(fig, args.out, "covariate_shift.png")

    result: dict = {"figure": path, "seeds": seeds}
    fmt = lambda xs: ", ".join(f"{x:.3g}" for x in xs)  # noqa: E731
    for label, rs in runs.items():
        result[label] = {"steps": rs[0]["step"].tolist()}
        for key in ("distance", "cosine", "relative"):
            result[label][key] = [r[key].tolist() for r in rs]  # [seed][probe][layer]
            result[label][f"median_{key}"] = [np.median(r[key], axis=0).tolist() for r in rs]  # [seed][layer]
        print(f"{label:>10}, layers 2/3/4, medians over training:")
        for k, seed in enumerate(seeds):
            res = result[label]
            print(
                f"{'seed ' + str(seed):>12}: ‖G − G'‖ {fmt(res['median_distance'][k])}; "
                f"cos {fmt(res['median_cosine'][k])}; relative {fmt(res['median_relative'][k])}"
            )
    return result


if __name__ == "__main__":
    run_main(main, "covariate_shift")
