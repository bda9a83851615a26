"""Alg. 2: after training, BatchNorm becomes a fixed affine map built from population statistics.

The claim (Sec. 3.1, Alg. 2): in training, each x is normalized with its mini-batch's μ_B and
σ²_B, so an example's output depends on the other examples in its batch. For inference the
trained net is frozen and each BN layer uses the population statistics
    E[x] = E_B[μ_B],    Var[x] = m/(m−1)·E_B[σ²_B]      (Alg. 2, line 10)
averaged over many training mini-batches of size m, which makes it a fixed affine map
    y = γ/√(Var[x]+ε)·x + (β − γE[x]/√(Var[x]+ε))      (Alg. 2, line 11).

What runs: Figure 1's toy BN net (see figure1.py) is trained for 150 steps. Then, as Alg. 2 lines
8–10, it is frozen, its running statistics are reset with momentum=None (a plain average, the
paper's E_B, instead of PyTorch's moving average), and every training example is passed once in
training mode, in mini-batches of 16. Then we check: the running statistics against E_B[μ_B] and
m/(m−1)·E_B[σ²_B] computed in NumPy from the same batches; eval() against the folded map of
`folded()`; and the training-mode output of a held-out batch against the eval output.

What to look at: (a, b) for one unit of the first BN layer, the mini-batch statistics scatter
around their running average; the mean ends exactly on the mean over all training examples, the
variance close to their (unbiased) variance, as m/(m−1) corrects σ²_B's 1/m on average. (c) eval
output is one straight line (the folded map) for every batch; training-mode outputs of three
held-out batches lie on lines of their own, each set by its batch's statistics.

    python demos/inference.py [--quick] [--out DIR] [--seed N]
"""

from __future__ import annotations

import numpy as np
from _common import (
    BATCH,
    LR,
    accuracy,
    figure,
    load_digits,
    parser,
    progress,
    run_main,
    savefig,
    sigmoid_mlp,
    train,
)

from micrograd_bn import MLP, BatchNorm1d, gc_paused

UNIT = 0  # the unit of the first BN layer shown in the figure


def population_statistics(net: MLP, rows: list[list[float]], batch_size: int) -> list[dict]:
    """Alg. 2, lines 8–10: frozen net, running statistics reset, one pass over the training set.

    With momentum=None each running statistic becomes the plain average over the batches seen.
    Returns, per BN layer, the μ_B and σ²_B of every batch (m×C arrays) for the NumPy check.
    """
    layers = [layer for layer in net.layers if isinstance(layer, BatchNorm1d)]
    for bn in layers:
        bn.momentum = None  # cumulative average: the paper's E_B[·]
        bn.reset_running_stats()
    seen = [{"mean": [], "var": []} for _ in layers]
    n = len(rows) // batch_size * batch_size  # whole batches only, all of size m
    batches = (rows[i : i + batch_size] for i in range(0, n, batch_size))
    net.train()
    with gc_paused():
        for batch in progress(batches, n // batch_size, "inference: E_B over batches"):
            net(batch)  # training-mode forward: updates the running statistics, nothing else
            for bn, s in zip(layers, seen):
                s["mean"].append([nodes.mean.data for nodes in bn.last])  # μ_B per unit
                s["var"].append([nodes.var.data for nodes in bn.last])  # σ²_B per unit (biased, 1/m)
    return [{k: np.array(v) for k, v in s.items()} for s in seen]


def layer_inputs(net: MLP, rows: list[list[float]], layer_index: int) -> np.ndarray:
    """The values entering net.layers[layer_index] (no BN before it in these nets: a Linear's output)."""
    batch = rows
    for layer in net.layers[:layer_index]:
        batch = layer(batch)
    return np.array([[v.data for v in row] for row in batch])


def main(argv: list[str] | None = None) -> dict:
    args = parser("inference", __doc__).parse_args(argv)
    steps = 30 if args.quick else 150
    data = load_digits(seed=args.seed)
    net = sigmoid_mlp(batchnorm=True, seed=args.seed)  # figure1.py's net
    train(net, data, LR, steps, BATCH, args.seed, "inference: training")

    rows = data.x_train[: 20 * BATCH] if args.quick else data.x_train  # the population of Alg. 2, line 8
    stats = population_statistics(net, rows, BATCH)
    bn = net.layers[1]  # the first BatchNorm1d, after the first Linear
    m = BATCH
    # Alg. 2, line 10, in NumPy from the recorded batch statistics
    e_mean = stats[0]["mean"].mean(axis=0)
    e_var = m / (m - 1) * stats[0]["var"].mean(axis=0)
    stats_error = max(np.max(np.abs(e_mean - bn.running_mean)), np.max(np.abs(e_var - bn.running_var)))

    # The same quantities over every training example at once (no batches)
    n = len(rows) // m * m
    x_all = np.array(rows[:n]) @ np.array([[w.data for w in r] for r in net.layers[0].weight]).T
    pop_mean, pop_var = x_all.mean(axis=0), x_all.var(axis=0, ddof=1)

    # eval() against the folded map of Alg. 2, line 11, on held-out examples
    held_out = data.x_test[: 3 * m].tolist()
    x_test = layer_inputs(net, held_out, 1)
    scale, shift = np.array(bn.folded()).T
    bn.eval()
    y_eval = np.array([[v.data for v in row] for row in bn(x_test.tolist())])
    folded_error = float(np.max(np.abs(y_eval - (scale * x_test + shift))))

    # Training mode on three held-out batches of m: each batch brings its own statistics
    bn.train()
    momentum, bn.momentum = bn.momentum, 0.0  # keep the population statistics as they are
    y_train = np.concatenate([[[v.data for v in row] for row in bn(x_test[k : k + m].tolist())] for k in (0, m, 2 * m)])
    bn.momentum = momentum
    gap = np.abs(y_train - y_eval)
    acc = accuracy(net, data.x_test, data.y_test)

    fig = figure(13, 3.8)
    ax_mean, ax_var, ax_map = fig.subplots(1, 3)
    k = np.arange(1, len(stats[0]["mean"]) + 1)
    for ax, batch_stat, pop, name in (
        (ax_mean, stats[0]["mean"][:, UNIT], pop_mean[UNIT], "μ_B"),
        (ax_var, m / (m - 1) * stats[0]["var"][:, UNIT], pop_var[UNIT], "m/(m−1)·σ²_B"),
    ):
        run_avg = np.cumsum(batch_stat) / k
        ax.plot(k, batch_stat, ".", color="tab:gray", ms=4, label=f"{name} of each mini-batch")
        ax.plot(k, run_avg, color="tab:blue", label="running average (momentum=None)")
        ax.axhline(pop, color="tab:red", ls="--", lw=1, label="over all training examples")
        ax.set(xlabel="mini-batches seen", ylabel=f"unit {UNIT} of the first BN layer")
        ax.legend(fontsize=7)
    ax_mean.set_title("(a) E[x] = E_B[μ_B]")
    ax_var.set_title("(b) Var[x] = m/(m−1)·E_B[σ²_B]")
    xs = x_test[:, UNIT]
    grid = np.linspace(xs.min(), xs.max(), 2)
    ax_map.plot(grid, scale[UNIT] * grid + shift[UNIT], color="black", lw=2, label="eval: folded map (Alg. 2)")
    for j, color in zip(range(3), ("tab:orange", "tab:green", "tab:purple")):
        part = slice(j * m, (j + 1) * m)
        ax_map.plot(xs[part], y_train[part, UNIT], "o", color=color, ms=4, label=f"train mode, held-out batch {j + 1}")
    ax_map.set(title="(c) the same examples, train vs eval", xlabel="x (BN input)", ylabel="y (BN output)")
    ax_map.legend(fontsize=7)
    fig.suptitle(
        f"Alg. 2: population statistics and the folded inference map (one trained net, seed {args.seed}); "
        "nothing clipped or smoothed"
    )
    path = savefig(fig, args.out, "inference.png")

    print(f"running statistics vs NumPy E_B[μ_B], m/(m−1)·E_B[σ²_B] over {len(k)} batches: max |Δ| = {stats_error:.1e}")
    print(
        f"unit {UNIT}: E_B[μ_B] = {e_mean[UNIT]:.4f} (all examples {pop_mean[UNIT]:.4f}), "
        f"m/(m−1)·E_B[σ²_B] = {e_var[UNIT]:.4f} (all examples, unbiased {pop_var[UNIT]:.4f})"
    )
    print(f"eval() vs folded map y = scale·x + shift: max |Δ| = {folded_error:.1e}")
    print(f"train-mode vs eval output on held-out batches of {m}: mean |Δ| = {gap.mean():.3f}, max {gap.max():.3f}")
    print(f"held-out accuracy of the inference net: {acc:.3f}")
    return {
        "figure": path,
        "stats_error": float(stats_error),
        "population_mean_error": float(np.max(np.abs(e_mean - pop_mean))),
        "population_var_rel_error": float(np.max(np.abs(e_var - pop_var) / pop_var)),
        "folded_error": folded_error,
        "train_eval_gap_mean": float(gap.mean()),
        "train_eval_gap_max": float(gap.max()),
        "accuracy": acc,
    }


if __name__ == "__main__":
    run_main(main, "inference")
