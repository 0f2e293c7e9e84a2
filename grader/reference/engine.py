"""Reference implementation for a3_computation_graph: a scalar autodiff engine (micrograd style).

Each operation builds its output node and, right beside it, the closure that pushes the
output's gradient into its inputs with +=, so a node used several times accumulates.
"""

import math

from course.activations import sigmoid as _sigmoid  # plain math, not an answer


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        if not isinstance(k, (int, float)):
            raise TypeError("Value ** k supports a number exponent k only.")
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def _unary(self, value, local_grad, op):
        out = Value(value, (self,), op)

        def _backward():
            self.grad += local_grad * out.grad

        out._backward = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self):
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def sigmoid(self):
        s = _sigmoid(self.data)
        return self._unary(s, s * (1.0 - s), "sigmoid")

    def relu(self):
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    def tanh(self):
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return (-self) + other

    def __rtruediv__(self, other):
        return Value(other) * self**-1

    def backward(self):
        order = topological_order(self)
        for node in order:
            node.grad = 0.0  # a second backward() must not add to the first one's gradients
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def topological_order(root):
    """Every node reachable from root, each listed after all of its inputs (DFS post-order)."""
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)

    visit(root)
    return order


def seed_graph(w, b, x, y):
    """f(w, b) = 1/2 (sigma(w x + b) - y)^2 + 1/2 w^2 built node by node as u1..u9 in the seeds."""
    w, b = Value(w), Value(b)
    u1 = w * x
    u2 = u1 + b
    u3 = u2.sigmoid()
    u4 = u3 - y
    u5 = u4**2
    u6 = 0.5 * u5
    u7 = w**2
    u8 = 0.5 * u7
    u9 = u6 + u8
    u9.backward()
    return u9.data, w.grad, b.grad
