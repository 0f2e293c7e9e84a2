"""The worked examples of the course's sources (CS231n's notes, a 2019 blog post on gradient
descent and backpropagation, Nankai University's lecture 4): their inputs and the numbers they
state, each checked by a test against the grading reference.

Students may import it to check their own code: data, and the hand-derived closed form that
assignment 3's graph must reproduce (an engine built from Value is what that assignment grades).
"""

import numpy as np

# f(x, y, z) = (x + y) z at (-2, 5, -4): f = -12, gradient [df/dx, df/dy, df/dz] = [-4, -4, 3].
CIRCUIT_INPUT = (-2.0, 5.0, -4.0)
CIRCUIT_F = -12.0
CIRCUIT_GRAD = (-4.0, -4.0, 3.0)

# The 2-D sigmoid neuron f = sigma(w0 x0 + w1 x1 + w2) with w = [2, -3, -3], x = [-1, -2].
# The dot product is 1, so f = sigma(1) ~ 0.73 and the local gradient (1 - f) f ~ 0.2.
NEURON_W = (2.0, -3.0, -3.0)
NEURON_X = (-1.0, -2.0)

# The staged expression f = (x + sigma(y)) / (sigma(x) + (x + y)^2) at (3, -4).
STAGED_INPUT = (3.0, -4.0)


def seed_network_arrays():
    """The 2-2-2 sigmoid network of the 2019 blog post as arrays for Affine layers (x @ W + b).

    The post numbers the weights w1..w8 with h1 = sigma(w1 i1 + w2 i2 + b1),
    h2 = sigma(w3 i1 + w4 i2 + b2), o1 = sigma(w5 h1 + w6 h2 + b3), o2 = sigma(w7 h1 + w8 h2 + b4);
    with examples in rows, column j of W holds the weights into neuron j.
    Returns (i, o, W1, b1, W2, b2), i and o of shape (1, 2).
    """
    i = np.array([[0.1, 0.2]])
    o = np.array([[0.01, 0.99]])
    W1 = np.array([[0.1, 0.3], [0.2, 0.4]])  # [[w1, w3], [w2, w4]]
    b1 = np.array([0.55, 0.56])
    W2 = np.array([[0.5, 0.7], [0.6, 0.8]])  # [[w5, w7], [w6, w8]]
    b2 = np.array([0.66, 0.67])
    return i, o, W1, b1, W2, b2


# The numbers the post prints for that network (the reference agrees to 12 significant digits).
SEED_NETWORK_NUMBERS = {
    "h1_in": 0.6000000000000001,
    "h1_out": 0.6456563062257954,
    "h2_in": 0.67,
    "h2_out": 0.6615031592029524,
    "o1_in": 1.379730048634669,
    "o1_out": 0.7989476413779711,
    "o2_in": 1.6511619417204186,
    "o2_out": 0.8390480283342561,
    "o1_err": 0.12672890240521031,
    "o2_err": -0.020385525551585255,
    "h1_err": 0.011232066954600498,
    "h2_err": 0.013374304651329562,
    "d_w5": 0.08182331501899741,
    "d_w1": 0.0011232066954600499,
}


def seed_graph_closed_form(w, b, x, y):
    """Nankai lecture 4's hand-derived answer for f(w, b) = 1/2 (sigma(wx+b) - y)^2 + 1/2 w^2:
    df/db = sigma'(wx+b)(sigma(wx+b) - y) and df/dw = x df/db + w (w feeds u1 and u7)."""
    s = 1.0 / (1.0 + np.exp(-(w * x + b)))
    f = 0.5 * (s - y) ** 2 + 0.5 * w**2
    db = s * (1.0 - s) * (s - y)
    return float(f), float(x * db + w), float(db)
