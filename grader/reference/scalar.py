"""Reference implementations for a1_scalar_backprop: gates, circuits and the deep scalar chain.

Each gate keeps its forward and its local backward side by side (micrograd style): forward
caches what backward needs, backward multiplies the upstream gradient by the local one.
"""

import math

from course.activations import sigmoid  # plain math, shared with the lectures


class AddGate:
    def forward(self, x, y):
        return float(x + y)

    def backward(self, dout):
        # d(x+y)/dx = d(x+y)/dy = 1: the gradient is copied to both inputs.
        return float(dout), float(dout)


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = float(x), float(y)
        return self.x * self.y

    def backward(self, dout):
        # The local gradient of each input is the *other* input ("swap").
        return self.y * dout, self.x * dout


class MaxGate:
    def forward(self, x, y):
        self.x_wins = x >= y  # at a tie the whole gradient goes to x (the contract)
        return float(max(x, y))

    def backward(self, dout):
        return (float(dout), 0.0) if self.x_wins else (0.0, float(dout))


class SigmoidGate:
    def forward(self, x):
        self.out = sigmoid(float(x))
        return self.out

    def backward(self, dout):
        # sigma'(x) = sigma(x) (1 - sigma(x)), taken at the cached *output*.
        return self.out * (1.0 - self.out) * dout


class ExpGate:
    def forward(self, x):
        self.out = math.exp(x)
        return self.out

    def backward(self, dout):
        return self.out * dout


class ReciprocalGate:
    def forward(self, x):
        self.x = float(x)
        return 1.0 / self.x

    def backward(self, dout):
        return -1.0 / self.x**2 * dout


class ScaleGate:
    def __init__(self, a):
        self.a = float(a)

    def forward(self, x):
        return self.a * x

    def backward(self, dout):
        return self.a * dout


class ShiftGate:
    def __init__(self, c):
        self.c = float(c)

    def forward(self, x):
        return self.c + x

    def backward(self, dout):
        return float(dout)


def circuit_backward(x, y, z):
    """f = (x + y) * z, wired from an add gate and a multiply gate; returns (f, dx, dy, dz)."""
    add, mul = AddGate(), MultiplyGate()
    q = add.forward(x, y)
    f = mul.forward(q, z)
    dq, dz = mul.backward(1.0)
    dx, dy = add.backward(dq)
    return f, dx, dy, dz


def neuron_backward(w, x):
    """f = sigma(w0*x0 + w1*x1 + w2); returns (f, dw, dx) with dw of length 3, dx of length 2."""
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = sigmoid(dot)
    ddot = (1.0 - f) * f
    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]
    dx = [w[0] * ddot, w[1] * ddot]
    return f, [float(v) for v in dw], [float(v) for v in dx]


def staged_backward(x, y):
    """f = (x + sigma(y)) / (sigma(x) + (x + y)^2), staged with cached values and += at branches."""
    sigy = sigmoid(y)
    num = x + sigy
    sigx = sigmoid(x)
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = -1.0 / den**2 * dinvden
    dsigx = dden
    dxpysqr = dden
    dxpy = 2.0 * xpy * dxpysqr
    dx = dxpy
    dy = dxpy
    dx += (1.0 - sigx) * sigx * dsigx  # x reaches f along three paths: accumulate
    dx += dnum
    dsigy = dnum
    dy += (1.0 - sigy) * sigy * dsigy
    return float(f), float(dx), float(dy)


def chain_forward(x, w, b):
    """h0 = x, h_k = sigma(w_k h_{k-1} + b_k); returns (h_L, cache) with every h_k cached."""
    if len(w) != len(b):
        raise ValueError(f"w and b must have the same length, got {len(w)} and {len(b)}.")
    h = [float(x)]
    for wk, bk in zip(w, b):
        h.append(sigmoid(wk * h[-1] + bk))
    return h[-1], (list(map(float, w)), h)


def chain_backward(dy, cache):
    """Walk the chain from k = L down to 1; returns the lists dw, db and the float dx."""
    w, h = cache
    L = len(w)
    dw, db = [0.0] * L, [0.0] * L
    dh = float(dy)  # df/dh_L
    for k in range(L, 0, -1):
        dz = dh * h[k] * (1.0 - h[k])  # sigma'(z_k) from the cached output h_k
        dw[k - 1] = dz * h[k - 1]
        db[k - 1] = dz
        dh = dz * w[k - 1]  # df/dh_{k-1}
    return dw, db, dh
