"""How numbers and names are written, in the terminal tables, the drawings and the page alike.

References: none; these are the library's typographic conventions in one place.
"""

from __future__ import annotations

import unicodedata

MINUS = "−"  # U+2212, the one minus sign of every formula and number shown
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")  # "12".translate(SUBSCRIPT) == "₁₂"
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_number(x: float, digits: int) -> str:
    """`x` to `digits` significant digits, as the graphs and tables show it, with the minus sign `MINUS`.

    >>> format_number(2 / 3, 4), format_number(-1e-7, 3)
    ('0.6667', '−1e−07')
    """
    return f"{x:.{digits}g}".replace("-", MINUS)


def text_width(text: str) -> int:
    """Terminal columns `text` takes: combining marks (the hat of x̂) take none.

    >>> len("x̂_i"), text_width("x̂_i")
    (4, 3)
    """
    return sum(not unicodedata.combining(c) for c in text)


def pad(text: str, width: int, right: bool = False) -> str:
    """`text` padded with spaces to `width` terminal columns (on the left if `right`), for aligned tables."""
    fill = " " * (width - text_width(text))
    return fill + text if right else text + fill


def operand(text: str) -> str:
    """`text` in parentheses if it has an operator outside parentheses: x₁−μ_B → (x₁−μ_B); √(σ²_B+ε) stays.

    >>> operand("x₁−μ_B"), operand("√(σ²_B+ε)")
    ('(x₁−μ_B)', '√(σ²_B+ε)')
    """
    depth = 0
    for c in text:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c in "+-−*/·× ":
            return f"({text})"
    return text


def signed(number: str) -> str:
    """A number as an operand: negative ones in parentheses.

    >>> signed("−0.5"), signed("2")
    ('(−0.5)', '2')
    """
    return f"({number})" if number.startswith(("-", MINUS)) else number
