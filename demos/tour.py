# %% [markdown]
# # A guided tour of micrograd_bn
#
# From a small expression to Batch Normalization's gradients, read off the graph and set
# beside the paper's equations (Ioffe & Szegedy 2015, arXiv 1502.03167, Alg. 1 and Sec. 3).
#
# Read it as a notebook (`demos/tour.ipynb`, this file run with its outputs: every graph
# inline), step through it cell by cell (Jupyter or any editor that runs `# %%` cells), or run
# it whole: `python demos/tour.py` prints each step; `--out DIR` also writes the graphs there
# as SVG. The notebook writes nothing.

# %%
from __future__ import annotations

import sys
from pathlib import Path

import graphviz
import numpy as np

from micrograd_bn import BatchNorm1d, StepThrough, Value, backward_steps, draw, render, upstream_loss, zero_grad
from micrograd_bn import reference as ref
from micrograd_bn.check import check_backward
from micrograd_bn.compare import compare, format_table
from micrograd_bn.trace import format_steps

IN_SCRIPT = __name__ == "__main__" and "ipykernel" not in sys.modules
OUT: Path | None = None  # where a script run writes the graphs; None: nowhere
if IN_SCRIPT:  # a bad option: one line and exit code 2, as in every demo (demos/ is on sys.path)
    from _common import DemoParser, demo_name

    parser = DemoParser(prog=demo_name("tour"), description="A guided tour of micrograd_bn", say_engine=False)
    parser.add_argument("--out", type=Path, help="also write each graph into this folder as SVG")
    OUT = parser.parse_args().out


def picture(graph: graphviz.Digraph, name: str) -> graphviz.Digraph:
    """The graph itself, so that a notebook cell ending with it shows it inline; with --out, also an SVG."""
    if OUT is not None:
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"  picture: {render(graph, OUT / f'{name}.svg')}")
    return graph


# %% [markdown]
# ## 1. A tiny expression, drawn before and after backward()
# One neuron: y = tanh(w·x + b). Each box is one `Value` (label, data, gradient), each oval
# the operation that made it. Before `backward()` the graph says "grad: not computed",
# not 0, which would be a claim.

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
picture(draw(y), "tour_1_before_backward")

# %% [markdown]
# After `y.backward()` every node holds ∂y/∂node: here ∂y/∂w = x·(1 − y²).

# %%
y.backward()
print(f"y = {y.data:.4f};  ∂y/∂w = {w.grad:.4f} (= x·(1 − y²) = {x.data * (1 - y.data**2):.4f})")
picture(draw(y), "tour_1_after_backward")

# %% [markdown]
# ## 2. The backward pass, one node at a time
# `backward_steps` is `backward()` as a generator: each step takes one node's finished
# gradient and sends `local derivative × upstream gradient` to each input. Like
# `backward()` it adds into `.grad`, so the gradients of section 1 are zeroed first.

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
# Alg. 1, written with engine operations, each node labelled with the paper's symbol:
#
# $$\mu_B = \frac{1}{m}\sum_{i=1}^m x_i \qquad
# \sigma^2_B = \frac{1}{m}\sum_{i=1}^m (x_i - \mu_B)^2 \qquad
# \hat x_i = \frac{x_i - \mu_B}{\sqrt{\sigma^2_B + \epsilon}} \qquad
# y_i = \gamma \hat x_i + \beta$$
#
# A random upstream gradient dy probes it through ℓ = Σ_i y_i·dy_i: with ℓ = Σ_i y_i every
# ∂ℓ/∂x_i would be 0 and prove nothing. The colours and edge widths show where the gradient flows.

# %%
bn = BatchNorm1d(1)
xs = [[Value(v, label=f"x{s}")] for v, s in zip([1.0, 2.0, 4.0, 7.0], "₁₂₃₄")]
dy = [[0.5], [-1.0], [0.25], [0.75]]
ys = bn(xs)
loss = upstream_loss(ys, dy)  # ℓ = Σ_i y_i·dy_i, labelled ℓ
loss.backward()
picture(draw(loss, groups=bn.graph_groups(), grad_view=True), "tour_4_batchnorm")

# %% [markdown]
# The same backward pass, one node at a time, in the step-through viewer: ◀ ▶ (or ← →) step,
# Home and End jump to either end, ▶ plays. A node's gradient fills in term by term ("k of n
# terms") until it is complete; the detail pane shows each chain-rule term three ways: the
# symbols, the op's local-derivative rule with the numbers put in, and the product.
# (`micrograd-bn graph --html PAGE` writes the same viewer as a page.)

# %%
StepThrough(loss, groups=bn.graph_groups())

# %% [markdown]
# ## 5. Step through it, and read μ_B's and σ²_B's gradients beside Sec. 3
# The paper's backward pass (Sec. 3), which `backward()` never sees: it only applies the chain rule.
#
# $$\frac{\partial \ell}{\partial \hat x_i} = \frac{\partial \ell}{\partial y_i}\cdot\gamma$$
#
# $$\frac{\partial \ell}{\partial \sigma^2_B} = \sum_{i=1}^m \frac{\partial \ell}{\partial \hat x_i}
# \cdot (x_i - \mu_B) \cdot \frac{-1}{2}\left(\sigma^2_B + \epsilon\right)^{-3/2}$$
#
# $$\frac{\partial \ell}{\partial \mu_B} = \left(\sum_{i=1}^m \frac{\partial \ell}{\partial \hat x_i}
# \cdot \frac{-1}{\sqrt{\sigma^2_B + \epsilon}}\right)
# + \frac{\partial \ell}{\partial \sigma^2_B} \cdot \frac{\sum_{i=1}^m -2(x_i - \mu_B)}{m}$$
#
# $$\frac{\partial \ell}{\partial x_i} = \frac{\partial \ell}{\partial \hat x_i}
# \cdot \frac{1}{\sqrt{\sigma^2_B + \epsilon}}
# + \frac{\partial \ell}{\partial \sigma^2_B} \cdot \frac{2(x_i - \mu_B)}{m}
# + \frac{\partial \ell}{\partial \mu_B} \cdot \frac{1}{m}$$
#
# $$\frac{\partial \ell}{\partial \gamma} = \sum_{i=1}^m \frac{\partial \ell}{\partial y_i} \cdot \hat x_i
# \qquad \frac{\partial \ell}{\partial \beta} = \sum_{i=1}^m \frac{\partial \ell}{\partial y_i}$$
#
# Section 4 already ran `backward()`, and gradients add up across passes (as in PyTorch), so
# they are zeroed before stepping through the pass again: without `zero_grad`, every `.grad`
# would read twice the closed form.

# %%
zero_grad(loss)
steps = list(backward_steps(loss))
nodes = bn.last[0]
for step in steps:
    if step.node is nodes.var or step.node is nodes.mean:
        print(f"step {step.number}: {step.node.label} receives ∂ℓ/∂{step.node.label} = {step.grad:.10f}")
x_np, dy_np = np.array([[r[0].data] for r in xs]), np.array(dy)
paper = ref.backward(dy_np, x_np, np.ones(1), bn.eps)
print(f"Sec. 3 closed form:  ∂ℓ/∂σ²_B = {paper['dvar'][0]:.10f},  ∂ℓ/∂μ_B = {paper['dmean'][0]:.10f}")
print(f"after one pass, .grad:  σ²_B {nodes.var.grad:.10f},  μ_B {nodes.mean.grad:.10f}")

# %% [markdown]
# ### Derive it yourself
# Now write these equations yourself, in NumPy: `batchnorm_backward(dy, x, gamma, eps)` returns
# a dict of the quantities above (`dx_hat`, `dvar`, `dmean`, `dx`, `dgamma`, `dbeta`; leave out
# what you have not done yet). `check_backward` grades it against autodiff on cases a careless
# derivation cannot pass by luck, and says where it first goes wrong and what is wrong there.
# This attempt is wrong on purpose: its ∂ℓ/∂σ²_B has the exponent −1/2 where Sec. 3 has −3/2.
# (`micrograd-bn exercise` writes a template to fill in; `micrograd-bn check FILE` grades it.)


# %%
def batchnorm_backward(dy, x, gamma, eps):
    mu, var = x.mean(axis=0), x.var(axis=0)  # μ_B and σ²_B (biased: 1/m), Alg. 1 lines 1–2
    dx_hat = dy * gamma
    dvar = (dx_hat * (x - mu)).sum(axis=0) * -0.5 * (var + eps) ** -0.5  # wrong on purpose: −3/2
    return {"dx_hat": dx_hat, "dvar": dvar}


print(check_backward(batchnorm_backward))

# %% [markdown]
# ## 6. The comparison table: autodiff, the closed form, finite differences (and PyTorch)
# The same check for every quantity of Sec. 3, on a random batch of 8 with 3 features.

# %%
print(format_table(compare(batch=8, features=3, seed=0)))
