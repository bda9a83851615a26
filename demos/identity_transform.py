"""The identity transform: γ and β can undo the normalization, and let the net leave sigmoid's linear middle.

The claim (Sec. 3): "simply normalizing each input of a layer may change what the layer can
represent. For instance, normalizing the inputs of a sigmoid would constrain them to the linear
regime of the nonlinearity." So BN adds γ⁽ᵏ⁾, β⁽ᵏ⁾ per activation, y = γx̂ + β, and "the
transformation inserted in the network can represent the identity transform": with
γ⁽ᵏ⁾ = √Var[x⁽ᵏ⁾] and β⁽ᵏ⁾ = E[x⁽ᵏ⁾] we "recover the original activations, if that were the
optimal thing to do". On a mini-batch (Alg. 1) that is γ = √(σ²_B + ε), β = μ_B, and y_i = x_i.

What runs: (a) a batch of 16 training digits through the first Linear of Figure 1's toy net
(64 → 16, weights from N(0, 0.5²)), x = Wu, then a BatchNorm1d(16) in training mode twice: with
γ = 1, β = 0 (y = x̂), and with each unit's γ = √(σ²_B + ε), β = μ_B taken from the layer's own
Alg. 1 nodes; we print max |y_i − x_i|. (b) Figure 1's toy BN net (see figure1.py; 64 → 16 → 16 →
16 → 10 sigmoid, lr 1, batches of 16) trained 200 steps twice from the same weights on the same
batches, over 3 seeds (`--seeds`): with γ, β learned, and with γ, β frozen at 1, 0 (PyTorch's
affine=False: y = x̂). At every step we take the share of sigmoid inputs z in the near-linear
region |z| < 1, where σ'(z) ≥ 0.79·σ'(0) and σ(z) stays within 0.019 of its tangent 1/2 + z/4 (for
z ~ N(0, 1) that share is 68.3%); at the end, the same for the held-out digits, and both nets'
held-out accuracy.

What to look at: (a) each unit's y = x̂ is a line of its own, far from y = x; with γ = √(σ²_B + ε), β = μ_B the
points lie on the diagonal, y_i = x_i to rounding (≤ 1e-12, checked). (b, c) frozen at 1, 0, the
sigmoid inputs stay where the normalization puts them, about 2/3 of them in the near-linear
region in every layer; with γ, β learned the lower layers barely move, but the last hidden layer
learns a mean |γ| of 2.42–2.51 (seeds 0–2) and only 0.22–0.27 of its held-out inputs stay in the
linear middle (frozen: 0.61–0.65). (d) NB: at this scale that freedom buys little accuracy: the
learned net ends 0.5, 1.5, 2.2 points ahead (seeds 0–2; 0.910–0.932 against 0.895–0.915). Frozen
inputs do not make a linear net: a third of N(0, 1) lies beyond |z| = 1, where σ bends, and on
8×8 digits that seems to be nearly enough; the representation power the paper worries about would
show on a task that needs the saturating ends. (a) is one batch of seed N; in (b–d) the line is the
median over the seeds, the band their min–max; (b) is a 10-step moving average; (c) pools the
seeds and counts values beyond ±8 in its end bins.

    python demos/identity_transform.py [--quick] [--out DIR] [--seed N] [--seeds K]
"""

from __future__ import annotations

import numpy as np
from _common import (
    BATCH,
    BN,
    LR,
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

from micrograd_bn import MLP, BatchNorm1d

LINEAR = 1.0  # near-linear region of the sigmoid: |z| < 1
EVERY = 10  # steps between held-out accuracy checks; also the smoothing window of panel (b)
LEARNED, FROZEN = "γ, β learned", "γ, β frozen at 1, 0"
COLORS = {LEARNED: "tab:blue", FROZEN: "tab:gray"}


# ---- (a) the identity, on one batch ---------------------------------------------------------------
def identity_check(rows: list[list[float]], seed: int) -> dict:
    """x = Wu for one batch; y with γ = 1, β = 0 (= x̂), then with γ = √(σ²_B + ε), β = μ_B (= x)."""
    first = sigmoid_mlp(True, seed=seed).layers[0]  # Figure 1's first Linear, no bias (BN follows)
    x = np.array([[v.data for v in row] for row in first(rows)])
    bn = BatchNorm1d(x.shape[1])  # training mode: Alg. 1 with the batch's μ_B, σ²_B
    x_hat = np.array([[v.data for v in row] for row in bn(x.tolist())])
    for gamma, beta, nodes in zip(bn.weight, bn.bias, bn.last):
        gamma.data, beta.data = nodes.std.data, nodes.mean.data  # γ⁽ᵏ⁾ = √(σ²_B + ε), β⁽ᵏ⁾ = μ_B
    y = np.array([[v.data for v in row] for row in bn(x.tolist())])  # the same batch: same μ_B, σ²_B
    return {"x": x, "x_hat": x_hat, "y": y, "error": float(np.abs(y - x).max()), "x_max": float(np.abs(x).max())}


# ---- (b) learned against frozen γ, β ---------------------------------------------------------------
def make_net(learned: bool, seed: int) -> MLP:
    """Figure 1's toy BN net; frozen: each BatchNorm1d with affine=False (y = x̂, as γ = 1, β = 0)."""
    net = sigmoid_mlp(True, seed=seed)
    if not learned:
        net.layers = [
            BatchNorm1d(layer.num_features, affine=False) if isinstance(layer, BatchNorm1d) else layer
            for layer in net.layers
        ]
    return net


def linear_share(z: np.ndarray) -> float:
    """Share of sigmoid inputs in the near-linear region |z| < LINEAR."""
    return float(np.mean(np.abs(z) < LINEAR))


def run(learned: bool, steps: int, seed: int) -> dict:
    """Train one net (train_measuring_layers, with the near-linear share); also each BN layer's mean |γ⁽ᵏ⁾|."""
    net = make_net(learned, seed)
    label = f"identity_transform {LEARNED if learned else FROZEN}, seed {seed}"
    record = train_measuring_layers(net, load_digits(seed=seed), LR, steps, seed, label, linear_share, EVERY)
    bns = [layer for layer in net.layers if isinstance(layer, BatchNorm1d)]
    record["gamma"] = [float(np.mean([abs(g.data) for g in bn.weight])) if bn.affine else 1.0 for bn in bns]
    return record


def main(argv: list[str] | None = None) -> dict:
    p = parser("identity_transform", __doc__)
    add_seeds(p, default=3)
    args = p.parse_args(argv)
    seeds = list(range(args.seed, args.seed + args.seeds))
    steps = 60 if args.quick else 200
    check = identity_check(load_digits(seed=args.seed).x_train[:BATCH], args.seed)
    runs = {LEARNED: [run(True, steps, s) for s in seeds], FROZEN: [run(False, steps, s) for s in seeds]}

    fig = figure(11, 8)
    (ax_id, ax_share), (ax_hist, ax_acc) = fig.subplots(2, 2)
    ax_id.plot(check["x"].ravel(), check["x_hat"].ravel(), ".", color="tab:gray", ms=4, label="γ = 1, β = 0: y = x̂")
    ax_id.plot(check["x"].ravel(), check["y"].ravel(), ".", color="tab:blue", ms=4, label="γ = √(σ²_B+ε), β = μ_B")
    lim = check["x_max"] * 1.05
    ax_id.plot([-lim, lim], [-lim, lim], color="black", lw=0.5, label="y = x")
    ax_id.set(title=f"(a) one batch, seed {args.seed}: max |y − x| = {check['error']:.1e}", xlabel="x = Wu")
    ax_id.set(ylabel="y = BN(x)")
    ax_id.legend(fontsize=8)

    layer_share_bands(ax_share, runs, COLORS, EVERY)
    ax_share.axhline(0.683, color="black", lw=0.5, label="N(0, 1): 0.683")
    ax_share.set(title=f"(b) share of sigmoid inputs with |z| < {LINEAR:g}", xlabel="training step")
    ax_share.set(ylabel=f"share ({EVERY}-step moving average)", ylim=(0, 1))
    ax_share.legend(fontsize=7, ncol=2, loc="upper right")

    bins = np.linspace(-8, 8, 65)
    for label, rs in runs.items():
        z = np.concatenate([r["x_end"][-1].ravel() for r in rs])
        z = np.clip(z, bins[0], bins[-1])  # the end bins hold everything beyond ±8 (said in the title)
        ax_hist.hist(z, bins=bins, color=COLORS[label], alpha=0.5, density=True, label=label)
    ax_hist.axvspan(-LINEAR, LINEAR, color="tab:green", alpha=0.1, label=f"|z| < {LINEAR:g}")
    grid = np.linspace(bins[0], bins[-1], 200)
    ax_hist.plot(grid, 0.5 / (1 + np.exp(-grid)), color="black", lw=0.8, label="σ(z) / 2")
    ax_hist.set(title="(c) last hidden layer's sigmoid inputs at the end (held out)", ylabel="density")
    ax_hist.set(xlabel=f"z (seeds pooled; beyond ±{bins[-1]:g} counted in the end bins)")
    ax_hist.legend(fontsize=8)

    for label, rs in runs.items():
        seed_band(ax_acc, rs[0]["acc_steps"], [r["accuracy"] for r in rs], COLORS[label], label, marker="o", ms=3)
    ax_acc.set(title="(d) held-out accuracy", xlabel="training step", ylabel="accuracy", ylim=(0, 1))
    ax_acc.legend(loc="lower right")
    fig.suptitle(
        f"γ and β: the identity transform (a), and what learning them does ({BN}, sigmoid) (b–d)\n"
        f"(b–d) {seed_text(seeds)}: lines = median, bands = min–max over the seeds; "
        f"(b) {EVERY}-step moving average; (c) seeds pooled"
    )
    path = savefig(fig, args.out, "identity_transform.png")

    result = {"figure": path, "seeds": seeds, "identity_error": check["error"], "x_max": check["x_max"]}
    result["x_hat_error"] = float(np.abs(check["x_hat"] - check["x"]).max())
    print(
        f"identity: max |y − x| = {check['error']:.2e} with γ = √(σ²_B+ε), β = μ_B (max |x| = {check['x_max']:.2f}); "
        f"{result['x_hat_error']:.2f} with γ = 1, β = 0"
    )
    for label, rs in runs.items():
        result[label] = {
            "share_start": [r["shares"][0].tolist() for r in rs],  # [seed][layer]
            "share_end": [r["shares"][-EVERY:].mean(axis=0).tolist() for r in rs],  # over the last EVERY steps
            "held_out_share": [[linear_share(z) for z in r["x_end"]] for r in rs],
            "gamma_mean_abs": [r["gamma"] for r in rs],
            "final_accuracy": [r["accuracy"][-1] for r in rs],
        }
        res = result[label]
        print_per_seed(
            label,
            seeds,
            [
                f"held-out share with |z| < {LINEAR:g} per layer "
                f"{', '.join(f'{s:.2f}' for s in res['held_out_share'][k])}; "
                f"mean |γ| {', '.join(f'{g:.2f}' for g in res['gamma_mean_abs'][k])}; "
                f"held-out accuracy {res['final_accuracy'][k]:.3f}"
                for k in range(len(seeds))
            ],
        )
    return result


if __name__ == "__main__":
    run_main(main, "identity_transform")
