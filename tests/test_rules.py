"""Each op's local-derivative rule (rules.py): with its numbers put in it gives the derivative the engine stored."""

from __future__ import annotations

import math
import re

import pytest

from micrograd_bn import Value, draw, operation
from micrograd_bn.drawing import format_number
from micrograd_bn.page import page_data as page_data_of
from micrograd_bn.rules import forward_text, local_rule
from micrograd_bn.trace import backward_steps

CATALOGUE = {  # op: a node built with it (inputs a = 1.5, b = -0.7)
    "+": lambda a, b: a + b,
    "+ c": lambda a, b: a + 2.0,
    "−": lambda a, b: a - b,
    "c −": lambda a, b: 3.0 - a,
    "*": lambda a, b: a * b,
    "* c": lambda a, b: a * 3.0,
    "x·x": lambda a, b: a * a,
    "/": lambda a, b: a / b,
    "/ c": lambda a, b: a / 4.0,
    "c /": lambda a, b: 2.0 / a,
    "neg": lambda a, b: -a,
    "**2": lambda a, b: b**2,
    "**-0.5": lambda a, b: a**-0.5,
    "exp": lambda a, b: b.exp(),
    "log": lambda a, b: a.log(),
    "sqrt": lambda a, b: a.sqrt(),
    "tanh": lambda a, b: b.tanh(),
    "σ": lambda a, b: b.sigmoid(),
    "relu on": lambda a, b: a.relu(),
    "relu off": lambda a, b: b.relu(),
    "Σ": lambda a, b: Value.sum([a, b, 2.0]),
    "Σw·x": lambda a, b: Value.dot([a, b], [b, -3.0]),
    "Σw·x+b": lambda a, b: Value.dot([a, b], [b, a], bias=a),
}
PYTHON = {"−": "-", "·": "*", "×": "*", "²": "**2", "√": "math.sqrt", "^": "**", "exp": "math.exp", "log": "math.log"}


@pytest.mark.parametrize("op", CATALOGUE)
def test_each_rule_with_its_numbers_gives_the_engines_local_derivative(op):
    a, b = Value(1.5, "a"), Value(-0.7, "b")
    v = CATALOGUE[op](a, b)
    v.label = "o"
    rules = local_rule(v, digits=12)
    assert len(rules) == len(v.inputs) and None not in rules
    for rule, d in zip(rules, v.local_grads):
        parts = [p.split(" (as ")[0] for p in rule.split(" = ")[1:]]  # relu: "1 (as 1.5 > 0)"
        assert parts[-1] == format_number(d, 12) and "-" not in rule  # one minus sign: −
        evaluated = 0
        for part in parts:  # the rule with the numbers put in, and the result
            if re.search(r"[^\W\d_]", re.sub(r"exp|log|\de-", "", part)):  # the rule written with names
                continue
            expr = part
            for sym, py in PYTHON.items():
                expr = expr.replace(sym, py)
            value = eval(expr, {"math": math})
            assert value == pytest.approx(d, rel=1e-9), (rule, part, d)
            evaluated += 1
        assert evaluated >= 1
    assert forward_text(v, digits=12).endswith(f" = {format_number(v.data, 12)}")


@operation("softplus", forward="log(1 + exp({z}))", derivatives=["σ({z})"])
def softplus(z: float) -> tuple[float, list[float]]:
    """A learner's own operation: its forward and local derivative together, with their formulas."""
    return math.log1p(math.exp(z)), [1.0 / (1.0 + math.exp(-z))]


def test_a_learners_own_operation_is_shown_with_its_rule_everywhere():
    z = Value(0.5, "z")
    h = z * 2.0
    h.label = "h"
    y = softplus(h)
    y.label = "y"
    assert forward_text(y) == "y = log(1 + exp(h)) = log(1 + exp(1)) = 1.313"
    assert local_rule(y) == ["∂y/∂h = σ(h) = σ(1) = 0.7311"]
    steps = list(backward_steps(y))
    assert z.grad == pytest.approx(2.0 / (1.0 + math.exp(-1.0)), rel=1e-15)
    page = page_data_of(steps)
    assert page["steps"][0]["op"] == "softplus" and page["steps"][0]["sends"][0]["rule"].startswith("∂y/∂h = σ(h)")
    assert "softplus" in draw(y).source


def test_a_bad_definition_is_one_clear_error():
    with pytest.raises(ValueError, match=r"'two': 1 derivative formula\(s\) for 2 input\(s\) \(a, b\)"):
        operation("two", forward="{a} + {b}", derivatives=["1"])(lambda a, b: (a + b, [1.0, 1.0]))
    wrong = operation("twice", forward="2·{a}", derivatives=["2"])(lambda a: (2 * a, [2.0, 0.0]))
    with pytest.raises(ValueError, match=r"twice returned 2 local derivative\(s\) for 1 input\(s\)"):
        wrong(Value(1.0))
