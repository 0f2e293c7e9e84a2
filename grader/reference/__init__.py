"""The one reference implementation of every entity in the exercise contract.

Tests and hidden checks import from here; nothing re-types these. Each module answers one
assignment. Students never get them: the lectures teach with their own code, and the lecture
tests check every number a lecture shows against these.
"""

from .deep import ResidualBlock, clip_grad_norm, he_init, layer_grad_norms, xavier_init
from .engine import Value, seed_graph, topological_order
from .layers import (
    Affine,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
    numerical_jacobian,
    sgd_step,
)
from .scalar import (
    AddGate,
    ExpGate,
    MaxGate,
    MultiplyGate,
    ReciprocalGate,
    ScaleGate,
    ShiftGate,
    SigmoidGate,
    chain_backward,
    chain_forward,
    circuit_backward,
    neuron_backward,
    sigmoid,
    staged_backward,
)

__all__ = [
    "AddGate",
    "Affine",
    "ExpGate",
    "MSELoss",
    "MaxGate",
    "MultiplyGate",
    "ReLU",
    "ReciprocalGate",
    "ResidualBlock",
    "ScaleGate",
    "Sequential",
    "ShiftGate",
    "Sigmoid",
    "SigmoidGate",
    "SoftmaxCrossEntropy",
    "Tanh",
    "Value",
    "chain_backward",
    "chain_forward",
    "circuit_backward",
    "clip_grad_norm",
    "he_init",
    "layer_grad_norms",
    "neuron_backward",
    "numerical_jacobian",
    "seed_graph",
    "sgd_step",
    "sigmoid",
    "staged_backward",
    "topological_order",
    "xavier_init",
]
