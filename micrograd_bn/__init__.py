"""micrograd_bn: Batch Normalization (Ioffe & Szegedy, 2015) on a scalar autodiff engine."""

from .batchnorm import BatchNorm1d, BatchNorm2d, LayerNorm
from .drawing import draw, module_nodes, render
from .engine import Value, gc_paused, topological_order, zero_grad
from .nn import MLP, SGD, Dropout, Linear, Module, ReLU, Sequential, Sigmoid, Tanh, cross_entropy, mse_loss
from .page import StepThrough
from .trace import backward_steps

__all__ = [
    "MLP",
    "SGD",
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout",
    "LayerNorm",
    "Linear",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "StepThrough",
    "Tanh",
    "Value",
    "backward_steps",
    "cross_entropy",
    "draw",
    "gc_paused",
    "module_nodes",
    "mse_loss",
    "render",
    "topological_order",
    "zero_grad",
]
__version__ = "0.1.0"
