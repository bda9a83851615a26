"""Initialization: with BatchNorm the sigmoid net trains from any weight scale; without, only from a few.

The claim (abstract, Sec. 1, Sec. 3.3): BN lets us "be less careful about initialization". Without
BN a sigmoid layer's input Wu + b scales with the weights: too small and every unit sits in the
middle of σ, where ∂ℓ/∂u shrinks by σ′ ≤ 1/4 per layer (vanishing gradients); too large and the
units saturate (σ′ ≈ 0). With BN the input is BN(Wu) = BN((aW)u) whatever the scale a (Sec. 3.3),
and the gradient reaching the layers below does not depend on a either.

What runs: (a) Figure 1's toy net (64 → 16 → 16 → 16 → 10 sigmoid, plain SGD at lr 1, batches of
16), 150 steps, from weights drawn from N(0, s²) for s = 0.125, 0.25, 0.5, 1, 2 (biases 0) and from
PyTorch's default init (uniform in ±1/√fan-in, weights and biases: the library's `Linear`), with
and without BN, over 3 seeds (`--seeds`): each seed has its own data split, weights and batches,
shared by both nets. (b, c) A deeper net of the same kind, 64 → 16 × 8 → 10, at its initial
weights: the norm of the gradient ‖∂ℓ/∂W_i‖ of each layer's weights, on one batch of 64 training
digits (training mode), for three of the inits.

What to look at: (a) the BN curve is high and flat across the inits (held-out accuracy 0.82–0.94
over all inits and seeds 0–2; per seed, best init minus worst 0.09–0.12); the plain one is at
chance (≤ 0.13) for s ≤ 0.25 and for PyTorch's default and trains only from s = 0.5 to 2
(0.60–0.81; best minus worst 0.66–0.71). The band is min–max over the seeds, the line their
median. (b) Without BN the gradient shrinks layer by layer towards the input (vanishing):
‖∂ℓ/∂W_1‖ is about 10⁻⁶ of ‖∂ℓ/∂W_8‖ at s = 0.125 and at PyTorch's default, which is small
too (std 1/√48 ≈ 0.14 for fan-in 16); at s = 2 it falls by only 7–26× over those 8 layers.
(c) With BN it is level through depth (‖∂ℓ/∂W_1‖ / ‖∂ℓ/∂W_8‖ 0.7–2.4), and of the same size
at every init: the backward through layer i's BN divides by σ_B, which grows as s, what the
weights above multiplied by s (Sec. 3.3: ∂BN((aW)u)/∂u = ∂BN(Wu)/∂u).
Where small scale differs: no gradient explodes here (σ′ ≤ 1/4 and saturation cap it in a
sigmoid net); and "at chance" after 150 steps is a plateau that the plain net leaves, for some
inits, a few hundred steps later (figure1.py), so panel (a) measures speed as well as the final
accuracy. Nothing is clipped or smoothed.

    python demos/init_sensitivity.py [--quick] [--out DIR] [--seed N] [--seeds K]
"""

from __future__ import annotations

import random

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
    figure,
    linear_layers,
    load_digits,
    parser,
    run_main,
    savefig,
    seed_band,
    seed_text,
    sigmoid_mlp,
    train,
)

from micrograd_bn import cross_entropy

STDS = [0.125, 0.25, 0.5, 1.0, 2.0]  # the weight std s of N(0, s²); the paper gives none (Sec. 4.1)
DEFAULT = "PyTorch default"  # uniform in ±1/√fan-in (the library's Linear)
DEEP = [64] + [16] * 8 + [10]  # for the gradient panels: 9 weight layers
GRAD_BATCH = 64


def init_label(std: float | None) -> str:
    return DEFAULT if std is None else f"N(0, {std:g}²)"


def final_accuracy(batchnorm: bool, std: float | None, steps: int, seed: int) -> float:
    """Held-out accuracy (Alg. 2 inference net) after `steps` SGD steps from the given init."""
    data = load_digits(seed=seed)
    net = sigmoid_mlp(batchnorm, seed=seed, init_std=std)
    train(net, data, LR, steps, BATCH, seed, f"init {init_label(std)}, {BN if batchnorm else NO_BN}, seed {seed}")
    return accuracy(net, data.x_test, data.y_test)


def gradient_norms(batchnorm: bool, std: float | None, seed: int) -> list[float]:
    """‖∂ℓ/∂W_i‖ for each Linear layer of the deep net, input to output, at its initial weights."""
    data = load_digits(seed=seed)
    net = sigmoid_mlp(batchnorm, seed=seed, sizes=DEEP, init_std=std)
    idx = random.Random(seed).sample(range(len(data.y_train)), GRAD_BATCH)
    loss = cross_entropy(net([data.x_train[i] for i in idx]), [data.y_train[i] for i in idx])
    net.zero_grad()
    loss.backward()
    return [float(np.linalg.norm([w.grad for row in layer.weight for w in row])) for layer in linear_layers(net)]


def main(argv: list[str] | None = None) -> dict:
    p = parser("init_sensitivity", __doc__)
    add_seeds(p, default=3)
    args = p.parse_args(argv)
    seeds = list(range(args.seed, args.seed + args.seeds))
    inits: list[float | None] = [0.125, 1.0, None] if args.quick else [*STDS, None]
    steps = 50 if args.quick else 150
    grad_inits: list[float | None] = [0.125, 2.0, None]

    arms = {NO_BN: False, BN: True}
    acc = {  # acc[label][k, j]: seed k, init j
        label: np.array([[final_accuracy(bn, std, steps, s) for std in inits] for s in seeds])
        for label, bn in arms.items()
    }
    grads = {  # grads[label][std]: (seeds, layers)
        label: {std: np.array([gradient_norms(bn, std, s) for s in seeds]) for std in grad_inits}
        for label, bn in arms.items()
    }

    fig = figure(14, 4.2)
    ax_acc, ax_plain, ax_bn = fig.subplots(1, 3)
    x = np.arange(len(inits))
    for label in arms:
        seed_band(ax_acc, x, acc[label], COLORS[label], label, marker="o")
    ax_acc.axhline(0.1, color="black", lw=0.5, ls=":", label="chance")
    ax_acc.set_xticks(x, [init_label(s).replace("PyTorch default", "PyTorch\ndefault") for s in inits], fontsize=8)
    ax_acc.set(ylim=(0, 1), xlabel="initial weights", ylabel=f"held-out accuracy after {steps} steps (lr {LR:g})")
    ax_acc.set_title(f"(a) accuracy against the init: {'→'.join(map(str, SIZES))}")
    ax_acc.legend(loc="lower center", fontsize=8)
    layers = np.arange(1, len(DEEP))
    for ax, label, letter in ((ax_plain, NO_BN, "b"), (ax_bn, BN, "c")):
        for k, std in enumerate(grad_inits):
            seed_band(ax, layers, grads[label][std], f"C{k + 1}", init_label(std), marker=".")
        ax.set(yscale="log", xlabel=f"layer i of {DEEP[0]}→16×{len(DEEP) - 2}→{DEEP[-1]} (9: output)")
        ax.set_ylabel(f"‖∂ℓ/∂W_i‖ at init, batch of {GRAD_BATCH}")
        ax.set_xticks(layers)
        ax.set_title(f"({letter}) gradient of each layer's weights, {label}")
        ax.legend(fontsize=8)
    lo = min(ax_plain.get_ylim()[0], ax_bn.get_ylim()[0])
    hi = max(ax_plain.get_ylim()[1], ax_bn.get_ylim()[1])
    for ax in (ax_plain, ax_bn):
        ax.set_ylim(lo, hi)  # one scale for both
    fig.suptitle(
        f"Initialization, sigmoid nets on 8×8 digits; {seed_text(seeds)}: line = median, "
        "band = min–max over the seeds; nothing clipped or smoothed"
    )
    path = savefig(fig, args.out, "init_sensitivity.png")

    result: dict = {"figure": path, "seeds": seeds, "inits": [init_label(s) for s in inits], "steps": steps}
    for label in arms:
        a = acc[label]
        spread = a.max(axis=1) - a.min(axis=1)  # per seed: best init minus worst init
        result[label] = {
            "accuracy": a.tolist(),
            "spread": spread.tolist(),
            "gradient_norms": {init_label(s): g.tolist() for s, g in grads[label].items()},
            # per seed: ‖∂ℓ/∂W_1‖ / ‖∂ℓ/∂W_8‖, the first and the last weights that feed a sigmoid
            "first_over_last": {init_label(s): (g[:, 0] / g[:, -2]).tolist() for s, g in grads[label].items()},
        }
        print(f"{label:>10}: held-out accuracy after {steps} steps, median over {seed_text(seeds)} (min–max)")
        for j, std in enumerate(inits):
            print(f"{init_label(std):>18}: {np.median(a[:, j]):.3f} ({a[:, j].min():.3f}–{a[:, j].max():.3f})")
        print(f"{'':>18}  spread over the inits, per seed: {', '.join(f'{s:.3f}' for s in spread)}")
        for std in grad_inits:
            ratio = result[label]["first_over_last"][init_label(std)]
            print(f"{init_label(std):>18}: ‖∂ℓ/∂W_1‖ / ‖∂ℓ/∂W_8‖ per seed: {', '.join(f'{r:.2g}' for r in ratio)}")
    return result


if __name__ == "__main__":
    run_main(main, "init_sensitivity")
