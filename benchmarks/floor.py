"""The least a scalar reverse-mode engine can do: a yardstick for the benchmark, not a library.

`Bare` keeps a value, its gradient, its one or two inputs and their local derivatives
(in slots, as micrograd_bn does), and nothing else. It has no input checks, labels, op
names or NaN detection, supports only `+`, `*` and `**` by a number, and its `backward()`
can run only once per graph. It is written the way micrograd_bn's engine is (stored local
derivatives, iterative topological sort, the chain rule for one and two inputs), with
every node built inline. So its time on the same code is about the lowest that design can
reach in CPython, and the gap to micrograd_bn is the price of what the library adds.

    >>> a = Bare(3.0); y = a * a + 1.0; y.backward(); a.grad
    6.0
"""

from __future__ import annotations

_new = object.__new__


class Bare:
    __slots__ = ("data", "grad", "_a", "_da", "_b", "_db", "_seen")

    def __init__(self, data: float) -> None:
        self.data, self.grad = data, 0.0
        self._a, self._b, self._seen = None, None, False

    def __add__(self, other: Bare | float) -> Bare:
        out = _new(Bare)
        if type(other) is Bare:
            out.data, out._a, out._da = self.data + other.data, self, 1.0
            out._b, out._db = other, 1.0
        else:
            out.data, out._a, out._da = self.data + other, self, 1.0
            out._b = None
        out.grad, out._seen = 0.0, False
        return out

    def __mul__(self, other: Bare | float) -> Bare:
        out = _new(Bare)
        if type(other) is Bare:
            out.data, out._a, out._da = self.data * other.data, self, other.data
            out._b, out._db = other, self.data
        else:
            out.data, out._a, out._da = self.data * other, self, other
            out._b = None
        out.grad, out._seen = 0.0, False
        return out

    def __pow__(self, k: float) -> Bare:
        x, out = self.data, _new(Bare)
        out.data, out._a, out._da = x**k, self, k * x ** (k - 1)
        out._b = None
        out.grad, out._seen = 0.0, False
        return out

    def backward(self) -> None:
        order, stack = [], [self]
        while stack:
            v = stack.pop()
            if v is None:  # sentinel: every input of the node below it is already placed
                order.append(stack.pop())
            elif not v._seen:
                v._seen = True
                stack += (v, None)
                if v._a is not None:
                    stack.append(v._a)
                    if v._b is not None:
                        stack.append(v._b)
        self.grad = 1.0
        for v in reversed(order):
            a = v._a
            if a is not None:
                a.grad += v._da * v.grad
                if v._b is not None:
                    v._b.grad += v._db * v.grad
