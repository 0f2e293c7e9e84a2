"""Activation functions as plain math. Not an exercise: the lectures, the widgets and the
reference layers in grader/ all call this one sigmoid."""

import numpy as np


def sigmoid(z):
    """Logistic function, stable for large |z|; a float for a scalar, an array for an array."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    # For z >= 0 this is exactly 1 / (1 + exp(-z)), CS231n's formula, so worked numbers match.
    out = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return float(out) if out.ndim == 0 else out
