"""Regularization: in training, an example's BatchNorm output depends on the batch it came in.

The claim (abstract; Sec. 3.4): "a training example is seen in conjunction with other examples in
the mini-batch, and the training network no longer produc[es] deterministic values for a given
training example"; the paper found this "advantageous to the generalization of the network", and
with BN, Dropout "can be either removed or reduced in strength" (Sec. 3.4, 4.2.1): BN "also acts
as a regularizer, in some cases eliminating the need for Dropout" (abstract).

What runs: (a) the noise itself. One training example x₀ goes through a Linear 64 → 8 (no bias)
and a fresh BatchNorm1d(8) (γ = 1, β = 0) in K = 100 mini-batches of size m, its m − 1 batch mates
drawn at random from the other training digits, for m = 2 … 64. Its spread is the standard
deviation of its output y₀ over those batches, averaged over the 8 units. Then the same batches
again in eval mode (Alg. 2), with population statistics from one pass over the training digits in
batches of 16 (momentum=None: a plain average).
(b) whether that noise helps here. 100 training digits and the usual 400 held out; a tanh net
64 → 32 → 10 (PyTorch's default init; tanh rather than the other demos' sigmoid net, which needs
far more steps to fit even 100 digits), plain SGD with lr 0.5 on batches of 16, 150 steps (24
epochs): plain, with BatchNorm1d before the tanh, and plain with Dropout(0.5) after it. Every 10
steps, the inference network's (Alg. 2; Dropout off) accuracy and cross-entropy on the 100 training
digits and on the held-out ones. Both parts run for 3 seeds (`--seeds`), each with its own data
split, x₀, weights and batches (all three nets of a seed start from the same weights).

What to look at: (a, b) in training mode x₀'s output scatters, less for larger batches, close to
the 1/√m of a mean over m examples (log-log slope over m ≥ 4: −0.51, −0.44, −0.48 for seeds
0–2); in eval mode it is exactly the same for every batch (max − min = 0). (c, d) all three nets
fit the 100 digits (training accuracy 1), the plain net in 80–120 steps, and then overfit:
held-out accuracy stays near 0.9 and held-out loss levels off several times above the training
loss. NB: at this scale neither BN nor Dropout closes that gap. BN fits the training digits in
40–50 steps, but its held-out accuracy ends within a point of the plain net's, above or below by
seed (above in 4 of seeds 0–12); Dropout(0.5) on 32 units slows the fit and ends with a higher
held-out loss. The paper's evidence is Inception on ImageNet (Sec. 4.2); a 64 → 32 → 10 net on
100 digits shows the mechanism of (a, b), not the size of its benefit. (a) is seed N's histogram;
(b–d) draw the median over the seeds as a line and their min–max as a band; nothing is clipped or
smoothed.

    python demos/regularization.py [--quick] [--out DIR] [--seed N] [--seeds K]
"""

from __future__ import annotations

import random

import numpy as np
from _common import (
    BN,
    COLORS,
    NO_BN,
    Digits,
    accuracy,
    add_seeds,
    figure,
    load_digits,
    numpy_forward,
    parser,
    print_per_seed,
    run_main,
    savefig,
    seed_band,
    seed_text,
    train,
)

from micrograd_bn import MLP, BatchNorm1d, Dropout, Linear, Sequential, gc_paused
from micrograd_bn.nn import ACTIVATIONS

# ---- (a) one example's output over random batch mates ---------------------------------------------
UNITS = 8  # BatchNorm units followed in (a)
SIZES_M = (2, 4, 8, 16, 32, 64)  # batch sizes m
BATCHES = 100  # random batches per m
SHOWN_M = (4, 16, 64)  # the batch sizes of panel (a)
SPREAD_TICKS = (0.1, 0.2, 0.4, 0.8)  # panel (b)'s log axis

# ---- (b) a small training subset, trained until the plain net overfits -----------------------------
N_TRAIN = 100
SIZES = [64, 32, 10]
LR, BATCH, STEPS, EVERY = 0.5, 16, 150, 10
P = 0.5  # Dropout's p (torch.nn.Dropout's default)
DROPOUT = "with Dropout"
NET_COLORS = {**COLORS, DROPOUT: "tab:orange"}


def batch_mate_outputs(data: Digits, sizes: tuple[int, ...], batches: int, seed: int) -> dict[str, dict]:
    """y₀ = BN(W x₀) for `batches` random batches of each size m: {"train"|"eval": {m: (batches, UNITS)}}.

    Training mode normalizes with the batch's μ_B and σ²_B (Alg. 1). Eval mode uses population
    statistics (Alg. 2), averaged (momentum=None) over one pass of ordinary training batches: not
    over the probe batches, which all contain x₀ and would pull E[x] towards it.
    """
    linear, bn = Linear(64, UNITS, bias=False, seed=seed), BatchNorm1d(UNITS, momentum=None)
    with gc_paused():
        x = [[v.data for v in row] for row in linear(data.x_train)]  # x = Wu, every training digit
        rng = random.Random(seed)
        others = range(1, len(x))  # x₀ is example 0; its mates are drawn from the rest
        mates = {m: [rng.sample(others, m - 1) for _ in range(batches)] for m in sizes}

        def outputs() -> dict[int, np.ndarray]:
            return {
                m: np.array([[y.data for y in bn([x[0]] + [x[i] for i in idx])[0]] for idx in mates[m]]) for m in sizes
            }

        training = outputs()  # Alg. 1: each batch its own μ_B, σ²_B
        bn.reset_running_stats()  # Alg. 2, lines 8–10: E[x], Var[x] over ordinary training batches
        for i in range(0, len(x) - BATCH + 1, BATCH):
            bn(x[i : i + BATCH])
        bn.eval()
        return {"train": training, "eval": outputs()}


def spread(y0: np.ndarray) -> float:
    """Std of x₀'s output over the batches, averaged over the units."""
    return float(y0.std(axis=0).mean())


# ---- (b) ------------------------------------------------------------------------------------------
def make_net(kind: str, seed: int) -> MLP:
    """The plain tanh net; with BatchNorm1d before each tanh; or with Dropout(P) after each tanh.

    All three built with one seed start from the same weights (BN's Linear only drops its bias).
    """
    net = MLP(SIZES, activation="tanh", norm=BatchNorm1d if kind == BN else None, seed=seed)
    if kind == DROPOUT:
        layers = []
        for k, layer in enumerate(net.layers):
            layers.append(layer)
            if type(layer) in ACTIVATIONS.values():
                layers.append(Dropout(P, seed=seed * 1000 + k))
        net.layers = layers
    return net


def inference_net(net: MLP) -> Sequential:
    """The same layers without Dropout, which is the identity in eval mode: what NumPy evaluates."""
    return Sequential(*[layer for layer in net.layers if not isinstance(layer, Dropout)])


def numpy_cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean −log softmax(logits)[y], computed stably."""
    z = logits - logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def run(kind: str, data: Digits, steps: int, seed: int) -> dict:
    """Train one net on the subset; every EVERY steps, accuracy and loss on it and held out."""
    net = make_net(kind, seed)
    evaluated = inference_net(net)
    x_train, y_train = np.array(data.x_train), np.array(data.y_train)
    record: dict[str, list] = {"step": [], "train_acc": [], "test_acc": [], "train_loss": [], "test_loss": []}

    def observe(step: int, _activation_inputs: list) -> None:
        if step % EVERY == 0:
            record["step"].append(step)
            for part, x, y in (("train", x_train, y_train), ("test", data.x_test, data.y_test)):
                record[f"{part}_acc"].append(accuracy(evaluated, x, y))
                record[f"{part}_loss"].append(numpy_cross_entropy(numpy_forward(evaluated, x)[0], y))

    train(net, data, LR, steps, BATCH, seed, f"regularization {kind}", observe)
    return record


def noise(sizes: tuple[int, ...], batches: int, seed: int) -> dict:
    """(a, b) for one seed: x₀'s outputs, their spread per m, the log-log slope, and eval mode's max − min."""
    y0 = batch_mate_outputs(load_digits(seed=seed), sizes, batches, seed)
    spreads = [spread(y0["train"][m]) for m in sizes]
    fit = [k for k, m in enumerate(sizes) if m >= 4]  # m = 2 is special: x̂₀ = ±1 whatever the mate
    slope = float(np.polyfit(np.log(np.array(sizes)[fit]), np.log(np.array(spreads)[fit]), 1)[0])
    eval_range = max(float(np.ptp(y0["eval"][m], axis=0).max()) for m in sizes)  # max − min: 0 if identical
    return {"y0": y0, "spread": spreads, "slope": slope, "eval_range": eval_range}


def main(argv: list[str] | None = None) -> dict:
    p = parser("regularization", __doc__)
    add_seeds(p, default=3)
    args = p.parse_args(argv)
    seeds = list(range(args.seed, args.seed + args.seeds))
    sizes, batches, steps = ((2, 8, 32), 30, 60) if args.quick else (SIZES_M, BATCHES, STEPS)
    noises = [noise(sizes, batches, s) for s in seeds]
    subsets = [load_digits(seed=s) for s in seeds]
    subsets = [Digits(d.x_train[:N_TRAIN], d.y_train[:N_TRAIN], d.x_test, d.y_test) for d in subsets]
    runs = {kind: [run(kind, d, steps, s) for d, s in zip(subsets, seeds)] for kind in (NO_BN, BN, DROPOUT)}

    fig = figure(11, 8)
    (ax_hist, ax_spread), (ax_acc, ax_loss) = fig.subplots(2, 2)
    y0 = noises[0]["y0"]
    shown = [m for m in SHOWN_M if m in sizes] or list(sizes[-2:])
    bins = np.linspace(
        min(y0["train"][m][:, 0].min() for m in shown), max(y0["train"][m][:, 0].max() for m in shown), 50
    )
    for m, color in zip(shown, ("tab:red", "tab:purple", "tab:green")):
        ax_hist.hist(y0["train"][m][:, 0], bins=bins, histtype="step", lw=1.5, color=color, label=f"training, m = {m}")
    ax_hist.axvline(y0["eval"][shown[-1]][0, 0], color="black", ls="--", label="eval (every batch)")
    ax_hist.set(title=f"(a) one example's BN output over random batch mates, seed {seeds[0]}", ylabel="batches")
    ax_hist.set(xlabel="y₀ (unit 0)")
    ax_hist.legend(fontsize=8)

    slopes = ", ".join(f"{n['slope']:.2f}" for n in noises)
    training = f"training mode (log-log slopes {slopes})"
    seed_band(ax_spread, sizes, [n["spread"] for n in noises], "tab:blue", training, marker="o")
    ax_spread.set(xscale="log", yscale="log")
    m_ref = np.array(sizes, dtype=float)
    top = np.median([n["spread"][-1] for n in noises])
    ax_spread.plot(m_ref, top * np.sqrt(sizes[-1] / m_ref), ":", color="gray", label="∝ 1/√m")
    eval_range = max(n["eval_range"] for n in noises)
    eval_text = f"eval mode: y₀ identical in every batch (max − min = {eval_range:g})"
    ax_spread.text(0.04, 0.06, eval_text, transform=ax_spread.transAxes, fontsize=8)
    ax_spread.set(title=f"(b) spread of y₀ (std over {batches} batches)", xlabel="batch size m")
    ax_spread.set(ylabel="std of y₀, mean over units")
    ax_spread.set_xticks(sizes, [str(m) for m in sizes])
    ax_spread.set_xticks([], minor=True)
    ax_spread.set_yticks(SPREAD_TICKS, [f"{t:g}" for t in SPREAD_TICKS])
    ax_spread.set_yticks([], minor=True)
    ax_spread.legend(fontsize=8)

    for kind, rs in runs.items():
        c, step = NET_COLORS[kind], rs[0]["step"]
        for part, ls in (("train", "-"), ("test", "--")):
            name = f"{kind}, {'training' if part == 'train' else 'held out'}"
            seed_band(ax_acc, step, [r[f"{part}_acc"] for r in rs], c, name, ls=ls)
            seed_band(ax_loss, step, [r[f"{part}_loss"] for r in rs], c, name, ls=ls)
    ax_acc.set(title=f"(c) accuracy, {N_TRAIN} training digits", xlabel="training step", ylabel="accuracy")
    ax_acc.set(ylim=(0, 1.02))
    ax_acc.legend(fontsize=7, loc="lower right")
    ax_loss.set(title="(d) cross-entropy", xlabel="training step", ylabel="loss", yscale="log")
    ax_loss.legend(fontsize=7, loc="lower left")
    fig.suptitle(
        "BatchNorm as a regularizer: the batch-mate noise (a, b), and what it does for a small net (c, d)\n"
        f"(b–d) {seed_text(seeds)}: lines = median, bands = min–max over the seeds; nothing clipped or smoothed"
    )
    path = savefig(fig, args.out, "regularization.png")

    result = {"figure": path, "seeds": seeds, "sizes": list(sizes)}
    for key in ("spread", "slope", "eval_range"):
        result[key] = [n[key] for n in noises]
    for n, seed in zip(noises, seeds):
        print(
            f"seed {seed}: batch-mate spread of y₀, training mode: "
            + ", ".join(f"m={m}: {s:.3f}" for m, s in zip(sizes, n["spread"]))
            + f" (log-log slope {n['slope']:.2f}, 1/√m is −0.5); eval mode: max − min over batches {n['eval_range']:g}"
        )
    for kind, rs in runs.items():
        fitted = [next((s for s, a in zip(r["step"], r["train_acc"]) if a == 1.0), None) for r in rs]
        result[kind] = {
            "train_accuracy": [r["train_acc"][-1] for r in rs],
            "test_accuracy": [r["test_acc"][-1] for r in rs],
            "train_loss": [r["train_loss"][-1] for r in rs],
            "test_loss": [r["test_loss"][-1] for r in rs],
            "first_step_fitted": fitted,
        }
        res = result[kind]
        print_per_seed(
            kind,
            seeds,
            [
                f"accuracy training {res['train_accuracy'][k]:.3f}, held out {res['test_accuracy'][k]:.3f}; "
                f"loss training {res['train_loss'][k]:.3f}, held out {res['test_loss'][k]:.3f}; "
                f"training accuracy 1 from step {res['first_step_fitted'][k]}"
                for k in range(len(seeds))
            ],
        )
    return result


if __name__ == "__main__":
    run_main(main, "regularization")
