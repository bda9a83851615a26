"""`micrograd-bn`: the command line. Each subcommand is a thin wrapper over a library function.

micrograd-bn compare --batch 8 --features 3 --seed 0   autodiff vs the paper's equations
micrograd-bn graph --out batchnorm.svg                  render BatchNorm's graph
micrograd-bn trace                                      step through a backward pass
micrograd-bn demo NAME                                  run one of the paper's demos
"""

from __future__ import annotations

import argparse
import math
import os
import random
import runpy
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The demos: installed with the package as micrograd_bn/demos/ (pip install .), or the top-level
# demos/ of a source checkout (an editable install), where the same files live.
DEMOS_DIR = HERE / "demos" if (HERE / "demos").is_dir() else HERE.parent / "demos"
IMAGE_FORMATS = ("svg", "png", "pdf")
LOSS = "Σ y·dy"  # ℓ's operation, as the paper writes the probe ℓ = Σ_i y_i·dy_i


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def _seed(text: str) -> int:
    return _int_at_least(text, 0, "a non-negative integer")


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def _eps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value >= 0 and math.isfinite(value)):  # checked here, before NumPy warns about √ of a negative
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0 (ε in √(σ²_B + ε)), got {text!r}")
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
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or None, got {text!r}") from None


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare, format_table

    h, w = args.spatial or (1, 1)
    if args.batch * h * w < 2:  # what BatchNorm would refuse, said with this command's options
        raise ValueError(
            f"expected more than 1 value per channel for batch statistics, got {args.batch * h * w}; "
            "use --batch 2 or more (or a larger --spatial)"
        )
    result = compare(args.batch, args.features, args.seed, args.eps, args.momentum, spatial=args.spatial)
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


def _graph(args: argparse.Namespace) -> int:
    from .drawing import GraphTooLarge, draw, render
    from .page import write_html
    from .trace import backward_steps, write_frames

    fmt = _image_format(args.out, args.format)
    for option, path in (("--out", args.out), ("--html", args.html)):  # every path checked before any is written
        if path:
            _check_folder(Path(path).parent, f"{option} {path}")
    if args.frames:
        _check_folder(Path(args.frames), f"--frames {args.frames}", may_create=True)
    loss, layer, _, _ = _batchnorm_loss(args.batch, args.features, args.seed)
    steps = list(backward_steps(loss))  # the same gradients as loss.backward(), kept for --frames/--html
    options = {"groups": layer.graph_groups(), "max_nodes": args.max_nodes, "digits": args.digits}
    try:
        graph = draw(loss, grad_view=args.grad_view, **options)
    except GraphTooLarge as err:  # one BatchNorm layer: nothing to collapse, so the remedy is the option
        raise ValueError(
            f"the graph would draw {err.count} nodes ({err.values} Values), more than --max-nodes {err.max_nodes}; "
            f"pass --max-nodes {err.count}, or a smaller --batch or --features"
        ) from None
    print(f"wrote {render(graph, args.out, fmt)}")
    if args.html:
        print(f"wrote {write_html(steps, args.html, **options)}")
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
        raise ValueError(f"cannot write {what}: the folder {folder} does not exist")
    if not where.is_dir():
        raise ValueError(f"cannot write {what}: {where} is not a folder")
    if not os.access(where, os.W_OK):
        raise ValueError(f"cannot write {what}: the folder {where} is not writable")


def _trace(args: argparse.Namespace) -> int:
    from .drawing import format_number
    from .trace import backward_steps, format_steps

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
    names = sorted(p.stem for p in DEMOS_DIR.glob("*.py") if not p.stem.startswith("_"))
    if args.name not in names:
        where = f"in {DEMOS_DIR}" if DEMOS_DIR.is_dir() else f"({DEMOS_DIR} is missing: reinstall micrograd_bn)"
        asked = f"no demo {args.name!r} {where}" if args.name else "name a demo"
        print(f"micrograd-bn demo: {asked}; choose one of: {', '.join(names)}", file=sys.stderr)
        return 2
    env = {**os.environ, "MICROGRAD_BN_ENGINE": os.environ.get("MICROGRAD_BN_ENGINE", "auto")}
    script = [str(DEMOS_DIR / f"{args.name}.py"), *args.demo_args]
    return subprocess.run([sys.executable, "-c", _RUN_SCRIPT, *script], env=env).returncode


_RUN_SCRIPT = "import sys; from micrograd_bn.cli import run_script; sys.exit(run_script(sys.argv[1:]))"


def run_script(argv: list[str]) -> int:
    """Run the script argv[0] with arguments argv[1:] as `python SCRIPT ARGS` does, quiet on a broken pipe."""
    sys.argv = list(argv)
    sys.path.insert(0, str(Path(argv[0]).parent))  # as `python demos/NAME.py`: demos import their _common

    def run() -> int:
        runpy.run_path(argv[0], run_name="__main__")
        return 0

    return _quiet_on_broken_pipe(run)


def _quiet_on_broken_pipe(run: Callable[[], int]) -> int:
    """`run()`, ending quietly when the reader of stdout goes away (`micrograd-bn trace | head -1`).

    As Python's documentation advises (signal module, "Note on SIGPIPE"): point stdout at devnull
    so that the interpreter's last flush does not fail again, and exit 1.
    """
    try:
        try:
            return run()
        finally:
            sys.stdout.flush()  # the last lines may still be buffered: a closed pipe shows up here
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _exercise(args: argparse.Namespace) -> int:
    from .exercise import write_exercise

    path = write_exercise(args.out or f"{args.layer}_backward.py", args.layer, example=args.example)
    what = "an attempt with one classic mistake in it" if args.example else "replace each None  # TODO, in order"
    option = "" if args.layer == "batchnorm" else f" --layer {args.layer}"
    print(f"wrote {path}: {what}; then run: micrograd-bn check {path}{option}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import traceback

    from .check import CheckError, check_backward, load_attempt

    try:
        report = check_backward(load_attempt(args.file, args.layer, args.timeout), args.layer, args.timeout)
    except CheckError as err:  # the file, not the checker: one line, the traceback only when asked
        if args.verbose and err.__cause__ is not None:
            traceback.print_exception(type(err.__cause__), err.__cause__, err.__cause__.__traceback__)
        hint = "" if args.verbose else " (--verbose shows the traceback)" if err.__cause__ is not None else ""
        print(f"micrograd-bn check: {err}{hint}", file=sys.stderr)
        return err.exit_code
    print(report)
    return 0 if report.ok else 1


def _add_batch_options(p: argparse.ArgumentParser, batch: int, features: int, digits: bool = True) -> None:
    p.add_argument("--batch", type=_positive_int, default=batch, help=f"batch size N (default {batch})")
    p.add_argument("--features", type=_positive_int, default=features, help=f"features C (default {features})")
    p.add_argument("--seed", type=_seed, default=0, help="random seed for the batch and dy (default 0)")
    if digits:
        p.add_argument("--digits", type=_positive_int, default=4, help="significant digits shown (default 4)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="micrograd-bn", description="Batch Normalization on a scalar autodiff engine, checked against the paper."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compare", help="autodiff vs closed form vs finite differences (vs torch) for BatchNorm")
    _add_batch_options(p, batch=8, features=3, digits=False)
    p.add_argument("--eps", type=_eps, default=1e-5, help="ε in √(σ²_B + ε) (default 1e-5)")
    p.add_argument("--momentum", type=_momentum, default=0.1, help="running-statistics momentum, or None (default 0.1)")
    p.add_argument("--spatial", type=_shape, default=None, metavar="HxW", help="use BatchNorm2d on (N, C, H, W)")
    p.set_defaults(run=_compare)

    p = sub.add_parser("graph", help="render BatchNorm1d's graph after backward, with Alg. 1's steps as clusters")
    _add_batch_options(p, batch=4, features=1)
    p.add_argument("--out", default="batchnorm.svg", help="image file (default batchnorm.svg)")
    p.add_argument("--format", choices=IMAGE_FORMATS, help="image format (default: from --out's suffix)")
    p.add_argument("--frames", metavar="DIR", help="also write one image per backward step into DIR")
    p.add_argument("--html", metavar="PAGE", help="also write a page stepping through the backward pass")
    p.add_argument("--grad-view", action="store_true", help="colour nodes and widen edges by |gradient|")
    p.add_argument("--max-nodes", type=_positive_int, default=500, help="refuse larger graphs (default 500)")
    p.set_defaults(run=_graph)

    p = sub.add_parser("trace", help="print a BatchNorm1d backward pass step by step")
    _add_batch_options(p, batch=3, features=1)
    p.set_defaults(run=_trace)

    p = sub.add_parser("demo", help="run a demo from demos/ (e.g. figure1, learning_rates)")
    p.add_argument("name", nargs="?", help="the demo's file name without .py (none: list the demos)")
    p.add_argument("demo_args", nargs=argparse.REMAINDER, help="passed on to the demo (e.g. --quick --out DIR)")
    p.set_defaults(run=_demo)

    layers = ("batchnorm", "layernorm")
    p = sub.add_parser("exercise", help="write a template for deriving BatchNorm's backward yourself (Sec. 3)")
    p.add_argument("--out", help="file to write (default LAYER_backward.py); never overwritten")
    p.add_argument("--layer", choices=layers, default="batchnorm", help="which layer's backward (default batchnorm)")
    p.add_argument("--example", action="store_true", help="write a filled-in attempt with a classic mistake instead")
    p.set_defaults(run=_exercise)

    p = sub.add_parser("check", help="grade your backward (from `exercise`) quantity by quantity against autodiff")
    p.add_argument("file", help="your Python file defining batchnorm_backward(dy, x, gamma, eps)")
    p.add_argument("--layer", choices=layers, help="which layer's backward (default: the function the file defines)")
    p.add_argument("--timeout", type=float, default=60.0, help="stop your function after SECONDS (default 60)")
    p.add_argument("--verbose", action="store_true", help="show the traceback when the file fails to load or run")
    p.set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _quiet_on_broken_pipe(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    try:
        return args.run(args)
    except BrokenPipeError:
        raise
    except (ValueError, OSError) as err:  # bad input, an unwritable path, no `dot`: one clear line, no traceback
        print(f"micrograd-bn {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
