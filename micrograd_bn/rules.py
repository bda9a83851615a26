"""Each operation's local derivative as a formula: the rule, then the rule with the numbers put in.

`local_rule(node)` writes, for each input of `node`, ∂node/∂input as the op's rule in the
node's own names, then with the numbers put in, then the value: for x̂₁ = (x₁−μ_B)/√(σ²_B+ε),
"∂x̂₁/∂(x₁−μ_B) = 1/√(σ²_B+ε) = 1/0.9781 = 1.022". `forward_text(node)` writes the op that
made the node the same way. A rule is a template over the inputs ({0}, {1}, …) and the
output ({o}); it is shown only where it gives the local derivative the engine stored in
`local_grads`, so the page never shows a formula that disagrees with the numbers.
Reads only the engine's public attributes: data, inputs, local_grads, op, label.

References: A. Karpathy, micrograd (2020): each op's derivative beside its forward;
Ioffe & Szegedy, arXiv 1502.03167, Sec. 3 (BatchNorm's backward is these rules, chained).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from .drawing import format_number
from .engine import Value


@dataclass(frozen=True)
class Rule:
    """One node's op as formulas: `forward` (e.g. "{0} / {1}") and per input (names, numbers, value)."""

    forward: str
    grads: tuple[tuple[str, str, float], ...]


def local_rule(
    node: Value, name: Callable[[Value], str] = lambda v: v.label or v.op, digits: int = 4
) -> list[str | None]:
    """Per input of `node`: "∂node/∂input = rule = rule with numbers = local derivative", or None.

    The rule comes from the op's entry in the table (+, −, *, /, neg, **k, exp, log, sqrt,
    tanh, σ, relu, Σ, Σw·x, Σw·x+b), written with the node's inputs and output. None
    where the op has no entry, or the rule does not give the local derivative the engine
    stored (an `op` renamed by hand): then only the stored number can be shown.

    >>> a = Value(3.0, "a"); b = Value(4.0, "b"); q = a / b; q.label = "q"
    >>> local_rule(q)
    ['∂q/∂a = 1/b = 1/4 = 0.25', '∂q/∂b = −a/b² = −3/4² = -0.1875']
    """
    f = lambda x: format_number(x, digits)  # noqa: E731
    rule = _rule(node, f)
    out = []
    for k, (u, d) in enumerate(zip(node.inputs, node.local_grads)):
        if rule is None or not _same(rule.grads[k][2], d):
            out.append(None)
            continue
        names, numbers, _ = rule.grads[k]
        parts = [
            f"∂{operand(name(node))}/∂{operand(name(u))}",
            _fill(names, node, name, f),
            _fill(numbers, node, None, f),
            f(d),
        ]
        out.append(_chain_of_equals(parts))
    return out


def forward_text(node: Value, name: Callable[[Value], str] = lambda v: v.label or v.op, digits: int = 4) -> str:
    """The op that made `node` as a formula, with names and with numbers: "x̂₁ = (x₁−μ_B) / √(σ²_B+ε) = …".

    >>> a = Value(3.0, "a"); b = Value(4.0, "b"); q = a / b; q.label = "q"
    >>> forward_text(q)
    'q = a / b = 3 / 4 = 0.75'
    """
    f = lambda x: format_number(x, digits)  # noqa: E731
    rule = _rule(node, f)
    if not node.inputs:
        return f"{name(node)} = {f(node.data)} (a leaf: an input or a parameter)"
    if rule is None:
        return f"{name(node)} = {node.op or 'op'}({', '.join(name(u) for u in node.inputs)}) = {f(node.data)}"
    return _chain_of_equals(
        [name(node), _fill(rule.forward, node, name, f), _fill(rule.forward, node, None, f), f(node.data)]
    )


def _rule(v: Value, f: Callable[[float], str]) -> Rule | None:
    x, o, d = [u.data for u in v.inputs], v.data, v.local_grads
    if not x:
        return None
    one = len(x) == 1  # the other operand is a constant, folded into the local derivative
    op, c_ = v.op, lambda c: _signed(f(c))
    if op == "+":
        return Rule("{0} + " + c_(o - x[0]) if one else "{0} + {1}", (("1", "1", 1.0),) * len(x))
    if op == "-" and one:  # a − c or c − a
        return (
            Rule(f"{{0}} − {c_(x[0] - o)}", (("1", "1", 1.0),))
            if d[0] > 0
            else Rule(f"{c_(o + x[0])} − {{0}}", (("−1", "−1", -1.0),))
        )
    if op == "-":
        return Rule("{0} − {1}", (("1", "1", 1.0), ("−1", "−1", -1.0)))
    if op == "*":
        return (
            Rule(f"{{0}} · {c_(d[0])}", ((f(d[0]),) * 2 + (d[0],),))
            if one
            else Rule("{0} · {1}", (("{1}", "{1}", x[1]), ("{0}", "{0}", x[0])))
        )
    if op == "/" and one:  # a / c or c / a
        if _same(d[0] * x[0], o):
            c = c_(1.0 / d[0])
            return Rule(f"{{0}} / {c}", ((f"1/{c}", f"1/{c}", d[0]),))
        c = o * x[0]
        return Rule(f"{c_(c)} / {{0}}", ((f"−{c_(c)}/{{0}}²",) * 2 + (-c / (x[0] * x[0]),),))
    if op == "/":
        return Rule("{0} / {1}", (("1/{1}", "1/{1}", 1.0 / x[1]), ("−{0}/{1}²", "−{0}/{1}²", -x[0] / (x[1] * x[1]))))
    if op == "neg":
        return Rule("−{0}", (("−1", "−1", -1.0),))
    if re.fullmatch(r"\*\*-?[\d.]+(e-?\d+)?", op):
        k = float(op[2:])
        slope = "2·{0}" if k == 2 else f"{c_(k)}·{{0}}{_power(k - 1)}"
        return Rule("{0}" + _power(k), ((slope, slope, k * x[0] ** (k - 1) if k != 0 else 0.0),))
    if op == "exp":
        return Rule("exp({0})", (("exp({0})", "{o}", o),))
    if op == "log":
        return Rule("log({0})", (("1/{0}", "1/{0}", 1.0 / x[0]),))
    if op == "sqrt":
        return Rule("√{0}", (("1/(2·{o})", "1/(2·{o})", 0.5 / o),))
    if op == "tanh":
        return Rule("tanh({0})", (("1 − tanh²({0})", "1 − {o}²", 1.0 - o * o),))
    if op == "σ":
        return Rule("σ({0})", (("σ({0})·(1 − σ({0}))", "{o}·(1 − {o})", o * (1.0 - o)),))
    if op == "relu":
        on = x[0] > 0.0
        return Rule("relu({0})", (("1 if {0} > 0, else 0", "1 (as {0} > 0)" if on else "0 (as {0} ≤ 0)", float(on)),))
    if op == "Σ":  # numbers among the terms were added into the node's data
        c = o - math.fsum(x)
        plus = f" + {c_(c)}" if not _same(o, math.fsum(x)) else ""
        return Rule(_sum_of([f"{{{i}}}" for i in range(len(x))]) + plus, (("1", "1", 1.0),) * len(x))
    if op in ("Σw·x", "Σw·x+b"):
        return _dot_rule(v, f)
    return None


def _dot_rule(v: Value, f: Callable[[float], str]) -> Rule | None:
    """Σ_i w_i·x_i (+ b): the inputs are (w…, the x_i that are Values…, b); ∂/∂w_i = x_i, ∂/∂x_i = w_i."""
    ins, d = v.inputs, v.local_grads
    t = len(ins) - (v.op == "Σw·x+b")
    for m in range((t + 1) // 2, t + 1):  # m weights; the smallest m that pairs every x node with one
        partner: list[int | None] = [None] * len(ins)
        j = m
        for i in range(m):
            if j < t and d[i] == ins[j].data and d[j] == ins[i].data:
                partner[i], partner[j], j = j, i, j + 1
        if j == t:
            break
    else:
        return None
    terms, grads = [], []
    for i in range(m):
        x = f"{{{partner[i]}}}" if partner[i] is not None else _signed(f(d[i]))
        terms.append(f"{{{i}}}·{x}")
    for i in range(len(ins)):
        p = partner[i]
        if i >= t:  # the bias
            grads.append(("1", "1", 1.0))
        elif p is None:  # a weight whose x_i is a number
            grads.append((f(d[i]), f(d[i]), d[i]))
        else:
            grads.append((f"{{{p}}}", f"{{{p}}}", ins[p].data))
    return Rule(_sum_of(terms) + (f" + {{{t}}}" if t < len(ins) else ""), tuple(grads))


def _sum_of(terms: list[str]) -> str:
    """ "a + b + c", and for more than 8 terms "a + b + c + … + z": a formula stays one line."""
    return " + ".join(terms if len(terms) <= 8 else [*terms[:3], "…", terms[-1]])


def _fill(template: str, v: Value, name: Callable[[Value], str] | None, f: Callable[[float], str]) -> str:
    """A template with the names (`name` given) or the numbers put in; negative numbers in parentheses."""
    if name is not None:
        return template.format(*(operand(name(u)) for u in v.inputs), o=operand(name(v)))
    if re.fullmatch(r"\{\w+\}", template):  # a lone number needs no parentheses
        return template.format(*(f(u.data) for u in v.inputs), o=f(v.data))
    text = template.format(*(_signed(f(u.data)) for u in v.inputs), o=_signed(f(v.data)))
    return re.sub(r"\(\((-[^()]*)\)\)", r"(\1)", text)  # tanh((-0.7)) -> tanh(-0.7)


def _signed(number: str) -> str:
    """A number as an operand: negative ones in parentheses."""
    return f"({number})" if number.startswith("-") else number


def _chain_of_equals(parts: list[str]) -> str:
    """ "a = b = c", leaving out a part that repeats the one before (−1 = -1, or 1 (as 1.5 > 0) = 1)."""
    kept = parts[:1]
    for p in parts[1:]:
        before = kept[-1].replace("−", "-")
        if p.replace("−", "-") != before and not before.startswith(p + " ("):
            kept.append(p)
    return " = ".join(kept)


def operand(text: str) -> str:
    """`text` in parentheses if it has an operator outside parentheses: x₁−μ_B → (x₁−μ_B); √(σ²_B+ε) stays."""
    depth = 0
    for c in text:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c in "+-−*/·× ":
            return f"({text})"
    return text


def _power(k: float) -> str:
    return {2.0: "²", 3.0: "³", 1.0: ""}.get(k) or f"^{format_number(k, 4)}"


def _same(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))
