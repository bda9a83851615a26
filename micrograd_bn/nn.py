"""Neural-network building blocks on `Value`, named after PyTorch's `torch.nn`.

Every module takes a *batch*: a list of rows (one row per example, a list of Values or
numbers) and returns a batch. `Module` gives `parameters()`, `zero_grad()`, `train()`
and `eval()`; child modules (attributes, or lists of them) follow their parent's mode.

References: PyTorch `torch.nn` (names and initialisation); micrograd's `nn.py`.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from numbers import Real

from .engine import DotOp, Value
from .text import SUBSCRIPT

Batch = list[list[Value]]


class Module:
    """Base class: finds parameters and child modules among the attributes.

    >>> net = Sequential(Linear(2, 3, seed=0), Tanh(), Linear(3, 1, seed=1))
    >>> len(net.parameters()), net.eval().training
    (13, False)
    """

    training: bool = True
    absorbs_bias: bool = False  # True where adding a constant to each input feature leaves the output alone

    def children(self) -> Iterator[Module]:
        for value in vars(self).values():
            items = value if isinstance(value, (list, tuple)) else [value]
            yield from (m for m in items if isinstance(m, Module))

    def parameters(self) -> list[Value]:
        """The trainable Values of this module and its children, in a fixed order."""
        params = []
        for value in vars(self).values():
            if isinstance(value, Value):
                params.append(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, Value):
                        params.append(item)
                    elif isinstance(item, (list, tuple)):
                        params.extend(v for v in item if isinstance(v, Value))
                    elif isinstance(item, Module):
                        params.extend(item.parameters())
            elif isinstance(value, Module):
                params.extend(value.parameters())
        return params

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to 0 (gradients accumulate otherwise)."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every child module; returns self."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Inference mode (`train(False)`): BatchNorm then uses its running statistics."""
        return self.train(False)

    def __call__(self, batch: Sequence) -> Batch:
        return self.forward(batch)

    def forward(self, batch: Sequence) -> Batch:
        raise NotImplementedError


def check_batch(batch: Sequence, features: int, where: str) -> None:
    """Raise ValueError unless `batch` is a non-empty list of rows of `features` entries.

    >>> check_batch([[1.0], [2.0, 3.0]], 1, "Linear")
    Traceback (most recent call last):
    ValueError: Linear: row 1 has 2 entries; expected 1 feature per row
    """
    if not isinstance(batch, (list, tuple)):
        tolist = "; pass nested lists instead (array.tolist())" if hasattr(batch, "tolist") else ""
        raise ValueError(f"{where}: a batch is a list of rows (nested lists), got {type(batch).__name__}{tolist}")
    if not batch:
        raise ValueError(f"{where}: expected a non-empty batch (a list of rows), got {batch!r:.60}")
    for i, row in enumerate(batch):
        if not isinstance(row, (list, tuple)):
            wrap = "wrap a flat list as [[v] for v in values]" if features == 1 else "one list per example"
            raise ValueError(
                f"{where}: row {i} is a {type(row).__name__}, not a row: "
                f"each row is a list of {_count(features, 'entry', 'entries')}; {wrap}"
            )
        if len(row) != features:
            raise ValueError(
                f"{where}: row {i} has {_count(len(row), 'entry', 'entries')}; "
                f"expected {_count(features, 'feature', 'features')} per row"
            )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class Linear(Module):
    """y = x Wᵀ + b, one fused node per output (`Value.dot`), as `torch.nn.Linear`.

    Weights and bias start uniform in ±1/√in_features (PyTorch's default), drawn from
    `random.Random(seed)`, so a seed fixes the network. `weight[j][i]` connects input i
    to output j, and is labelled W[j,i] in drawings (bias[j]: b[j]; indices from 0, as
    features are); `name` follows W and b, to tell layers apart (MLP's: W₁, W₂, …).
    `bias=False` drops b, as before BatchNorm (Sec. 3.2: β takes its role).

    >>> layer = Linear(2, 3, seed=0, name="₁")
    >>> layer.weight[2][1].label, layer.bias[2].label
    ('W₁[2,1]', 'b₁[2]')
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, seed: int | None = None, name: str = ""
    ) -> None:
        rng = random.Random(seed)
        bound = 1.0 / math.sqrt(in_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = [
            [Value(rng.uniform(-bound, bound), f"W{name}[{j},{i}]") for i in range(in_features)]
            for j in range(out_features)
        ]
        self.bias = [Value(rng.uniform(-bound, bound), f"b{name}[{j}]") for j in range(out_features)] if bias else None

    def forward(self, batch: Sequence) -> Batch:
        check_batch(batch, self.in_features, "Linear")
        bias = self.bias or [None] * self.out_features
        return [[Value.dot(w, row, b) for w, b in zip(self.weight, bias)] for row in batch]


class _Elementwise(Module):
    fn: Callable[[Value], Value]

    def forward(self, batch: Sequence) -> Batch:
        return [[type(self).fn(x) for x in row] for row in batch]


class Tanh(_Elementwise):
    fn = Value.tanh


class Sigmoid(_Elementwise):
    fn = Value.sigmoid


class ReLU(_Elementwise):
    fn = Value.relu


ACTIVATIONS: dict[str, type[Module]] = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU}


class Dropout(Module):
    """Inverted dropout, as `torch.nn.Dropout`: in training, each entry is zeroed with probability p.

    The kept entries are scaled by 1/(1 − p), so an entry's expected value is unchanged and
    `eval()` is the identity (it returns the very same Values). The mask is drawn afresh on each
    training call from the layer's own `random.Random(seed)`, so a seed makes a demo repeatable.
    As in PyTorch, p = 0 is the identity and p = 1 zeroes every entry in training.

    >>> drop = Dropout(0.5, seed=0)
    >>> [v.data for v in drop([[Value(1.0), Value(2.0), Value(3.0), Value(4.0)]])[0]]
    [2.0, 4.0, 0.0, 0.0]
    >>> x = [[Value(1.0)]]
    >>> drop.eval()(x)[0][0] is x[0][0]
    True
    """

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, Real) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is the probability of zeroing an entry, a number in [0, 1]; got {p!r}")
        self.p = float(p)
        self.rng = random.Random(seed)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"

    def forward(self, batch: Sequence) -> Batch:
        if not self.training or self.p == 0.0:
            return [list(row) for row in batch]
        keep = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0  # the scale of a kept entry
        # x · mask/(1 − p): a zeroed entry is x·0, so its gradient to x is 0 (as PyTorch's)
        return [[x * (0.0 if self.rng.random() < self.p else keep) for x in row] for row in batch]


class Sequential(Module):
    """Apply modules one after another."""

    def __init__(self, *layers: Module) -> None:
        self.layers = list(layers)

    def forward(self, batch: Sequence) -> Batch:
        for layer in self.layers:
            batch = layer(batch)
        return batch


class MLP(Sequential):
    """A multi-layer perceptron: Linear → [norm] → activation for each hidden layer.

    `norm`, if given, is a layer class called with the width (e.g. `BatchNorm1d`);
    it then stands between each hidden Linear and its activation. Where the norm
    absorbs a bias (`absorbs_bias`: BatchNorm's mean subtraction cancels it and β takes
    its role, Sec. 3.2) the hidden Linear drops its own; LayerNorm does not, so it keeps
    it. The last layer is linear.

    >>> net = MLP([2, 4, 1], activation="sigmoid", seed=0)
    >>> len(net([[0.5, -1.0], [1.0, 2.0]]))
    2
    """

    def __init__(
        self, sizes: Sequence[int], activation: str = "tanh", norm: Callable[[int], Module] | None = None, seed: int = 0
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        layers: list[Module] = []
        for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            last = k == len(sizes) - 2
            bias = last or not getattr(norm, "absorbs_bias", False)
            layers.append(Linear(n_in, n_out, bias=bias, seed=seed * 1000 + k, name=str(k + 1).translate(SUBSCRIPT)))
            if not last:
                if norm is not None:
                    layers.append(norm(n_out))
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)


def flatten(batch: object) -> list:
    """The entries of a batch (nested lists or tuples, any depth), in order.

    >>> flatten([[1.0, 2.0], [[3.0]]])
    [1.0, 2.0, 3.0]
    """
    if isinstance(batch, (list, tuple)):
        return [entry for item in batch for entry in flatten(item)]
    return [batch]


UPSTREAM = DotOp("Σ y·dy", x_values=False, bias=False)  # ℓ's operation, as the paper writes the probe


def upstream_loss(outputs: Sequence, dy: Sequence) -> Value:
    """ℓ = Σ_i y_i·dy_i, labelled "ℓ": a loss whose gradient ∂ℓ/∂y is the given dy (one node).

    Use a random dy: with ℓ = Σ_i y_i (dy = 1) the normalized outputs of BatchNorm sum to a
    constant, so every ∂ℓ/∂x_i would be 0 and prove nothing. `outputs` and `dy` are batches
    of the same shape (nested lists), dy of numbers.

    >>> y = [[Value(1.0), Value(2.0)]]
    >>> loss = upstream_loss(y, [[0.5, -1.0]]); loss.backward()
    >>> loss.data, y[0][1].grad, loss.op.name
    (-1.5, -1.0, 'Σ y·dy')
    """
    ys, dys = flatten(outputs), flatten(dy)
    if len(ys) != len(dys):
        raise ValueError(f"upstream_loss: {len(ys)} outputs but {len(dys)} entries of dy; give dy the outputs' shape")
    loss = Value.dot(ys, dys)
    loss.op, loss.label = UPSTREAM, "ℓ"
    return loss


def mse_loss(pred: Batch, target: Sequence[Sequence[float]]) -> Value:
    """Mean of (pred − target)² over every entry (one Σ node)."""
    if len(pred) != len(target):
        raise ValueError(f"mse_loss: {len(pred)} predictions but {len(target)} targets")
    terms = [(p - t) ** 2 for prow, trow in zip(pred, target) for p, t in zip(prow, trow, strict=True)]
    return Value.sum(terms) / len(terms)


def cross_entropy(logits: Batch, labels: Sequence[int]) -> Value:
    """Mean over the batch of −log softmax(logits)[label], computed stably."""
    if len(logits) != len(labels):
        raise ValueError(f"cross_entropy: {len(logits)} rows of logits but {len(labels)} labels")
    losses = []
    for row, label in zip(logits, labels):
        shift = max(z.data for z in row)  # a constant: softmax is unchanged by it
        log_norm = Value.sum([(z - shift).exp() for z in row]).log()
        losses.append(log_norm - (row[label] - shift))
    return Value.sum(losses) / len(losses)


class SGD:
    """Plain stochastic gradient descent: p ← p − lr · ∂ℓ/∂p."""

    def __init__(self, params: Sequence[Value], lr: float) -> None:
        if not lr > 0:
            raise ValueError(f"SGD: learning rate must be positive, got {lr!r}")
        self.params, self.lr = list(params), lr

    def step(self) -> None:
        for p in self.params:
            p.data -= self.lr * p.grad

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0
