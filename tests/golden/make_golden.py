"""Make tests/golden/batchnorm.json and layernorm.json with PyTorch (float64): run once, commit the output.

    pip install torch==2.13.0 && python tests/golden/make_golden.py

The tests read the JSON, so they need no torch; where torch is installed they also
re-run cases live (tests/test_batchnorm.py, tests/test_layernorm.py). BatchNorm's inputs
match shared/reference/golden.md; LayerNorm normalizes the rows of the same x (N = 4 ≠ C = 3,
so a transposed result cannot pass).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

X = [[1.0, 2.0, -1.0], [0.5, -1.0, 3.0], [2.0, 0.0, 0.5], [-1.5, 1.0, 2.0]]
DY = [[0.3, -0.2, 0.5], [-0.7, 0.4, 0.1], [0.2, 0.9, -0.6], [0.5, -0.3, 0.8]]
GAMMA, BETA = [1.5, -0.5, 2.0], [0.1, 0.2, -0.3]
BATCHES = [
    [[0.0, 1.0, 2.0], [3.0, -2.0, 1.0], [1.0, 1.0, -1.0], [-2.0, 0.5, 0.0]],
    [[2.0, -1.0, 0.5], [1.0, 0.0, 1.5], [-1.0, 2.0, 2.5], [0.0, 1.0, -0.5]],
]
X_EVAL = [[0.5, 0.5, 0.5], [1.0, -1.0, 2.0]]

X2 = [[[[1.0, -2.0], [0.5, 3.0]], [[2.0, 2.5], [-1.0, 0.0]]], [[[0.0, 1.5], [-0.5, 2.0]], [[1.0, -3.0], [4.0, 0.5]]]]
DY2 = [[[[0.1, -0.4], [0.3, 0.2]], [[-0.5, 0.6], [0.7, -0.1]]], [[[0.9, -0.2], [0.0, -0.3]], [[0.2, 0.4], [-0.8, 0.3]]]]
GAMMA2, BETA2 = [1.2, -0.7], [0.05, -0.1]


def t(data, grad: bool = False) -> torch.Tensor:
    return torch.tensor(data, dtype=torch.float64, requires_grad=grad)


def step(layer: torch.nn.Module, x, dy, gamma, beta) -> dict:
    """Set γ and β (if the layer has them), forward x, backward ℓ = Σ y·dy: y, dx, dgamma, dbeta."""
    layer = layer.double()
    if layer.weight is not None:
        with torch.no_grad():
            layer.weight.copy_(t(gamma))
            layer.bias.copy_(t(beta))
    xt = t(x, grad=True)
    y = layer(xt)
    (y * t(dy)).sum().backward()
    out = {"y": y.tolist(), "dx": xt.grad.tolist()}
    if layer.weight is not None:
        out |= {"dgamma": layer.weight.grad.tolist(), "dbeta": layer.bias.grad.tolist()}
    return out


def run(layer: torch.nn.Module, x, dy, gamma, beta, later_batches, x_eval) -> dict:
    """Train on x (backward with dy), then on each later batch, then eval on x_eval."""
    out = step(layer, x, dy, gamma, beta)
    out |= {"running_mean_1": layer.running_mean.tolist(), "running_var_1": layer.running_var.tolist()}
    with torch.no_grad():
        for b in later_batches:
            layer(t(b))
        out["running_mean"] = layer.running_mean.tolist()
        out["running_var"] = layer.running_var.tolist()
        out["num_batches_tracked"] = int(layer.num_batches_tracked)
        if x_eval is not None:
            out["eval_y"] = layer.eval()(t(x_eval)).tolist()
    return out


def layernorm_cases() -> dict:
    return {
        "inputs": {"x": X, "dy": DY, "gamma": GAMMA, "beta": BETA},
        "torch_version": torch.__version__,
        "affine": step(torch.nn.LayerNorm(3), X, DY, GAMMA, BETA),
        "no_affine": step(torch.nn.LayerNorm(3, elementwise_affine=False), X, DY, GAMMA, BETA),
        "batch_of_1": step(torch.nn.LayerNorm(3), X[:1], DY[:1], GAMMA, BETA),
    }


def main() -> None:
    cases = {
        "inputs": {"x": X, "dy": DY, "gamma": GAMMA, "beta": BETA, "batches": BATCHES, "x_eval": X_EVAL},
        "inputs_2d": {"x": X2, "dy": DY2, "gamma": GAMMA2, "beta": BETA2},
        "torch_version": torch.__version__,
    }
    for momentum in (0.1, None):
        key = f"bn1d_momentum_{momentum}"
        cases[key] = run(torch.nn.BatchNorm1d(3, momentum=momentum), X, DY, GAMMA, BETA, BATCHES, X_EVAL)
    cases["bn2d_momentum_0.1"] = run(torch.nn.BatchNorm2d(2), X2, DY2, GAMMA2, BETA2, [], None)
    for name, data in (("batchnorm.json", cases), ("layernorm.json", layernorm_cases())):
        path = Path(__file__).with_name(name)
        path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
