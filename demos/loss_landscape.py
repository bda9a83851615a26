"""A smoother loss landscape: along the gradient, BN's loss and gradient change less (Santurkar et al.).

The claim (Santurkar et al. 2018, "How Does Batch Normalization Help Optimization?", arXiv
1805.11604, Sec. 3.1 and Fig. 4): BN helps less by reducing internal covariate shift (see
covariate_shift.py) than by making the loss landscape smoother: at a point W of training, step
along the gradient by several step sizes η and look at
    (a) the loss landscape: the range of ℓ(W − η∇ℓ) over η (how far the loss can jump),
    (b) gradient predictiveness: ‖∇ℓ(W) − ∇ℓ(W − η∇ℓ)‖ over η (how long the gradient stays valid),
    (c) effective β-smoothness: the largest ‖∇ℓ(W) − ∇ℓ(W − η∇ℓ)‖ / ‖η∇ℓ‖ over η.
In their Fig. 4 (VGG nets on CIFAR-10) all three are smaller with BN: a step can trust the
gradient further, so higher rates train.

What runs: Figure 1's toy net (64 → 16 → 16 → 16 → 10 sigmoid, N(0, 0.5²) weights, batches of
16), 150 SGD steps at lr 1 (figure1.py's rate), with and without BN, the same batches. Every 10th
step, after the backward on that step's batch and before the update, we probe with η = 0.5, 1,
2, 4 × lr, on the same batch and in training mode (batch statistics, the loss being trained).
Each probe runs on a twin net loaded with W − η∇ℓ; the trained net is only read, so its values,
gradients and running statistics are bit for bit those of the same training without probes (the
test checks this).

What to look at: (a, b) the shaded bands, lowest to highest value over η at each step; (c) one
line per net. For the first ~100 steps the two nets look alike (the plain net sits on the sigmoid
plateau, where the loss is flat too); once it leaves it, its bands blow up where BN's stay narrow:
over training its largest spread of ℓ is 3–5× BN's, its largest ‖Δ∇ℓ‖ 1.5–2× and its largest β
1.1–1.5× (seeds 0, 1, 2).
NB: at this scale BN wins on the bad steps more than on the typical ones. The medians over
training are closer: ‖Δ∇ℓ‖ 9–25% lower with BN; the spread of ℓ lower for seed 0 (0.24 against
0.37), equal for seeds 1 and 2; β about equal, either way by seed. And BN's gradient is the
larger, so the same η moves it further. The rate matters: at `--lr 0.3` the plain net stays on
its plateau and the difference is gone (its loss varies less than BN's along −∇ℓ, the gradient
measures are about equal); at `--lr 3` the comparison is mixed.

    python demos/loss_landscape.py [--quick] [--out DIR] [--seed N] [--lr R]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from _common import (
    BATCH,
    BN,
    COLORS,
    LR,
    NO_BN,
    figure,
    load_digits,
    minibatches,
    parser,
    positive_number,
    progress,
    run_main,
    savefig,
    sigmoid_mlp,
)

from micrograd_bn import MLP, SGD, BatchNorm1d, cross_entropy, gc_paused

RATE_MULTIPLES = (0.5, 1.0, 2.0, 4.0)  # the probe's step sizes η, as multiples of the training rate


def probe(net: MLP, twin: MLP, rows: list, labels: list[int], etas: Sequence[float]) -> tuple[list[float], list[float]]:
    """ℓ(W − η∇ℓ) and ‖∇ℓ(W) − ∇ℓ(W − η∇ℓ)‖ on this batch, for each η (Santurkar et al. Sec. 3.1).

    `net` holds W and ∇ℓ(W) (its .grad, from the training step's backward on this batch) and is
    only read. Every forward and backward runs on `twin`, a second net of the same build whose
    values this overwrites, so nothing in `net` (values, grads, BN's running statistics) can move.
    The twin runs in training mode: ℓ is the training loss, with batch statistics μ_B, σ²_B.
    """
    params, twin_params = net.parameters(), twin.parameters()
    if any(p is q for p, q in zip(params, twin_params)):
        raise ValueError("probe: `twin` shares parameters with `net`; build a second net of the same kind")
    w, g = np.array([p.data for p in params]), np.array([p.grad for p in params])
    losses, changes = [], []
    for eta in etas:
        for q, v in zip(twin_params, (w - eta * g).tolist(), strict=True):
            q.data = v
        loss = cross_entropy(twin(rows), labels)
        twin.zero_grad()
        loss.backward()
        losses.append(loss.data)
        changes.append(float(np.linalg.norm(g - np.array([q.grad for q in twin_params]))))
    return losses, changes


def state(net: MLP) -> list[float]:
    """Every number training leaves in `net`: parameter values, then BN's running statistics."""
    values = [p.data for p in net.parameters()]
    for layer in net.layers:
        if isinstance(layer, BatchNorm1d):
            values += [*layer.running_mean, *layer.running_var, float(layer.num_batches_tracked)]
    return values


def run(batchnorm: bool, lr: float, steps: int, every: int | None, seed: int) -> dict:
    """Train one net with plain SGD; before every `every`-th update, probe along −∇ℓ (None: never)."""
    data = load_digits(seed=seed)
    net, twin = sigmoid_mlp(batchnorm, seed=seed), sigmoid_mlp(batchnorm, seed=seed)
    opt, etas = SGD(net.parameters(), lr), [k * lr for k in RATE_MULTIPLES]
    record: dict = {"train_loss": [], "step": [], "grad_norm": [], "landscape": [], "gradient_change": [], "beta": []}
    label = f"loss_landscape {BN if batchnorm else NO_BN}"
    with gc_paused():
        for step, idx in enumerate(progress(minibatches(len(data.y_train), BATCH, steps, seed), steps, label)):
            rows, labels = [data.x_train[i] for i in idx], [data.y_train[i] for i in idx]
            loss = cross_entropy(net(rows), labels)
            opt.zero_grad()
            loss.backward()  # ∇ℓ(W) at this step's W, on this step's batch
            record["train_loss"].append(loss.data)
            if every is not None and step % every == 0:
                losses, changes = probe(net, twin, rows, labels, etas)
                grad_norm = float(np.linalg.norm([p.grad for p in net.parameters()]))
                record["step"].append(step)
                record["grad_norm"].append(grad_norm)
                record["landscape"].append(losses)
                record["gradient_change"].append(changes)
                # effective β-smoothness: the largest ‖Δ∇ℓ‖ / ‖ΔW‖ seen along the direction, ‖ΔW‖ = η‖∇ℓ‖
                record["beta"].append(max(c / (eta * grad_norm) for c, eta in zip(changes, etas)))
            opt.step()
    result = {k: np.array(v) for k, v in record.items()}
    result["state"] = state(net)
    return result


def bands(r: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The shaded bands of Fig. 4 (a, b): lowest and highest value over η at each probed step."""
    return {key: (r[key].min(axis=1), r[key].max(axis=1)) for key in ("landscape", "gradient_change")}


def summary(r: dict) -> dict:
    """Median and largest over the probes: spread of ℓ over η, largest ‖Δ∇ℓ‖ over η, β; median ‖∇ℓ‖."""
    (loss_lo, loss_hi), (_, change) = bands(r).values()
    spread = loss_hi - loss_lo
    return {
        "loss_spread_median": float(np.median(spread)),
        "loss_spread_max": float(spread.max()),
        "gradient_change_median": float(np.median(change)),
        "gradient_change_max": float(change.max()),
        "beta_median": float(np.median(r["beta"])),
        "beta_max": float(r["beta"].max()),
        "grad_norm_median": float(np.median(r["grad_norm"])),
        "final_loss": float(np.mean(r["train_loss"][-10:])),  # training loss, mean of the last 10 steps
    }


def main(argv: list[str] | None = None) -> dict:
    p = parser("loss_landscape", __doc__)
    p.add_argument("--lr", type=positive_number, default=LR, help=f"training rate of both nets (default {LR:g})")
    args = p.parse_args(argv)
    steps, every = (20, 5) if args.quick else (150, 10)
    runs = {NO_BN: run(False, args.lr, steps, every, args.seed), BN: run(True, args.lr, steps, every, args.seed)}

    fig = figure(13, 3.8)
    ax_loss, ax_grad, ax_beta = fig.subplots(1, 3, sharex=True)
    for label, r in runs.items():
        color = COLORS[label]
        for ax, key in ((ax_loss, "landscape"), (ax_grad, "gradient_change")):
            lo, hi = bands(r)[key]
            ax.fill_between(r["step"], lo, hi, color=color, alpha=0.35, lw=0, label=label)
            ax.plot(r["step"], lo, color=color, lw=0.6)
            ax.plot(r["step"], hi, color=color, lw=0.6)
        ax_beta.plot(r["step"], r["beta"], ".-", color=color, lw=1, ms=3, label=label)
    etas = f"η = {', '.join(f'{k:g}' for k in RATE_MULTIPLES)} × lr"
    ax_loss.set(title="(a) loss landscape: ℓ(W − η∇ℓ)", xlabel="training step", ylabel=f"range over {etas}")
    ax_grad.set(title="(b) gradient predictiveness", xlabel="training step", ylabel="‖∇ℓ(W) − ∇ℓ(W − η∇ℓ)‖")
    ax_beta.set(title="(c) effective β-smoothness", xlabel="training step", ylabel="max over η of ‖Δ∇ℓ‖ / ‖ΔW‖")
    ax_loss.legend(fontsize=8)
    fig.suptitle(f"Santurkar et al. Fig. 4 at small scale: the sigmoid net of figure1.py, lr {args.lr:g}, along −∇ℓ")
    path = savefig(fig, args.out, "loss_landscape.png")

    result: dict = {"figure": path, "lr": args.lr, "steps": steps, "etas": [k * args.lr for k in RATE_MULTIPLES]}
    for label, r in runs.items():
        s = summary(r)
        result[label] = {
            **s,
            "probe_steps": r["step"].tolist(),
            "train_loss": r["train_loss"].tolist(),
            "landscape": r["landscape"].tolist(),
            "gradient_change": r["gradient_change"].tolist(),
            "beta": r["beta"].tolist(),
            "grad_norm": r["grad_norm"].tolist(),
            "bands": {key: [lo.tolist(), hi.tolist()] for key, (lo, hi) in bands(r).items()},
            "state": r["state"],
        }
        print(
            f"{label:>10}, median (max) over {len(r['step'])} probes: spread of ℓ {s['loss_spread_median']:.3g} "
            f"({s['loss_spread_max']:.3g}); ‖Δ∇ℓ‖ {s['gradient_change_median']:.3g} ({s['gradient_change_max']:.3g}); "
            f"β {s['beta_median']:.3g} ({s['beta_max']:.3g}); ‖∇ℓ‖ {s['grad_norm_median']:.3g}; "
            f"training loss {s['final_loss']:.3f} over the last 10 steps"
        )
    return result


if __name__ == "__main__":
    run_main(main, "loss_landscape")
