"""Running a learner's code: a deadline, Ctrl-C and sys.exit each end as one line with its own exit status.

Used by both checkers (`check.check_backward`, `gradcheck.check_gradients`) for the learner's
functions and files; the errors are `grading`'s CheckError subclasses, each with `exit_code`.
"""

from __future__ import annotations

import importlib.util
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from .grading import CheckError, CheckInterrupted, CheckTimeout, LearnerExit, raised_at


class _Deadline(BaseException):  # a BaseException: a learner's `except Exception` cannot swallow it
    pass


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise _Deadline in the main thread after `seconds` (signal.setitimer, SIGALRM): the learner's
    code runs in this process, so its results, tracebacks and changed inputs stay visible. A long
    single C call ends before the signal is handled; off the main thread or without SIGALRM
    (Windows) there is no deadline."""
    if not seconds or not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def learner_code(what: str, timeout: float | None) -> Iterator[None]:
    """Run the learner's code: a timeout, Ctrl-C and sys.exit each become one line with its own exit code."""
    try:
        with _deadline(timeout):
            yield
    except _Deadline:
        raise CheckTimeout(f"{what} ran longer than {timeout:g} s and was stopped (a loop that never ends?)") from None
    except KeyboardInterrupt as err:
        raise CheckInterrupted(f"interrupted (Ctrl-C) while {what} ran{raised_at(err)}") from None
    except SystemExit as err:
        raise LearnerExit(
            f"{what} called sys.exit({err.code!r}){raised_at(err)}: keep scripts under `if __name__ == '__main__':`"
        ) from None


def load_module(path: Path, timeout: float | None) -> ModuleType:
    """Import the learner's file as a module, under `learner_code`; CheckError (one line) when it cannot."""
    if not path.is_file():
        raise CheckError(f"{path}: no such file (write a template with: micrograd-bn exercise --out {path})")
    spec = importlib.util.spec_from_file_location(f"_attempt_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise CheckError(f"{path}: cannot be imported as Python (name it something.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would (dataclasses in the file look themselves up there)
    try:
        with learner_code(f"{path} (while loading)", timeout):
            spec.loader.exec_module(module)
    except SyntaxError as err:
        raise CheckError(f"{path}, line {err.lineno}: SyntaxError: {err.msg}") from err
    except CheckError:
        raise
    except Exception as err:
        raise CheckError(f"{path}: raised {type(err).__name__} while loading: {err}{raised_at(err)}") from err
    finally:
        sys.modules.pop(spec.name, None)
    return module


def function_name(fn: Callable) -> str:
    code = getattr(fn, "__code__", None)
    from_file = code and getattr(fn, "__module__", "__main__") != "__main__"  # a notebook cell's file is no name
    where = f" from {Path(code.co_filename).name}" if from_file else ""
    return f"{getattr(fn, '__name__', 'function')}{where}"
