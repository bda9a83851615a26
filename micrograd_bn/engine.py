"""A scalar value with reverse-mode automatic differentiation.

Each operation creates one `Value` and stores, right beside its forward result, the
local derivative ∂out/∂input for each of its inputs. `backward()` then visits the graph
in reverse topological order and applies one chain rule, the same for every operation:
    input.grad += local_derivative * out.grad
Names follow micrograd (`Value`, `.data`, `.grad`, `.backward()`, `.relu()`, `.tanh()`).

References: A. Karpathy, micrograd (2020); Ioffe & Szegedy, arXiv 1502.03167 (2015).
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterable, Iterator
from numbers import Real

_new = object.__new__  # skips __init__'s input checks for values made by operations
_FAST = frozenset((float, int))  # checked before isinstance(x, Real), which is ~10× slower
_POW_OPS: dict[float, str] = {}  # "**2", "**-0.5": each exponent's op name, formatted once
_pass = 0  # backward-pass counter: a node whose _mark equals it was visited this pass


def _node(data: float, op: str, a: Value, da: float, b: Value | None = None, db: float = 0.0) -> Value:
    """Make the Value an operation of one input `a` (or two, `a` and `b`) produces.

    `da` is ∂out/∂a and `db` is ∂out/∂b. They sit in slots beside the inputs rather than
    in tuples: building no tuple made a hand-written BatchNorm about 11% faster and a node
    smaller (benchmarks/RESULTS.md). (No validation: the operators pass only Values.)
    """
    out = _new(Value)
    out.data, out.grad = data, 0.0  # pairs and triples assign without building a tuple
    out._a, out._da = a, da
    out._b, out._db = b, db
    out.op, out.label, out._mark = op, "", 0
    return out


def _node_n(data: float, op: str, inputs: tuple, local_grads: tuple) -> Value:
    """Make the Value of an n-ary operation (Σ, Σw·x): its inputs and their ∂out/∂input in tuples."""
    out = _new(Value)
    out.data, out.grad = data, 0.0
    out._a, out._b = None, None  # no input in the slots: backward() reads the tuples
    out._many, out._dmany = inputs, local_grads
    out.op, out.label, out._mark = op, "", 0
    return out


def _domain_error(op: str, x: float, why: str) -> ValueError:
    return ValueError(f"{op}({x!r}) is undefined: {why}")


class Value:
    """One float (`data`), its gradient (`grad`), and how it was computed.

    `inputs` are the Values it was computed from, in order (`x * x` has two), and
    `local_grads[k]` is ∂self/∂inputs[k], fixed at forward time. `op` names the
    operation; `label` is free text for people (e.g. the paper's symbol "μ_B").
    (One or two inputs are kept in the slots `_a, _da, _b, _db`, the many inputs of Σ and
    Σw·x in the tuples `_many, _dmany`, set only where `_a` is None: see `_node` and
    `_node_n`.)

    >>> a = Value(2.0); b = a * a + 1; b.backward()
    >>> b.data, a.grad
    (5.0, 4.0)

    NB: `Value(v)` with `v` a Value raises TypeError instead of nesting or copying;
    write `v` (same node) or `Value(v.data)` (a fresh leaf, cut from v's graph).
    """

    __slots__ = ("data", "grad", "op", "label", "_a", "_da", "_b", "_db", "_many", "_dmany", "_mark", "_g")

    def __init__(self, data: float, label: str = "") -> None:
        if type(data) is not float:  # floats skip these checks (isinstance(x, Real) is slow)
            if isinstance(data, Value):
                msg = "Value(Value(...)) would nest a node in a node; pass the Value itself, or Value(v.data)"
                raise TypeError(msg + " for a new leaf detached from v's graph")
            if isinstance(data, bool) or not isinstance(data, Real):
                raise TypeError(f"Value needs a real number, got {type(data).__name__}: {data!r}")
            data = float(data)
        if not math.isfinite(data):
            raise ValueError(f"Value needs a finite number, got {data!r}")
        self.data, self.grad = data, 0.0
        self._a, self._b = None, None
        self._many, self._dmany = (), ()
        self.op, self.label, self._mark = "", label, 0

    def __repr__(self) -> str:
        name = f"{self.label}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in order (`()` for a leaf)."""
        a = self._a
        if a is None:
            return self._many
        return (a,) if self._b is None else (a, self._b)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """∂self/∂input for each of `inputs`, in the same order."""
        if self._a is None:
            return self._dmany
        return (self._da,) if self._b is None else (self._da, self._db)

    @property
    def _prev(self) -> set:  # micrograd's name for the inputs, kept so its tools work
        return set(self.inputs)

    @property
    def _op(self) -> str:  # micrograd's name for the operation
        return self.op

    # ---- arithmetic: constants stay out of the graph, folded into the local derivative
    def __add__(self, other):
        if type(other) is Value:
            return _node(self.data + other.data, "+", self, 1.0, other, 1.0)
        if type(other) in _FAST or isinstance(other, Real):
            return _node(self.data + other, "+", self, 1.0)
        return NotImplemented

    __radd__ = __add__

    def __mul__(self, other):
        if type(other) is Value:
            return _node(self.data * other.data, "*", self, other.data, other, self.data)
        if type(other) in _FAST or isinstance(other, Real):
            return _node(self.data * other, "*", self, float(other))
        return NotImplemented

    __rmul__ = __mul__

    def __sub__(self, other):
        if type(other) is Value:
            return _node(self.data - other.data, "-", self, 1.0, other, -1.0)
        if type(other) in _FAST or isinstance(other, Real):
            return _node(self.data - other, "-", self, 1.0)
        return NotImplemented

    def __rsub__(self, other):  # other - self
        if type(other) in _FAST or isinstance(other, Real):
            return _node(other - self.data, "-", self, -1.0)
        return NotImplemented

    def __neg__(self) -> Value:
        return _node(-self.data, "neg", self, -1.0)

    def __truediv__(self, other):
        if type(other) is Value:
            b = other.data
            if b == 0.0:
                raise ZeroDivisionError(f"division by zero: {self.data!r} / Value(0.0)")
            return _node(self.data / b, "/", self, 1.0 / b, other, -self.data / (b * b))
        if type(other) in _FAST or isinstance(other, Real):
            if other == 0:
                raise ZeroDivisionError(f"division by zero: Value({self.data!r}) / 0")
            return _node(self.data / other, "/", self, 1.0 / other)
        return NotImplemented

    def __rtruediv__(self, other):  # other / self
        if not isinstance(other, Real):
            return NotImplemented
        b = self.data
        if b == 0.0:
            raise ZeroDivisionError(f"division by zero: {other!r} / Value(0.0)")
        return _node(other / b, "/", self, -other / (b * b))

    def __pow__(self, k):
        if type(k) not in _FAST:
            if isinstance(k, Value):
                raise TypeError("Value ** Value is not supported; write (k * x.log()).exp() for x**k")
            if isinstance(k, bool) or not isinstance(k, Real):
                return NotImplemented
        x = self.data
        if x < 0.0 and k != int(k):
            raise _domain_error("pow", x, f"a negative base to the non-integer power {k!r}")
        if x == 0.0 and k < 1 and k != 0:  # 0**k or its slope k*0**(k-1) is infinite
            raise ZeroDivisionError(f"Value(0.0) ** {k!r}: infinite value or slope at zero")
        try:
            slope = k * x ** (k - 1) if k != 0 else 0.0
            out = _node(x**k, _POW_OPS.get(k) or _POW_OPS.setdefault(k, f"**{k:g}"), self, slope)
        except OverflowError:
            raise OverflowError(f"Value({x!r}) ** {k!r} overflows a float") from None
        return out

    def __rpow__(self, base):
        raise TypeError("number ** Value is not supported; write (x * math.log(a)).exp() for a**x")

    # ---- functions of one value
    def exp(self) -> Value:
        try:
            e = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data!r}) overflows a float (largest is ~exp(709))") from None
        return _node(e, "exp", self, e)

    def log(self) -> Value:
        x = self.data
        if x <= 0.0:
            raise _domain_error("log", x, "log needs a positive number")
        return _node(math.log(x), "log", self, 1.0 / x)

    def sqrt(self) -> Value:
        x = self.data
        if x <= 0.0:  # at 0 the derivative 1/(2√x) is infinite
            raise _domain_error("sqrt", x, "sqrt needs a positive number (its slope at 0 is infinite)")
        s = math.sqrt(x)
        return _node(s, "sqrt", self, 0.5 / s)

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return _node(t, "tanh", self, 1.0 - t * t)

    def sigmoid(self) -> Value:
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:  # the same value, written so exp cannot overflow
            e = math.exp(x)
            s = e / (1.0 + e)
        return _node(s, "σ", self, s * (1.0 - s))

    def relu(self) -> Value:
        x = self.data
        return _node(0.0 if x <= 0.0 else x, "relu", self, 1.0 if x > 0.0 else 0.0)  # NaN stays NaN

    # ---- n-ary operations: one node for many inputs
    @staticmethod
    def sum(terms: Iterable[Value | float]) -> Value:
        """x_1 + … + x_m as one node (numbers among the terms are constants).

        >>> Value.sum([Value(1.0), 2.0, Value(3.0)]).data
        6.0
        """
        nodes, const = [], 0.0
        for t in terms:
            if type(t) is Value:
                nodes.append(t)
            else:
                const += _number(t, "Value.sum")
        total = math.fsum([const] + [t.data for t in nodes])
        return _node_n(total, "Σ", tuple(nodes), (1.0,) * len(nodes))

    @staticmethod
    def dot(weights: Iterable[Value], xs: Iterable[Value | float], bias: Value | None = None) -> Value:
        """Σ_i w_i x_i (+ b) as one node: a neuron's weighted sum.

        ∂/∂w_i = x_i and ∂/∂x_i = w_i (x_i may be plain numbers: then only w_i is an input).

        >>> w = [Value(2.0), Value(-1.0)]
        >>> Value.dot(w, [3.0, 4.0], bias=Value(0.5)).data
        2.5
        """
        ws, xs = list(weights), list(xs)
        if len(ws) != len(xs):
            raise ValueError(f"Value.dot: {len(ws)} weights but {len(xs)} inputs")
        local, x_nodes, x_local, total = [], [], [], 0.0
        for w, x in zip(ws, xs):
            if type(x) is Value:
                xd = x.data
                x_nodes.append(x)
                x_local.append(w.data)  # ∂/∂x_i = w_i
            else:
                xd = _number(x, "Value.dot")
            local.append(xd)  # ∂/∂w_i = x_i
            total += w.data * xd
        if bias is not None:
            x_nodes.append(bias)
            x_local.append(1.0)
            total += bias.data
        op = "Σw·x+b" if bias is not None else "Σw·x"
        return _node_n(total, op, (*ws, *x_nodes), (*local, *x_local))

    # ---- reverse mode
    def backward(self) -> None:
        """Add d(self)/d(node) to `node.grad` for every node this Value depends on.

        Gradients accumulate across calls, as in PyTorch and micrograd: call `zero_grad`
        (or `Module.zero_grad()`) to start fresh. Each call computes its own pass and adds
        it, so calling twice gives exactly twice the gradient. Raises FloatingPointError
        if a value or gradient in the graph is NaN or infinite.
        """
        with gc_paused():
            order = topological_order(self)
            self._g = 1.0
            bad = 0.0  # becomes NaN if any value or gradient is NaN or ±inf (x * 0.0 is NaN then)
            for v in reversed(order):
                g = v._g
                v.grad += g
                bad += (v.data + g) * 0.0
                # the chain rule, input._g += local_derivative * g, for the one or two inputs
                # in slots (most nodes), or else for the many of Σ and Σw·x
                a = v._a
                if a is not None:
                    a._g += v._da * g
                    b = v._b
                    if b is not None:
                        b._g += v._db * g
                elif v._many:
                    for child, d in zip(v._many, v._dmany):
                        child._g += d * g
        if bad != bad:
            _raise_non_finite(order)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector in the block (restored even on error).

    Value graphs hold no cycles (a node refers only to its inputs): reference counting frees
    them, and the collector would only rescan every live node as a big graph grows.
    `backward()` runs inside it; wrap a training step or a big forward pass in it too.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _number(x, where: str) -> float:
    if type(x) is float:  # the common case, without the slow isinstance(x, Real)
        return x
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{where} needs Values or real numbers, got {type(x).__name__}: {x!r}")
    return float(x)


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its inputs (iterative DFS, no recursion).

    Also resets each node's per-pass gradient accumulator used by `backward()`.
    """
    global _pass
    _pass += 1
    mark, order, stack = _pass, [], [root]
    append, pop, push = order.append, stack.pop, stack.append
    while stack:
        v = pop()
        if v is None:  # sentinel: every input of the node below it is already placed
            append(pop())
        elif v._mark != mark:
            v._mark, v._g = mark, 0.0
            push(v)
            push(None)
            a = v._a
            if a is None:
                stack.extend(v._many)
            else:
                push(a)
                if v._b is not None:
                    push(v._b)
    return order


def zero_grad(root: Value) -> None:
    """Set `grad` to 0 for `root` and every node it depends on."""
    for v in topological_order(root):
        v.grad = 0.0


def _raise_non_finite(order: list[Value]) -> None:
    for v in order:  # inputs first: name the earliest offending node
        if not (math.isfinite(v.data) and math.isfinite(v._g)):
            name = v.label or v.op or "leaf"
            raise FloatingPointError(
                f"non-finite number in the graph at node {name!r} (data={v.data!r}, "
                f"gradient this pass={v._g!r}); rescale the inputs or lower the learning rate"
            )
