"""Learning rates: a BN net still trains at rates where the plain net is stuck at chance or blows up.

The claim (Sec. 3.3, Sec. 4.2.1): "In traditional deep networks, too-high learning rate may result
in the gradients that explode or vanish, as well as getting stuck in poor local minima. Batch
Normalization helps address these issues", so BN networks train with higher rates (×5 and ×30 in
Sec. 4.2.1). The mechanism (Sec. 3.3): BN makes a layer blind to the scale of its weights, and
larger weights get smaller gradients, which "stabilizes the parameter growth" (see
scale_invariance.py).

What runs: Figure 1's toy net (64 → 16 → 16 → 16 → 10 sigmoid, weights from N(0, 0.5²), batches of
16), with and without BN, for 200 steps: the budget in which the plain net, at its own best rates
(1 and 3), reaches 61–79% held-out accuracy. (a) Every layer at lr 0.3, 1, 3, 10, 30. (b) The
output layer, which BN does not normalize, held at lr 1 while the hidden layers take 10, 30,
100. Over 3 seeds (`--seeds`; each with its own data split, weights and batches, shared by all
runs of that seed). Each run ends in one of four words: "trains" (held-out accuracy ≥ 50%),
"slow" (below 50%, above chance), "at chance" (≤ 15%: a uniform guess is 10%), "blew up" (a
number overflowed, or the training loss over the last 10 steps is above 2 ln 10 ≈ 4.6, twice
a uniform guess's). The tolerance of a net is the largest rate at which it trains.

What to look at: (a) the plain net trains at lr 1 and 3 (61–79%) and is at chance at 10; at 10
the BN net still learns (46–69%), but reaches 50% in only one seed of three (seeds 0–2; 9 of
seeds 0–12 at 100 steps): the edge of what it tolerates. At 30 both blow up. At 0.3 the BN net
trains (86–88%) where the plain net is slow (21–35%): that is speed, not tolerance. (b) With
the output layer held at 1, both nets tolerate more, and BN 3× more in every seed: the plain net
trains at hidden rate 10 (64–79%) but not at 30 (at chance, or 34%), the BN net at 30 (65–88%)
but not at 100 (slow, 17–36%): what stops BN in (a) is largely the layer it does not
normalize. (c) The training loss (every layer, dashed without BN): at lr 10 the plain
net's stays above ln 10 (at chance) while BN's falls; at 30 both leave the axis within a few
steps (blew up). Lines are medians over the seeds, bands min–max; the loss curves are 10-step
moving averages; panel (c)'s y-axis stops at 3 ln 10 (the lr 30 curves run off it).
Where small scale differs: the paper's rates are ×5 and ×30 of a tuned Inception; here the
plain net's best rate is itself large (plain SGD on a small sigmoid net).

    python demos/learning_rates.py [--quick] [--out DIR] [--seed N] [--seeds K] [--rates R ...]
                                   [--held-rates R ...] [--output-lr R]
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
    add_seeds,
    figure,
    load_digits,
    moving_average,
    parser,
    positive_number,
    run_main,
    savefig,
    seed_band,
    seed_text,
    sigmoid_mlp,
    train,
)
from matplotlib.axes import Axes

RATES = [0.3, 1.0, 3.0, 10.0, 30.0]  # (a): every layer
HELD_RATES = [10.0, 30.0, 100.0]  # (b): hidden layers, the output layer at --output-lr
STEPS = 200
TARGET = 0.5  # held-out accuracy that counts as "trains"
CHANCE = 0.15  # at or below: "at chance" (a uniform guess gets 10%)
CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over 10 digits
WORDS = ("trains", "slow", "at chance", "blew up")


def status(final_accuracy: float, losses: list[float]) -> str:
    """One of WORDS, as defined in the module docstring."""
    tail = losses[-10:]
    if not all(map(math.isfinite, tail)) or np.mean(tail) > 2 * CHANCE_LOSS:
        return "blew up"
    if final_accuracy >= TARGET:
        return "trains"
    return "at chance" if final_accuracy <= CHANCE else "slow"


def run(batchnorm: bool, lr: float, steps: int, seed: int, output_lr: float | None) -> dict:
    """Train one net at one rate; return its held-out accuracy, losses and status."""
    data = load_digits(seed=seed)
    net = sigmoid_mlp(batchnorm, seed=seed)  # figure1.py's net, N(0, 0.5²) weights
    where = "" if output_lr is None else f" (output {output_lr:g})"
    label = f"lr {lr:g}{where}, {BN if batchnorm else NO_BN}, seed {seed}"
    losses = train(net, data, lr, steps, BATCH, seed, label, output_lr=output_lr)
    acc = accuracy(net, data.x_test, data.y_test)
    return {"accuracy": acc, "loss": losses, "status": status(acc, losses)}


def sweep(rates: list[float], steps: int, seeds: list[int], output_lr: float | None) -> dict:
    """runs[label][k][j]: seed k, rate j."""
    return {
        label: [[run(bn, lr, steps, s, output_lr) for lr in rates] for s in seeds]
        for label, bn in ((NO_BN, False), (BN, True))
    }


def tolerance(rates: list[float], runs: list[list[dict]]) -> list[float | None]:
    """Per seed: the largest rate at which the net trains (None: at none)."""
    return [max((lr for lr, r in zip(rates, rs) if r["status"] == "trains"), default=None) for rs in runs]


def tally(statuses: list[str]) -> str:
    """'trains 3/3' or 'slow 2/3, trains 1/3': how many seeds ended in each word."""
    counts = [(w, statuses.count(w)) for w in WORDS if w in statuses]
    return ", ".join(f"{w} {n}/{len(statuses)}" for w, n in sorted(counts, key=lambda c: -c[1]))


def accuracy_panel(ax: Axes, rates: list[float], runs: dict, title: str, xlabel: str, steps: int) -> None:
    """Held-out accuracy against the rate: median and min–max over the seeds, each point's words."""
    for label, rs in runs.items():
        seed_band(ax, rates, [[r["accuracy"] for r in row] for row in rs], COLORS[label], label, marker="o")
        for j, lr in enumerate(rates):
            acc = np.median([row[j]["accuracy"] for row in rs])
            words = tally([row[j]["status"] for row in rs])
            dy = 8 if label == BN else -14
            ax.annotate(words, (lr, acc), textcoords="offset points", xytext=(0, dy), fontsize=7, ha="center")
    ax.axhline(TARGET, color="black", lw=0.5, ls="--", label=f"'trains': {TARGET:.0%}")
    ax.axhline(0.1, color="black", lw=0.5, ls=":", label="chance (10%)")
    ax.set(xscale="log", ylim=(0, 1), xlabel=xlabel, ylabel=f"held-out accuracy after {steps} steps", title=title)
    ax.set_xticks(rates, [f"{lr:g}" for lr in rates])
    ax.minorticks_off()
    ax.legend(loc="center left", fontsize=7)


def main(argv: list[str] | None = None) -> dict:
    p = parser("learning_rates", __doc__)
    add_seeds(p, default=3)
    p.add_argument("--rates", type=positive_number, nargs="+", default=None, help=f"(a) every layer (default {RATES})")
    p.add_argument("--held-rates", type=positive_number, nargs="+", default=None, help=f"(b) (default {HELD_RATES})")
    p.add_argument("--output-lr", type=positive_number, default=1.0, help="(b) output layer's rate (default 1)")
    args = p.parse_args(argv)
    seeds = list(range(args.seed, args.seed + args.seeds))
    rates = sorted(args.rates or ([10.0] if args.quick else RATES))
    held_rates = sorted(args.held_rates or ([30.0] if args.quick else HELD_RATES))
    steps = 100 if args.quick else STEPS
    every_layer = sweep(rates, steps, seeds, None)
    held = sweep(held_rates, steps, seeds, args.output_lr)

    fig = figure(16, 4.4)
    ax_all, ax_held, ax_loss = fig.subplots(1, 3)
    accuracy_panel(ax_all, rates, every_layer, "(a) every layer at the rate", "learning rate", steps)
    accuracy_panel(
        ax_held, held_rates, held, f"(b) output layer held at lr {args.output_lr:g}", "hidden layers' rate", steps
    )
    for k, lr in enumerate(r for r in rates if r >= 10):
        j = rates.index(lr)
        for label, rs in every_layer.items():
            curves = [moving_average(row[j]["loss"], 10) for row in rs]
            seed_band(
                ax_loss,
                range(1, steps + 1),
                curves,
                f"C{k + 1}",
                f"lr {lr:g}, {label}",
                ls="-" if label == BN else "--",
            )
    ax_loss.axhline(CHANCE_LOSS, color="black", lw=0.5, ls=":")
    ax_loss.annotate(
        "ln 10: a uniform guess", (steps, CHANCE_LOSS), xytext=(-100, 3), textcoords="offset points", fontsize=7
    )
    ax_loss.set(ylim=(0, 3 * CHANCE_LOSS), xlabel="training step", ylabel="training loss, 10-step moving average")
    ax_loss.set_title("(c) every layer at lr ≥ 10; y-axis clipped at 3 ln 10", fontsize=10)
    ax_loss.legend(fontsize=7, loc="lower left")
    fig.suptitle(
        f"Learning rates, sigmoid net on 8×8 digits, {steps} steps; {seed_text(seeds)}: line = median, "
        "band = min–max over the seeds; the words: how many seeds ended so"
    )
    path = savefig(fig, args.out, "learning_rates.png")

    result: dict = {"figure": path, "seeds": seeds, "steps": steps, "rates": rates, "held_rates": held_rates}
    for name, grid, runs in (("every_layer", rates, every_layer), ("held", held_rates, held)):
        result[name] = {
            label: {
                "accuracy": [[r["accuracy"] for r in row] for row in rs],
                "status": [[r["status"] for r in row] for row in rs],
                "tolerance": tolerance(grid, rs),
            }
            for label, rs in runs.items()
        }
        where = "every layer" if name == "every_layer" else f"hidden layers; output layer at {args.output_lr:g}"
        print(f"{where}: held-out accuracy after {steps} steps, seeds {', '.join(map(str, seeds))}")
        for j, lr in enumerate(grid):
            cells = []
            for label, rs in runs.items():
                accs = ", ".join(f"{row[j]['accuracy']:.2f}" for row in rs)
                cells.append(f"{label} {accs} ({tally([row[j]['status'] for row in rs])})")
            print(f"  lr {lr:>5g}: " + "; ".join(cells))
        for label in runs:
            print(f"  largest rate at which {label} trains, per seed: {result[name][label]['tolerance']}")
    return result


if __name__ == "__main__":
    run_main(main, "learning_rates")
