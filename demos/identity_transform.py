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
batches: with γ, β learned, and with γ, β frozen at 1, 0 (PyTorch's affine=False: y = x̂). At
every step we take the share of sigmoid inputs z in the near-linear region |z| < 1, where σ'(z) ≥
0.79·σ'(0) and σ(z) stays within 0.019 of its tangent 1/2 + z/4 (for z ~ N(0, 1) that share is
68.3%); at the end, the same for the held-out digits, and both nets' held-out accuracy.

What to look at: (a) each unit's y = x̂ is a line of its own, far from y = x; with γ = √(σ²_B + ε), β = μ_B the
points lie on the diagonal, y_i = x_i to rounding (≤ 1e-12, checked). (b, c) frozen at 1, 0, the
sigmoid inputs stay where the normalization puts them, about 2/3 of them in the near-linear
region in every layer; with γ, β learned the lower layers barely move, but the last hidden layer
learns γ ≈ 2.4 and most of its inputs leave the linear middle. (d) NB: at this scale that freedom
buys little accuracy: the learned net ends 0.5 to 2 points ahead (seeds 0–2). Frozen inputs do
not make a linear net: a third of N(0, 1) lies beyond |z| = 1, where σ bends, and on 8×8 digits
that seems to be nearly enough; the representation power the paper worries about would show on a
task that needs the saturating ends.

    python demos/identity_transform.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import numpy as np
from _common import (
    BATCH,
    BN,
    LR,
    accuracy,
    figure,
    load_digits,
    moving_average,
    numpy_forward,
    parser,
    run_main,
    savefig,
    sigmoid_mlp,
    train,
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
    """Train one net; the near-linear share per hidden layer at every step, accuracy every EVERY.

    Also returned: each BN layer's mean |γ⁽ᵏ⁾| at the end (1 when frozen).
    """
    data = load_digits(seed=seed)
    net = make_net(learned, seed)
    shares: list[list[float]] = []  # [step][layer], over the training batch
    acc_steps, acc = [0], [accuracy(net, data.x_test, data.y_test)]

    def observe(step: int, activation_inputs: list) -> None:
        shares.append([linear_share(np.array([[v.data for v in row] for row in z])) for z in activation_inputs])
        if step % EVERY == 0:
            acc_steps.append(step)
            acc.append(accuracy(net, data.x_test, data.y_test))

    label = LEARNED if learned else FROZEN
    train(net, data, LR, steps, BATCH, seed, f"identity_transform {label}", observe)
    _, held_out_z = numpy_forward(net, data.x_test)  # inference-mode sigmoid inputs, at the end
    bns = [layer for layer in net.layers if isinstance(layer, BatchNorm1d)]
    gamma = [float(np.mean([abs(g.data) for g in bn.weight])) if bn.affine else 1.0 for bn in bns]
    return {"shares": np.array(shares), "acc_steps": acc_steps, "accuracy": acc, "z_end": held_out_z, "gamma": gamma}


def main(argv: list[str] | None = None) -> dict:
    args = parser("identity_transform", __doc__).parse_args(argv)
    steps = 20 if args.quick else 200
    data = load_digits(seed=args.seed)
    check = identity_check(data.x_train[:BATCH], args.seed)
    runs = {LEARNED: run(True, steps, args.seed), FROZEN: run(False, steps, args.seed)}

    fig = figure(11, 8)
    (ax_id, ax_share), (ax_hist, ax_acc) = fig.subplots(2, 2)
    ax_id.plot(check["x"].ravel(), check["x_hat"].ravel(), ".", color="tab:gray", ms=4, label="γ = 1, β = 0: y = x̂")
    ax_id.plot(check["x"].ravel(), check["y"].ravel(), ".", color="tab:blue", ms=4, label="γ = √(σ²_B+ε), β = μ_B")
    lim = check["x_max"] * 1.05
    ax_id.plot([-lim, lim], [-lim, lim], color="black", lw=0.5, label="y = x")
    ax_id.set(title=f"(a) one batch, 16 units: max |y − x| = {check['error']:.1e}", xlabel="x = Wu", ylabel="y = BN(x)")
    ax_id.legend(fontsize=8)

    styles = [":", "--", "-"]  # hidden layer 1, 2, 3
    for label, r in runs.items():
        for layer in range(r["shares"].shape[1]):
            y = moving_average(r["shares"][:, layer], EVERY)
            ax_share.plot(
                range(1, steps + 1), y, styles[layer], color=COLORS[label], label=f"{label}, layer {layer + 1}"
            )
    ax_share.axhline(0.683, color="black", lw=0.5, label="N(0, 1): 0.683")
    ax_share.set(title=f"(b) share of sigmoid inputs with |z| < {LINEAR:g}", xlabel="training step", ylabel="share")
    ax_share.set(ylim=(0, 1))
    ax_share.legend(fontsize=7, ncol=2, loc="lower left")

    bins = np.linspace(-8, 8, 65)
    for label, r in runs.items():
        z = np.clip(r["z_end"][-1].ravel(), bins[0], bins[-1])
        ax_hist.hist(z, bins=bins, color=COLORS[label], alpha=0.5, density=True, label=label)
    ax_hist.axvspan(-LINEAR, LINEAR, color="tab:green", alpha=0.1, label=f"|z| < {LINEAR:g}")
    grid = np.linspace(bins[0], bins[-1], 200)
    ax_hist.plot(grid, 0.5 / (1 + np.exp(-grid)), color="black", lw=0.8, label="σ(z) / 2")
    ax_hist.set(title="(c) last hidden layer's sigmoid inputs at the end (held out)", xlabel="z", ylabel="density")
    ax_hist.legend(fontsize=8)

    for label, r in runs.items():
        ax_acc.plot(r["acc_steps"], r["accuracy"], color=COLORS[label], label=label, marker="o", ms=3)
    ax_acc.set(title="(d) held-out accuracy", xlabel="training step", ylabel="accuracy", ylim=(0, 1))
    ax_acc.legend(loc="lower right")
    fig.suptitle(
        f"γ and β: the identity transform (a), and what learning them does ({BN}, sigmoid) (b–d)\n"
        f"one run per net, seed {args.seed} (no band across seeds); (b) {EVERY}-step moving average; "
        f"(c) values beyond ±{bins[-1]:g} counted in the end bins"
    )
    path = savefig(fig, args.out, "identity_transform.png")

    result = {"figure": path, "identity_error": check["error"], "x_max": check["x_max"]}
    result["x_hat_error"] = float(np.abs(check["x_hat"] - check["x"]).max())
    print(
        f"identity: max |y − x| = {check['error']:.2e} with γ = √(σ²_B+ε), β = μ_B (max |x| = {check['x_max']:.2f}); "
        f"{result['x_hat_error']:.2f} with γ = 1, β = 0"
    )
    for label, r in runs.items():
        held_out = [linear_share(z) for z in r["z_end"]]
        result[label] = {
            "share_start": r["shares"][0].tolist(),
            "share_end": r["shares"][-EVERY:].mean(axis=0).tolist(),  # per layer, over the last EVERY steps
            "held_out_share": held_out,
            "gamma_mean_abs": r["gamma"],
            "final_accuracy": r["accuracy"][-1],
        }
        print(
            f"{label:>19}: held-out share with |z| < {LINEAR:g} per layer {', '.join(f'{s:.2f}' for s in held_out)}; "
            f"mean |γ| {', '.join(f'{g:.2f}' for g in r['gamma'])}; held-out accuracy {r['accuracy'][-1]:.3f}"
        )
    return result


if __name__ == "__main__":
    run_main(main, "identity_transform")
