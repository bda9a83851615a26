"""micrograd_bn: Batch Normalization (Ioffe & Szegedy, 2015) on a scalar autodiff engine.

The engine is chosen once, at import, by the environment variable MICROGRAD_BN_ENGINE:
- `python` (the default): engine.py as it is, the code you read and step through in a debugger;
- `compiled`: the same engine.py compiled by mypyc at install time (`micrograd_bn._engine_compiled`);
- `auto`: compiled if it was built, else python (what the demos and benchmarks use).
`ENGINE` says which one runs. Every other module imports `micrograd_bn.engine` and gets that one.
A choice that cannot be honoured is an ImportError; under the command line (`micrograd-bn`, or
`python -m micrograd_bn.cli`) it is one line on stderr and exit status 2 instead of a traceback.
"""
# ruff: noqa: E402 - the engine is chosen before the modules that import it

import hashlib as _hashlib
import os as _os
import sys as _sys
from importlib.util import find_spec as _find_spec
from pathlib import Path as _Path
from types import ModuleType as _ModuleType
from typing import NoReturn as _NoReturn


def _compiled_engine() -> _ModuleType:
    """The compiled engine, or ImportError saying why not (not built, or built from another engine.py)."""
    if _find_spec(__name__ + "._engine_compiled") is None:
        raise ImportError("it is not built")
    from . import _engine_compiled

    source = (_Path(__file__).parent / "engine.py").read_bytes()
    if _engine_compiled.SOURCE_SHA256 != _hashlib.sha256(source).hexdigest():
        raise ImportError("it was built from an older engine.py")
    return _engine_compiled


def _refuse(message: str) -> _NoReturn:
    """ImportError(message); for the command line, the message as one line and exit status 2."""
    argv0 = (getattr(_sys, "argv", None) or [""])[0]
    if _os.path.basename(argv0) == "micrograd-bn" or argv0 == "-m":  # "-m": runpy is importing micrograd_bn.cli
        print(f"micrograd-bn: {message}", file=_sys.stderr)
        raise SystemExit(2)
    raise ImportError(message) from None  # the reason is in the message, not a second traceback


ENGINE = _os.environ.get("MICROGRAD_BN_ENGINE", "python")
if ENGINE not in ("python", "compiled", "auto"):
    _refuse(f"MICROGRAD_BN_ENGINE must be python, compiled or auto, not {ENGINE!r}; set one of them, or unset it")
if ENGINE != "python":
    try:
        engine = _compiled_engine()
    except ImportError as error:
        if ENGINE == "compiled":
            _refuse(
                f"MICROGRAD_BN_ENGINE=compiled, but the compiled engine cannot be used ({error}); build it with "
                "`pip install -e .` where gcc and the Python headers exist (`bash tasks.sh test` installs them), "
                "or unset MICROGRAD_BN_ENGINE for the Python engine"
            )
        ENGINE = "python"
    else:
        _sys.modules[__name__ + ".engine"] = engine  # `from .engine import Value` now gets the compiled one
        ENGINE = "compiled"

from .batchnorm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm
from .engine import Op, Value, gc_paused, operation, topological_order, zero_grad
from .nn import (
    MLP,
    SGD,
    Dropout,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    cross_entropy,
    flatten,
    mse_loss,
    upstream_loss,
)

# What shows a graph needs the graphviz package: imported on first use, so that the engine and
# the layers work without it.
_SHOWING = {"draw": "drawing", "fold": "drawing", "module_nodes": "drawing", "render": "drawing", "StepThrough": "page"}
_SHOWING |= {"backward_steps": "trace"}


def __getattr__(name: str) -> object:
    """`micrograd_bn.draw` and the other graph tools, imported from their module when first asked for."""
    if name not in _SHOWING:
        raise AttributeError(f"module 'micrograd_bn' has no attribute {name!r}")
    from importlib import import_module

    try:
        module = import_module(f".{_SHOWING[name]}", __name__)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(f"micrograd_bn.{name} needs the {err.name} package: pip install {err.name}") from None
    return getattr(module, name)


__all__ = [
    "ENGINE",
    "MLP",
    "SGD",
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout",
    "GroupNorm",
    "LayerNorm",
    "Linear",
    "Module",
    "Op",
    "RMSNorm",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "StepThrough",
    "Tanh",
    "Value",
    "backward_steps",
    "cross_entropy",
    "draw",
    "flatten",
    "fold",
    "gc_paused",
    "module_nodes",
    "mse_loss",
    "operation",
    "render",
    "topological_order",
    "upstream_loss",
    "zero_grad",
]
__version__ = "0.1.0"
