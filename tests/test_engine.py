"""The Value engine: every operation's value and derivative, graph shapes, deep graphs, bad input."""

from __future__ import annotations

import copy
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import RTOL_FD, assert_close, central_difference, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from micrograd_bn import Value, draw, topological_order, zero_grad


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# (name, op on a Value, the same op on a float, its derivative written by hand, points to test)
UNARY = [
    ("exp", Value.exp, math.exp, math.exp, [-3.0, 0.0, 1.5]),
    ("log", Value.log, math.log, lambda x: 1 / x, [0.1, 1.0, 7.0]),
    ("sqrt", Value.sqrt, math.sqrt, lambda x: 0.5 / math.sqrt(x), [0.25, 2.0, 9.0]),
    ("tanh", Value.tanh, math.tanh, lambda x: 1 - math.tanh(x) ** 2, [-2.0, 0.0, 0.7]),
    ("sigmoid", Value.sigmoid, _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)), [-30.0, -1.0, 0.0, 2.0]),
    ("relu", Value.relu, lambda x: max(x, 0.0), lambda x: float(x > 0), [-1.5, 0.5, 3.0]),
    ("neg", Value.__neg__, lambda x: -x, lambda x: -1.0, [-2.0, 3.0]),
    ("square", lambda v: v**2, lambda x: x**2, lambda x: 2 * x, [-3.0, 0.0, 1.25]),
    ("cube", lambda v: v**3, lambda x: x**3, lambda x: 3 * x**2, [-2.0, 0.5]),
    ("inverse sqrt", lambda v: v**-0.5, lambda x: x**-0.5, lambda x: -0.5 * x**-1.5, [0.5, 4.0]),
    ("x + 2", lambda v: v + 2, lambda x: x + 2, lambda x: 1.0, [1.0]),
    ("2 + x", lambda v: 2 + v, lambda x: 2 + x, lambda x: 1.0, [1.0]),
    ("x - 2", lambda v: v - 2, lambda x: x - 2, lambda x: 1.0, [1.0]),
    ("2 - x", lambda v: 2 - v, lambda x: 2 - x, lambda x: -1.0, [1.0]),
    ("3 * x", lambda v: 3 * v, lambda x: 3 * x, lambda x: 3.0, [1.0]),
    ("x * 3", lambda v: v * 3, lambda x: x * 3, lambda x: 3.0, [1.0]),
    ("x / 4", lambda v: v / 4, lambda x: x / 4, lambda x: 0.25, [1.0]),
    ("4 / x", lambda v: 4 / v, lambda x: 4 / x, lambda x: -4 / x**2, [-2.0, 0.5]),
]


@pytest.mark.parametrize(("name", "op", "f", "df", "points"), UNARY, ids=[u[0] for u in UNARY])
def test_unary_value_and_derivative(name, op, f, df, points):
    for x0 in points:
        x = Value(x0)
        y = op(x)
        y.backward()
        assert y.data == pytest.approx(f(x0), rel=1e-15, abs=1e-300)
        assert x.grad == pytest.approx(df(x0), rel=1e-12, abs=1e-15)  # hand-derived
        if name != "relu" or abs(x0) > 1e-3:  # relu has a kink at 0
            assert x.grad == pytest.approx(central_difference(f, x0), rel=RTOL_FD, abs=1e-9)


BINARY = [
    ("+", lambda a, b: a + b, lambda a, b: (1.0, 1.0)),
    ("−", lambda a, b: a - b, lambda a, b: (1.0, -1.0)),
    ("*", lambda a, b: a * b, lambda a, b: (b, a)),
    ("/", lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2)),
]


@pytest.mark.parametrize(("name", "op", "grads"), BINARY, ids=[b[0] for b in BINARY])
def test_binary_value_and_derivatives(name, op, grads):
    a0, b0 = 1.5, -0.75
    a, b = Value(a0), Value(b0)
    y = op(a, b)
    y.backward()
    assert y.data == op(a0, b0)
    assert (a.grad, b.grad) == pytest.approx(grads(a0, b0), rel=1e-15)
    assert a.grad == pytest.approx(central_difference(lambda t: op(t, b0), a0), rel=RTOL_FD)
    assert b.grad == pytest.approx(central_difference(lambda t: op(a0, t), b0), rel=RTOL_FD)
    assert y.op.name == name and y.inputs == (a, b)


def test_constants_are_not_nodes():
    x = Value(2.0)
    y = 3 * x + 1  # two nodes, each with one input: the constants sit in the local derivatives
    assert len(topological_order(y)) == 3
    assert y.local_grads == (1.0,) and y.inputs[0].local_grads == (3.0,)


def test_inputs_and_local_grads_read_alike_from_slots_and_tuples():
    """One or two inputs are kept in slots, the many of Σ in tuples: the public view is the same."""
    a, b = Value(2.0), Value(3.0)
    assert (a.inputs, a.local_grads) == ((), ())  # a leaf
    assert ((a * 4.0).inputs, (a * 4.0).local_grads) == ((a,), (4.0,))
    assert ((a * b).inputs, (a * b).local_grads) == ((a, b), (3.0, 2.0))
    s = Value.sum([a, b, 1.0])
    assert (s.inputs, s.local_grads) == ((a, b), (1.0, 1.0))
    empty = Value.sum([5.0])  # only constants: a node with no inputs
    empty.backward()
    assert (empty.data, empty.inputs, empty.grad) == (5.0, (), 1.0)
    for node in (Value.sum([a]), Value.dot([a], [b]), Value.dot([], [], bias=a)):  # tuples of one or two
        zero_grad(node)
        node.backward()
        assert node.inputs[0] is a and a.grad == node.local_grads[0]
    a.grad = 0.0
    square = a * a  # the same input in both slots: one node to visit, two edges to add along
    square.backward()
    assert len(topological_order(square)) == 2 and a.grad == 4.0


def test_sum_is_one_node():
    xs = [Value(float(i)) for i in range(5)]
    s = Value.sum([*xs, 10.0])
    s.backward()
    assert s.data == 20.0 and s.op.name == "Σ" and len(s.inputs) == 5
    assert [x.grad for x in xs] == [1.0] * 5


def test_dot_is_one_neuron_node():
    w = [Value(0.5), Value(-2.0)]
    x = [Value(3.0), 4.0]  # one input is a Value, one a plain number
    b = Value(0.25)
    y = Value.dot(w, x, b)
    y.backward()
    assert y.data == 0.5 * 3.0 - 2.0 * 4.0 + 0.25
    assert [v.grad for v in w] == [3.0, 4.0]  # ∂/∂w_i = x_i
    assert x[0].grad == 0.5 and b.grad == 1.0  # ∂/∂x_i = w_i, ∂/∂b = 1
    assert len(topological_order(y)) == 5


def test_shared_subexpressions_accumulate():
    # a = 1; b = a + a; c = b + b: a reaches c along four paths, so dc/da = 4.
    a = Value(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.grad) == (4.0, 2.0, 1.0)


def test_x_times_x_has_two_edges_and_gradient_2x():
    x = Value(3.0)
    y = x * x
    y.backward()
    assert y.inputs == (x, x) and x.grad == 6.0


def test_backward_twice_accumulates_exactly_and_zero_grad_resets():
    x = Value(0.3)
    y = (x * x).tanh() + x.exp()
    y.backward()
    once = x.grad
    y.backward()
    assert x.grad == 2 * once  # each call adds its own pass, intermediates included
    zero_grad(y)
    assert all(v.grad == 0.0 for v in topological_order(y))
    y.backward()
    assert x.grad == once


def test_million_node_chain_has_no_recursion_limit():
    x = Value(1.0)
    y = x
    for _ in range(10**6):
        y = y + 1e-6
    y.backward()
    assert x.grad == 1.0 and y.data == pytest.approx(2.0)


def test_topological_order_puts_inputs_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    order = topological_order(d)
    pos = {id(v): i for i, v in enumerate(order)}
    assert len(order) == 4
    for v in order:
        assert all(pos[id(u)] < pos[id(v)] for u in v.inputs)


def test_micrograd_names_still_work():
    a = Value(-4.0)
    b = Value(2.0)
    c = (a * b).relu() + (b**2).tanh()
    c.backward()
    assert isinstance(c._prev, set) and c._op == "+"
    assert b.grad == pytest.approx(4 * (1 - math.tanh(4.0) ** 2))


# ---- random expression graphs (hypothesis): autodiff vs finite differences on the same expression

# The first function of each pair runs on Values and on torch tensors alike (same method names).
SAFE_UNARY = [
    (lambda v: v.tanh(), math.tanh),
    (lambda v: v.sigmoid(), _sigmoid),
    (lambda v: (v * v + 1).log(), lambda x: math.log(x * x + 1)),
    (lambda v: (v * 0.5).exp(), lambda x: math.exp(x * 0.5)),
    (lambda v: (v * v + 0.5).sqrt(), lambda x: math.sqrt(x * x + 0.5)),
    (lambda v: v**2, lambda x: x**2),
]
SAFE_BINARY = [
    (lambda a, b: a + b, lambda a, b: a + b),
    (lambda a, b: a - b, lambda a, b: a - b),
    (lambda a, b: a * b, lambda a, b: a * b),
    (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
]


@st.composite
def programs(draw):
    """A random straight-line program over 3 inputs; each step reads any earlier result."""
    n_steps = draw(st.integers(1, 12))
    steps = []
    for k in range(n_steps):
        avail = 3 + k
        if draw(st.booleans()):
            steps.append(("u", draw(st.integers(0, len(SAFE_UNARY) - 1)), draw(st.integers(0, avail - 1))))
        else:
            i, j = draw(st.integers(0, avail - 1)), draw(st.integers(0, avail - 1))
            steps.append(("b", draw(st.integers(0, len(SAFE_BINARY) - 1)), (i, j)))
    xs = draw(st.lists(st.floats(-2, 2), min_size=3, max_size=3))
    return steps, xs


def run(steps, inputs, value_ops: bool):
    vals = list(inputs)
    for kind, op, args in steps:
        if kind == "u":
            fn = SAFE_UNARY[op][0 if value_ops else 1]
            vals.append(fn(vals[args]))
        else:
            fn = SAFE_BINARY[op][0 if value_ops else 1]
            vals.append(fn(vals[args[0]], vals[args[1]]))
    return vals[-1]


@given(programs())
def test_random_graphs_match_finite_differences(program):
    steps, x0 = program
    xs = [Value(v) for v in x0]
    out = run(steps, xs, value_ops=True)
    if not isinstance(out, Value):  # the program only re-read an input
        return
    out.backward()
    assert out.data == pytest.approx(run(steps, x0, value_ops=False), rel=1e-12, abs=1e-12)
    for k in range(3):

        def f(t, k=k):
            return run(steps, [t if i == k else v for i, v in enumerate(x0)], value_ops=False)

        assert xs[k].grad == pytest.approx(central_difference(f, x0[k], h=1e-5), rel=1e-5, abs=1e-6)


@given(programs())
def test_random_graphs_match_torch(program):
    torch = torch_or_skip()
    steps, x0 = program
    xs = [Value(v) for v in x0]
    out = run(steps, xs, value_ops=True)
    if not isinstance(out, Value):
        return
    out.backward()
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in x0]
    run(steps, ts, value_ops=True).backward()
    assert_close([x.grad for x in xs], [t.grad.item() if t.grad is not None else 0.0 for t in ts], rtol=1e-12)


# ---- bad input: a clear error naming the operation and the value


@pytest.mark.parametrize("bad", ["3", None, [1.0], 1 + 2j, True])
def test_value_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="real number"):
        Value(bad)


def test_value_of_value_raises_instead_of_nesting():
    with pytest.raises(TypeError, match=r"Value\(v\.data\)"):
        Value(Value(2.0))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_value_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="finite"):
        Value(bad)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Value(0.0).log(), ValueError, r"log\(0.0\)"),
        (lambda: Value(-2.0).log(), ValueError, r"log\(-2.0\).*positive"),
        (lambda: Value(-1.0).sqrt(), ValueError, r"sqrt\(-1.0\)"),
        (lambda: Value(0.0).sqrt(), ValueError, "slope at 0"),
        (lambda: Value(1.0) / 0, ZeroDivisionError, "division by zero"),
        (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, "division by zero"),
        (lambda: 1.0 / Value(0.0), ZeroDivisionError, "division by zero"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, "zero"),
        (lambda: Value(-8.0) ** 0.5, ValueError, "non-integer power"),
        (lambda: Value(2.0) ** Value(2.0), TypeError, "not supported"),
        (lambda: 2.0 ** Value(2.0), TypeError, "not supported"),
        (lambda: Value(1000.0).exp(), OverflowError, r"exp\(1000.0\)"),
        (lambda: Value(1e200) ** 3, OverflowError, r"Value\(1e\+200\) \*\* 3 overflows"),
        (lambda: Value(1.0) + "a", TypeError, "unsupported operand"),
        (lambda: Value.sum([Value(1.0), "2"]), TypeError, "Value.sum needs"),
        (lambda: Value.dot([Value(1.0)], [1.0, 2.0]), ValueError, "1 weights but 2 inputs"),
    ],
)
def test_bad_operations_fail_clearly(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_overflow_in_forward_is_reported_by_backward():
    # NB: forward follows IEEE arithmetic (1e200 * 1e200 = inf); backward refuses such a graph.
    x = Value(1e200, label="x")
    y = x * x
    assert y.data == math.inf
    with pytest.raises(FloatingPointError, match="'\\*'"):
        y.backward()


def test_relu_passes_nan_on_as_pytorch_does():
    x = Value(1e200)
    y = (x * x - x * x).relu()  # inf - inf is NaN; a relu that returned 0.0 would hide it
    assert math.isnan(y.data)
    with pytest.raises(FloatingPointError, match="non-finite"):
        y.backward()


def test_gradient_overflow_is_reported():
    x = Value(1e-300)
    z = x.log() * 1e10  # ∂z/∂x = 1e10 / x = 1e310: too big for a float, though every value is finite
    with pytest.raises(FloatingPointError, match="non-finite"):
        z.backward()


def test_repr_says_grad_not_computed_until_backward_as_drawings_do():
    x = Value(2.0, label="μ_B")
    y = x * 3.0
    assert repr(x) == "Value(μ_B, data=2, grad not computed)"
    assert "grad: not computed" in draw(y).source  # the drawing says the same
    y.backward()
    assert (repr(x), repr(y)) == ("Value(μ_B, data=2, grad=3)", "Value(data=6, grad=1)")
    zero_grad(y)
    assert repr(x) == "Value(μ_B, data=2, grad not computed)" and "grad: not computed" in draw(y).source


def test_a_value_has_no_truth_value():
    with pytest.raises(TypeError, match=r"compare its number.*v\.data"):
        bool(Value(0.0))
    with pytest.raises(TypeError, match="truth value"):
        if Value(1.0):  # `if v:` would silently be True for every Value otherwise
            pass


def test_copy_and_pickle_keep_data_grad_and_graph():
    x = Value(1.5, "x")
    y = (x * x).tanh() + Value.sum([x, 2.0])
    y.backward()
    for twin in (copy.copy(y), copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        assert type(twin) is Value and twin is not y
        assert (twin.data, twin.grad, twin.op, twin.label, repr(twin)) == (y.data, y.grad, y.op, y.label, repr(y))
        assert [v.data for v in topological_order(twin)] == [v.data for v in topological_order(y)]
        assert [v.local_grads for v in topological_order(twin)] == [v.local_grads for v in topological_order(y)]
    shallow = copy.copy(y)
    assert shallow.inputs == y.inputs  # the same input nodes
    twin = pickle.loads(pickle.dumps(y))
    zero_grad(twin)
    twin.backward()
    assert twin.inputs[0].inputs[0].inputs[0].grad == x.grad  # the copy backpropagates alike
    with pytest.raises(AttributeError):
        x.colour = "red"  # a Value has a fixed set of attributes, under both engines


def test_engine_source_is_fully_typed():
    """`mypy --strict` on engine.py: mypyc compiles exactly this file, so its types must hold."""
    pytest.importorskip("mypy", reason="mypy (the test extra) is not installed")
    engine = Path(__file__).resolve().parent.parent / "micrograd_bn" / "engine.py"
    args = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental", str(engine)]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gc_paused_restores_the_collector_even_on_error():
    import gc

    from micrograd_bn import gc_paused

    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), gc_paused():
        assert not gc.isenabled()
        Value(1.0) / 0
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
    x = Value(1e200)
    with pytest.raises(FloatingPointError):
        (x * x).backward()  # backward pauses the collector inside, and restores it when it raises
    assert gc.isenabled()


# ---- which engine runs: MICROGRAD_BN_ENGINE=python (default) | compiled | auto


def _import_in_subprocess(engine: str, before: str = "") -> subprocess.CompletedProcess[str]:
    code = f"{before}\nimport micrograd_bn\nprint(micrograd_bn.ENGINE, micrograd_bn.Value.__module__)"
    env = {**os.environ, "MICROGRAD_BN_ENGINE": engine}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def test_engine_is_the_one_asked_for():
    import micrograd_bn

    asked = os.environ.get("MICROGRAD_BN_ENGINE", "python")
    assert micrograd_bn.ENGINE == asked or (asked == "auto" and micrograd_bn.ENGINE in ("python", "compiled"))
    module = {"python": "micrograd_bn.engine", "compiled": "micrograd_bn._engine_compiled"}[micrograd_bn.ENGINE]
    assert Value.__module__ == module and sys.modules["micrograd_bn.engine"].Value is Value
    from micrograd_bn import batchnorm, nn

    assert nn.Value is Value and batchnorm.Value is Value  # every module got the same engine


NOT_BUILT = "import sys; sys.modules['micrograd_bn._engine_compiled'] = None  # as where it was never built"


def test_compiled_where_not_built_is_a_clear_import_error_and_auto_falls_back():
    run = _import_in_subprocess("compiled", before=NOT_BUILT)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: MICROGRAD_BN_ENGINE=compiled") and "pip install -e ." in last
    run = _import_in_subprocess("auto", before=NOT_BUILT)
    assert run.returncode == 0 and run.stdout.split() == ["python", "micrograd_bn.engine"]
    run = _import_in_subprocess("python")
    assert run.stdout.split() == ["python", "micrograd_bn.engine"]
    run = _import_in_subprocess("fast")
    assert run.returncode != 0 and "must be python, compiled or auto, not 'fast'" in run.stderr


def test_a_compiled_engine_older_than_engine_py_is_refused(monkeypatch):
    compiled = pytest.importorskip("micrograd_bn._engine_compiled", reason="the compiled engine is not built")
    import micrograd_bn

    assert _import_in_subprocess("auto").stdout.split() == ["compiled", "micrograd_bn._engine_compiled"]
    assert micrograd_bn._compiled_engine() is compiled
    monkeypatch.setattr(compiled, "SOURCE_SHA256", "the hash of an older engine.py")
    with pytest.raises(ImportError, match=r"built from an older engine\.py"):
        micrograd_bn._compiled_engine()
