"""The "derive it yourself" template: a runnable file with one placeholder per quantity of Sec. 3.

`exercise_source()` writes the learner's starting point, each quantity's equation (the
same terms `check` names in its diagnoses) in a comment above `dx_hat = None  # TODO`;
`write_exercise(path)` saves it without overwriting anything. `example=True` fills it in
the way a learner might, with one classic mistake, to show what the checker says.

References: Ioffe & Szegedy, arXiv 1502.03167, Alg. 1 and Sec. 3; Ba et al., arXiv
1607.06450 (LayerNorm); Zhang & Sennrich 2019, eq. 4 (RMSNorm); Wu & He 2018, Sec. 3.1 (GroupNorm).
"""

from __future__ import annotations

from pathlib import Path

from .norms import NORMS, Norm

_HEADER = '''"""Your {name} backward, derived by hand from Sec. 3 of Ioffe & Szegedy (arXiv 1502.03167).{also}

Replace each `None  # TODO` with NumPy code, one quantity at a time, in order, and
check after each one:

    micrograd-bn check {path}{layer_option}

A quantity left as None is "not done yet"; the checker says which quantity goes
wrong first and what is wrong there.

{inputs}
"""

import numpy as np


def {signature}:
{forward}'''

_INPUTS = """dy (∂ℓ/∂y) and x: {rows}-by-C arrays, {rows} examples of C features{m_rows}.
gamma (γ): shape (C,); eps: ε.
Alg. 1's statistics are over {over}: every Σ_{i} runs over axis {axis}.{note}"""

_ALG1 = """    {m} = x.shape[{axis}]
    # Alg. 1's forward, which the backward needs (done for you):
    mean = x.mean(axis={axis}{keep})  # μ{B} = (1/{m}) Σ_{i} x_{i}
    var = ((x - mean) ** 2).mean(axis={axis}{keep})  # σ²{B} = (1/{m}) Σ_{i} (x_{i} − μ{B})²
    x_hat = (x - mean) / np.sqrt(var + eps)  # x̂_{i} = (x_{i} − μ{B}) / √(σ²{B} + ε)
"""

# RMSNorm and GroupNorm: what differs from Alg. 1 as BatchNorm and LayerNorm run it
_OWN = {
    "rmsnorm": (
        "RMSNorm (Zhang & Sennrich 2019, eq. 4) is LayerNorm without μ and β: over each example's\n"
        "C features, ms = (1/C) Σ_k x_k² (the mean square) takes σ²'s place, x_k that of x_k − μ.",
        """dy (∂ℓ/∂y) and x: N-by-C arrays, N examples of C features.
gamma (γ): shape (C,); eps: ε. There is no β.
Every Σ_k runs over each example's features, axis 1; ∂ℓ/∂ms has one entry per
example, shape (N,): v[:, None] broadcasts one back.""",
        """    # eq. 4's forward, which the backward needs (done for you):
    C = x.shape[1]
    ms = (x**2).mean(axis=1)  # ms = (1/C) Σ_k x_k², one per example
    x_hat = x / np.sqrt(ms + eps)[:, None]  # x̂_k = x_k / √(ms + ε)
""",
    ),
    "groupnorm": (
        "GroupNorm (Wu & He 2018, Sec. 3.1) applies Alg. 1 to each example's groups of C/G channels\n"
        "and all their positions: m = (C/G)·H·W values per group, with γ_k, β_k one per channel k.",
        """dy (∂ℓ/∂y) and x: (N, C) or (N, C, H, W) arrays; gamma (γ): shape (C,); eps: ε;
num_groups: G, which divides C (torch.nn.GroupNorm(num_groups, num_channels)).
Every Σ_i runs over one example's group: xg[n, g] below holds its m entries,
∂ℓ/∂σ² and ∂ℓ/∂μ have one entry per example and group, shape (N, G);
∂ℓ/∂γ and ∂ℓ/∂β sum over the examples and positions, every axis but 1.""",
        """    # Alg. 1's forward per group, which the backward needs (done for you):
    N, C = x.shape[:2]
    xg = x.reshape(N, num_groups, -1)  # xg[n, g]: example n's group g, its C/G channels then positions
    m = xg.shape[2]  # m = (C/G)·H·W
    mean = xg.mean(axis=2, keepdims=True)  # μ = (1/m) Σ_i x_i
    var = ((xg - mean) ** 2).mean(axis=2, keepdims=True)  # σ² = (1/m) Σ_i (x_i − μ)²
    x_hat = ((xg - mean) / np.sqrt(var + eps)).reshape(x.shape)  # x̂_i = (x_i − μ) / √(σ² + ε)
    gamma_k = gamma.reshape(C, *[1] * (x.ndim - 2))  # each entry's channel's γ_k
""",
    ),
}

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


def equation(layer: Norm, key: str) -> str:
    """Sec. 3's equation for `key`, from the terms the checker names.

    >>> equation(NORMS["batchnorm"], "dx")
    '∂ℓ/∂x_i = ∂ℓ/∂x̂_i · 1/√(σ²_B + ε) + ∂ℓ/∂σ²_B · 2(x_i − μ_B) / m + ∂ℓ/∂μ_B · 1/m'
    """
    terms = layer.equation_terms(key)
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
    if example and layer != "batchnorm":
        raise ValueError("the example attempt is a BatchNorm one; use --layer batchnorm with --example")
    rows = "m" if spec.axis == 0 else "N"
    if layer in _OWN:
        also, inputs, forward = _OWN[layer]
        also = "\n" + also
    else:
        ln = "\nLayerNorm (Ba et al., arXiv 1607.06450) applies Alg. 1 to each example's features."
        also = ln if spec.axis else ""
        note = "\n∂ℓ/∂σ² and ∂ℓ/∂μ have one entry per example, shape (N,): v[:, None] broadcasts one back."
        inputs = _INPUTS.format(rows=rows, m_rows="", note=note if spec.axis else "", axis=spec.axis, **spec.words)
        forward = _ALG1.format(axis=spec.axis, keep=", keepdims=True" if spec.axis else "", **spec.words)
    text = _HEADER.format(
        name=spec.name,
        also=also,
        path=path,
        layer_option="" if layer == "batchnorm" else f" --layer {layer}",
        inputs=inputs,
        signature=spec.signature,
        forward=forward,
    )
    shapes = {"(m, C)": "x's shape" if spec.params else f"({rows}, C)", "param": "(C,)"}
    shapes["stat"] = "(C,)" if spec.axis == 0 else "(N, G)" if spec.params else "(N,)"
    for key in spec.keys:
        kind = "(m, C)" if key in ("dx_hat", "dx") else "param" if key in ("dgamma", "dbeta") else "stat"
        code = EXAMPLE[key] if example and key in EXAMPLE else "None  # TODO"
        text += f"\n    # {equation(spec, key)}    [shape {shapes[kind]}]\n    {key} = {code}\n"
    returns = ", ".join(f'"{k}": {k}' for k in spec.keys)
    layer_arg = "" if layer == "batchnorm" else f", layer={layer!r}"
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
