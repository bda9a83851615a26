"""`micrograd-bn`: the command line. Each subcommand is a thin wrapper over a library function.

micrograd-bn compare --batch 8 --features 3 --seed 0   autodiff vs the paper's equations
micrograd-bn graph --out batchnorm.svg                  render BatchNorm's graph
micrograd-bn trace                                      step through a backward pass
micrograd-bn demo NAME                                  run one of the paper's demos

Every error is one line on stderr, in the command line's words (its options), and every
exit code means one thing (`EXIT_CODES`). Sizes are checked before any work starts
(`budget.py`): what would not fit this machine is refused, with the largest size that would.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import math
import os
import random
import runpy
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from . import ENGINE, __version__, budget

HERE = Path(__file__).resolve().parent
# The demos: installed with the package as micrograd_bn/demos/ (pip install .), or the top-level
# demos/ of a source checkout (an editable install), where the same files live.
DEMOS_DIR = HERE / "demos" if (HERE / "demos").is_dir() else HERE.parent / "demos"
IMAGE_FORMATS = ("svg", "png", "pdf")
LOSS = "Σ y·dy"  # ℓ's operation, as the paper writes the probe ℓ = Σ_i y_i·dy_i
MAX_DIGITS = 17  # a float64 has no more significant digits
MAX_EPS = 1.0  # the largest ε compare's finite differences resolve on its random batches (σ²_B ≈ 1)
LAYERS = ("batchnorm", "layernorm", "rmsnorm", "groupnorm")  # norms.NORMS, without importing NumPy to parse
MOMENTUM = 0.1  # compare's default: PyTorch's
MAX_ATTEMPT_BYTES = 1_000_000  # a derivation is a few kB: a larger file is not one
EXIT_CODES = (
    "exit status: 0 ok; 1 a check failed (a tolerance in compare, a wrong or unfinished quantity in check); "
    "2 bad usage or input (one line on stderr says what and how to fix it); check only: 4 your file called "
    "sys.exit, 124 your function ran past --timeout; 130 interrupted (Ctrl-C). "
    "A closed pipe (micrograd-bn trace | head) ends quietly, with 0."
)


class _Parser(argparse.ArgumentParser):
    """argparse, with every usage error on one line: the message, then this (sub)command's usage."""

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split()).removeprefix("usage: ").replace(" [-h]", "")
        self.exit(2, f"{self.prog}: {message} (usage: {usage}; more: {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def _non_negative_int(text: str) -> int:
    return _int_at_least(text, 0, "a non-negative integer")


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def _digits(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_DIGITS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_DIGITS} (all a float64 has), got {text!r}")
    return value


def _number(text: str) -> float:
    """The float `text` spells, or NaN (which every range check then refuses, with the option's own line)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def _eps(text: str) -> float:
    value = _number(text)
    if not (value >= 0 and math.isfinite(value)):  # checked here, before NumPy warns about √ of a negative
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0 (ε in √(σ²_B + ε)), got {text!r}")
    if value > MAX_EPS:  # ε swamps σ²_B: ℓ barely moves, and finite differences see only rounding
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_EPS:g}, got {text!r}: a larger ε swamps σ²_B (≈ 1 here) and finite "
            "differences cannot resolve ∂ℓ/∂σ²_B; ε is a small constant (default 1e-5)"
        )
    return value


def _positive_seconds(text: str) -> float:
    value = _number(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _shape(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 2x3, got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"H and W must be positive, got {text!r}")
    return h, w


def _momentum(text: str) -> float | None:
    if text.lower() == "none":
        return None  # cumulative average: the paper's Alg. 2 population statistics
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or None, got {text!r}")
    return value


def _need_batch_statistics(args: argparse.Namespace, per_batch: int = 1) -> None:
    """Refuse what BatchNorm would refuse (one value per feature), said with this command's options."""
    if args.batch * per_batch < 2:
        more = " (or a larger --spatial)" if per_batch > 1 or getattr(args, "spatial", None) else ""
        raise ValueError(
            f"expected more than 1 value per channel for batch statistics, got {args.batch * per_batch}; "
            f"use --batch 2 or more{more}"
        )


def _fit_batch(args: argparse.Namespace, cost_of: Callable[[int, int], budget.Cost], why: str = "") -> bool:
    """Refuse --batch and --features whose work `cost_of(batch, features)` would not fit this machine, naming
    the largest --batch that would (or --features, with --batch 2); work that fits but is long says first,
    on stderr, how long it will take, and True (show progress)."""
    try:
        cost = budget.check(lambda batch: cost_of(batch, args.features), args.batch)
    except budget.Refused as refused:
        spatial = "x".join(map(str, args.spatial)) if getattr(args, "spatial", None) else ""
        given = f"--batch {args.batch} --features {args.features}" + (f" --spatial {spatial}" if spatial else "")
        features = budget.largest(lambda c: budget.fits(cost_of(2, c)), args.features)
        fix = (
            f"use --batch {refused.largest} or less"
            if refused.largest >= 2
            else f"use --features {features} or less with --batch 2"
            if features >= 1
            else "use a smaller --spatial"
        )
        raise ValueError(f"{given} would take {refused.cost}{why}, more than {budget.limits()}; {fix}") from None
    if cost.seconds <= budget.SAY_AFTER:
        return False
    print(f"micrograd-bn {args.command}: this will take {cost}; Ctrl-C stops it", file=sys.stderr)
    return True


@contextlib.contextmanager
def _progress(shown: bool, what: str) -> Iterator[Callable[[int, int], object] | None]:
    """A progress bar on stderr as `progress(done, total)` for long work (None when not `shown`, or
    without tqdm); cleared when the block ends, Ctrl-C included, so that what follows is one line."""
    try:
        from tqdm import tqdm
    except ImportError:
        shown = False
    if not shown:
        yield None
        return
    with tqdm(desc=what, unit=" entries", leave=False, mininterval=1.0) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare, compare_norm, format_table

    h, w = args.spatial or (1, 1)
    if args.layer == "batchnorm":
        _need_batch_statistics(args, h * w)
    elif args.momentum != MOMENTUM:
        raise ValueError(f"--momentum is BatchNorm's running statistics; --layer {args.layer} keeps none")
    if args.groups is not None and args.layer != "groupnorm":
        raise ValueError(f"--groups is GroupNorm's G; use it with --layer groupnorm, not --layer {args.layer}")
    if args.spatial and args.layer in ("layernorm", "rmsnorm"):
        raise ValueError(f"--spatial is for --layer batchnorm or groupnorm: {args.layer} takes (N, C) here")
    if args.layer == "groupnorm" and args.features % (args.groups or 1):
        raise ValueError(f"--groups {args.groups} must divide --features {args.features}: a group is C/G channels")
    long = _fit_batch(
        args,
        lambda batch, features: budget.compare_cost(batch * features * h * w),
        " (its finite differences grow with the square of N·C·H·W)",
    )
    with _progress(long, "finite differences") as progress:
        if args.layer == "batchnorm":
            result = compare(
                args.batch, args.features, args.seed, args.eps, args.momentum, spatial=args.spatial, progress=progress
            )
        else:
            groups = 1 if args.groups is None else args.groups
            result = compare_norm(
                args.layer, args.batch, args.features, args.seed, args.eps, groups, args.spatial, progress
            )
    print(format_table(result))
    return 0 if result.ok else 1


def _batchnorm_loss(batch: int, features: int, seed: int):
    """BatchNorm1d on a random (N, C) batch x and ℓ = Σ_i y_i·dy_i with a random dy; returns (ℓ, layer, x, dy)."""
    from .batchnorm import BatchNorm1d
    from .engine import Value
    from .nn import upstream_loss

    rng = random.Random(seed)
    layer = BatchNorm1d(features)
    x = [[Value(rng.gauss(0.0, 1.0)) for _ in range(features)] for _ in range(batch)]
    y = layer(x)
    for n in layer.last:  # name each x_i as the layer names x_i − μ_B
        for xi, dev in zip(n.x, n.deviation):
            xi.label = dev.label.removesuffix("−" + n.mean.label)
    dy = [[rng.gauss(0.0, 1.0) for _ in range(features)] for _ in range(batch)]
    loss = upstream_loss(y, dy)
    return loss, layer, x, dy


def graph_size(batch: int, features: int, folded: bool = False) -> tuple[int, int]:
    """(nodes `draw` makes, Values) for `_batchnorm_loss(batch, features)`, without building it;
    `folded`: one feature drawn in full, each other folded into a box (`drawing.fold`, `--expand`).

    Both grow as a + C·(b + d·N); a, b, d are read off three tiny graphs drawn for real.
    """
    (n21, v21), (n31, v31), (n22, v22) = (_drawn_size(*shape) for shape in ((2, 1), (3, 1), (2, 2)))
    nodes = n21 + (features - 1) * (n22 - n21) + features * (batch - 2) * (n31 - n21)
    if folded:
        nodes = graph_size(batch, 1)[0] + features - 1
    return nodes, v21 + (features - 1) * (v22 - v21) + features * (batch - 2) * (v31 - v21)


@functools.cache
def _drawn_size(batch: int, features: int, folded: bool = False) -> tuple[int, int]:
    from .drawing import GraphTooLarge, draw, fold

    loss, layer, _, _ = _batchnorm_loss(batch, features, 0)
    try:
        draw(loss, max_nodes=0, **(fold(layer) if folded else {}))
    except GraphTooLarge as err:  # the count, before Graphviz would run
        return err.count, err.values
    raise AssertionError("draw() drew a graph over max_nodes=0")


def _graph(args: argparse.Namespace) -> int:
    from .drawing import draw, fold, render
    from .page import write_html
    from .trace import backward_steps, write_frames

    fmt = _image_format(args.out, args.format)
    for option, path in (("--out", args.out), ("--html", args.html)):  # every path checked before any is written
        if path:
            _check_folder(Path(path).parent, f"{option} {path}")
    if args.frames:
        _check_folder(Path(args.frames), f"--frames {args.frames}", may_create=True)
    _need_batch_statistics(args)
    folded = args.expand is not None
    if folded and args.expand >= args.features:
        raise ValueError(
            f"--expand {args.expand} is not a feature of --features {args.features}: "
            f"choose one of 0 … {args.features - 1} (μ_B⁽ᵏ⁾'s k)"
        )

    def cost_of(batch: int, features: int) -> budget.Cost:  # Graphviz layouts: --out, --html, one a --frames step
        nodes, values = graph_size(batch, features, folded)
        renders = 1 + budget.HTML_LAYOUTS * bool(args.html) + (values + 2) * bool(args.frames)
        return budget.graph_cost(batch * features, nodes, renders)

    nodes, values = graph_size(args.batch, args.features, folded)
    if nodes > args.max_nodes:  # refused before any Value is made: the remedy in this command's options
        within = budget.largest(lambda b: graph_size(b, args.features, folded)[0] <= args.max_nodes, args.batch)
        fixes = [f"pass --max-nodes {nodes}"] if budget.fits(cost_of(args.batch, args.features)) else []  # if it fits
        if not folded and args.features > 1 and graph_size(args.batch, args.features, True)[0] <= args.max_nodes:
            fixes.insert(0, "pass --expand 0 (feature 0 in full, the others folded)")
        if within >= 2:
            fixes.append(f"use --batch {within} or less")
        elif (features := budget.largest(lambda c: graph_size(2, c)[0] <= args.max_nodes, args.features)) >= 1:
            fixes.append(f"use --features {features} or less with --batch 2")
        fixes = fixes or [f"pass --max-nodes {graph_size(2, 1)[0]} or more with --batch 2 --features 1"]
        raise ValueError(
            f"the graph would draw {nodes} nodes ({values} Values), more than --max-nodes {args.max_nodes}; "
            + ", or ".join(fixes)
        )
    _fit_batch(args, cost_of, " (Graphviz's layout grows with the square of the nodes)")
    loss, layer, _, _ = _batchnorm_loss(args.batch, args.features, args.seed)
    steps = list(backward_steps(loss))  # the same gradients as loss.backward(), kept for --frames/--html
    options = {"groups": layer.graph_groups(), "max_nodes": args.max_nodes, "digits": args.digits}
    if folded:
        options |= fold(layer, args.expand)
    graph = draw(loss, grad_view=args.grad_view, **options)
    print(f"wrote {render(graph, args.out, fmt)}")
    if args.html:
        print(f"wrote {write_html(steps, args.html, layer=layer, **options)}")
    if args.frames:
        frames = write_frames(steps, args.frames, fmt, grad_view=args.grad_view, **options)
        print(f"wrote {len(frames)} frames to {args.frames}")
    return 0


def _image_format(out: str, given: str | None) -> str:
    """--format, or else --out's suffix; refuses the two disagreeing, and a suffix that is no image format."""
    suffix = Path(out).suffix.lstrip(".").lower()
    if given and suffix and suffix != given:
        raise ValueError(f"--out {out} ends in .{suffix} but --format is {given}: make them agree, or drop --format")
    fmt = given or suffix
    if not fmt:
        raise ValueError(f"--out {out} has no suffix: end it in .svg, .png or .pdf, or pass --format svg|png|pdf")
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {fmt!r} (--out {out}); choose one of: {', '.join(IMAGE_FORMATS)}")
    return fmt


def _check_folder(folder: Path, what: str, may_create: bool = False) -> None:
    """Refuse, before anything is written, a folder that is missing (unless it may be created) or read-only."""
    where = folder.resolve()
    while may_create and not where.exists():
        where = where.parent
    if not where.exists():
        raise ValueError(f"cannot write {what}: the folder {folder} does not exist; create it first, or choose another")
    if not where.is_dir():
        raise ValueError(f"cannot write {what}: {where} is not a folder")
    if not os.access(where, os.W_OK):
        raise ValueError(f"cannot write {what}: the folder {where} is not writable")


def _trace(args: argparse.Namespace) -> int:
    from .drawing import format_number
    from .trace import backward_steps, format_steps

    _need_batch_statistics(args)
    _fit_batch(args, lambda batch, features: budget.trace_cost(batch * features))
    loss, _, x, dy = _batchnorm_loss(args.batch, args.features, args.seed)

    def rows(batch: list[list[float]]) -> str:
        return ", ".join("[" + ", ".join(format_number(v, args.digits) for v in row) + "]" for row in batch)

    print(f"BatchNorm1d({args.features}) on a random batch x of N = {args.batch} (seed {args.seed}); ℓ = {LOSS}")
    print(f"x  = {rows([[v.data for v in row] for row in x])}")
    print(f"dy = {rows(dy)}  (random ∂ℓ/∂y: with ℓ = Σ y every ∂ℓ/∂x_i would be 0)")
    print()
    print(format_steps(backward_steps(loss), digits=args.digits))
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Run demos/NAME.py in a fresh interpreter, as `python demos/NAME.py ARGS` would: its output
    passes straight through, its exit code is returned. The engine is `auto` unless the
    environment says otherwise (MICROGRAD_BN_ENGINE)."""
    names = demo_names()
    if not args.name:  # what there is to run, on stdout
        print("the demos (run one: micrograd-bn demo NAME; its options: micrograd-bn demo NAME --help):")
        for name, about in names.items():
            print(f"  {name:<{max(map(len, names))}}  {about}")
        return 0
    if args.name not in names:
        where = f"in {DEMOS_DIR}" if DEMOS_DIR.is_dir() else f"({DEMOS_DIR} is missing: reinstall micrograd_bn)"
        raise ValueError(f"no demo {args.name!r} {where}; choose one of: {', '.join(names)}")
    env = {
        **os.environ,
        "MICROGRAD_BN_ENGINE": os.environ.get("MICROGRAD_BN_ENGINE", "auto"),
        "MICROGRAD_BN_PROG": f"micrograd-bn demo {args.name}",  # for the demo's usage line
    }
    script = [str(DEMOS_DIR / f"{args.name}.py"), *args.demo_args]
    with subprocess.Popen([sys.executable, "-c", _RUN_SCRIPT, *script], env=env) as demo:
        try:
            return demo.wait()
        except KeyboardInterrupt:  # the demo had Ctrl-C too: it says so, in one line, and exits 130
            return demo.wait()


def demo_names() -> dict[str, str]:
    """{name: the first line of its docstring} of every demo, sorted by name."""
    found = {}
    for path in sorted(DEMOS_DIR.glob("*.py")):
        if not path.stem.startswith("_"):
            text = path.read_text(encoding="utf-8")  # its docstring, or a notebook's first heading (`# # Title`)
            doc = ast.get_docstring(ast.parse(text)) or next((t for t in text.splitlines() if t.startswith("# # ")), "")
            found[path.stem] = doc.removeprefix("# # ").strip().split("\n")[0]
    return found


_RUN_SCRIPT = "import sys; from micrograd_bn.cli import run_script; sys.exit(run_script(sys.argv[1:]))"


def run_script(argv: list[str]) -> int:
    """Run the script argv[0] with arguments argv[1:] as `python SCRIPT ARGS` does, quiet on a broken pipe,
    one line on Ctrl-C."""
    sys.argv = list(argv)
    sys.path.insert(0, str(Path(argv[0]).parent))  # as `python demos/NAME.py`: demos import their _common

    def run() -> int:
        runpy.run_path(argv[0], run_name="__main__")
        return 0

    return _quiet_on_broken_pipe(run, f"demo {Path(argv[0]).stem}")


def _quiet_on_broken_pipe(run: Callable[[], int], command: str) -> int:
    """`run()`, ending quietly with 0 when the reader of stdout goes away (`micrograd-bn trace | head -1`:
    the reader has what it wanted), and with one line and 130 on Ctrl-C.

    As Python's documentation advises (signal module, "Note on SIGPIPE"): point stdout at devnull
    so that the interpreter's last flush does not fail again.
    """
    try:
        try:
            return run()
        finally:
            sys.stdout.flush()  # the last lines may still be buffered: a closed pipe shows up here
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"micrograd-bn {command}: interrupted (Ctrl-C); run it again to start over", file=sys.stderr)
        return 130


def _attempt_file(text: str, what: str, example: str) -> Path:
    """A learner's file named as `check` can load it: a name, not a folder, ending in .py; else one line
    with `example`, the command as it should be (`{}` where the file goes)."""
    if not text.strip():
        raise ValueError(f"{what} is {text!r}: name a Python file, e.g. {example.format('my_bn.py')}")
    path = Path(text)
    if path.is_dir():
        raise ValueError(
            f"{text} is a folder, not a .py file: name a file in it, e.g. {example.format(path / 'my_bn.py')}"
        )
    if path.suffix != ".py":
        raise ValueError(
            f"{what} {text} does not end in .py: `check` imports the file as Python; "
            f"name it e.g. {path.stem or 'my_bn'}.py"
        )
    return path


def _exercise(args: argparse.Namespace) -> int:
    from .exercise import write_exercise

    example = "micrograd-bn exercise --out {}"
    out = _attempt_file(args.out, "--out", example) if args.out is not None else Path(f"{args.layer}_backward.py")
    _check_folder(out.parent, f"--out {out}")
    path = write_exercise(out, args.layer, example=args.example)
    what = "an attempt with one classic mistake in it" if args.example else "replace each None  # TODO, in order"
    option = "" if args.layer == "batchnorm" else f" --layer {args.layer}"
    print(f"wrote {path}: {what}; then run: micrograd-bn check {path}{option}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import traceback

    from .check import CheckError, check_backward, load_attempt

    path = _attempt_file(args.file, "FILE", "micrograd-bn check {}")
    write_one = f"write one with: micrograd-bn exercise --out {path}"
    if not path.parent.is_dir():
        raise ValueError(f"{path}: the folder {path.parent} does not exist; check the path, or {write_one}")
    if not path.is_file():
        raise ValueError(f"{path}: no such file; check the name, or {write_one}")
    if path.stat().st_size > MAX_ATTEMPT_BYTES:  # the one size check takes: a derivation is a few kB
        raise ValueError(f"{path} is {budget.size(path.stat().st_size)}, not a derivation of a few kB: check the name")
    try:
        report = check_backward(load_attempt(path, args.layer, args.timeout), args.layer, args.timeout)
    except CheckError as err:  # the file, not the checker: one line, the traceback only when asked
        if args.verbose and err.__cause__ is not None:
            traceback.print_exception(type(err.__cause__), err.__cause__, err.__cause__.__traceback__)
        hint = "" if args.verbose else " (--verbose shows the traceback)" if err.__cause__ is not None else ""
        print(f"micrograd-bn check: {err}{hint}", file=sys.stderr)
        return err.exit_code
    print(report)
    return 0 if report.ok else 1


def _add_batch_options(p: argparse.ArgumentParser, batch: int, features: int, digits: bool = True) -> None:
    p.add_argument("--batch", type=_positive_int, default=batch, metavar="N", help=f"batch size N (default {batch})")
    p.add_argument(
        "--features", type=_positive_int, default=features, metavar="C", help=f"features C (default {features})"
    )
    p.add_argument(
        "--seed", type=_non_negative_int, default=0, metavar="S", help="random seed for the batch and dy (default 0)"
    )
    if digits:
        p.add_argument(
            "--digits",
            type=_digits,
            default=4,
            metavar="D",
            help=f"significant digits shown, 1 to {MAX_DIGITS} (default 4)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="micrograd-bn",
        description="Batch Normalization on a scalar autodiff engine, checked against the paper.",
        epilog=f"{EXIT_CODES} Sizes that would not fit this machine (over {budget.duration(budget.TIME_LIMIT)}, "
        f"or over {budget.MEMORY_SHARE:.0%} of the memory available) are refused before any work starts.",
    )
    parser.add_argument("--version", action="version", version=f"micrograd-bn {__version__} (engine: {ENGINE})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub_parser = sub.add_parser

    def add(name: str, run: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub_parser(name, help=help, description=help, epilog=EXIT_CODES)
        p.set_defaults(run=run, parser=p)
        return p

    p = add("compare", _compare, "autodiff vs closed form vs finite differences (vs torch) for BatchNorm or a norm")
    _add_batch_options(p, batch=8, features=3, digits=False)
    p.add_argument("--eps", type=_eps, default=1e-5, help=f"ε in √(σ²_B + ε), 0 to {MAX_EPS:g} (default 1e-5)")
    p.add_argument(
        "--momentum",
        type=_momentum,
        default=MOMENTUM,
        metavar="M",
        help=f"running-statistics momentum, or None (default {MOMENTUM}; BatchNorm only)",
    )
    p.add_argument(
        "--spatial", type=_shape, default=None, metavar="HxW", help="use BatchNorm2d (or GroupNorm) on (N, C, H, W)"
    )
    p.add_argument("--layer", choices=LAYERS, default="batchnorm", help="which norm (default batchnorm)")
    p.add_argument("--groups", type=_positive_int, metavar="G", help="GroupNorm's num_groups, dividing C (default 1)")

    p = add("graph", _graph, "render BatchNorm1d's graph after backward, with Alg. 1's steps as clusters")
    _add_batch_options(p, batch=4, features=1)
    p.add_argument("--out", default="batchnorm.svg", help="image file (default batchnorm.svg)")
    p.add_argument("--format", choices=IMAGE_FORMATS, help="image format (default: from --out's suffix)")
    p.add_argument("--frames", metavar="DIR", help="also write one image per backward step into DIR")
    p.add_argument("--html", metavar="PAGE", help="also write a page stepping through the backward pass")
    p.add_argument("--grad-view", action="store_true", help="colour nodes and widen edges by |gradient|")
    p.add_argument(
        "--expand",
        type=_non_negative_int,
        metavar="K",
        help="draw feature K (0 … C−1) in full and fold each other feature into a box",
    )
    p.add_argument(
        "--max-nodes", type=_positive_int, default=500, metavar="M", help="refuse larger graphs (default 500)"
    )

    p = add("trace", _trace, "print a BatchNorm1d backward pass step by step")
    _add_batch_options(p, batch=3, features=1)

    p = add("demo", _demo, "run a demo from demos/ (e.g. figure1, learning_rates)")
    p.add_argument("name", nargs="?", help="the demo's file name without .py (none: list the demos)")
    p.add_argument("demo_args", nargs=argparse.REMAINDER, help="passed on to the demo (e.g. --quick --out DIR)")

    p = add("exercise", _exercise, "write a template for deriving a norm's backward yourself (Sec. 3)")
    p.add_argument("--out", metavar="FILE.py", help="file to write (default LAYER_backward.py); never overwritten")
    p.add_argument("--layer", choices=LAYERS, default="batchnorm", help="which layer's backward (default batchnorm)")
    p.add_argument("--example", action="store_true", help="write a filled-in attempt with a classic mistake instead")

    p = add("check", _check, "grade your backward (from `exercise`) quantity by quantity against autodiff")
    p.add_argument(
        "file",
        metavar="FILE",
        help="your Python file defining batchnorm_backward(dy, x, gamma, eps) (or layernorm_, rmsnorm_backward, "
        "groupnorm_backward(dy, x, gamma, eps, num_groups))",
    )
    p.add_argument("--layer", choices=LAYERS, help="which layer's backward (default: the function the file defines)")
    p.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="stop your function after SECONDS (default 60)",
    )
    p.add_argument("--verbose", action="store_true", help="show the traceback when the file fails to load or run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on `argv` (default: sys.argv[1:]) and return its exit code (`EXIT_CODES`).

    A usage error raises SystemExit(2) after its one line, as argparse does.
    """
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:  # said with the subcommand's usage, not the top level's
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return _quiet_on_broken_pipe(lambda: _run(args), args.command)


def _run(args: argparse.Namespace) -> int:
    try:
        return args.run(args)
    except BrokenPipeError:
        raise
    except MemoryError:  # the budget's estimate was short: still one line
        print(f"micrograd-bn {args.command}: ran out of memory; use a smaller --batch or --features", file=sys.stderr)
        return 2
    except (ValueError, OSError) as err:  # bad input, an unwritable path, no `dot`: one clear line, no traceback
        print(f"micrograd-bn {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
