"""Build micrograd_bn, and compile its engine with mypyc where a C compiler and Python's headers exist.

mypyc compiles a copy of `micrograd_bn/engine.py` named `micrograd_bn._engine_compiled` (an
extension named `engine` would hide engine.py itself). The copy is made under `build/`, never
beside the sources, and it carries the hash of the engine.py it came from, so that
`micrograd_bn` can refuse a compiled engine older than the source (see its `__init__.py`).
Without a compiler, headers or mypy, the install still succeeds, with the Python engine only.
Everything else (name, version, dependencies) is in pyproject.toml.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ENGINE = Path("micrograd_bn", "engine.py")
COPY = Path("build", "mypyc_engine", "micrograd_bn", "_engine_compiled.py")
NOT_BUILT = "micrograd_bn: the compiled engine was not built ({}); the Python engine will run."


def say(message: str) -> None:
    print(message, file=sys.stderr)


def compiled_engine() -> list:
    """mypyc's extension for the copy of engine.py, or [] (with a message) when mypy is missing."""
    try:
        from mypyc.build import mypycify
    except ImportError:
        say(NOT_BUILT.format("mypy, which holds mypyc, is not installed"))
        return []
    source = ENGINE.read_bytes()
    COPY.parent.mkdir(parents=True, exist_ok=True)
    (COPY.parent / "__init__.py").write_text("")  # so that mypyc names the module micrograd_bn._engine_compiled
    stamp = f'\nSOURCE_SHA256 = "{hashlib.sha256(source).hexdigest()}"  # of the engine.py this was built from\n'
    COPY.write_bytes(source + stamp.encode())
    extensions = mypycify([str(COPY)], opt_level="3")
    for ext in extensions:
        ext.optional = True  # a failed compile skips the extension instead of failing the install
    return extensions


class BuildExt(build_ext):
    """build_ext that says, in one line, when the compiled engine could not be built."""

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception:
            say(NOT_BUILT.format(f"{ext.name} failed to compile: install gcc and the Python headers"))
            raise
        else:
            say(f"micrograd_bn: built the compiled engine ({ext.name})")


setup(ext_modules=compiled_engine(), cmdclass={"build_ext": BuildExt})
