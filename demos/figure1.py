"""Figure 1 at small scale: BN trains faster at first; its sigmoid input stays nearer 0, but spreads as much.

The claim (Sec. 4.1, Figure 1): an MNIST net with three hidden layers of 100 sigmoids, started
from small random Gaussian weights and trained with and without BN. (a) The BN net reaches a
higher test accuracy, sooner. (b, c) The input x to a typical sigmoid of the last hidden layer,
shown as its {15, 50, 85}th percentiles over training, drifts in the plain net ("internal
covariate shift") and stays put in the BN net.

What runs: the same experiment at toy size, on scikit-learn's 8×8 digits: 64 → 16 → 16 → 16 → 10,
sigmoid, plain SGD with lr 1 on mini-batches of 16, 1,000 steps, for 3 seeds (`--seeds`; each has
its own data split, weights and batches, shared by both nets). The weights are drawn from
N(0, 1²): of init_sensitivity.py's inits (N(0, s²) for s = 0.125 … 2 and PyTorch's default) the
one where the plain net does best (BN does about equally well from all of them), so the init
favours the net without BN, not ours. The only difference between the nets is BatchNorm1d before
each sigmoid (which replaces the layer's bias, Sec. 3.2). Panels (b, c) follow unit 0 of the last
hidden layer; its percentiles are taken over the values it receives in the training forward
passes of each window of 25 steps (400 values).

What to look at: (a) the BN net leads early and the plain net closes the gap: held-out accuracy
0.805–0.870 against 0.647–0.682 at step 100, 0.885–0.930 against 0.845–0.882 at step 300,
0.955–0.968 against 0.910–0.948 at step 1,000 (seeds 0–2). (b) Without BN the unit's band opens
from narrow (0.9–2.2 wide, 15th to 85th percentile) and its median drops to about −1.3 within
the first ~50 steps. (c) With BN the band starts as the normalization makes it (percentiles
≈ −1.04, 0, +1.04 of N(0, 1)) and the median stays nearer 0 (|median| ≤ 0.47, 0.99, 1.82
against 1.59, 2.16, 1.90 without BN); it moves over a smaller range in 2 of the 3 seeds (0.59,
0.96, 1.66 against 1.64, 1.44, 1.43), and in all of them over the first 60 steps (the test, at
--quick). But the band widens about 3× with BN too, to 6.1–7.9 against 5.1–6.8 without, as the
net learns a larger γ for this unit: at this scale the centre holds still, the spread does not
(the paper's panel (c) is flat). Lines are medians over the seeds, bands min–max over the seeds;
the 25-step percentile windows are the only smoothing; nothing is clipped.

`--paper`: the paper's widths and batch, 64 → 100 → 100 → 100 → 10 with batches of 60, one seed,
200 steps (what runs in about five minutes on the Python engine). What differs from the paper:
8×8 digits, not MNIST's 28×28; 200 steps, not 50,000; lr 1 and N(0, 1²) chosen at toy size (at
fan-in 100 that init is large: the plain net starts saturated, near chance for 40 steps;
`--init-std 0.4` keeps the toy net's input scale per unit). At this size panel (c) is flat as in
the paper: seed 0, BN's band 1.9 → 2.4 wide, |median| ≤ 0.18 (N(0, 0.4²): 2.1 → 2.6, ≤ 0.35),
while the plain net's median moves over 7.9 (2.8).

    python demos/figure1.py [--quick] [--out DIR] [--seed N] [--seeds K] [--paper] [--init-std S]
"""

from __future__ import annotations

from functools import partial

import numpy as np
from _common import (
    BATCH,
    BN,
    COLORS,
    LR,
    NO_BN,
    SIZES,
    accuracy,
    add_seeds,
    check_numpy_forward,
    figure,
    load_digits,
    parser,
    positive_number,
    run_main,
    savefig,
    seed_band,
    seed_text,
    sigmoid_mlp,
    train,
)

UNIT = 0  # the "typical sigmoid" of the last hidden layer that panels (b, c) follow
PERCENTILES = (15, 50, 85)
INIT_STD = 1.0  # the plain net's best init in init_sensitivity.py (median 0.80 after 150 steps, seeds 0–2)
PAPER_SIZES, PAPER_BATCH = [64, 100, 100, 100, 10], 60  # Sec. 4.1's widths and batch, on 8×8 inputs


def run(batchnorm: bool, steps: int, every: int, seed: int, sizes: list[int], batch: int, std: float) -> dict:
    """Train one net; every `every` steps record held-out accuracy and the unit's percentiles."""
    data = load_digits(seed=seed)
    net = sigmoid_mlp(batchnorm, seed=seed, sizes=sizes, init_std=std)
    record = {"step": [0], "accuracy": [accuracy(net, data.x_test, data.y_test)], "percentiles": []}
    window: list[float] = []  # x of unit UNIT, last hidden layer, over the last `every` steps

    def observe(step: int, activation_inputs: list) -> None:
        window.extend(row[UNIT].data for row in activation_inputs[-1])
        if step % every == 0:
            record["step"].append(step)
            record["accuracy"].append(accuracy(net, data.x_test, data.y_test))  # Alg. 2: inference net
            record["percentiles"].append(np.percentile(window, PERCENTILES).tolist())
            window.clear()

    label = f"figure1 {BN if batchnorm else NO_BN}, seed {seed}"
    record["loss"] = train(net, data, LR, steps, batch, seed, label, observe)
    record["numpy_vs_engine"] = check_numpy_forward(net, data.x_test)  # evaluation reads the same net
    return record


def main(argv: list[str] | None = None) -> dict:
    p = parser("figure1", __doc__)
    add_seeds(p, default=3, note="; 1 with --paper")
    p.set_defaults(seeds=None)  # chosen below, once --paper is known
    p.add_argument("--paper", action="store_true", help="the paper's 3 × 100 sigmoids, batch 60 (minutes)")
    std = partial(positive_number, what="weight std", most=100.0)
    p.add_argument("--init-std", type=std, default=INIT_STD, help=f"weights from N(0, s²) (default {INIT_STD:g})")
    args = p.parse_args(argv)
    sizes, batch = (PAPER_SIZES, PAPER_BATCH) if args.paper else (SIZES, BATCH)
    seeds = list(range(args.seed, args.seed + (args.seeds or (1 if args.paper else 3))))
    steps, every = (60, 10) if args.quick else (200, 10) if args.paper else (1000, 25)
    runs = {
        label: [run(bn, steps, every, s, sizes, batch, args.init_std) for s in seeds]
        for label, bn in ((NO_BN, False), (BN, True))
    }
    step = runs[BN][0]["step"]

    fig = figure(13, 4)
    ax_acc, ax_plain, ax_bn = fig.subplots(1, 3)
    for label, rs in runs.items():
        seed_band(ax_acc, step, [r["accuracy"] for r in rs], COLORS[label], label)
    ax_acc.set(title="(a) held-out accuracy", xlabel="training step", ylabel="accuracy", ylim=(0, 1))
    ax_acc.legend(loc="lower right")
    for ax, label, letter in ((ax_plain, NO_BN, "b"), (ax_bn, BN, "c")):
        p = np.array([r["percentiles"] for r in runs[label]])  # (seeds, windows, 3)
        for k, (q, style) in enumerate(zip(PERCENTILES, (":", "-", ":"))):
            seed_band(ax, step[1:], p[:, :, k], COLORS[label], f"{q}th percentile", ls=style)
        ax.axhline(0.0, color="black", lw=0.5)
        ax.set(title=f"({letter}) {label}: input x of unit {UNIT}, per {every} steps", xlabel="training step")
        ax.set_ylabel("x (last hidden layer)")
        ax.legend(loc="lower left", fontsize=8)
    lo = min(ax_plain.get_ylim()[0], ax_bn.get_ylim()[0])
    hi = max(ax_plain.get_ylim()[1], ax_bn.get_ylim()[1])
    for ax in (ax_plain, ax_bn):
        ax.set_ylim(lo, hi)  # same scale, so the two bands compare at a glance
    fig.suptitle(
        f"Figure 1 at small scale: {'→'.join(map(str, sizes))} sigmoid net, batch {batch}, on 8×8 digits, init "
        f"N(0, {args.init_std:g}²), lr {LR:g}\n{seed_text(seeds)}: lines = median, bands = min–max over the seeds; "
        f"(b, c) percentiles over {every}-step windows, nothing clipped"
    )
    name = "figure1_paper" if args.paper else "figure1"
    name += "" if args.init_std == INIT_STD else f"_std{args.init_std:g}"
    path = savefig(fig, args.out, f"{name}.png")

    result: dict = {"figure": path, "steps": step, "seeds": seeds}
    marks = [t for t in (100, 300) if t in step[:-1]] + [step[-1]]  # the steps at which the gap is printed
    for label, rs in runs.items():
        p = np.array([r["percentiles"] for r in rs])
        width = p[:, :, 2] - p[:, :, 0]  # 15th-to-85th percentile spread of x in each window, per seed
        median = p[:, :, 1]
        result[label] = {
            "accuracy": [r["accuracy"] for r in rs],
            "final_accuracy": [r["accuracy"][-1] for r in rs],
            "accuracy_at": {t: [r["accuracy"][step.index(t)] for r in rs] for t in marks},
            "percentiles": p.tolist(),
            "width_first": width[:, 0].tolist(),
            "width_last": width[:, -1].tolist(),
            "median_drift": (median.max(axis=1) - median.min(axis=1)).tolist(),  # range of the median over training
            "median_max_abs": np.abs(median).max(axis=1).tolist(),
            "numpy_vs_engine": max(r["numpy_vs_engine"] for r in rs),
        }
    for label in runs:
        r = result[label]
        print(
            f"{label:>10}, seeds {', '.join(map(str, seeds))}: held-out accuracy "
            + "; ".join(f"at step {t} " + ", ".join(f"{a:.3f}" for a in accs) for t, accs in r["accuracy_at"].items())
            + f"; unit {UNIT}'s x: band width "
            f"{', '.join(f'{a:.2f} → {b:.2f}' for a, b in zip(r['width_first'], r['width_last']))}; "
            f"the median moves over a range of {', '.join(f'{d:.2f}' for d in r['median_drift'])}, "
            f"|median| ≤ {', '.join(f'{d:.2f}' for d in r['median_max_abs'])}"
        )
    return result


if __name__ == "__main__":
    run_main(main, "figure1")
