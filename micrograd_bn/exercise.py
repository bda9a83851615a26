"""The "derive it yourself" template: a runnable file with one placeholder per quantity of Sec. 3.

`exercise_source()` writes the learner's starting point, each quantity's equation (the
same terms `check` names in its diagnoses) in a comment above `dx_hat = None  # TODO`;
`write_exercise(path)` saves it without overwriting anything. `example=True` fills it in
the way a learner might, with one classic mistake, to show what the checker says.

References: Ioffe & Szegedy, arXiv 1502.03167, Alg. 1 and Sec. 3; Ba et al., arXiv
1607.06450 (LayerNorm).
"""

from __future__ import annotations

from pathlib import Path

from .check import KEYS, NORMS, TERMS, NormSpec

_HEADER = '''"""Your {name} backward, derived by hand from Sec. 3 of Ioffe & Szegedy (arXiv 1502.03167).{also}

Replace each `None  # TODO` with NumPy code, one quantity at a time, in order, and
check after each one:

    micrograd-bn check {path}{layer_option}

A quantity left as None is "not done yet"; the checker says which quantity goes
wrong first and what is wrong there.

dy (∂ℓ/∂y) and x: {rows}-by-C arrays, {rows_are}.
gamma (γ): shape (C,); eps: ε.
Alg. 1's statistics are over {over}: every Σ_{i} runs over axis {axis}.{note}
"""

import numpy as np


def {function}(dy, x, gamma, eps):
    {m} = x.shape[{axis}]
    # Alg. 1's forward, which the backward needs (done for you):
    mean = x.mean(axis={axis}{keep})  # μ{B} = (1/{m}) Σ_{i} x_{i}
    var = ((x - mean) ** 2).mean(axis={axis}{keep})  # σ²{B} = (1/{m}) Σ_{i} (x_{i} − μ{B})²
    x_hat = (x - mean) / np.sqrt(var + eps)  # x̂_{i} = (x_{i} − μ{B}) / √(σ²{B} + ε)
'''

_FOOTER = """
    return {{{returns}}}


if __name__ == "__main__":  # `python {path}` checks it too
    from micrograd_bn.check import check_backward

    print(check_backward({function}{layer_arg}))
"""

# A first attempt at BatchNorm with one classic mistake: the exponent −1/2 where Sec. 3 has −3/2.
EXAMPLE = {
    "dx_hat": "dy * gamma",
    "dvar": "(dx_hat * (x - mean)).sum(axis=0) * -0.5 * (var + eps) ** -0.5",
    "dmean": "(dx_hat * -1 / np.sqrt(var + eps)).sum(axis=0) + dvar * (-2 * (x - mean)).sum(axis=0) / m",
    "dx": "dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mean) / m + dmean / m",
}


def equation(layer: NormSpec, key: str) -> str:
    """Sec. 3's equation for `key`, from the terms the checker names.

    >>> equation(NORMS["batchnorm"], "dx")
    '∂ℓ/∂x_i = ∂ℓ/∂x̂_i · 1/√(σ²_B + ε) + ∂ℓ/∂σ²_B · 2(x_i − μ_B) / m + ∂ℓ/∂μ_B · 1/m'
    """
    terms = [t.format(**layer.words) for t in TERMS[key]]
    if len(terms) > 1:
        terms = [f"({t})" if t.startswith("Σ") else t for t in terms]
    return f"{layer.symbol(key)} = {' + '.join(terms)}"


def exercise_source(layer: str = "batchnorm", path: str = "my_bn.py", example: bool = False) -> str:
    """The template's text, runnable as it is (every quantity None: "not done").

    >>> source = exercise_source()
    >>> "    dvar = None  # TODO" in source, source.count("= None  # TODO")
    (True, 6)
    """
    spec = NORMS[layer]
    if example and spec.axis != 0:
        raise ValueError("the example attempt is a BatchNorm one; use --layer batchnorm with --example")
    rows = "m" if spec.axis == 0 else "N"
    shapes = {"(m, C)": f"({rows}, C)", "stat": "(C,)" if spec.axis == 0 else "(N,)", "param": "(C,)"}
    layer_option = "" if spec.axis == 0 else f" --layer {layer}"
    text = _HEADER.format(
        name=spec.name,
        also="\nLayerNorm (Ba et al., arXiv 1607.06450) applies Alg. 1 to each example's features."
        if spec.axis
        else "",
        path=path,
        layer_option=layer_option,
        rows=rows,
        rows_are="m examples of C features" if spec.axis == 0 else "N examples of C features",
        note="\n∂ℓ/∂σ² and ∂ℓ/∂μ have one entry per example, shape (N,): v[:, None] broadcasts one back."
        if spec.axis
        else "",
        axis=spec.axis,
        keep="" if spec.axis == 0 else ", keepdims=True",
        function=spec.function,
        **spec.words,
    )
    for key in KEYS:
        kind = "(m, C)" if key in ("dx_hat", "dx") else "stat" if key in ("dvar", "dmean") else "param"
        code = EXAMPLE[key] if example and key in EXAMPLE else "None  # TODO"
        text += f"\n    # {equation(spec, key)}    [shape {shapes[kind]}]\n    {key} = {code}\n"
    returns = ", ".join(f'"{k}": {k}' for k in KEYS)
    layer_arg = "" if spec.axis == 0 else f", layer={layer!r}"
    return text + _FOOTER.format(returns=returns, path=path, function=spec.function, layer_arg=layer_arg)


def write_exercise(path: str | Path, layer: str = "batchnorm", example: bool = False) -> Path:
    """Write the template (or the example attempt) to `path`; refuses to overwrite a file."""
    path = Path(path)
    if path.exists():
        raise ValueError(f"{path} already exists: not overwriting it; choose another --out or remove it")
    source = exercise_source(layer, path.name, example)
    with path.open("x", encoding="utf-8") as f:  # "x": fails rather than overwrite, even in a race
        f.write(source)
    return path
