"""Reference implementations for a4_vanishing_gradients: gradient norms per layer, clipping,
a residual block and the Xavier/He initialisers. Built from the a2 layers, not re-typed."""

import numpy as np

from .layers import Affine, ReLU, Sigmoid, Tanh

ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU}


def layer_grad_norms(x, weights, activation):
    """h_k = act(h_{k-1} @ W_k), loss = 0.5 * sum(h_L^2) / N; returns ||dloss/dW_k||_F, k = 1..L."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}.")
    acts = [ACTIVATIONS[activation]() for _ in weights]
    hs = [x]
    for W, act in zip(weights, acts):
        hs.append(act.forward(hs[-1] @ W))
    dh = hs[-1] / x.shape[0]
    norms = []
    for k in range(len(weights) - 1, -1, -1):
        dz = acts[k].backward(dh)
        norms.append(np.linalg.norm(hs[k].T @ dz))
        dh = dz @ weights[k].T
    return np.array(norms[::-1])


def clip_grad_norm(grads, max_norm):
    """Scale all arrays together so that their joint L2 norm is at most max_norm."""
    total_norm = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return [g * scale for g in grads], total_norm


class ResidualBlock:
    """out = x + relu(x @ W1 + b1) @ W2 + b2: the skip path hands dout straight back to x."""

    def __init__(self, W1, b1, W2, b2):
        self.W1, self.b1, self.W2, self.b2 = W1, b1, W2, b2

    def forward(self, x):
        self._fc1, self._relu, self._fc2 = Affine(self.W1, self.b1), ReLU(), Affine(self.W2, self.b2)
        return x + self._fc2.forward(self._relu.forward(self._fc1.forward(x)))

    def backward(self, dout):
        dbranch = self._fc1.backward(self._relu.backward(self._fc2.backward(dout)))
        self.dW1, self.db1 = self._fc1.dW, self._fc1.db
        self.dW2, self.db2 = self._fc2.dW, self._fc2.db
        return dout + dbranch  # the identity path and the branch both reach x: add them


def xavier_init(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / (fan_in + fan_out))


def he_init(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
