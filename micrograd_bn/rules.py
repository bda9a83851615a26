"""Each node's operation as formulas: the rule with the node's names, then with its numbers put in.

`local_rule(node)` writes, for each input of `node`, ∂node/∂input as its `Op` states it
(engine.py), in the node's own names, then with the numbers put in, then the value the engine
stored: for x̂₁ = (x₁−μ_B)/√(σ²_B+ε), "∂x̂₁/∂(x₁−μ_B) = 1/√(σ²_B+ε) = 1/0.9781 = 1.022".
`forward_text(node)` writes the operation that made the node the same way. Nothing here
knows any operation: every formula is read from the node's `op`.

References: A. Karpathy, micrograd (2020): each op's derivative beside its forward;
Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (BatchNorm's backward is these rules, chained).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .engine import Value
from .text import format_number, operand, signed


def default_name(v: Value) -> str:
    """A node's name in a formula: its label, or else its operation's."""
    return v.label or op_title(v)


def op_title(v: Value) -> str:
    """The operation's name as drawings show it ("**-0.5"), or "" for a leaf."""
    return "" if v.op is None else v.op.title(v.const)


def local_rule(node: Value, name: Callable[[Value], str] = default_name, digits: int = 4) -> list[str]:
    """Per input of `node`: "∂node/∂input = rule = rule with numbers = local derivative".

    >>> a = Value(3.0, "a"); b = Value(4.0, "b"); q = a / b; q.label = "q"
    >>> local_rule(q)
    ['∂q/∂a = 1/b = 1/4 = 0.25', '∂q/∂b = −a/b² = −3/4² = −0.1875']
    """
    return [chain_of_equals(parts) for parts in local_rule_parts(node, name, digits)]


def local_rule_parts(node: Value, name: Callable[[Value], str] = default_name, digits: int = 4) -> list[list[str]]:
    """Per input of `node`, the rule's four parts: ∂node/∂input, the rule, with its numbers, the value.

    >>> a = Value(3.0, "a"); q = a * 2.0; q.label = "q"
    >>> local_rule_parts(q)
    [['∂q/∂a', '2', '2', '2']]
    """
    if node.op is None:
        return []
    _, derivatives, computed = node.op.formulas(len(node.inputs))
    f = lambda x: format_number(x, digits)  # noqa: E731
    return [
        [
            f"∂{operand(name(node))}/∂{operand(name(u))}",
            _fill(derivatives[k], node, name, f),
            _fill(computed[k], node, None, f),
            f(d),
        ]
        for k, (u, d) in enumerate(zip(node.inputs, node.local_grads))
    ]


def forward_text(node: Value, name: Callable[[Value], str] = default_name, digits: int = 4) -> str:
    """The operation that made `node`, with names and with numbers: "x̂₁ = (x₁−μ_B) / √(σ²_B+ε) = …".

    >>> a = Value(3.0, "a"); b = Value(4.0, "b"); q = a / b; q.label = "q"
    >>> forward_text(q)
    'q = a / b = 3 / 4 = 0.75'
    """
    f = lambda x: format_number(x, digits)  # noqa: E731
    if node.op is None:
        return f"{name(node)} = {f(node.data)} (a leaf: an input or a parameter)"
    forward = node.op.formulas(len(node.inputs))[0]
    parts = [name(node), _fill(forward, node, name, f), _fill(forward, node, None, f), f(node.data)]
    return chain_of_equals(parts)


def _fill(template: str, v: Value, name: Callable[[Value], str] | None, f: Callable[[float], str]) -> str:
    """A template with the inputs' names (`name` given) or numbers put in; negative numbers in parentheses.

    `{k}` is input k, `{dk}` its local derivative (a number), `{c}` the node's constant, `{out}` the node.
    """
    if v.const == 0.0:
        template = template.replace(" + {c}", "")  # Σ with no numbers among its terms
    lone = re.fullmatch(r"\{\w+\}", template) is not None  # a lone number needs no parentheses
    number = (lambda x: f(x)) if lone else (lambda x: signed(f(x)))
    values = {f"d{k}": number(d) for k, d in enumerate(v.local_grads)} | {"c": number(v.const)}
    if name is None:
        values |= {str(k): number(u.data) for k, u in enumerate(v.inputs)} | {"out": number(v.data)}
    else:
        values |= {str(k): operand(name(u)) for k, u in enumerate(v.inputs)} | {"out": operand(name(v))}
    text = re.sub(r"\{(\w+)\}", lambda m: values[m[1]], template)
    return re.sub(r"\(\(([-−][^()]*)\)\)", r"(\1)", text)  # tanh((−0.7)) -> tanh(−0.7)


def chain_of_equals(parts: list[str]) -> str:
    """ "a = b = c", leaving out a part that repeats the one before (−1 = −1)."""
    kept = parts[:1]
    for p in parts[1:]:
        if p != kept[-1]:
            kept.append(p)
    return " = ".join(kept)
