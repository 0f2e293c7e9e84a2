"""Toy data sets made on the spot (no downloads)."""

import numpy as np


def make_spirals(n_per_class=100, n_classes=3, noise=0.2, seed=0):
    """CS231n's interleaved spirals: X of shape (n_per_class * n_classes, 2), integer labels y."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n_per_class * n_classes, 2))
    y = np.zeros(n_per_class * n_classes, dtype=np.int64)
    for c in range(n_classes):
        rows = slice(n_per_class * c, n_per_class * (c + 1))
        r = np.linspace(0.0, 1.0, n_per_class)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.standard_normal(n_per_class) * noise
        X[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[rows] = c
    return X, y
