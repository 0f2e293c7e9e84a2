"""The project's one gradient checker (after CS231n's gradient_check.py): small helpers, one job each.

Check a backward with a *random* upstream gradient: with dout = ones, a backward that sums over
the wrong axis still passes when the two axes have the same length (db = dout.sum(axis=1) for a
batch of N = M examples gives the same N * ones as dout.sum(axis=0)); a random dout exposes it.
"""

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar function f at the float array x.

    x is perturbed in place one entry at a time and restored, so f may read x directly or
    through a closure (e.g. a layer's weight matrix); x holds its original values afterwards.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError("numerical_gradient needs x as a float64 numpy array; "
                        "convert it with np.asarray(x, dtype=float) first.")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + h
            f_plus = float(f(x))
            x[idx] = old - h
            f_minus = float(f(x))
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_derivative(f, x, h=1e-5):
    """Central difference (f(x + h) - f(x - h)) / 2h of a function of one float."""
    x = float(x)
    return (float(f(x + h)) - float(f(x - h))) / (2 * h)


def numerical_vjp(f, x, dout, h=1e-5):
    """Numerical vector-Jacobian product: the gradient of sum(f(x) * dout) with respect to x."""
    return numerical_gradient(lambda x_: np.sum(np.asarray(f(x_)) * dout), x, h)


def rel_error(a, b):
    """Largest elementwise relative error |a - b| / max(|a| + |b|, 1e-8)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_gradient(f, x, analytic, *, rng=None, h=1e-5):
    """Relative error between a backward and central differences, with a random upstream gradient.

    f(x) runs the forward; analytic(dout) must return the analytic gradient with respect to x
    (for example ``layer.backward`` or ``lambda d: (layer.backward(d), layer.dW)[1]``, with f
    closing over ``layer.W`` and x being that same array). f(x) is evaluated once more at x
    before analytic is called, so a layer's cache matches x.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    out = np.asarray(f(x))
    dout = rng.standard_normal(out.shape)
    numeric = numerical_vjp(f, x, dout, h)
    f(x)
    return rel_error(numeric, analytic(dout))
