"""Reference implementations for a2_vector_backprop: the numerical Jacobian, layers, losses,
Sequential and SGD.

Mini-batches have examples in rows: x has shape (N, D). backward(dout) returns the gradient
for the input and stores parameter gradients on the layer. Nothing mutates its inputs.
"""

import numpy as np

from course.activations import sigmoid  # plain math, not an answer


def numerical_jacobian(f, x, h=1e-5):
    """Central-difference Jacobian of f at x in numerator layout: J[i, j] = d y_i / d x_j with
    y = f(x), x and y flattened in C order; shape (y.size, x.size). f is evaluated at shifted
    copies, so x is never written."""
    x = np.asarray(x, dtype=float)
    jac = np.zeros((np.size(f(x)), x.size))
    for j, idx in enumerate(np.ndindex(x.shape)):
        step = np.zeros(x.shape)
        step[idx] = h
        jac[:, j] = (np.ravel(f(x + step)) - np.ravel(f(x - step))) / (2 * h)
    return jac


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        # Shapes decide the formulas: dx (N,D) = dout (N,M) @ W.T (M,D); dW (D,M) = x.T @ dout.
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)  # b was broadcast over the batch, so its gradient is summed
        return dout @ self.W.T


class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return np.where(self.mask, x, 0.0)

    def backward(self, dout):
        return np.where(self.mask, dout, 0.0)  # the mask comes from the input, not from dout


class Sigmoid:
    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)


class Tanh:
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out**2)


class SoftmaxCrossEntropy:
    def forward(self, scores, y):
        shifted = scores - scores.max(axis=1, keepdims=True)  # stable for large scores
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.probs, self.y = np.exp(log_probs), np.asarray(y)
        return float(-log_probs[np.arange(len(self.y)), self.y].mean())

    def backward(self, dout=1.0):
        N = len(self.y)
        dscores = self.probs.copy()
        dscores[np.arange(N), self.y] -= 1.0  # softmax - onehot(y)
        return dscores * (dout / N)  # the loss is a batch mean


class MSELoss:
    def forward(self, pred, target):
        self.diff = pred - target
        return float(0.5 * np.sum(self.diff**2) / pred.shape[0])

    def backward(self, dout=1.0):
        return self.diff * (dout / self.diff.shape[0])


class Sequential:
    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout


def sgd_step(model, lr):
    """W -= lr * dW and b -= lr * db in place for every layer of a Sequential that has them."""
    for layer in model.layers:
        for name in ("W", "b"):
            if hasattr(layer, name) and hasattr(layer, "d" + name):
                getattr(layer, name)[...] -= lr * getattr(layer, "d" + name)
