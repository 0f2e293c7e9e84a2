"""Stand-ins the hidden checks hand to a student's code, made inside the sandbox from plain data.

Only plain data crosses from the grader to the student's code, so an object the student's code
must receive (a layer for Sequential, a graph for topological_order, a function for
numerical_jacobian, a random generator for an initialiser) is built here, in the sandbox, from
numbers the grader sends. The student's code can read this file: nothing here is the answer to
a graded exercise (the graphs carry numbers for their local derivatives, never formulas).

Only the standard library and numpy.
"""

import numpy as np

__all__ = ["CallLog", "Function", "Generator", "ProbeLayer", "TrainingRun", "attribute_id",
           "attributes", "backward_in_order", "constructed", "graph", "graph_state", "graph_walk",
           "made_while"]


class CallLog:
    """Where ProbeLayers write down, in order, which of them was called: [[kind, index], ...]."""

    def __init__(self):
        self.entries = []


class ProbeLayer:
    """A layer that multiplies by c and writes down every call and the gradient it received."""

    def __init__(self, c, index, log):
        self.c, self.index, self.log = c, index, log
        self.dout = None

    def forward(self, x):
        self.log.entries.append(["forward", self.index])
        return self.c * x

    def backward(self, dout):
        self.log.entries.append(["backward", self.index])
        self.dout = np.array(dout, dtype=float, copy=True)
        return self.c * dout


class Node:
    """A node of a computation graph with micrograd's fields: data, grad, _prev, _op and a
    _backward that adds (local derivative x self.grad) to each input's grad."""

    def __init__(self, data, op=""):
        self.data, self.grad, self._op = data, 0.0, op
        self._prev = set()
        self._inputs = []  # (node, local derivative)

    def _backward(self):
        for node, local in self._inputs:
            node.grad += local * self.grad

    def __repr__(self):
        return f"Node(data={self.data:.4g}, grad={self.grad:.4g})"


def graph(spec):
    """The nodes of a graph, from [[data, op, [input index, ...], [local derivative, ...]], ...]
    (inputs listed before the nodes that use them); the root is the last node."""
    nodes = []
    for data, op, inputs, locals_ in spec:
        node = Node(float(data), op)
        node._inputs = [(nodes[i], float(d)) for i, d in zip(inputs, locals_)]
        node._prev = {nodes[i] for i in inputs}
        nodes.append(node)
    return nodes


def graph_walk(root):
    """Every node reachable from root through _prev, in the hidden check's order (explicit
    stack), walked here in one request instead of five a node: ["nodes", [node, ...]], or what
    is wrong with the first bad node: ["not a node", its type's name], ["missing", the first
    attribute it lacks] or ["_prev"] (not a collection)."""
    seen, stack = {id(root): root}, [root]
    while stack:
        node = stack.pop()
        missing = [a for a in ("data", "grad", "_prev", "_backward") if not hasattr(node, a)]
        if missing and not hasattr(node, "data"):
            try:
                kind = str(node.__class__.__name__)[:60]
            except Exception:  # noqa: BLE001  (a class that hides its name)
                kind = "object"
            return ["not a node", kind]
        if missing:
            return ["missing", missing[0]]
        try:
            inputs = list(node._prev)
        except TypeError:
            return ["_prev"]
        for child in inputs:
            if id(child) not in seen:
                seen[id(child)] = child
                stack.append(child)
    return ["nodes", list(seen.values())]


def graph_state(nodes):
    """[[data, grad, sorted positions of its inputs among nodes], ...]: to see whether code
    changed a graph it should only read."""
    position = {id(n): k for k, n in enumerate(nodes)}
    return [[n.data, n.grad, sorted(position.get(id(c), -1) for c in n._prev)] for n in nodes]


def attributes(objects, names):
    """[[obj.name for each name] for each obj]: what the check reads, in one request."""
    return [[getattr(obj, name) for name in names] for obj in objects]


def backward_in_order(nodes, dout):
    """Every node's grad set to 0, the first node's (the root's) to dout, then each node's
    _backward run in the order given, which the hidden check worked out from the graph's shape.
    None, or where it stopped: ["grad" or "_backward", the error's type name, its message]."""
    try:
        for node in nodes:
            node.grad = 0.0
        nodes[0].grad = dout
    except Exception as exc:  # noqa: BLE001  (the student's code: the grader says what)
        return ["grad", type(exc).__name__, str(exc)[:500]]
    for node in nodes:
        try:
            node._backward()
        except Exception as exc:  # noqa: BLE001
            return ["_backward", type(exc).__name__, str(exc)[:500]]
    return None


def constructed(cls, specs):
    """Objects made with cls from [[constructor arguments, positions of earlier objects among
    them], ...] (a graph built with the student's Value constructor, in one request)."""
    made = []
    for args, positions in specs:
        args = list(args)
        for k in positions:
            args[k] = tuple(made[i] for i in args[k])
        made.append(cls(*args))
    return made


class Function:
    """A function of an array for numerical_jacobian, by name, with its coefficients: a scalar
    (shape ()) or an array of any shape."""

    def __init__(self, kind, coefficients=None):
        self.kind = kind
        self.coefficients = None if coefficients is None else np.asarray(coefficients)
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        c, x = self.coefficients, np.asarray(x, dtype=float)
        if self.kind == "x @ A":
            return x @ c
        if self.kind == "sin(x) * x":
            return np.sin(x) * x
        if self.kind == "softmax(x)":
            e = np.exp(x - x.max())
            return e / e.sum()
        if self.kind == "sum(C * x**2)":
            return float(np.sum(c * x**2))
        if self.kind == "a quadratic form":
            v = x.reshape(-1)
            return float(v @ c @ v)
        if self.kind == "outer(x, x)":
            return np.outer(x, x)
        if self.kind == "exp(3x)":
            return np.exp(3 * x)
        if self.kind == "x**3":
            return x**3
        raise ValueError(f"unknown function {self.kind!r}")


class TrainingRun:
    """The training check's loop, run next to the student's code so that a step costs no round
    trips: each step calls the student's model.forward, loss_fn.forward, loss_fn.backward,
    model.backward and sgd_step in the notebook's order, and nothing else. The grader checks
    every loss it returns; `where` names the call that raised, for the feedback."""

    def __init__(self, model, loss_fn, sgd_step, X, y, lr):
        self.model, self.loss_fn, self.sgd_step = model, loss_fn, sgd_step
        self.X, self.y, self.lr = X, y, lr
        self.where = ""

    def steps(self, n, seconds=1.0):
        """Up to n steps, fewer when `seconds` have passed (each request has its own deadline):
        the losses; the last one is where the loop stopped when it is not a finite number."""
        import numbers
        import time

        losses, start = [], time.monotonic()
        while len(losses) < n and (not losses or time.monotonic() - start < seconds):
            self.where = "Sequential.forward"
            scores = self.model.forward(self.X)
            self.where = "SoftmaxCrossEntropy.forward"
            loss = self.loss_fn.forward(scores, self.y)
            losses.append(loss)
            number = isinstance(loss, numbers.Real) and not isinstance(loss, bool) or (
                isinstance(loss, np.ndarray) and loss.shape == () and loss.dtype.kind in "fiu")
            if not number or not np.isfinite(loss):
                break  # the grader says what is wrong with it
            self.where = "SoftmaxCrossEntropy.backward"
            dscores = self.loss_fn.backward()
            self.where = "Sequential.backward"
            self.model.backward(dscores)
            self.where = "sgd_step"
            self.sgd_step(self.model, self.lr)
        self.where = ""
        return losses


def Generator(seed):
    """numpy's random generator, seeded by the grader (the seed is this student's own)."""
    return np.random.default_rng(int(seed))


def attribute_id(obj, name):
    """Which object obj.name is (its id), to tell an update in place from a new array."""
    return id(getattr(obj, name))


def made_while(cls, fn, args):
    """[fn(*args), how many cls objects were made meanwhile]: whether seed_graph builds a graph
    of Values or returns a closed form. cls.__init__ is put back afterwards."""
    original, made = cls.__init__, [0]

    def counting(self, *a, **k):
        made[0] += 1
        original(self, *a, **k)

    cls.__init__ = counting
    try:
        return [fn(*args), made[0]]
    finally:
        cls.__init__ = original
