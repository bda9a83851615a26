# %% [markdown]
# # A guided tour of micrograd_bn
#
# Read and run it cell by cell (editors and Jupyter open `# %%` cells as a notebook), or
# whole: `python demos/tour.py [--out DIR]` prints each step and writes the pictures
# (SVG) to DIR (default: here). From a small expression to Batch Normalization's
# gradients, read off the graph and set beside the paper's equations
# (Ioffe & Szegedy 2015, arXiv 1502.03167, Alg. 1 and Sec. 3).

# %%
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from micrograd_bn import BatchNorm1d, Value, backward_steps, draw, render, zero_grad
from micrograd_bn import reference as ref
from micrograd_bn.compare import compare, format_table
from micrograd_bn.trace import format_steps

IN_SCRIPT = __name__ == "__main__" and "ipykernel" not in sys.modules
OUT = Path(".")
if IN_SCRIPT:
    parser = argparse.ArgumentParser(description="A guided tour of micrograd_bn")
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for the SVG pictures")
    OUT = parser.parse_args().out
    OUT.mkdir(parents=True, exist_ok=True)


def show(graph, name: str) -> None:
    """Write the picture (in Jupyter, evaluate `graph` in a cell to see it inline instead)."""
    print(f"  picture: {render(graph, OUT / f'{name}.svg')}")


# %% [markdown]
# ## 1. A tiny expression, drawn before and after backward()
# One neuron: y = tanh(w·x + b). Before `backward()` the picture says
# "grad: not computed" — not 0, which would be a claim.

# %%
x = Value(2.0, label="x")
w = Value(-0.5, label="w")
b = Value(1.5, label="b")
wx = w * x
wx.label = "w·x"
z = wx + b
z.label = "z"
y = z.tanh()
y.label = "y"
show(draw(y), "tour_1_before_backward")
y.backward()
print(f"y = {y.data:.4f};  ∂y/∂w = {w.grad:.4f} (= x·(1 − y²) = {x.data * (1 - y.data**2):.4f})")
show(draw(y), "tour_1_after_backward")

# %% [markdown]
# ## 2. The backward pass, one node at a time
# `backward_steps` is `backward()` as a generator: each step takes one node's finished
# gradient and sends `local derivative × upstream gradient` to each input.

# %%
zero_grad(y)
print(format_steps(backward_steps(y)))

# %% [markdown]
# ## 3. Why reverse topological order?
# The smallest counterexample: a = 1; b = a + a; c = b + b, so c = 4a and dc/da = 4.
# A naive recursive backward pushes each gradient down as soon as it arrives, before
# the node has heard from all its users: `a` is visited four times, and b's first,
# half-finished gradient is passed on and then passed on again.

# %%
a = Value(1.0, label="a")
b = a + a
b.label = "b"
c = b + b
c.label = "c"
visits = {"a": 0}


def naive_backward(v: Value) -> None:
    """Wrong on purpose: recurse into each input right away, with whatever grad it has so far."""
    for child, local in zip(v.inputs, v.local_grads):
        child.grad += local * v.grad
        visits["a"] += child is a
        naive_backward(child)


c.grad = 1.0
naive_backward(c)
print(f"naive recursive backward: dc/da = {a.grad}  (a visited {visits['a']} times)")
zero_grad(c)
c.backward()
print(f"reverse topological order: dc/da = {a.grad}  (each node once, after all its users)")

# %% [markdown]
# ## 4. BatchNorm on a batch of four, drawn with the paper's clusters
# Alg. 1 written with engine operations; each node carries the paper's symbol. A
# random upstream gradient dy probes it: with ℓ = Σ y_i every ∂ℓ/∂x_i would be 0.

# %%
bn = BatchNorm1d(1)
xs = [[Value(v, label=f"x{s}")] for v, s in zip([1.0, 2.0, 4.0, 7.0], "₁₂₃₄")]
dy = [0.5, -1.0, 0.25, 0.75]
ys = bn(xs)
loss = Value.dot([row[0] for row in ys], dy)
loss.label = "ℓ"
loss.backward()
show(draw(loss, groups=bn.graph_groups(), grad_view=True), "tour_4_batchnorm")

# %% [markdown]
# ## 5. Step through it, and read μ_B's and σ²_B's gradients beside Sec. 3
# ∂ℓ/∂σ²_B = Σ_i ∂ℓ/∂x̂_i · (x_i − μ_B) · (−1/2)(σ²_B + ε)^(−3/2)
# ∂ℓ/∂μ_B  = Σ_i ∂ℓ/∂x̂_i · (−1/√(σ²_B + ε)) + ∂ℓ/∂σ²_B · Σ_i −2(x_i − μ_B) / m

# %%
steps = list(backward_steps(loss))  # a second pass: gradients now hold twice one pass
nodes = bn.last[0]
for step in steps:
    if step.node is nodes.var or step.node is nodes.mean:
        print(f"step {step.number}: {step.node.label} receives ∂ℓ/∂{step.node.label} = {step.grad:.10f}")
x_np, dy_np = np.array([[r[0].data] for r in xs]), np.array([[d] for d in dy])
paper = ref.backward(dy_np, x_np, np.ones(1), bn.eps)
print(f"Sec. 3 closed form:  ∂ℓ/∂σ²_B = {paper['dvar'][0]:.10f},  ∂ℓ/∂μ_B = {paper['dmean'][0]:.10f}")

# %% [markdown]
# ## 6. The comparison table: autodiff, the closed form, finite differences (and PyTorch)
# The same check for every quantity of Sec. 3, on a random batch of 8 with 3 features.

# %%
print(format_table(compare(batch=8, features=3, seed=0)))
