"""Saturation: at a high learning rate, sigmoid units drift into their flat tails unless BN holds them.

The claim (Sec. 3.3; Sec. 4.2.1, "BN-x5-Sigmoid"): changes to the lower layers move a sigmoid's
input x into the saturated regime, where σ'(x) ≈ 0 and learning stalls; by normalizing x, Batch
Normalization "prevents the training from getting stuck in the saturated regimes of
nonlinearities", so sigmoid nets train even at 5× the learning rate.

What runs: Figure 1's toy net (64 → 16 → 16 → 16 → 10 sigmoid, weights from N(0, 0.5²), batches
of 16) at 5× its learning rate (lr 5), 200 steps, with and without BN, over 3 seeds (`--seeds`;
each with its own data split, weights and batches). At every step we count the
saturated sigmoid inputs of the batch, per hidden layer. Threshold: |x| > 3, where σ'(x) < 0.045,
less than a fifth of its peak σ'(0) = 0.25: such a unit passes on under 18% of the gradient.

What to look at: (a) the plain net's saturated share climbs in every layer (all layers, seeds
0–2: 0.04–0.07 at the start, 0.40–0.56 at the end); with BN the lower layers stay mostly
responsive (0.32–0.33 in all; NB: the last hidden layer saturates more as it learns a large γ,
turning its units into near-binary features on purpose, on both sides of the tail). (b) at the
end, the plain net's inputs pile up beyond ±3; (c) the plain net's accuracy stalls (0.19–0.31
held out) while the BN net trains (0.89–0.94). Lines are medians over the seeds, bands min–max;
(a) is a 10-step moving average; in (b) the seeds are pooled and values beyond ±12 are counted
in the end bins.

    python demos/saturation.py [--quick] [--out DIR] [--seed N] [--seeds K]
"""

from __future__ import annotations

import numpy as np
from _common import (
    BN,
    COLORS,
    LR,
    NO_BN,
    add_seeds,
    figure,
    layer_share_bands,
    load_digits,
    parser,
    print_per_seed,
    run_main,
    savefig,
    seed_band,
    seed_text,
    sigmoid_mlp,
    train_measuring_layers,
)

HIGH_LR = 5 * LR  # 5× figure1.py's rate, as the paper's BN-x5-Sigmoid
THRESHOLD = 3.0  # saturated: |x| > 3, i.e. σ'(x) < 0.045
EVERY = 10  # steps between held-out accuracy checks; also the smoothing window of panel (a)


def saturated_share(x: np.ndarray) -> float:
    """Share of sigmoid inputs with |x| > THRESHOLD."""
    return float(np.mean(np.abs(x) > THRESHOLD))


def run(batchnorm: bool, steps: int, seed: int) -> dict:
    """Train one net; record the saturated share per hidden layer at every step."""
    net = sigmoid_mlp(batchnorm, seed=seed)  # figure1.py's net
    label = f"saturation {BN if batchnorm else NO_BN}"
    return train_measuring_layers(net, load_digits(seed=seed), HIGH_LR, steps, seed, label, saturated_share, EVERY)


def main(argv: list[str] | None = None) -> dict:
    p = parser("saturation", __doc__)
    add_seeds(p, default=3)
    args = p.parse_args(argv)
    seeds = list(range(args.seed, args.seed + args.seeds))
    steps = 50 if args.quick else 200
    runs = {label: [run(bn, steps, s) for s in seeds] for label, bn in ((NO_BN, False), (BN, True))}

    fig = figure(13, 4)
    ax_share, ax_hist, ax_acc = fig.subplots(1, 3)
    layer_share_bands(ax_share, runs, COLORS, EVERY)
    ax_share.set(title=f"(a) saturated share, |x| > {THRESHOLD:g}", xlabel="training step")
    ax_share.set_ylabel(f"share ({EVERY}-step moving average)")
    ax_share.set(ylim=(0, 1.3), yticks=np.linspace(0, 1, 6))  # room for the legend above 1
    ax_share.legend(fontsize=7, ncol=2, loc="upper center")

    bins = np.linspace(-12, 12, 61)
    for label, rs in runs.items():
        x = np.concatenate([h.ravel() for r in rs for h in r["x_end"]])
        x = np.clip(x, bins[0], bins[-1])  # the end bins hold everything beyond ±12 (said in the title)
        ax_hist.hist(x, bins=bins, color=COLORS[label], alpha=0.5, density=True, label=label)
    for sign in (-1, 1):
        ax_hist.axvspan(sign * THRESHOLD, sign * bins[-1], color="tab:red", alpha=0.08)
    ax_hist.set(title="(b) sigmoid inputs at the end, held out", xlabel="x (all hidden layers, all seeds)")
    ax_hist.set_ylabel("density; beyond ±12 counted in the end bins", fontsize=9)
    ax_hist.legend(fontsize=8)

    for label, rs in runs.items():
        seed_band(ax_acc, rs[0]["acc_steps"], [r["accuracy"] for r in rs], COLORS[label], label, marker="o", ms=3)
    ax_acc.set(title="(c) held-out accuracy", xlabel="training step", ylabel="accuracy", ylim=(0, 1))
    ax_acc.legend(loc="lower right")
    fig.suptitle(
        f"Sigmoid saturation at a high learning rate (lr = {HIGH_LR:g}); shaded in (b): |x| > {THRESHOLD:g}, "
        f"σ'(x) < 0.045\n{seed_text(seeds)}: lines = median, bands = min–max over the seeds"
    )
    path = savefig(fig, args.out, "saturation.png")

    result: dict = {"figure": path, "threshold": THRESHOLD, "seeds": seeds}
    for label, rs in runs.items():
        last = np.array([r["shares"][-EVERY:].mean(axis=0) for r in rs])  # (seeds, layers), the last EVERY steps
        result[label] = {
            "share_per_layer_end": last.tolist(),
            "share_end": last.mean(axis=1).tolist(),
            "share_start": [float(r["shares"][0].mean()) for r in rs],
            "final_accuracy": [r["accuracy"][-1] for r in rs],
        }
        res = result[label]
        print_per_seed(
            label,
            seeds,
            [
                f"saturated share {res['share_start'][k]:.2f} → {res['share_end'][k]:.2f} "
                f"(per layer {', '.join(f'{x:.2f}' for x in last[k])}); "
                f"held-out accuracy {res['final_accuracy'][k]:.3f}"
                for k in range(len(seeds))
            ],
        )
    return result


if __name__ == "__main__":
    run_main(main, "saturation")
