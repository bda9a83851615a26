"""Make tests/golden/batchnorm.json, layernorm.json, rmsnorm.json and groupnorm.json with PyTorch
(float64): run once, commit the output.

    pip install torch==2.13.0 numpy && python tests/golden/make_golden.py

The tests read the JSON, so they need no torch; where torch is installed they also
re-run cases live (tests/test_batchnorm.py, tests/test_layernorm.py, tests/test_rmsnorm.py,
tests/test_groupnorm.py). BatchNorm's inputs match shared/reference/golden.md; LayerNorm and
RMSNorm normalize the rows of the same x (N = 4 ≠ C = 3, so a transposed result cannot pass).
RMSNorm's and GroupNorm's other cases are random (seeded), with their inputs in each case:
RMSNorm with torch's default eps (None: finfo(float64).eps) and eps=1e-5, C = 1, x far from 0;
GroupNorm on (N, C) and (N, C, H, W), G = 1 (LayerNorm over C, H, W), G = C (InstanceNorm),
without affine, and with a large eps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
    params = [
        (name, p, v) for name, v in (("weight", gamma), ("bias", beta)) if (p := getattr(layer, name, None)) is not None
    ]
    with torch.no_grad():
        for _, p, v in params:
            p.copy_(t(v))
    xt = t(x, grad=True)
    y = layer(xt)
    (y * t(dy)).sum().backward()
    out = {"y": y.tolist(), "dx": xt.grad.tolist()}
    grads = {"weight": "dgamma", "bias": "dbeta"}
    return out | {grads[name]: p.grad.tolist() for name, p, _ in params}


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


def random_case(rng: np.random.Generator, shape: tuple[int, ...], offset: float = 0.0) -> dict:
    """x (scale 2, shifted by `offset`), dy, and γ, β one per feature or channel (axis 1), none of them 0 or 1."""
    c = shape[1]
    x = rng.normal(size=shape) * 2.0 + offset
    return {
        "x": x.tolist(),
        "dy": rng.normal(size=shape).tolist(),
        "gamma": (rng.normal(size=c) + 0.5).tolist(),
        "beta": rng.normal(size=c).tolist(),
    }


def with_inputs(case: dict, layer: torch.nn.Module, **settings) -> dict:
    """The case's inputs and `settings`, then torch's y and gradients."""
    return {**case, **settings, **step(layer, case["x"], case["dy"], case["gamma"], case["beta"])}


def rmsnorm_cases() -> dict:
    rng = np.random.default_rng(1910_07467)
    first = {"x": X, "dy": DY, "gamma": GAMMA, "beta": None}
    cases = {"torch_version": torch.__version__}
    cases["default_eps"] = with_inputs(first, torch.nn.RMSNorm(3), eps=None, elementwise_affine=True)
    cases["eps_1e-5"] = with_inputs(first, torch.nn.RMSNorm(3, eps=1e-5), eps=1e-5, elementwise_affine=True)
    cases["no_affine"] = with_inputs(
        first, torch.nn.RMSNorm(3, elementwise_affine=False), eps=None, elementwise_affine=False
    )
    one = {"x": X[:1], "dy": DY[:1], "gamma": GAMMA, "beta": None}
    cases["batch_of_1"] = with_inputs(one, torch.nn.RMSNorm(3), eps=None, elementwise_affine=True)
    for name, shape, offset in (("wide", (3, 8), 0.0), ("offset_5", (2, 5), 5.0), ("one_feature", (3, 1), 0.0)):
        case = {**random_case(rng, shape, offset), "beta": None}
        cases[name] = with_inputs(case, torch.nn.RMSNorm(shape[1], eps=1e-5), eps=1e-5, elementwise_affine=True)
    return cases


def groupnorm_cases() -> dict:
    rng = np.random.default_rng(1803_08494)
    cases = {"torch_version": torch.__version__}
    for name, shape, groups, eps, affine in (
        ("2d_g2", (4, 4), 2, 1e-5, True),
        ("4d_g3", (2, 6, 2, 3), 3, 1e-5, True),
        ("4d_g1_layernorm", (2, 4, 2, 2), 1, 1e-5, True),
        ("4d_instance", (2, 3, 2, 2), 3, 1e-5, True),
        ("4d_no_affine", (2, 4, 3, 1), 2, 1e-5, False),
        ("2d_eps_0.1", (3, 6), 3, 0.1, True),
    ):
        layer = torch.nn.GroupNorm(groups, shape[1], eps=eps, affine=affine)
        cases[name] = with_inputs(random_case(rng, shape, 1.0), layer, num_groups=groups, eps=eps, affine=affine)
    return cases


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
    for name, data in (
        ("batchnorm.json", cases),
        ("layernorm.json", layernorm_cases()),
        ("rmsnorm.json", rmsnorm_cases()),
        ("groupnorm.json", groupnorm_cases()),
    ):
        path = Path(__file__).with_name(name)
        path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
