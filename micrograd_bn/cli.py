"""`micrograd-bn`: the command line. Each subcommand is a thin wrapper over a library function.

micrograd-bn compare --batch 8 --features 3 --seed 0   autodiff vs the paper's equations
micrograd-bn graph --out batchnorm.svg                  render BatchNorm's graph
micrograd-bn trace                                      step through a backward pass
micrograd-bn demo NAME                                  run one of the paper's demos
"""

from __future__ import annotations

import argparse
import random
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

DEMOS_DIR = Path(__file__).resolve().parent.parent / "demos"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
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

    result = compare(args.batch, args.features, args.seed, args.eps, args.momentum, spatial=args.spatial)
    print(format_table(result))
    return 0 if result.ok else 1


def _batchnorm_loss(batch: int, features: int, seed: int):
    """BatchNorm1d on a random (N, C) batch and ℓ = Σ_i y_i·dy_i with a random dy; returns (ℓ, layer)."""
    from .batchnorm import BatchNorm1d
    from .engine import Value

    rng = random.Random(seed)
    layer = BatchNorm1d(features)
    x = [[Value(rng.gauss(0.0, 1.0)) for _ in range(features)] for _ in range(batch)]
    y = layer(x)
    for n in layer.last:  # name each x_i as the layer names x_i − μ_B
        for xi, dev in zip(n.x, n.deviation):
            xi.label = dev.label.removesuffix("−μ_B")
    loss = Value.dot([v for row in y for v in row], [rng.gauss(0.0, 1.0) for _ in range(batch * features)])
    loss.label = "ℓ"
    return loss, layer


def _graph(args: argparse.Namespace) -> int:
    from .drawing import draw, render
    from .trace import backward_steps, write_frames, write_html

    fmt = args.format or Path(args.out).suffix.lstrip(".")
    loss, layer = _batchnorm_loss(args.batch, args.features, args.seed)
    steps = list(backward_steps(loss))  # the same gradients as loss.backward(), kept for --frames/--html
    options = {"groups": layer.graph_groups(), "max_nodes": args.max_nodes, "digits": args.digits}
    graph = draw(loss, grad_view=args.grad_view, **options)
    print(f"wrote {render(graph, args.out, fmt)}")
    if args.html:
        print(f"wrote {write_html(steps, args.html, **options)}")
    if args.frames:
        frames = write_frames(steps, args.frames, fmt, grad_view=args.grad_view, **options)
        print(f"wrote {len(frames)} frames to {args.frames}")
    return 0


def _trace(args: argparse.Namespace) -> int:
    from .trace import backward_steps, format_steps

    loss, _ = _batchnorm_loss(args.batch, args.features, args.seed)
    print(format_steps(backward_steps(loss), digits=args.digits))
    return 0


def _demo(args: argparse.Namespace) -> int:
    names = sorted(p.stem for p in DEMOS_DIR.glob("*.py") if not p.stem.startswith("_"))
    if args.name not in names:
        where = f"in {DEMOS_DIR}" if DEMOS_DIR.is_dir() else f"({DEMOS_DIR} is missing: run from a source checkout)"
        print(f"micrograd-bn demo: no demo {args.name!r} {where}; choose one of: {', '.join(names)}", file=sys.stderr)
        return 2
    sys.argv = [str(DEMOS_DIR / f"{args.name}.py"), *args.demo_args]
    sys.path.insert(0, str(DEMOS_DIR))  # as `python demos/NAME.py` would: demos import their _common
    runpy.run_path(sys.argv[0], run_name="__main__")
    return 0


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
        report = check_backward(load_attempt(args.file, args.layer), args.layer)
    except CheckError as err:  # the file, not the checker: one line, the traceback only when asked
        if args.verbose and err.__cause__ is not None:
            traceback.print_exception(type(err.__cause__), err.__cause__, err.__cause__.__traceback__)
        hint = "" if args.verbose else " (--verbose shows the traceback)" if err.__cause__ is not None else ""
        print(f"micrograd-bn check: {err}{hint}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.ok else 1


def _add_batch_options(p: argparse.ArgumentParser, batch: int, features: int, digits: bool = True) -> None:
    p.add_argument("--batch", type=_positive_int, default=batch, help=f"batch size N (default {batch})")
    p.add_argument("--features", type=_positive_int, default=features, help=f"features C (default {features})")
    p.add_argument("--seed", type=int, default=0, help="random seed for the batch and dy (default 0)")
    if digits:
        p.add_argument("--digits", type=_positive_int, default=4, help="significant digits shown (default 4)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="micrograd-bn", description="Batch Normalization on a scalar autodiff engine, checked against the paper."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compare", help="autodiff vs closed form vs finite differences (vs torch) for BatchNorm")
    _add_batch_options(p, batch=8, features=3, digits=False)
    p.add_argument("--eps", type=float, default=1e-5, help="ε in √(σ²_B + ε) (default 1e-5)")
    p.add_argument("--momentum", type=_momentum, default=0.1, help="running-statistics momentum, or None (default 0.1)")
    p.add_argument("--spatial", type=_shape, default=None, metavar="HxW", help="use BatchNorm2d on (N, C, H, W)")
    p.set_defaults(run=_compare)

    p = sub.add_parser("graph", help="render BatchNorm1d's graph after backward, with Alg. 1's steps as clusters")
    _add_batch_options(p, batch=4, features=1)
    p.add_argument("--out", default="batchnorm.svg", help="image file (default batchnorm.svg)")
    p.add_argument("--format", choices=("svg", "png", "pdf"), help="image format (default: from --out's suffix)")
    p.add_argument("--frames", metavar="DIR", help="also write one image per backward step into DIR")
    p.add_argument("--html", metavar="PAGE", help="also write a page stepping through the backward pass")
    p.add_argument("--grad-view", action="store_true", help="colour nodes and widen edges by |gradient|")
    p.add_argument("--max-nodes", type=_positive_int, default=500, help="refuse larger graphs (default 500)")
    p.set_defaults(run=_graph)

    p = sub.add_parser("trace", help="print a BatchNorm1d backward pass step by step")
    _add_batch_options(p, batch=3, features=1)
    p.set_defaults(run=_trace)

    p = sub.add_parser("demo", help="run a demo from demos/ (e.g. figure1, learning_rates)")
    p.add_argument("name", help="the demo's file name without .py")
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
    p.add_argument("--layer", choices=layers, default="batchnorm", help="which layer's backward (default batchnorm)")
    p.add_argument("--verbose", action="store_true", help="show the traceback when the file fails to load or run")
    p.set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as err:  # bad input, an unwritable path, no `dot`: one clear line, no traceback
        print(f"micrograd-bn {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
