"""What a command's options would cost, estimated before any work starts, and what this machine allows.

The command line's work grows with the number of entries of its batch (N·C, or N·C·H·W):
a graph of Values, NumPy arrays, Graphviz layouts. `Cost` estimates seconds and bytes from
the rates below, measured on this machine; `check` refuses, with one line that gives the
estimate and the largest size that fits, what exceeds `TIME_LIMIT` or `memory_budget()`
(a share of the memory available now: MemAvailable, or less under `ulimit -v` or a cgroup
limit). The Python API sets no such limit: `draw()`'s node budget is its only one.

Measured with the Python engine on a 2-core Xeon shared with other jobs (Python 3.11;
wall time, and peak RSS of a fresh process from `resource.getrusage`):
- compare: 1600 → 6400 entries took 0.58 → 7.4 s, and 9000 entries 27 s in a busier minute
  (its finite differences evaluate ℓ over every entry once per entry: 1.8e-7 to 3.3e-7 s ×
  entries²); memory grew by 7 → 19 MB (≈ 2.5 kB an entry);
- graph's Values and backward steps: 62 µs and 5.7 kB an entry (10⁵ entries: 6.2 s, 567 MB);
- trace (graph, steps and the table): 140 µs and 14 kB an entry (10⁵ entries: 14 s, 1.4 GB;
  32663 entries under `ulimit -v 1048576`: 6 s, 502 MB peak);
- Graphviz's dot alone, SVG: 1100 nodes 0.14 s, 2874 nodes 0.81 s, 5690 nodes 3.0 s (≈ 9.3e-8 s × nodes²),
  151 MB; `graph --frames` at 1116 nodes: 0.31 s a frame (draw() itself adds ≈ 150 µs a node);
  `graph --batch 400 --max-nodes 5000` (4416 nodes): 3.8 s, and 18.7 s with `--html` (≈ 5 layouts more).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TIME_LIMIT = 300.0  # seconds: longer work is refused
SAY_AFTER = 10.0  # seconds: longer work says first how long it will take
MEMORY_SHARE = 0.5  # of the memory available now: the rest is left to the machine's other work

# Rates (seconds and bytes), measured as the module docstring says, rounded up.
COMPARE_S_PER_ENTRY_PAIR = 3e-7  # finite differences: ℓ over every entry, once per entry
COMPARE_S_PER_ENTRY, COMPARE_B_PER_ENTRY = 1e-4, 3_000
GRAPH_S_PER_ENTRY, GRAPH_B_PER_ENTRY = 8e-5, 7_000
TRACE_S_PER_ENTRY, TRACE_B_PER_ENTRY = 1.6e-4, 16_000
DOT_S_PER_LAYOUT, DOT_S_PER_NODE, DOT_S_PER_NODE_PAIR, DOT_B_PER_NODE = 0.05, 1.5e-4, 1.3e-7, 30_000
HTML_LAYOUTS = 5  # what the step-through page costs, in layouts of its graph


@dataclass(frozen=True)
class Cost:
    """An estimate of the time and the memory some work takes."""

    seconds: float
    bytes: float

    def __str__(self) -> str:
        return f"about {duration(self.seconds)} and {size(self.bytes)}"


def compare_cost(entries: int) -> Cost:
    """`compare` on a batch of `entries` values in all (N·C·H·W)."""
    return Cost(COMPARE_S_PER_ENTRY_PAIR * entries**2 + COMPARE_S_PER_ENTRY * entries, COMPARE_B_PER_ENTRY * entries)


def trace_cost(entries: int) -> Cost:
    """`trace` on a batch of `entries` values (N·C): the graph, its backward steps and their table."""
    return Cost(TRACE_S_PER_ENTRY * entries, TRACE_B_PER_ENTRY * entries)


def graph_cost(entries: int, nodes: int, renders: int) -> Cost:
    """`graph` on `entries` values: the graph and its steps, then `renders` Graphviz layouts of `nodes` nodes."""
    seconds = DOT_S_PER_LAYOUT + DOT_S_PER_NODE * nodes + DOT_S_PER_NODE_PAIR * nodes**2
    dot = Cost(seconds, DOT_B_PER_NODE * nodes)  # one dot at a time: its memory counts once
    return Cost(GRAPH_S_PER_ENTRY * entries + renders * dot.seconds, GRAPH_B_PER_ENTRY * entries + dot.bytes)


def memory_budget() -> int:
    """The bytes a command may use: `MEMORY_SHARE` of what is available to this process now."""
    return int(MEMORY_SHARE * available_memory())


def available_memory() -> int:
    """Bytes this process could still allocate: the system's MemAvailable, less under ulimit -v or a cgroup limit."""
    status = _fields(Path("/proc/self/status"))  # kB
    free = _fields(Path("/proc/meminfo")).get("MemAvailable", 0) * 1024 or _physical_memory() // 2
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:  # ulimit -v counts address space, of which this process holds VmSize
        free = min(free, soft - status.get("VmSize", 0) * 1024)
    cgroup = Path("/sys/fs/cgroup")
    limit, used = _read_int(cgroup / "memory.max"), _read_int(cgroup / "memory.current")
    if limit is not None and used is not None:
        free = min(free, limit - used)
    return max(free, 0)


class Refused(ValueError):
    """Work refused before it started: its estimate `cost`, and the `largest` size (≥ 0) that would fit."""

    def __init__(self, cost: Cost, largest: int) -> None:
        super().__init__(f"it would take {cost}, more than {limits()}; at most {largest} would fit")
        self.cost, self.largest = cost, largest


def check(cost_of: Callable[[int], Cost], size_now: int) -> Cost:
    """The cost of `size_now`, or `Refused` (with the largest size that fits) when it exceeds the limits.

    >>> check(lambda n: Cost(n * 1.0, 0), 30).seconds
    30.0
    >>> check(lambda n: Cost(n * 1.0, 0), 10**9)
    Traceback (most recent call last):
    ...
    micrograd_bn.budget.Refused: it would take about 32 years and 0 kB, more than ...; at most 300 would fit
    """
    cost = cost_of(size_now)
    if not fits(cost):
        raise Refused(cost, largest(lambda n: fits(cost_of(n)), size_now))
    return cost


def fits(cost: Cost) -> bool:
    """Whether `cost` is within `TIME_LIMIT` and `memory_budget()`."""
    return cost.seconds <= TIME_LIMIT and cost.bytes <= memory_budget()


def largest(ok: Callable[[int], bool], above: int) -> int:
    """The largest size below `above` that is `ok` (0 if none is), by bisection: `ok` must hold up to some size only.

    >>> largest(lambda n: n * n <= 1000, 10**9)
    31
    """
    low, high = 0, above  # ok(low) is taken as true, ok(high) as false
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if ok(mid) else (low, mid)
    return low


def limits() -> str:
    """This machine's limits, as the refusals say them: "5 min and 11.6 GB here"."""
    return f"{duration(TIME_LIMIT)} and {size(memory_budget())} here"


def duration(seconds: float) -> str:
    """A duration for a person: '40 s', '3 min', '2.5 h', '71 years'.

    >>> duration(40.2), duration(300), duration(9000), duration(3e9), duration(3e15)
    ('40 s', '5 min', '2.5 h', '95 years', '9.5e+07 years')
    """
    for unit, length in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * length or (unit == "min" and seconds >= 100):
            return f"{_number(seconds / length)} {unit}"
    return f"{seconds:.0f} s" if seconds >= 1 else "under 1 s"


def _number(x: float) -> str:
    return f"{x:.1e}" if x >= 1e5 else f"{x:.0f}" if x >= 10 else f"{x:.2g}"


def size(n_bytes: float) -> str:
    """A size for a person: '512 kB', '1.2 GB', '8.3 TB' (powers of 1000).

    >>> size(3e5), size(1.2e9), size(8.3e12), size(25e9)
    ('300 kB', '1.2 GB', '8.3 TB', '25 GB')
    """
    for unit, length in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n_bytes >= length:
            return f"{_number(n_bytes / length)} {unit}"
    return f"{n_bytes / 1e3:.0f} kB"


def _fields(path: Path) -> dict[str, int]:
    """{name: first number} of a /proc file's `Name:  123 kB` lines; {} where there is no /proc."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        name, _, rest = line.partition(":")
        if rest.split() and rest.split()[0].isdigit():
            fields[name] = int(rest.split()[0])
    return fields


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):  # no such file, or "max"
        return None


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 * 1024**3  # unknown: assume a small machine
