"""Sec. 2: normalize outside the gradient and the bias grows without end while the loss stands still.

The claim (Sec. 2): take a layer x = u + b and normalize it as x̂ = x − E[x]. If the gradient step
treats E[x] as a constant, it updates b ← b + Δb with Δb ∝ −∂ℓ/∂x̂, yet
u + (b + Δb) − E[u + (b + Δb)] = u + b − E[u + b]: the output and the loss do not change, so the
same step is taken again and again, and "b will grow indefinitely while the loss remains fixed".
The cure, and Batch Normalization's design (Alg. 1, Sec. 3): keep the statistics inside the graph,
so their dependence on b is part of the gradient. Then ∂ℓ/∂b = Σ_i ∂ℓ/∂x_i = 0 and b stays put.

What runs: one unit x_i = w·a_i + b on a fixed batch of 32 random 4-dimensional inputs a_i,
centred as x̂_i = x_i − μ_B, with the loss (1/m) Σ_i (x̂_i − t_i)² for targets t_i = w*·a_i + 2.
The offset 2 is out of reach, since x̂ always has mean 0, so the loss keeps asking to raise every
x̂_i. The inputs a_i have mean 0, so μ_B = b and only b's gradient differs between the two runs.
Full-batch gradient descent, lr 0.1, 200 steps, twice: μ_B as a float (`.data`, detached) and μ_B
as a Value (in the graph, as BatchNorm1d computes it).

What to look at: (a) detached, b climbs by lr·2·mean(t_i − x̂_i) = 0.1·2·2 = 0.4 every step; in
the graph, it does not move. (b) the two loss curves are one: w learns its part, the loss settles
at 2² = 4, and b's growth buys nothing. The summary also resets the grown b to 0: the loss does not
change.

    python demos/bias_explosion.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import numpy as np
from _common import figure, parser, run_main, savefig

from micrograd_bn import Value

M, DIM, OFFSET, LR = 32, 4, 2.0, 0.1


def centred_loss(w: list[Value], b: Value, a: np.ndarray, t: np.ndarray, detach_mean: bool) -> Value:
    """(1/m) Σ_i (x̂_i − t_i)² with x_i = w·a_i + b and x̂_i = x_i − μ_B."""
    x = [Value.dot(w, row.tolist(), bias=b) for row in a]
    mean = Value.sum(x) / M  # μ_B = (1/m) Σ x_i, a node that depends on w and b
    if detach_mean:
        mean = mean.data  # a float: the gradient step no longer sees that μ_B moves with b (Sec. 2)
    x_hat = [xi - mean for xi in x]
    return Value.sum([(xh - ti) ** 2 for xh, ti in zip(x_hat, t.tolist())]) / M


def run(detach_mean: bool, steps: int, a: np.ndarray, t: np.ndarray) -> dict:
    w = [Value(0.0) for _ in range(DIM)]
    b = Value(0.0)
    biases, losses = [b.data], []
    for _ in range(steps):
        loss = centred_loss(w, b, a, t, detach_mean)
        for p in (*w, b):
            p.grad = 0.0
        loss.backward()
        for p in (*w, b):
            p.data -= LR * p.grad
        biases.append(b.data)
        losses.append(loss.data)
    grown = centred_loss(w, b, a, t, detach_mean).data
    b.data = 0.0  # put b back where it started: does the loss notice?
    reset = centred_loss(w, b, a, t, detach_mean).data
    return {"b": biases, "loss": losses, "loss_change_when_b_reset": abs(grown - reset)}


def main(argv: list[str] | None = None) -> dict:
    args = parser("bias_explosion", __doc__).parse_args(argv)
    steps = 20 if args.quick else 200
    rng = np.random.default_rng(args.seed)
    a = rng.normal(size=(M, DIM))
    a -= a.mean(axis=0)  # centred inputs: μ_B then depends on b alone, so only b's update differs
    t = a @ rng.normal(size=DIM) + OFFSET  # the offset is out of reach of a centred x̂
    runs = {"μ_B detached (a float)": run(True, steps, a, t), "μ_B in the graph (a Value)": run(False, steps, a, t)}

    fig = figure(10, 3.8)
    ax_b, ax_loss = fig.subplots(1, 2)
    for (label, r), color, style in zip(runs.items(), ("tab:red", "tab:blue"), ("-", "--")):
        ax_b.plot(r["b"], style, color=color, label=label)
        ax_loss.plot(range(1, steps + 1), r["loss"], style, color=color, label=label)
    ax_b.set(title="(a) the bias b", xlabel="gradient step", ylabel="b")
    ax_loss.set(title="(b) the loss (the same in both runs)", xlabel="gradient step", ylabel="loss")
    for ax in (ax_b, ax_loss):
        ax.legend()
    fig.suptitle(
        f"Sec. 2: x̂ = x − E[x] with E[x] outside the gradient lets b run away (seed {args.seed}; nothing clipped)"
    )
    path = savefig(fig, args.out, "bias_explosion.png")

    detached, attached = runs.values()
    result = {
        "figure": path,
        "steps": steps,
        "b_detached": detached["b"],
        "b_attached": attached["b"],
        "loss_detached": detached["loss"],
        "loss_attached": attached["loss"],
        "loss_change_when_b_reset": detached["loss_change_when_b_reset"],
    }
    print(f"after {steps} steps: b = {detached['b'][-1]:.4g} with μ_B detached, {attached['b'][-1]:.3g} in the graph")
    print(f"final loss: {detached['loss'][-1]:.6f} detached, {attached['loss'][-1]:.6f} in the graph")
    print(f"detached run, b reset to 0: the loss changes by {detached['loss_change_when_b_reset']:.2g}")
    return result


if __name__ == "__main__":
    run_main(main, "bias_explosion")
