"""Learning rates: a BN net trains over a range of rates where the plain net stalls or diverges.

The claim (Sec. 3.3, Sec. 4.2.1): "In traditional deep networks, too-high learning rate may result
in the gradients that explode or vanish, as well as getting stuck in poor local minima. Batch
Normalization helps address these issues", so BN networks train with higher rates (×5 and ×30 in
Sec. 4.2.1). The mechanism (Sec. 3.3): BN makes a layer blind to the scale of its weights, and
larger weights get smaller gradients, which "stabilizes the parameter growth" (see
scale_invariance.py).

What runs: Figure 1's toy net (64 → 16 → 16 → 16 → 10 sigmoid, weights from N(0, 0.5²), batches of
16) for 100 steps at each rate in 0.3, 1, 3, 10, with and without BN, the same batches for all.
Each run is labelled: "trains" if its held-out accuracy reaches 50%, "diverges" if its loss over the
last 10 steps is above ln 10 ≈ 2.30 (worse than guessing uniformly, where every run starts),
"stalls" otherwise.

What to look at: (a) at 0.3, 1 and 3 the BN net trains while the plain net stalls (still on the
sigmoid plateau: below 50% after 100 steps, at any of them); at 10 the plain net diverges. (b) the
plain net's loss curves hug ln 10 or climb above it; the BN ones fall at once. NB: BN's range
ends too: at 10 it stalls. There the trouble is the output layer, which BN does not normalize:
`--output-lr 1` keeps that layer at rate 1 and sweeps the hidden layers alone (try
`--rates 0.3 1 3 10 30`); the BN net then trains even at 30 and the plain one still does not.

    python demos/learning_rates.py [--quick] [--out DIR] [--seed N] [--rates R ...] [--output-lr R]
"""

from __future__ import annotations

import math

import numpy as np
from _common import (
    BATCH,
    BN,
    COLORS,
    NO_BN,
    accuracy,
    figure,
    load_digits,
    moving_average,
    parser,
    positive_number,
    run_main,
    savefig,
    sigmoid_mlp,
    train,
)

RATES = [0.3, 1.0, 3.0, 10.0]
CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over 10 digits
TRAINS_AT = 0.5  # held-out accuracy that counts as "trains"


def status(final_accuracy: float, losses: list[float]) -> str:
    """'trains', 'diverges' or 'stalls', as defined in the module docstring."""
    if final_accuracy >= TRAINS_AT:
        return "trains"
    tail = losses[-10:]
    return "diverges" if not all(map(math.isfinite, tail)) or np.mean(tail) > CHANCE_LOSS else "stalls"


def run(batchnorm: bool, lr: float, steps: int, seed: int, output_lr: float | None) -> dict:
    """Train one net at one rate; return its held-out accuracy, losses and status."""
    data = load_digits(seed=seed)
    net = sigmoid_mlp(batchnorm, seed=seed)  # figure1.py's net
    label = f"lr {lr:g} {BN if batchnorm else NO_BN}"
    losses = train(net, data, lr, steps, BATCH, seed, label, output_lr=output_lr)
    acc = accuracy(net, data.x_test, data.y_test)
    return {"accuracy": acc, "loss": losses, "status": status(acc, losses)}


def main(argv: list[str] | None = None) -> dict:
    p = parser("learning_rates", __doc__)
    p.add_argument("--rates", type=positive_number, nargs="+", default=None, help=f"learning rates (default {RATES})")
    p.add_argument("--output-lr", type=positive_number, default=None, help="rate of the output layer (default: lr)")
    args = p.parse_args(argv)
    rates = args.rates or ([1.0, 10.0] if args.quick else RATES)
    steps = 30 if args.quick else 100
    runs = {
        label: [run(bn, lr, steps, args.seed, args.output_lr) for lr in rates]
        for label, bn in ((NO_BN, False), (BN, True))
    }

    fig = figure(11, 4)
    ax_acc, ax_loss = fig.subplots(1, 2)
    for label, rs in runs.items():
        ax_acc.plot(rates, [r["accuracy"] for r in rs], "o-", color=COLORS[label], label=label)
        for lr, r in zip(rates, rs):
            ax_acc.annotate(r["status"], (lr, r["accuracy"]), textcoords="offset points", xytext=(0, 6), fontsize=7)
    ax_acc.axhline(0.1, color="black", lw=0.5, ls=":", label="chance")
    ax_acc.set(xscale="log", ylim=(0, 1), xlabel="learning rate", ylabel=f"held-out accuracy after {steps} steps")
    ax_acc.set_xticks(rates, [f"{lr:g}" for lr in rates])
    ax_acc.minorticks_off()
    ax_acc.set_title("(a) accuracy against the learning rate")
    ax_acc.legend(loc="center left")
    for label, rs in runs.items():
        for k, (lr, r) in enumerate(zip(rates, rs)):
            style = "-" if label == BN else "--"
            ax_loss.plot(
                range(1, steps + 1), moving_average(r["loss"], 10), style, color=f"C{k}", label=f"lr {lr:g}, {label}"
            )
    ax_loss.axhline(CHANCE_LOSS, color="black", lw=0.5, ls=":")  # ln 10: guessing
    ax_loss.annotate("ln 10", (steps, CHANCE_LOSS), xytext=(-24, 3), textcoords="offset points", fontsize=7)
    ax_loss.set(xlabel="training step", ylabel="training loss (10-step average)", ylim=(0, 2 * CHANCE_LOSS))
    ax_loss.set_title("(b) training loss: dashed without BN, solid with BN")
    ax_loss.legend(fontsize=7, ncol=2, loc="lower left")
    where = "all layers" if args.output_lr is None else f"hidden layers; output layer at {args.output_lr:g}"
    fig.suptitle(f"Learning-rate sweep ({where}), sigmoid net on 8×8 digits")
    name = "learning_rates.png" if args.output_lr is None else f"learning_rates_output_lr{args.output_lr:g}.png"
    path = savefig(fig, args.out, name)

    result = {"figure": path, "rates": rates, "steps": steps}
    for label, rs in runs.items():
        result[label] = {
            "accuracy": [r["accuracy"] for r in rs],
            "status": [r["status"] for r in rs],
            "final_loss": [float(np.mean(r["loss"][-10:])) for r in rs],
        }
    print(f"{'lr':>6} | {NO_BN:^24} | {BN:^24}")
    for k, lr in enumerate(rates):
        cells = [f"{runs[lab][k]['status']:>8}, accuracy {runs[lab][k]['accuracy']:.3f}" for lab in (NO_BN, BN)]
        print(f"{lr:>6g} | {cells[0]:>24} | {cells[1]:>24}")
    return result


if __name__ == "__main__":
    run_main(main, "learning_rates")
