"""A smoother loss landscape (Santurkar et al.): relative to its size, BN's gradient stays valid further along −∇ℓ.

The claim (Santurkar et al. 2018, "How Does Batch Normalization Help Optimization?", arXiv
1805.11604, Sec. 3.1 and Fig. 4): BN helps less by reducing internal covariate shift (see
covariate_shift.py) than by making the loss landscape smoother: at a point W of training, step
along the gradient by several step sizes η and look at the variation of the loss ℓ(W − η∇ℓ), the
gradient predictiveness ‖∇ℓ(W) − ∇ℓ(W − η∇ℓ)‖ and the effective β-smoothness, the largest
‖∇ℓ(W) − ∇ℓ(W − η∇ℓ)‖ / ‖η∇ℓ‖. In their Fig. 4 (VGG nets on CIFAR-10) all three are smaller
with BN: a step can trust the gradient further, so higher rates train.

What runs: Figure 1's toy net (64 → 16 → 16 → 16 → 10 sigmoid, N(0, 0.5²) weights, batches of
16), 150 SGD steps at lr 1, with and without BN, the same batches, over 3 seeds (`--seeds`).
Every 10th step, after the backward on that step's batch and before the update, we probe with
η = 0.5, 1, 2, 4 × lr, on the same batch and in training mode (batch statistics, the loss being
trained). Each probe runs on a twin net loaded with W − η∇ℓ; the trained net is only read, so
its values, gradients and running statistics are bit for bit those of the same training without
probes (the test checks this). So that a lower loss or a smaller gradient does not pass for
smoothness, (a) and (b) are relative: (a) the range of ℓ over η divided by ℓ(W); (b) the largest
‖Δ∇ℓ‖ over η divided by ‖∇ℓ(W)‖; (c) β is a ratio of changes already.

What to look at: (b) BN's gradient changes less, relative to its size, at nearly every probe
after the first few, in every seed (median over the probes 1.26–1.50 with BN, 1.93–2.05
without, seeds 0–2; the test checks BN's is lower for every seed at --quick). (a, c) are not a
clean win at this scale: for ~100 steps, while the plain net sits on its sigmoid plateau, its
loss varies *less* than BN's relative to the loss (median 0.08–0.21 against 0.29–0.32), and β is
about equal; once it leaves the plateau its loss can jump by more than the loss itself (largest
1.3–2.3 against 0.4–0.6) and its largest β is higher (1.3–2.1 against 1.2–1.4). Lines are
medians over the seeds, bands min–max over the seeds; nothing is clipped or smoothed. The rate
matters: at `--lr 0.3` the plain net stays on its plateau the whole time.

    python demos/loss_landscape.py [--quick] [--out DIR] [--seed N] [--seeds K] [--lr R]
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
    add_seeds,
    figure,
    load_digits,
    minibatches,
    parser,
    positive_number,
    progress,
    run_main,
    savefig,
    seed_band,
    seed_text,
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
    record: dict = {"train_loss": [], "step": [], "loss": [], "grad_norm": [], "landscape": [], "gradient_change": []}
    record["beta"] = []
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
                record["loss"].append(loss.data)  # ℓ(W): the level the variation is measured against
                record["grad_norm"].append(grad_norm)
                record["landscape"].append(losses)
                record["gradient_change"].append(changes)
                # effective β-smoothness: the largest ‖Δ∇ℓ‖ / ‖ΔW‖ seen along the direction, ‖ΔW‖ = η‖∇ℓ‖
                record["beta"].append(max(c / (eta * grad_norm) for c, eta in zip(changes, etas)))
            opt.step()
    result = {k: np.array(v) for k, v in record.items()}
    result["state"] = state(net)
    return result


def relative(r: dict) -> dict[str, np.ndarray]:
    """The three measures per probe, each free of the loss's and the gradient's own size.

    loss variation: (max − min over η of ℓ(W − η∇ℓ)) / ℓ(W), the landscape's spread over its level;
    gradient change: max over η of ‖∇ℓ(W) − ∇ℓ(W − η∇ℓ)‖ / ‖∇ℓ(W)‖ (predictiveness, 0 = perfect);
    β: effective β-smoothness, max over η of ‖Δ∇ℓ‖ / ‖ΔW‖ (a ratio of changes already).
    """
    return {
        "loss_variation": np.ptp(r["landscape"], axis=1) / r["loss"],
        "gradient_change": r["gradient_change"].max(axis=1) / r["grad_norm"],
        "beta": r["beta"],
    }


MEASURES = {  # key: (panel title, y label)
    "loss_variation": ("(a) loss variation, relative", "(max − min over η of ℓ(W − η∇ℓ)) / ℓ(W)"),
    "gradient_change": ("(b) gradient predictiveness, relative", "max over η ‖∇ℓ(W) − ∇ℓ(W − η∇ℓ)‖ / ‖∇ℓ(W)‖"),
    "beta": ("(c) effective β-smoothness", "max over η of ‖Δ∇ℓ‖ / ‖ΔW‖"),
}


def main(argv: list[str] | None = None) -> dict:
    p = parser("loss_landscape", __doc__)
    add_seeds(p, default=3)
    p.add_argument("--lr", type=positive_number, default=LR, help=f"training rate of both nets (default {LR:g})")
    args = p.parse_args(argv)
    seeds = list(range(args.seed, args.seed + args.seeds))
    steps, every = (60, 10) if args.quick else (150, 10)
    arms = {NO_BN: False, BN: True}
    runs = {label: [run(bn, args.lr, steps, every, s) for s in seeds] for label, bn in arms.items()}
    measures = {label: [relative(r) for r in rs] for label, rs in runs.items()}

    fig = figure(13, 3.8)
    axes = dict(zip(MEASURES, fig.subplots(1, 3, sharex=True)))
    probe_steps = runs[BN][0]["step"]
    for label in arms:
        for key, ax in axes.items():
            seed_band(ax, probe_steps, [m[key] for m in measures[label]], COLORS[label], label, marker=".", ms=3)
    for key, ax in axes.items():
        title, ylabel = MEASURES[key]
        ax.set(title=title, xlabel="training step")
        ax.set_ylabel(ylabel, fontsize=9)
        ax.set_ylim(bottom=0)
    axes["loss_variation"].legend(fontsize=8)
    etas = ", ".join(f"{k:g}" for k in RATE_MULTIPLES)
    fig.suptitle(
        f"Santurkar et al. Fig. 4 at small scale: figure1.py's sigmoid net, lr {args.lr:g}, probed every {every} steps "
        f"at η = {etas} × lr along −∇ℓ\n{seed_text(seeds)}: line = median, band = min–max over the seeds; "
        "nothing clipped or smoothed"
    )
    path = savefig(fig, args.out, "loss_landscape.png")

    result: dict = {"figure": path, "lr": args.lr, "steps": steps, "seeds": seeds}
    result["etas"] = [k * args.lr for k in RATE_MULTIPLES]
    for label, rs in runs.items():
        ms = measures[label]
        result[label] = {
            "probe_steps": [r["step"].tolist() for r in rs],
            "train_loss": [r["train_loss"].tolist() for r in rs],
            "landscape": [r["landscape"].tolist() for r in rs],
            "gradient_change": [r["gradient_change"].tolist() for r in rs],
            "beta": [r["beta"].tolist() for r in rs],
            "state": [r["state"] for r in rs],
            **{f"{key}_median": [float(np.median(m[key])) for m in ms] for key in MEASURES},
            **{f"{key}_max": [float(np.max(m[key])) for m in ms] for key in MEASURES},
            "final_loss": [float(np.mean(r["train_loss"][-10:])) for r in rs],  # the mean of the last 10 steps
        }
        res = result[label]
        print(
            f"{label:>10}, seeds {', '.join(map(str, seeds))}; per seed, median (max) over {len(probe_steps)} probes:"
        )
        for key in MEASURES:
            cells = ", ".join(f"{a:.3g} ({b:.3g})" for a, b in zip(res[f"{key}_median"], res[f"{key}_max"]))
            print(f"{key:>18}: {cells}")
        print(f"{'training loss':>18}: {', '.join(f'{x:.3f}' for x in res['final_loss'])} (last 10 steps)")
    return result


if __name__ == "__main__":
    run_main(main, "loss_landscape")
