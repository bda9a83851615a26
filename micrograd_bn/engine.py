"""A scalar value with reverse-mode automatic differentiation, named after A. Karpathy's micrograd (2020).

Each operation makes one `Value` and stores, right beside its result, the local derivative
∂out/∂input for each of its inputs. `backward()` then visits the graph from the output back
to the leaves and applies one chain rule, the same for every operation:
    input.grad += local_derivative * out.grad
This file runs as it is by default; `pip install` also compiles it, unchanged, with mypyc (`__init__.py`).
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterable, Iterator
from numbers import Real


class Value:
    """One float (`data`), its gradient (`grad`), and how it was computed.

    `inputs` are the Values it was computed from, in order (`x * x` has two), and `local_grads[k]`
    is ∂self/∂inputs[k], fixed at forward time. `op` names the operation; `label` is free text for
    people (e.g. the paper's "μ_B"). A leaf is a finite number; backward() refuses inf and NaN.

    >>> a = Value(2.0); b = a * a + 1; b.backward()
    >>> b.data, a.grad
    (5.0, 4.0)
    """

    __slots__ = ("data", "grad", "op", "label",  # then how it was computed and what backward() keeps
                 "_a", "_da", "_b", "_db", "_many", "_dmany", "_pass_grad", "_reached", "_seen_by")  # fmt: skip

    def __init__(self, data: object, label: str = "", op: str = "", a: Value | None = None, da: float = 0.0,
                 b: Value | None = None, db: float = 0.0) -> None:  # fmt: skip
        self.data = data if op and isinstance(data, float) else _leaf_number(data)  # an op's result may be inf
        self.grad = 0.0
        self.op, self.label = op, label
        # how it was computed (see `_node`): inputs `_a`, `_b` with ∂self/∂a = `_da`, ∂self/∂b = `_db`
        self._a, self._da = a, da
        self._b, self._db = b, db
        self._many: tuple[Value, ...] = ()  # or, for Σ and Σw·x, any number of inputs and ∂self/∂input
        self._dmany: tuple[float, ...] = ()
        self._pass_grad = 0.0  # ∂root/∂self, summed during one backward() pass (see there)
        self._reached = False  # has a backward() pass reached this node since it was made or zeroed?
        self._seen_by: object = None  # the last topological_order() search that reached this node

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in order (`()` for a leaf)."""
        if self._a is None:
            return self._many
        return (self._a,) if self._b is None else (self._a, self._b)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """∂self/∂input for each of `inputs`, in the same order."""
        if self._a is None:
            return self._dmany
        return (self._da,) if self._b is None else (self._da, self._db)

    def __repr__(self) -> str:  # "grad not computed" before backward(), as the drawings say
        name = f"{self.label}, " if self.label else ""
        grad = f"grad={self.grad:.6g}" if self._reached else "grad not computed"
        return f"Value({name}data={self.data:.6g}, {grad})"

    def __bool__(self) -> bool:
        raise TypeError("a Value has no truth value; compare its number instead, e.g. `if v.data > 0:`")

    def __reduce__(self) -> tuple[object, ...]:  # copy and pickle: through the constructor, then __setstate__
        args = (self.data, self.label, self.op, self._a, self._da, self._b, self._db)
        return Value, args, (self.grad, self._reached, self._many, self._dmany)

    def __setstate__(self, state: tuple[float, bool, tuple[Value, ...], tuple[float, ...]]) -> None:
        self.grad, self._reached, self._many, self._dmany = state

    @property
    def _prev(self) -> set[Value]:  # micrograd's name for the inputs, kept so its tools work
        return set(self.inputs)

    @property
    def _op(self) -> str:  # micrograd's name for the operation
        return self.op

    # ---- arithmetic: a number (not a Value) stays out of the graph, folded into the local derivative
    def __add__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return _node(self.data + other.data, "+", a=self, da=1.0, b=other, db=1.0)
        if isinstance(other, (int, float)):
            return _node(self.data + other, "+", a=self, da=1.0)
        return NotImplemented

    def __radd__(self, other: float) -> Value:  # other + self
        return self.__add__(other)

    def __mul__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return _node(self.data * other.data, "*", a=self, da=other.data, b=other, db=self.data)
        if isinstance(other, (int, float)):
            return _node(self.data * other, "*", a=self, da=float(other))
        return NotImplemented

    def __rmul__(self, other: float) -> Value:  # other * self
        return self.__mul__(other)

    def __sub__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return _node(self.data - other.data, "-", a=self, da=1.0, b=other, db=-1.0)
        if isinstance(other, (int, float)):
            return _node(self.data - other, "-", a=self, da=1.0)
        return NotImplemented

    def __rsub__(self, other: float) -> Value:  # other - self
        if isinstance(other, (int, float)):
            return _node(other - self.data, "-", a=self, da=-1.0)
        return NotImplemented

    def __neg__(self) -> Value:
        return _node(-self.data, "neg", a=self, da=-1.0)

    def __truediv__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            y = other.data
            if y == 0.0:
                raise ZeroDivisionError(f"division by zero: {self.data!r} / Value(0.0)")
            return _node(self.data / y, "/", a=self, da=1.0 / y, b=other, db=-self.data / (y * y))
        if isinstance(other, (int, float)):
            if other == 0:
                raise ZeroDivisionError(f"division by zero: Value({self.data!r}) / 0")
            return _node(self.data / other, "/", a=self, da=1.0 / other)
        return NotImplemented

    def __rtruediv__(self, other: float) -> Value:  # other / self
        if not isinstance(other, (int, float)):
            return NotImplemented
        if self.data == 0.0:
            raise ZeroDivisionError(f"division by zero: {other!r} / Value(0.0)")
        return _node(other / self.data, "/", a=self, da=-other / (self.data * self.data))

    def __pow__(self, exponent: object) -> Value:
        if isinstance(exponent, Value):
            raise TypeError("Value ** Value is not supported; write (k * x.log()).exp() for x**k")
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)):
            return NotImplemented
        k, x = float(exponent), self.data
        if x < 0.0 and k != int(k):
            raise ValueError(f"pow({x!r}) is undefined: a negative base to the non-integer power {exponent!r}")
        if x == 0.0 and k < 1.0 and k != 0.0:  # 0**k or its slope k*0**(k-1) is infinite
            raise ZeroDivisionError(f"Value(0.0) ** {exponent!r}: infinite value or slope at zero")
        name = "**2" if k == 2.0 else f"**{k:g}"  # x**2, the common case, needs no float formatting
        try:
            return _node(math.pow(x, k), name, a=self, da=k * math.pow(x, k - 1.0) if k != 0.0 else 0.0)
        except OverflowError:
            raise OverflowError(f"Value({x!r}) ** {exponent!r} overflows a float") from None

    def __rpow__(self, base: object) -> Value:
        raise TypeError("number ** Value is not supported; write (x * math.log(a)).exp() for a**x")

    # ---- functions of one value
    def exp(self) -> Value:
        try:
            e = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data!r}) overflows a float (largest is ~exp(709))") from None
        return _node(e, "exp", a=self, da=e)

    def log(self) -> Value:
        if self.data <= 0.0:
            raise ValueError(f"log({self.data!r}) is undefined: log needs a positive number")
        return _node(math.log(self.data), "log", a=self, da=1.0 / self.data)

    def sqrt(self) -> Value:
        x = self.data
        if x <= 0.0:  # at 0 the derivative 1/(2√x) is infinite
            raise ValueError(f"sqrt({x!r}) is undefined: sqrt needs a positive number (its slope at 0 is infinite)")
        s = math.sqrt(x)
        return _node(s, "sqrt", a=self, da=0.5 / s)

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return _node(t, "tanh", a=self, da=1.0 - t * t)

    def sigmoid(self) -> Value:
        e = math.exp(-abs(self.data))  # at most 1: cannot overflow
        s = 1.0 / (1.0 + e) if self.data >= 0.0 else e / (1.0 + e)
        return _node(s, "σ", a=self, da=s * (1.0 - s))

    def relu(self) -> Value:
        x = self.data
        return _node(0.0 if x <= 0.0 else x, "relu", a=self, da=1.0 if x > 0.0 else 0.0)  # NaN stays NaN

    # ---- n-ary operations: one node for many inputs
    @staticmethod
    def sum(terms: Iterable[object]) -> Value:
        """x_1 + … + x_m as one node, ∂/∂x_i = 1 (numbers among the terms are constants).

        >>> Value.sum([Value(1.0), 2.0, Value(3.0)]).data
        6.0
        """
        terms = list(terms)
        inputs = [t for t in terms if isinstance(t, Value)]
        numbers = [t.data if isinstance(t, Value) else _number(t, "Value.sum needs Values or numbers") for t in terms]
        return _node_n(math.fsum(numbers), "Σ", inputs, [1.0] * len(inputs))

    @staticmethod
    def dot(weights: Iterable[Value], xs: Iterable[object], bias: Value | None = None) -> Value:
        """Σ_i w_i x_i (+ b) as one node, a neuron's weighted sum: ∂/∂w_i = x_i, ∂/∂x_i = w_i, ∂/∂b = 1
        (numbers among the x_i are constants: then only w_i is an input).

        >>> w = [Value(2.0), Value(-1.0)]
        >>> Value.dot(w, [3.0, 4.0], bias=Value(0.5)).data
        2.5
        """
        ws, x_items = list(weights), list(xs)
        if len(ws) != len(x_items):
            raise ValueError(f"Value.dot: {len(ws)} weights but {len(x_items)} inputs")
        w_grads, x_inputs, x_grads, total = [], [], [], 0.0  # ∂/∂w_i = x_i; x_i that are Values, ∂/∂x_i = w_i
        for w, x in zip(ws, x_items):
            x_number = x.data if isinstance(x, Value) else _number(x, "Value.dot needs Values or numbers")
            w_grads.append(x_number)
            total += w.data * x_number
            if isinstance(x, Value):
                x_inputs.append(x)
                x_grads.append(w.data)
        if bias is not None:
            x_inputs.append(bias)
            x_grads.append(1.0)
            total += bias.data
        return _node_n(total, "Σw·x+b" if bias is not None else "Σw·x", ws + x_inputs, w_grads + x_grads)

    # ---- reverse mode
    def backward(self) -> None:
        """Add ∂self/∂node to `node.grad` for every node this Value depends on, exactly again on each call
        (gradients accumulate, as in PyTorch; `zero_grad` resets). Raises FloatingPointError, before any
        `grad` changes, if the graph holds NaN or ±inf."""
        with gc_paused():
            order = topological_order(self)  # (which also sets each node's _pass_grad to 0.0 for this pass)
            # this pass sums ∂self/∂v in v._pass_grad: v.grad may hold earlier passes' sums too
            self._pass_grad = 1.0
            bad = None  # the earliest node (inputs first) whose value or gradient is NaN or ±inf
            for v in reversed(order):  # every use of v comes after v in `order`: its gradient is complete
                g = v._pass_grad
                # the chain rule along each edge into v: input._pass_grad += ∂v/∂input * g
                if v._a is not None:  # one or two inputs
                    v._a._pass_grad += v._da * g
                    if v._b is not None:
                        v._b._pass_grad += v._db * g
                else:  # any number (Σ, Σw·x), or none (a leaf)
                    for x, local_grad in zip(v._many, v._dmany):
                        x._pass_grad += local_grad * g
                if math.isinf(v.data) or math.isnan(v.data) or math.isinf(g) or math.isnan(g):  # (C in mypyc)
                    bad = v  # the loop runs outputs first: the last one found is the earliest
            if bad is not None:
                raise FloatingPointError(
                    f"non-finite number in the graph at node {bad.label or bad.op or 'leaf'!r} (data={bad.data!r}, "
                    f"gradient this pass={bad._pass_grad!r}); rescale the inputs or lower the learning rate"
                )
            for v in order:
                v.grad += v._pass_grad
                v._reached = True


def _node(data: float, op: str, a: Value, da: float, b: Value | None = None, db: float = 0.0) -> Value:
    """The Value an operation of `a` (or of `a` and `b`) makes: `data`, with ∂data/∂a = da, ∂data/∂b = db."""
    return Value(data, "", op, a, da, b, db)


def _node_n(data: float, op: str, inputs: list[Value], local_grads: list[float]) -> Value:
    """The Value of an n-ary operation (Σ, Σw·x): `data`, and ∂data/∂input for each of `inputs`."""
    out = Value(data, "", op)
    out._many, out._dmany = tuple(inputs), tuple(local_grads)
    return out


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its inputs (depth first, with no recursion limit)."""
    order: list[Value] = []
    search = object()  # this search: a node it has visited carries it in `_seen_by`
    stack: list[Value | None] = [root]
    while stack:
        v = stack.pop()
        if v is None:  # the marker pushed below: the node under it has all of its inputs placed
            node = stack.pop()
            assert node is not None
            order.append(node)
        elif v._seen_by is not search:
            v._seen_by = search
            v._pass_grad = 0.0  # for backward(): each pass sums ∂root/∂v from zero
            stack.append(v)
            stack.append(None)  # popped again once every input pushed above it is placed
            if v._a is not None:  # its inputs, as in `inputs`
                stack.append(v._a)
                if v._b is not None:
                    stack.append(v._b)
            stack.extend(v._many)
    return order


def zero_grad(root: Value) -> None:
    """Set `grad` to 0 for `root` and every node it depends on (drawings then say "not computed")."""
    for v in topological_order(root):
        v.grad = 0.0
        v._reached = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector in the block, restored even on error (graphs hold no cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _leaf_number(x: object) -> float:
    if isinstance(x, Value):
        raise TypeError("Value(v) would nest a Value in a Value: pass v itself, or Value(v.data) for a new leaf")
    number = _number(x, "Value needs a real number")
    if math.isinf(number) or math.isnan(number):
        raise ValueError(f"Value needs a finite number, got {number!r}")
    return number


def _number(x: object, needs: str) -> float:
    if isinstance(x, bool) or not (isinstance(x, float) or isinstance(x, Real)):  # (a float is checked first: fast)
        raise TypeError(f"{needs}, got {type(x).__name__}: {x!r}")
    return float(x)
