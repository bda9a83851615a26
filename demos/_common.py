"""What the demos share: command-line options, a progress bar, the digits data, the sigmoid MLP of
Sec. 4.1, one SGD step, a NumPy view of a trained net for evaluation (Alg. 2), and saving figures.

Every demo trains with the engine (`Value`) and the BatchNorm layers of `micrograd_bn`; NumPy only
handles data and statistics, and evaluates held-out accuracy with the trained numbers.

References: Ioffe & Szegedy, "Batch Normalization", arXiv 1502.03167: Sec. 4.1 (the MNIST net of
Figure 1), Alg. 2 (inference with population statistics).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TextIO, TypeVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from tqdm import tqdm

if importlib.util.find_spec("micrograd_bn") is None:  # a source checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MICROGRAD_BN_ENGINE", "auto")  # the compiled engine where it was built (README, Speed)

import micrograd_bn
from micrograd_bn import MLP, SGD, BatchNorm1d, Linear, ReLU, Sigmoid, Tanh, Value, cross_entropy, gc_paused
from micrograd_bn.nn import ACTIVATIONS, Module

T = TypeVar("T")


# ---- command line ---------------------------------------------------------------------------------
class DemoParser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (`NAME: error: WHAT; see --help`) and exit code 2.

    --out must not name a file. Once the arguments are good, the engine is named on stderr, unless
    `say_engine` is False (tour.py, which trains nothing).
    """

    def __init__(self, *args: object, say_engine: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.say_engine = say_engine

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: None = None) -> argparse.Namespace:  # type: ignore[override]
        ns = super().parse_args(args, namespace)
        if ns.out is not None and ns.out.exists() and not ns.out.is_dir():  # tour.py's --out may be None
            self.error(f"argument --out: {str(ns.out)!r} is a file; name a directory (made if missing)")
        if self.say_engine:
            print(f"engine: {micrograd_bn.ENGINE}", file=sys.stderr)
        return ns


def demo_name(name: str) -> str:
    """How the demo was run, for its usage line: `micrograd-bn demo NAME` through the CLI, else `NAME.py`.

    The CLI says so in the environment it runs the demo with (MICROGRAD_BN_PROG, micrograd_bn.cli).
    """
    return os.environ.get("MICROGRAD_BN_PROG", f"{name}.py")


def parser(name: str, doc: str | None) -> DemoParser:
    """The options every demo takes: --quick (a few seconds, for tests), --out DIR, --seed N.

    Figures go to out/ unless --out says otherwise: a folder of their own, which git ignores.
    """
    first_line = (doc or "").strip().splitlines()[0] if doc else None
    p = DemoParser(prog=demo_name(name), description=first_line)
    p.add_argument("--quick", action="store_true", help="a few seconds: fewer steps (used by the tests)")
    p.add_argument("--out", type=Path, default=Path("out"), help="directory for the figure (default: out/)")
    p.add_argument("--seed", type=seed_number, default=0, help="seed for data split, initial weights and batches")
    return p


def seed_number(text: str) -> int:
    """A seed: a whole number from 0 to 2³² − 1 (what NumPy's and Python's generators both take)."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if not 0 <= seed < 2**32:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed; give a whole number from 0 to {2**32 - 1}")
    return seed


def add_seeds(p: argparse.ArgumentParser, default: int, note: str = "") -> None:
    """--seeds K: run seeds N, N+1, …, N+K−1 (N from --seed) and show the band across them."""

    def count(text: str) -> int:
        k = int(text) if text.isdigit() else 0
        if not 1 <= k <= 50:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seeds; give a whole number from 1 to 50")
        return k

    p.add_argument(
        "--seeds", type=count, default=None, help=f"how many seeds, from --seed on (default {default}{note})"
    )
    p.set_defaults(seeds=default)


def positive_number(text: str, what: str = "rate", most: float = 1e6) -> float:
    """A number 0 < x ≤ `most` (a learning rate, by default)."""
    try:
        x = float(text)
    except ValueError:
        x = math.nan
    if not 0 < x <= most:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {what}; give a number above 0 and at most {most:g}")
    return x


def run_main(main: Callable[[], object], name: str) -> None:
    """Run a demo's main(); Ctrl-C ends it with one line on stderr and exit code 130 (128 + SIGINT)."""
    try:
        main()
    except KeyboardInterrupt:
        print(f"{demo_name(name)}: interrupted", file=sys.stderr)
        sys.exit(130)


# ---- progress bar ---------------------------------------------------------------------------------
def progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """Yield from `items` with a tqdm progress bar on stderr.

    In a terminal the bar updates in place; in a log or CI (stderr not a terminal) it is five
    whole lines, at 0, 25, 50, 75 and 100 %, rather than a line rewritten with carriage returns.
    """
    if sys.stderr.isatty():
        yield from tqdm(items, total=total, desc=label)
        return
    quarter = max(1, total // 4)  # miniters given and maxinterval infinite: tqdm prints exactly then
    lines = _WholeLines(sys.stderr)
    yield from tqdm(
        items, total=total, desc=label, file=lines, miniters=quarter, mininterval=0, maxinterval=math.inf,
        leave=False, ascii=True, ncols=80,
    )  # fmt: skip


class _WholeLines:
    """A file for tqdm: each status it writes becomes one whole line; the clearing at the end, nothing."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        if text.strip():
            self.stream.write(text.strip() + "\n")

    def flush(self) -> None:
        self.stream.flush()


# ---- data -----------------------------------------------------------------------------------------
@dataclass
class Digits:
    """scikit-learn's 8×8 digits, pixels scaled to [0, 1], split into training and held-out parts."""

    x_train: list[list[float]]  # rows of 64 floats: what the engine's Linear takes
    y_train: list[int]
    x_test: np.ndarray  # (n_test, 64), for NumPy evaluation
    y_test: np.ndarray


def load_digits(n_test: int = 400, seed: int = 0) -> Digits:
    """The 1,797 bundled digits (offline), shuffled with `seed`; `n_test` of them held out."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    x, y = data.data / 16.0, data.target  # pixels are 0..16
    order = np.random.default_rng(seed).permutation(len(x))
    test, train = order[:n_test], order[n_test:]
    return Digits(x[train].tolist(), y[train].tolist(), x[test], y[test])


def minibatches(n: int, batch_size: int, steps: int, seed: int) -> Iterator[list[int]]:
    """`steps` random mini-batches of indices into range(n) (each batch without repeats)."""
    rng = random.Random(seed)
    for _ in range(steps):
        yield rng.sample(range(n), batch_size)


# ---- the network of Sec. 4.1 ----------------------------------------------------------------------
# Figure 1's net at toy size, shared by the training demos (figure1.py describes the experiment).
SIZES = [64, 16, 16, 16, 10]  # the paper: 784 → 100 → 100 → 100 → 10
INIT_STD = 0.5  # "small random Gaussian values" (Sec. 4.1); the paper gives no std
LR = 1.0  # plain SGD; the paper gives no rate
BATCH = 16  # the paper: 60


def sigmoid_mlp(batchnorm: bool, seed: int, sizes: list[int] = SIZES, init_std: float | None = INIT_STD) -> MLP:
    """Linear → [BatchNorm1d] → sigmoid per hidden layer, then a linear 10-way output (Sec. 4.1).

    Every weight is drawn from N(0, init_std²) and biases start at 0 (with init_std=None, the
    library's default init is kept). Both nets built with the same seed start from the same
    weights, so they differ only by BatchNorm (which replaces the hidden biases, Sec. 3.2).
    """
    net = MLP(sizes, activation="sigmoid", norm=BatchNorm1d if batchnorm else None, seed=seed)
    if init_std is not None:
        rng = random.Random(seed)
        for layer in linear_layers(net):
            for row in layer.weight:
                for w in row:
                    w.data = rng.gauss(0.0, init_std)
            for b in layer.bias or []:
                b.data = 0.0
    return net


def linear_layers(net: MLP) -> list[Linear]:
    """The Linear layers of `net`, input to output."""
    return [layer for layer in net.layers if isinstance(layer, Linear)]


def forward_recording(net: MLP, batch: list) -> tuple[list[list[Value]], list[list[list[Value]]]]:
    """Run `net` layer by layer; return its output and the batch entering each activation.

    Those are the inputs x of the nonlinearity g(x) that Fig. 1(b, c) follows: with BatchNorm,
    x = BN(Wu); without, x = Wu + b.
    """
    activation_inputs = []
    for layer in net.layers:
        if type(layer) in ACTIVATIONS.values():
            activation_inputs.append(batch)
        batch = layer(batch)
    return batch, activation_inputs


def sgd_step(net: MLP, optimizers: list[SGD], rows: list[list[float]], labels: list[int]) -> tuple[float, list]:
    """One step of plain SGD on the cross-entropy; returns the loss and the activation inputs."""
    logits, activation_inputs = forward_recording(net, rows)
    loss = cross_entropy(logits, labels)
    for opt in optimizers:
        opt.zero_grad()
    loss.backward()
    for opt in optimizers:
        opt.step()
    return loss.data, activation_inputs


def train(
    net: MLP,
    data: Digits,
    lr: float,
    steps: int,
    batch_size: int,
    seed: int,
    label: str,
    observe: Callable[[int, list], None] | None = None,
    output_lr: float | None = None,
) -> list[float]:
    """`steps` SGD steps on random training mini-batches; returns the loss of each step.

    After step t (counted from 1), `observe(t, activation_inputs)` sees the inputs of every
    activation for that step's batch. Both nets of a comparison get the same batches (same seed).
    `output_lr`, if given, is the rate of the last Linear layer (the others use `lr`).
    If a number overflows (the engine raises), training stops and the remaining losses are NaN.
    """
    if output_lr is None:
        optimizers = [SGD(net.parameters(), lr)]
    else:
        output = linear_layers(net)[-1].parameters()
        hidden = [p for p in net.parameters() if not any(p is q for q in output)]
        optimizers = [SGD(hidden, lr), SGD(output, output_lr)]
    losses: list[float] = []
    batches = minibatches(len(data.y_train), batch_size, steps, seed)
    with gc_paused():
        for step, idx in enumerate(progress(batches, steps, label), 1):
            rows, labels = [data.x_train[i] for i in idx], [data.y_train[i] for i in idx]
            try:
                loss, activation_inputs = sgd_step(net, optimizers, rows, labels)
            except (FloatingPointError, OverflowError) as err:
                print(f"\n{label}: diverged at step {step}: {err}", file=sys.stderr)
                return losses + [float("nan")] * (steps - len(losses))
            losses.append(loss)
            if observe is not None:
                observe(step, activation_inputs)
    return losses


def train_measuring_layers(
    net: MLP,
    data: Digits,
    lr: float,
    steps: int,
    seed: int,
    label: str,
    share: Callable[[np.ndarray], float],
    every: int,
) -> dict:
    """Train `net` (batches of BATCH); each step, `share(x)` of every hidden layer's activation inputs x.

    Returns "shares" (steps × layers, over each step's training batch), held-out accuracy at step 0
    and every `every` steps ("acc_steps", "accuracy"), the losses, and "x_end": each activation's
    held-out inputs in the inference network at the end.
    """
    shares: list[list[float]] = []
    acc_steps, acc = [0], [accuracy(net, data.x_test, data.y_test)]

    def observe(step: int, activation_inputs: list) -> None:
        shares.append([share(np.array([[v.data for v in row] for row in x])) for x in activation_inputs])
        if step % every == 0:
            acc_steps.append(step)
            acc.append(accuracy(net, data.x_test, data.y_test))

    losses = train(net, data, lr, steps, BATCH, seed, label, observe)
    _, x_end = numpy_forward(net, data.x_test)
    return {"shares": np.array(shares), "acc_steps": acc_steps, "accuracy": acc, "loss": losses, "x_end": x_end}


# ---- evaluation: the trained numbers in NumPy (no training happens here) --------------------------
def numpy_sigmoid(h: np.ndarray) -> np.ndarray:
    """σ(h) = 1 / (1 + e^(−h)); e^(−h) overflowing to inf for h < −709 gives the exact limit 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-h))


NUMPY_ACTIVATIONS = {Sigmoid: numpy_sigmoid, Tanh: np.tanh, ReLU: lambda h: np.maximum(h, 0.0)}


def numpy_forward(net: Module, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The inference network of Alg. 2 in NumPy: output logits, and each activation's input.

    Each BatchNorm layer is its folded affine map y = scale·x + shift (Alg. 2, line 11) from the
    running statistics: the map `net.eval()` computes with Values (to rounding: eval subtracts E[x]
    first), only ~1000× faster.
    """
    h, activation_inputs = np.asarray(x, dtype=float), []
    for layer in net.layers:
        if isinstance(layer, Linear):
            h = h @ np.array([[w.data for w in row] for row in layer.weight]).T
            if layer.bias is not None:
                h = h + np.array([b.data for b in layer.bias])
        elif isinstance(layer, BatchNorm1d):
            scale, shift = np.array(layer.folded()).T
            h = h * scale + shift
        elif type(layer) in NUMPY_ACTIVATIONS:
            activation_inputs.append(h)
            h = NUMPY_ACTIVATIONS[type(layer)](h)
        else:
            raise TypeError(f"numpy_forward: no NumPy version of {type(layer).__name__}")
    return h, activation_inputs


def check_numpy_forward(net: Module, x: np.ndarray, rows: int = 2) -> float:
    """Largest |NumPy − engine| over the first `rows` examples in eval mode (restores the mode)."""
    was_training = net.training
    net.eval()
    engine = np.array([[v.data for v in row] for row in net(x[:rows].tolist())])
    net.train(was_training)
    return float(np.max(np.abs(numpy_forward(net, x[:rows])[0] - engine)))


def accuracy(net: Module, x: np.ndarray, y: np.ndarray) -> float:
    """Share of held-out examples classified correctly by the inference network (Alg. 2)."""
    logits, _ = numpy_forward(net, x)
    return float(np.mean(logits.argmax(axis=1) == y))


# ---- figures --------------------------------------------------------------------------------------
NO_BN, BN = "without BN", "with BN"  # legend labels, in the paper's Figure 1 wording
COLORS = {NO_BN: "tab:gray", BN: "tab:blue"}


def moving_average(y: Iterable[float], k: int) -> np.ndarray:
    """Mean of the last k values at each step (of fewer at the start)."""
    c = np.cumsum(np.insert(np.asarray(list(y), dtype=float), 0, 0.0))
    i = np.arange(1, len(c))
    n = np.minimum(i, k)
    return (c[i] - c[i - n]) / n


def figure(width: float, height: float) -> Figure:
    """A blank figure drawn by Agg (no pyplot, no window, no global figure list)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def seed_text(seeds: Sequence[int]) -> str:
    """'seed 0' or 'seeds 0–2', for a figure's title."""
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"


def print_per_seed(label: str, seeds: Sequence[int], lines: Sequence[str]) -> None:
    """Print `label` with its seeds, then each seed's line."""
    print(f"{label}, {seed_text(seeds)}:")
    for seed, line in zip(seeds, lines, strict=True):
        print(f"{seed:>12}: {line}")


def seed_band(ax: Axes, x: Sequence[float], values: ArrayLike, color: str, label: str, **line: object) -> None:
    """Median over the seeds (rows of `values`) as a line, their min–max as a band around it."""
    values = np.asarray(values, dtype=float)
    ax.fill_between(x, values.min(axis=0), values.max(axis=0), color=color, alpha=0.25, lw=0)
    ax.plot(x, np.median(values, axis=0), color=color, label=label, **line)


LAYER_STYLES = (":", "--", "-")  # hidden layer 1, 2, 3


def layer_share_bands(ax: Axes, runs: dict[str, list[dict]], colors: dict[str, str], every: int) -> None:
    """Each net's per-layer shares (train_measuring_layers) as an `every`-step moving average, band over seeds."""
    for label, rs in runs.items():
        for layer, style in zip(range(rs[0]["shares"].shape[1]), LAYER_STYLES):
            curves = [moving_average(r["shares"][:, layer], every) for r in rs]
            steps = range(1, len(curves[0]) + 1)
            seed_band(ax, steps, curves, colors[label], f"{label}, layer {layer + 1}", ls=style)


def savefig(fig: Figure, out: Path, name: str) -> Path:
    """Save `fig` as out/name (PNG, 100 dpi); print and return the path."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=100)
    print(f"figure: {path}")
    return path
