"""A scalar value with reverse-mode automatic differentiation, named after A. Karpathy's micrograd (2020).

Each operation makes one `Value` and stores, right beside its result, the local derivative
∂out/∂input for each of its inputs. `backward()` then visits the graph from the output back
to the leaves and applies one chain rule, the same for every operation:
    input.grad += local_derivative * out.grad
Every operation is also one `Op`: its name, and its forward and local derivatives as formulas,
which is how the drawings, the step-through page and the checkers show it. The table of the
built-in operations comes first; each method of `Value` computes exactly its row. Your own
operations: `operation`. This file runs as it is by default; `pip install` also compiles it,
unchanged, with mypyc (see `__init__.py`).
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from numbers import Real
from typing import Final


class Op:
    """An operation as a person reads it: its name, its forward and ∂out/∂input as formulas.

    Formulas name the inputs `{a}` and `{b}` (or your function's parameters), a number
    folded into the node `{c}`, and the result `{out}`. `computed` says how the engine
    computes a derivative where it reads the result instead (tanh: `1 − {out}²`).

    >>> TANH.forward, TANH.derivatives
    ('tanh({a})', ('1 − tanh²({a})',))
    """

    def __init__(
        self,
        name: str,
        forward: str,
        derivatives: Sequence[str],
        computed: Sequence[str] = (),
        inputs: Sequence[str] = ("a", "b"),
    ) -> None:
        self.name = name
        self.forward = forward
        self.derivatives = tuple(derivatives)
        self.computed = tuple(computed) or self.derivatives
        self.inputs = tuple(inputs[: len(self.derivatives)])

    def __repr__(self) -> str:
        return f"Op({self.name!r}: {self.forward})"

    def title(self, const: float) -> str:
        """The name a drawing shows: `**{c}` with its exponent put in ("**-0.5")."""
        return self.name.replace("{c}", f"{const:g}")

    def formulas(self, n: int) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """For a node with n inputs: the forward, each derivative, and each derivative as computed,
        with input k written `{k}` (its local derivative `{dk}`), then `{c}` and `{out}`."""
        by_name = {name: f"{{{k}}}" for k, name in enumerate(self.inputs)} | {"c": "{c}", "out": "{out}"}
        return (
            self.forward.format(**by_name),
            tuple(d.format(**by_name) for d in self.derivatives),
            tuple(d.format(**by_name) for d in self.computed),
        )

    def __reduce__(self) -> tuple[object, ...]:  # pickle: rebuilt from what it says
        return Op, (self.name, self.forward, self.derivatives, self.computed, self.inputs)

    def __deepcopy__(self, memo: dict[int, object]) -> Op:  # an operation never changes: copies share it
        return self

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Op) and other.__reduce__() == self.__reduce__()

    def __hash__(self) -> int:
        return hash(self.__reduce__()[1])


# The built-in operations, one row each: name, forward, ∂out/∂a (and ∂out/∂b), as formulas.
ADD: Final = Op("+", "{a} + {b}", ("1", "1"))
ADD_C: Final = Op("+", "{a} + {c}", ("1",))
SUB: Final = Op("−", "{a} − {b}", ("1", "−1"))
SUB_C: Final = Op("−", "{a} − {c}", ("1",))
C_SUB: Final = Op("−", "{c} − {a}", ("−1",))
MUL: Final = Op("*", "{a} · {b}", ("{b}", "{a}"))
MUL_C: Final = Op("*", "{a} · {c}", ("{c}",))
DIV: Final = Op("/", "{a} / {b}", ("1/{b}", "−{a}/{b}²"))
DIV_C: Final = Op("/", "{a} / {c}", ("1/{c}",))
C_DIV: Final = Op("/", "{c} / {a}", ("−{c}/{a}²",))
NEG: Final = Op("neg", "−{a}", ("−1",))
SQUARE: Final = Op("**2", "{a}²", ("2·{a}",))
POW: Final = Op("**{c}", "{a}^{c}", ("{c}·{a}^({c} − 1)",))
EXP: Final = Op("exp", "exp({a})", ("exp({a})",), computed=("{out}",))
LOG: Final = Op("log", "log({a})", ("1/{a}",))
SQRT: Final = Op("sqrt", "√{a}", ("1/(2·√{a})",), computed=("1/(2·{out})",))
TANH: Final = Op("tanh", "tanh({a})", ("1 − tanh²({a})",), computed=("1 − {out}²",))
SIGMOID: Final = Op("σ", "σ({a})", ("σ({a})·(1 − σ({a}))",), computed=("{out}·(1 − {out})",))
RELU: Final = Op("relu", "relu({a})", ("1 if {a} > 0 else 0",))


class Value:
    """One float (`data`), its gradient (`grad`), and how it was computed.

    `op` is the `Op` that made it (None for a leaf: an input or a parameter), `const` a
    number that op folded in (`x * 3.0`: 3.0), `inputs` the Values it was computed from,
    in order, and `local_grads[k]` is ∂self/∂inputs[k], fixed at forward time. `label` is
    free text for people (e.g. the paper's "μ_B"). A leaf is a finite number; backward()
    refuses inf and NaN.

    >>> a = Value(2.0); b = a * a + 1; b.backward()
    >>> b.data, a.grad, b.op.name
    (5.0, 4.0, '+')
    """

    # A node keeps one or two inputs, with their local derivatives, in named fields (input1,
    # local_grad1, …): measured against tuples, that takes 40% off BatchNorm compiled and 30%
    # off a node's size. Σ and Σw·x keep any number of inputs in inputs_n and local_grads_n.
    __slots__ = ("data", "grad", "op", "label", "const", "input1", "local_grad1", "input2", "local_grad2",
                 "inputs_n", "local_grads_n", "_pass_grad", "_reached", "_visited_by")  # fmt: skip

    def __init__(self, data: object, label: str = "", op: Op | None = None, input1: Value | None = None,
                 local_grad1: float = 0.0, input2: Value | None = None, local_grad2: float = 0.0,
                 const: float = 0.0) -> None:  # fmt: skip
        self.data = data if op is not None and isinstance(data, float) else _leaf_number(data)  # a result may be inf
        self.grad = 0.0
        self.op, self.label, self.const = op, label, const
        self.input1, self.local_grad1 = input1, local_grad1
        self.input2, self.local_grad2 = input2, local_grad2
        self.inputs_n: tuple[Value, ...] = ()
        self.local_grads_n: tuple[float, ...] = ()
        self._pass_grad = 0.0  # ∂root/∂self in the current backward() pass (see there)
        self._reached = False  # has a backward() pass reached this node since it was made or zeroed?
        self._visited_by: object = None  # the last topological_order() search that reached this node

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in order (`()` for a leaf)."""
        if self.input1 is None:
            return self.inputs_n
        return (self.input1,) if self.input2 is None else (self.input1, self.input2)

    @property
    def local_grads(self) -> tuple[float, ...]:
        """∂self/∂input for each of `inputs`, in the same order."""
        if self.input1 is None:
            return self.local_grads_n
        return (self.local_grad1,) if self.input2 is None else (self.local_grad1, self.local_grad2)

    def __repr__(self) -> str:  # "grad not computed" before backward(), as the drawings say
        name = f"{self.label}, " if self.label else ""
        grad = f"grad={self.grad:.6g}" if self._reached else "grad not computed"
        return f"Value({name}data={self.data:.6g}, {grad})"

    def __bool__(self) -> bool:
        raise TypeError("a Value has no truth value; compare its number instead, e.g. `if v.data > 0:`")

    def __reduce__(self) -> tuple[object, ...]:  # copy and pickle: through the constructor, then __setstate__
        args = (
            self.data,
            self.label,
            self.op,
            self.input1,
            self.local_grad1,
            self.input2,
            self.local_grad2,
            self.const,
        )
        return Value, args, (self.grad, self._reached, self.inputs_n, self.local_grads_n)

    def __setstate__(self, state: tuple[float, bool, tuple[Value, ...], tuple[float, ...]]) -> None:
        self.grad, self._reached, self.inputs_n, self.local_grads_n = state

    @property
    def _prev(self) -> set[Value]:  # micrograd's name for the inputs, kept so its tools work
        return set(self.inputs)

    @property
    def _op(self) -> str:  # micrograd's name for the operation
        return "" if self.op is None else self.op.name

    # ---- arithmetic: a number (not a Value) stays out of the graph, folded into the node as `const`
    def __add__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return _node(ADD, self.data + other.data, self, 1.0, other, 1.0)
        if isinstance(other, (int, float)):
            return _node_c(ADD_C, self.data + other, self, 1.0, other)
        return NotImplemented

    def __radd__(self, other: float) -> Value:  # other + self
        return self.__add__(other)

    def __mul__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return _node(MUL, self.data * other.data, self, other.data, other, self.data)
        if isinstance(other, (int, float)):
            return _node_c(MUL_C, self.data * other, self, float(other), other)
        return NotImplemented

    def __rmul__(self, other: float) -> Value:  # other * self
        return self.__mul__(other)

    def __sub__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return _node(SUB, self.data - other.data, self, 1.0, other, -1.0)
        if isinstance(other, (int, float)):
            return _node_c(SUB_C, self.data - other, self, 1.0, other)
        return NotImplemented

    def __rsub__(self, other: float) -> Value:  # other - self
        if isinstance(other, (int, float)):
            return _node_c(C_SUB, other - self.data, self, -1.0, other)
        return NotImplemented

    def __neg__(self) -> Value:
        return _node(NEG, -self.data, self, -1.0)

    def __truediv__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            y = other.data
            if y == 0.0:
                raise ZeroDivisionError(f"division by zero: {self.data!r} / Value(0.0)")
            return _node(DIV, self.data / y, self, 1.0 / y, other, -self.data / (y * y))
        if isinstance(other, (int, float)):
            if other == 0:
                raise ZeroDivisionError(f"division by zero: Value({self.data!r}) / 0")
            return _node_c(DIV_C, self.data / other, self, 1.0 / other, other)
        return NotImplemented

    def __rtruediv__(self, other: float) -> Value:  # other / self
        if not isinstance(other, (int, float)):
            return NotImplemented
        if self.data == 0.0:
            raise ZeroDivisionError(f"division by zero: {other!r} / Value(0.0)")
        return _node_c(C_DIV, other / self.data, self, -other / (self.data * self.data), other)

    def __pow__(self, exponent: object) -> Value:
        if isinstance(exponent, Value):
            raise TypeError("Value ** Value is not supported; write (k * x.log()).exp() for x**k")
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)):
            return NotImplemented
        k, x = float(exponent), self.data
        if k == 2.0:
            return _node(SQUARE, x * x, self, 2.0 * x)
        if x < 0.0 and k != int(k):
            raise ValueError(f"pow({x!r}) is undefined: a negative base to the non-integer power {exponent!r}")
        if x == 0.0 and k < 1.0 and k != 0.0:  # 0**k or its slope k*0**(k-1) is infinite
            raise ZeroDivisionError(f"Value(0.0) ** {exponent!r}: infinite value or slope at zero")
        try:
            return _node_c(POW, math.pow(x, k), self, k * math.pow(x, k - 1.0) if k != 0.0 else 0.0, k)
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
        return _node(EXP, e, self, e)

    def log(self) -> Value:
        if self.data <= 0.0:
            raise ValueError(f"log({self.data!r}) is undefined: log needs a positive number")
        return _node(LOG, math.log(self.data), self, 1.0 / self.data)

    def sqrt(self) -> Value:
        x = self.data
        if x <= 0.0:  # at 0 the derivative 1/(2√x) is infinite
            raise ValueError(f"sqrt({x!r}) is undefined: sqrt needs a positive number (its slope at 0 is infinite)")
        s = math.sqrt(x)
        return _node(SQRT, s, self, 0.5 / s)

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return _node(TANH, t, self, 1.0 - t * t)

    def sigmoid(self) -> Value:
        e = math.exp(-abs(self.data))  # at most 1: cannot overflow
        s = 1.0 / (1.0 + e) if self.data >= 0.0 else e / (1.0 + e)
        return _node(SIGMOID, s, self, s * (1.0 - s))

    def relu(self) -> Value:
        x = self.data
        return _node(RELU, 0.0 if x <= 0.0 else x, self, 1.0 if x > 0.0 else 0.0)  # NaN stays NaN

    # ---- n-ary operations: one node for many inputs
    @staticmethod
    def sum(terms: Iterable[object]) -> Value:
        """x_1 + … + x_m as one node, ∂/∂x_i = 1 (numbers among the terms are added into `const`).

        >>> Value.sum([Value(1.0), 2.0, Value(3.0)]).data
        6.0
        """
        terms = list(terms)
        inputs = [t for t in terms if isinstance(t, Value)]
        numbers = [t.data if isinstance(t, Value) else _number(t, "Value.sum needs Values or numbers") for t in terms]
        total = math.fsum(numbers)
        if len(inputs) == len(terms):
            const = 0.0
        else:  # the numbers among the terms, folded in
            const = math.fsum([x for t, x in zip(terms, numbers) if not isinstance(t, Value)])
        return _node_n(SUM, total, inputs, [1.0] * len(inputs), const)

    @staticmethod
    def dot(weights: Iterable[Value], xs: Iterable[object], bias: Value | None = None) -> Value:
        """Σ_i w_i x_i (+ b) as one node, a neuron's weighted sum: ∂/∂w_i = x_i, ∂/∂x_i = w_i, ∂/∂b = 1.
        When every x_i is a number they are constants, and only the w_i (and b) are inputs.

        >>> w = [Value(2.0), Value(-1.0)]
        >>> Value.dot(w, [3.0, 4.0], bias=Value(0.5)).data
        2.5
        """
        ws, x_items = list(weights), list(xs)
        if len(ws) != len(x_items):
            raise ValueError(f"Value.dot: {len(ws)} weights but {len(x_items)} inputs")
        x_numbers, x_values, x_grads, total = [], [], [], 0.0  # x_i in the graph: ∂/∂x_i = w_i
        for w, x in zip(ws, x_items):
            if isinstance(x, Value):
                x_values.append(x)
                x_grads.append(w.data)
                number = x.data
            else:
                number = _number(x, "Value.dot needs Values or numbers")
            x_numbers.append(number)
            total += w.data * number
        if len(x_values) in (0, len(ws)):  # all numbers or all Values: an operation shared by every neuron
            op = (DOT_C, DOT_C_B, DOT, DOT_B)[2 * (len(x_values) > 0) + (bias is not None)]
        else:
            with_b = bias is not None
            op = DotOp("Σw·x+b" if with_b else "Σw·x", tuple(isinstance(x, Value) for x in x_items), with_b)
        inputs, local_grads = ws + x_values, x_numbers + x_grads  # ∂/∂w_i = x_i
        if bias is not None:
            inputs.append(bias)
            local_grads.append(1.0)
            total += bias.data
        return _node_n(op, total, inputs, local_grads, 0.0)

    # ---- reverse mode
    def backward(self) -> None:
        """Add ∂self/∂node to `node.grad` for every node this Value depends on, exactly again on each call
        (gradients accumulate, as in PyTorch; `zero_grad` resets). Raises FloatingPointError, before any
        `grad` changes, if the graph holds NaN or ±inf."""
        order = topological_order(self)  # (which also sets each node's _pass_grad to 0.0 for this pass)
        # This pass sums ∂self/∂v in v._pass_grad, apart from v.grad: so a second backward() adds
        # exactly the same again, and a NaN found below leaves every grad as it was.
        self._pass_grad = 1.0
        bad = None  # the earliest node (inputs first) whose value or gradient is NaN or ±inf
        for v in reversed(order):  # every use of v comes after v in `order`: its gradient is complete
            g = v._pass_grad
            # the chain rule along each edge into v: input._pass_grad += ∂v/∂input * g
            if v.input1 is not None:
                v.input1._pass_grad += v.local_grad1 * g
                if v.input2 is not None:
                    v.input2._pass_grad += v.local_grad2 * g
            else:
                for u, local_grad in zip(v.inputs_n, v.local_grads_n):
                    u._pass_grad += local_grad * g
            if math.isinf(v.data) or math.isnan(v.data) or math.isinf(g) or math.isnan(g):
                bad = v  # the loop runs outputs first: the last one found is the earliest
        if bad is not None:
            raise FloatingPointError(
                f"non-finite number in the graph at node {bad.label or bad._op or 'leaf'!r} (data={bad.data!r}, "
                f"gradient this pass={bad._pass_grad!r}); rescale the inputs or lower the learning rate"
            )
        for v in order:
            v.grad += v._pass_grad
            v._reached = True


def _node(op: Op, data: float, input1: Value, local_grad1: float, input2: Value | None = None,
          local_grad2: float = 0.0) -> Value:  # fmt: skip
    """The Value `op` makes of one or two inputs: `data`, with ∂data/∂input1 = local_grad1 (and input2's)."""
    return Value(data, "", op, input1, local_grad1, input2, local_grad2)


def _node_c(op: Op, data: float, input1: Value, local_grad1: float, const: float) -> Value:
    """The Value `op` makes of one input and the number `const`."""
    return Value(data, "", op, input1, local_grad1, None, 0.0, float(const))


def _node_n(op: Op, data: float, inputs: list[Value], local_grads: list[float], const: float) -> Value:
    """The Value of an n-ary operation (Σ, Σw·x): `data`, and ∂data/∂input for each of `inputs`."""
    out = Value(data, "", op, None, 0.0, None, 0.0, const)
    out.inputs_n, out.local_grads_n = tuple(inputs), tuple(local_grads)
    return out


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its inputs (depth first, with no recursion limit)."""
    order: list[Value] = []
    # This search marks the nodes it reaches with its own token: no set of visited nodes to grow
    # (measured: 16% off an MLP step).
    search = object()
    stack: list[Value | None] = [root]
    while stack:
        v = stack.pop()
        if v is None:  # the marker pushed below: the node under it has all of its inputs placed
            node = stack.pop()
            assert node is not None
            order.append(node)
        elif v._visited_by is not search:
            v._visited_by = search
            v._pass_grad = 0.0  # for backward(): each pass sums ∂root/∂v from zero
            stack.append(v)
            stack.append(None)  # popped again once every input pushed above it is placed
            if v.input1 is not None:  # its inputs, as in `inputs`
                stack.append(v.input1)
                if v.input2 is not None:
                    stack.append(v.input2)
            stack.extend(v.inputs_n)
    return order


def chain_rule(
    root: Value, override: Mapping[int, float] | None = None, absolute: bool = False
) -> Iterator[tuple[Value, float, list[tuple[Value, float, float]]]]:
    """backward()'s walk one node at a time, kept apart from `.grad`: for each node, outputs first,
    (node, ∂root/∂node, [(input, ∂node/∂input, term)]), each term = ∂node/∂input · ∂root/∂node, sent
    to its input once the node's turn comes (the same order and floating-point operations as
    backward()). `override` ({id(node): gradient}) puts another gradient in place of a node's before
    it propagates; `absolute` sends |∂node/∂input| · gradient (how large the terms each sum is).

    >>> a = Value(3.0, "a"); b = a * a
    >>> [(v.label or v._op, g) for v, g, _ in chain_rule(b)]
    [('*', 1.0), ('a', 6.0)]
    """
    order = topological_order(root)
    grads = {id(v): 0.0 for v in order}
    grads[id(root)] = 1.0  # the seed: ∂root/∂root = 1
    override = override or {}
    for v in reversed(order):  # every use of v comes after v in `order`: its gradient is complete
        g = grads[id(v)] = override.get(id(v), grads[id(v)])
        terms = []
        for u, local_grad in zip(v.inputs, v.local_grads):
            term = (abs(local_grad) if absolute else local_grad) * g
            grads[id(u)] += term
            terms.append((u, local_grad, term))
        yield v, g, terms


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


# ---- the n-ary operations as formulas: their structure (which input is a weight, an x_i, b)
class SumOp(Op):
    """Σ: any number of inputs, each with ∂out/∂input = 1, plus the numbers among the terms ({c})."""

    def __reduce__(self) -> tuple[object, ...]:
        return SumOp, (self.name, self.forward, self.derivatives)

    def formulas(self, n: int) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        ones = ("1",) * n
        return _plus([f"{{{k}}}" for k in range(n)]) + " + {c}", ones, ones


class DotOp(Op):
    """Σ_i w_i·x_i (+ b), a neuron. Its inputs are w_1 … w_n, then the x_i that are Values, then b
    if `bias`; an x_i that is a number is w_i's local derivative (`{dk}`). `x_values` says which
    x_i are Values: all (True), none (False), or one bool per x_i."""

    def __init__(self, name: str, x_values: bool | tuple[bool, ...], bias: bool) -> None:
        derivatives = ("x_i", "w_i") if x_values is not False else ("x_i",)
        super().__init__(name, "Σ_i w_i·x_i" + " + b" * bias, derivatives + ("1",) * bias)
        self.x_values, self.bias = x_values, bias

    def __reduce__(self) -> tuple[object, ...]:
        return DotOp, (self.name, self.x_values, self.bias)

    def formulas(self, n: int) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        x_values = self.x_values
        if isinstance(x_values, bool):  # as many x_i as weights, all Values or all numbers
            x_values = (x_values,) * ((n - self.bias) // 2 if x_values else n - self.bias)
        w, xs, next_input = len(x_values), [], len(x_values)
        for k, is_value in enumerate(x_values):  # x_k: the next input, or w_k's local derivative
            xs.append(f"{{{next_input}}}" if is_value else f"{{d{k}}}")
            next_input += is_value
        grads = xs + [f"{{{k}}}" for k in range(w) if x_values[k]] + ["1"] * self.bias
        forward = _plus([f"{{{k}}}·{x}" for k, x in enumerate(xs)] + [f"{{{n - 1}}}"] * self.bias)
        return forward, tuple(grads), tuple(grads)


def _plus(terms: list[str]) -> str:
    """ "a + b + c", and for more than 8 terms "a + b + c + … + z": a formula stays one line."""
    return " + ".join(terms if len(terms) <= 8 else [*terms[:3], "…", terms[-1]])


SUM: Final = SumOp("Σ", "Σ_i a_i", ("1",))
DOT: Final = DotOp("Σw·x", x_values=True, bias=False)
DOT_B: Final = DotOp("Σw·x+b", x_values=True, bias=True)
DOT_C: Final = DotOp("Σw·x", x_values=False, bias=False)  # the x_i are numbers
DOT_C_B: Final = DotOp("Σw·x+b", x_values=False, bias=True)


# ---- your own operations
class Operation(Op):
    """An operation you define: `fn(*numbers) -> (result, [∂result/∂input, …])`, with its formulas.

    Made by the `operation` decorator; `apply(inputs)` makes a node, as a built-in method does.
    """

    def __init__(self, fn: Callable[..., tuple[float, Sequence[float]]], name: str, forward: str,
                 derivatives: Sequence[str], computed: Sequence[str] = ()) -> None:  # fmt: skip
        params = list(inspect.signature(fn).parameters)
        if len(derivatives) != len(params):
            raise ValueError(
                f"operation {name!r}: {len(derivatives)} derivative formula(s) for {len(params)} input(s) "
                f"({', '.join(params)}); give one ∂{name}/∂input per input, in order"
            )
        super().__init__(name, forward, derivatives, computed, inputs=params)
        self.fn = fn

    def __reduce__(self) -> tuple[object, ...]:
        return Operation, (self.fn, self.name, self.forward, self.derivatives, self.computed)

    def apply(self, inputs: Sequence[Value | float]) -> Value:
        """The node this operation makes of `inputs` (a number among them becomes a leaf)."""
        xs = [x if isinstance(x, Value) else Value(x) for x in inputs]
        if len(xs) != len(self.inputs):
            raise TypeError(f"{self.name} takes {len(self.inputs)} input(s) ({', '.join(self.inputs)}), got {len(xs)}")
        result, local_grads = self.fn(*[x.data for x in xs])
        grads = [_number(d, f"{self.name}: a local derivative must be a number") for d in local_grads]
        if len(grads) != len(xs):
            raise ValueError(
                f"{self.name} returned {len(grads)} local derivative(s) for {len(xs)} input(s); "
                "return (result, [∂result/∂input for each input, in order])"
            )
        data = _number(result, f"{self.name}: its result must be a number")
        if len(xs) <= 2:
            return Value(data, "", self, xs[0], grads[0], xs[1] if len(xs) == 2 else None, grads[-1])
        return _node_n(self, data, xs, grads, 0.0)


def operation(
    name: str, forward: str, derivatives: Sequence[str], computed: Sequence[str] = ()
) -> Callable[[Callable[..., tuple[float, Sequence[float]]]], Callable[..., Value]]:
    """Define an operation of your own: its forward and local derivatives computed together, with formulas.

    The function takes the inputs' numbers and returns the result and ∂result/∂input for each
    input; the formulas name the inputs by the function's parameters. `draw()`, `backward_steps()`,
    the step-through page and `check_gradients` then show it as they show a built-in one.

    >>> @operation("softplus", forward="log(1 + exp({x}))", derivatives=["σ({x})"])
    ... def softplus(x: float) -> tuple[float, list[float]]:
    ...     return math.log1p(math.exp(x)), [1.0 / (1.0 + math.exp(-x))]
    >>> z = Value(0.5); y = softplus(z); y.backward()
    >>> round(y.data, 4), round(z.grad, 4), y.op.name
    (0.9741, 0.6225, 'softplus')
    """

    def define(fn: Callable[..., tuple[float, Sequence[float]]]) -> Callable[..., Value]:
        op = Operation(fn, name, forward, derivatives, computed)

        def apply(*inputs: Value | float) -> Value:  # (a function: mypyc cannot compile __call__(*args))
            return op.apply(inputs)

        return apply

    return define


def _leaf_number(x: object) -> float:
    if isinstance(x, Value):
        raise TypeError("Value(v) would nest a Value in a Value: pass v itself, or Value(v.data) for a new leaf")
    number = _number(x, "Value needs a real number")
    if math.isinf(number) or math.isnan(number):
        raise ValueError(f"Value needs a finite number, got {number!r}")
    return number


def _number(x: object, needs: str) -> float:
    if isinstance(x, bool) or not (isinstance(x, float) or isinstance(x, Real)):
        raise TypeError(f"{needs}, got {type(x).__name__}: {x!r}")
    return float(x)
