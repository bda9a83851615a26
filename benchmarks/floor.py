"""The least a scalar reverse-mode engine can do: a yardstick for the benchmark, not a library.

`Bare` keeps a value, its gradient, its inputs and their local derivatives, and nothing
else. It has no input checks, labels, op names or NaN detection, supports only `+`, `*`
and `**` by a number, and its `backward()` can run only once per graph. It is written the
way micrograd_bn's engine is (stored local derivatives, iterative topological sort, the
chain rule spelled out for one and two inputs), with every node built inline. So its time
on the same code is about the lowest that design can reach in CPython, and the gap to
micrograd_bn is the price of what the library adds.

    >>> a = Bare(3.0); y = a * a + 1.0; y.backward(); a.grad
    6.0
"""

from __future__ import annotations

_new = object.__new__


class Bare:
    __slots__ = ("data", "grad", "inputs", "local_grads", "_seen")

    def __init__(self, data: float) -> None:
        self.data, self.grad, self.inputs, self.local_grads, self._seen = data, 0.0, (), (), False

    def __add__(self, other: Bare | float) -> Bare:
        out = _new(Bare)
        if type(other) is Bare:
            out.data, out.inputs, out.local_grads = self.data + other.data, (self, other), (1.0, 1.0)
        else:
            out.data, out.inputs, out.local_grads = self.data + other, (self,), (1.0,)
        out.grad, out._seen = 0.0, False
        return out

    def __mul__(self, other: Bare | float) -> Bare:
        out = _new(Bare)
        if type(other) is Bare:
            out.data, out.inputs, out.local_grads = self.data * other.data, (self, other), (other.data, self.data)
        else:
            out.data, out.inputs, out.local_grads = self.data * other, (self,), (other,)
        out.grad, out._seen = 0.0, False
        return out

    def __pow__(self, k: float) -> Bare:
        x, out = self.data, _new(Bare)
        out.data, out.inputs, out.local_grads = x**k, (self,), (k * x ** (k - 1),)
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
                stack += (v, None, *v.inputs)
        self.grad = 1.0
        for v in reversed(order):
            g, inputs = v.grad, v.inputs
            if len(inputs) == 1:
                inputs[0].grad += v.local_grads[0] * g
            elif len(inputs) == 2:
                a, b = inputs
                da, db = v.local_grads
                a.grad += da * g
                b.grad += db * g
