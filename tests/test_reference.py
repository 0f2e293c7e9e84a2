"""The reference implementations in grader.reference are right.

1. Every backward agrees with central differences (course.gradcheck, random upstream gradient)
   on random, non-square inputs drawn by hypothesis.
2. Every worked example of the seeds is reproduced to 1e-12 relative.
3. No function mutates its inputs, the arrays it cached in forward, or dout.
"""

import copy
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from course import worked_examples
from course.gradcheck import check_gradient, numerical_gradient, rel_error
from grader.reference import (
    AddGate,
    Affine,
    ExpGate,
    MaxGate,
    MSELoss,
    MultiplyGate,
    ReciprocalGate,
    ReLU,
    ResidualBlock,
    ScaleGate,
    Sequential,
    ShiftGate,
    Sigmoid,
    SigmoidGate,
    SoftmaxCrossEntropy,
    Tanh,
    Value,
    chain_backward,
    chain_forward,
    circuit_backward,
    clip_grad_norm,
    he_init,
    layer_grad_norms,
    neuron_backward,
    seed_graph,
    sgd_step,
    sigmoid,
    staged_backward,
    topological_order,
    xavier_init,
)

GRADIENT_TOLERANCE = 1e-7  # relative error of a backward against central differences
WORKED_TOLERANCE = 1e-12  # relative error of a worked example against the seeds' numbers
KINK_MARGIN = 1e-3  # inputs of relu/max stay this far from their kink; h = 1e-5 never crosses
# Central differences see f only up to its round-off, about eps * sum(max(|out|, 1) * |dout|)
# (values in these tests are O(1), so even a small out was computed from O(1) numbers), divided
# by 2h. A gradient entry below RESOLUTION times that scale (an entry that happens to cancel
# towards 0) cannot be resolved to 1e-7 relative in float64: measured over ~10^5 draws, every
# disagreement above 1e-7 had an entry below 1e-4 times the scale. Such draws are rejected, and
# hypothesis draws anew (if it had to reject most draws, its health check would fail the test).
RESOLUTION = 5e-4

gradient_settings = settings(max_examples=30, deadline=None)
seeds = st.integers(0, 2**32 - 1)
batch_sizes = st.integers(1, 4)
widths = st.integers(1, 5)


def assert_backward_matches(f, x, analytic, rng):
    """check_gradient(f, x, analytic) < 1e-7, for draws whose gradient float64 can resolve."""
    seen = {}

    def forward(x_):
        seen["out"] = np.asarray(f(x_), dtype=np.float64)
        return seen["out"]

    def backward(dout):
        seen["dout"], seen["grad"] = dout, np.asarray(analytic(dout), dtype=np.float64)
        return seen["grad"]

    error = check_gradient(forward, x, backward, rng=rng)
    # check_gradient runs forward at x right before backward, so seen["out"] is f(x).
    scale = np.sum(np.maximum(np.abs(seen["out"]), 1.0) * np.abs(seen["dout"]))
    grad = seen["grad"]
    # An exact 0 comes from an input f does not depend on near x (a closed relu, the losing input
    # of max); the numerical gradient is then exactly 0 as well, so it is compared, not rejected.
    assume(not np.any((grad != 0) & (np.abs(grad) < RESOLUTION * scale)))
    assert error < GRADIENT_TOLERANCE, f"relative error {error:.3g} between backward and numeric"


def away_from_zero(a, margin=10 * KINK_MARGIN):
    """Push every entry at least `margin` away from 0, keeping its sign."""
    return np.where(a >= 0, a + margin, a - margin)


def assert_same(before, after):
    """Equal in value, type and, for arrays, dtype and shape (lists and tuples recursively)."""
    assert type(before) is type(after)
    if isinstance(before, np.ndarray):
        assert before.dtype == after.dtype and before.shape == after.shape
        np.testing.assert_array_equal(before, after)
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(after)
        for b, a in zip(before, after):
            assert_same(b, a)
    else:
        assert before == after


def cached_arrays(obj, prefix=""):
    """Copies of every array an object holds, also inside lists and sub-objects (sub-layers)."""
    found = {}
    items = vars(obj).items() if hasattr(obj, "__dict__") else enumerate(obj)
    for name, value in items:
        path = f"{prefix}.{name}"
        if isinstance(value, np.ndarray):
            found[path] = value.copy()
        elif isinstance(value, list) or hasattr(value, "__dict__"):
            found.update(cached_arrays(value, path))
    return found


def assert_cache_unchanged(before, obj):
    """Arrays cached by forward are unchanged (backward may add new ones, e.g. dW)."""
    after = cached_arrays(obj)
    for path, array in before.items():
        assert_same(array, after[path])


# ============================================================ 1. backward vs central differences

# --- a1: gates. Each case builds (gate, inputs, the forward written out) from a random source.


def apart_pair(rng):
    """Two inputs of a max gate at least ~1e-2 apart, so x + h never changes the winner."""
    x, gap = rng.uniform(-3, 3), away_from_zero(rng.uniform(-2, 2))
    return np.array([x, x + gap])


GATE_CASES = {
    "AddGate": lambda rng: (AddGate(), rng.uniform(-3, 3, 2), lambda x, y: x + y),
    "MultiplyGate": lambda rng: (MultiplyGate(), rng.uniform(-3, 3, 2), lambda x, y: x * y),
    "MaxGate": lambda rng: (MaxGate(), apart_pair(rng), max),
    "SigmoidGate": lambda rng: (SigmoidGate(), rng.uniform(-6, 6, 1),
                                lambda x: 1 / (1 + math.exp(-x))),
    "ExpGate": lambda rng: (ExpGate(), rng.uniform(-3, 3, 1), math.exp),
    "ReciprocalGate": lambda rng: (ReciprocalGate(), away_from_zero(rng.uniform(-3, 3, 1), 0.5),
                                   lambda x: 1 / x),
}


def scale_case(rng):
    a = rng.uniform(-3, 3)
    return ScaleGate(a), rng.uniform(-3, 3, 1), lambda x: a * x


def shift_case(rng):
    c = rng.uniform(-3, 3)
    return ShiftGate(c), rng.uniform(-3, 3, 1), lambda x: c + x


GATE_CASES["ScaleGate"] = scale_case
GATE_CASES["ShiftGate"] = shift_case


@pytest.mark.parametrize("name", GATE_CASES)
@gradient_settings
@given(seed=seeds)
def test_gate_forward_and_backward(name, seed):
    rng = np.random.default_rng(seed)
    gate, inputs, formula = GATE_CASES[name](rng)
    assert math.isclose(gate.forward(*inputs), formula(*inputs), rel_tol=1e-15)

    def analytic(dout):
        # One-input gates return a float, two-input gates a pair; both as floats per the contract.
        return np.reshape(gate.backward(float(dout)), inputs.shape)

    assert_backward_matches(lambda v: gate.forward(*v), inputs, analytic, rng)
    gate.forward(*inputs)
    returned = gate.backward(0.5)
    assert all(isinstance(g, float) for g in (returned if len(inputs) == 2 else [returned]))


def test_max_gate_sends_a_tie_to_x():
    gate = MaxGate()
    assert gate.forward(2.0, 2.0) == 2.0
    assert gate.backward(3.0) == (3.0, 0.0)


@gradient_settings
@given(seed=seeds)
def test_circuit_backward(seed):
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-5, 5, 3)
    f = circuit_backward(*xyz)[0]
    assert math.isclose(f, (xyz[0] + xyz[1]) * xyz[2], rel_tol=1e-15)
    assert_backward_matches(lambda v: circuit_backward(*v)[0], xyz,
                            lambda d: np.array(circuit_backward(*xyz)[1:]) * d, rng)


@gradient_settings
@given(seed=seeds)
def test_neuron_backward(seed):
    rng = np.random.default_rng(seed)
    w, x = rng.uniform(-1.5, 1.5, 3), rng.uniform(-1.5, 1.5, 2)
    f, dw, dx = neuron_backward(w, x)
    assert len(dw) == 3 and len(dx) == 2
    assert math.isclose(f, 1 / (1 + math.exp(-(w[0] * x[0] + w[1] * x[1] + w[2]))), rel_tol=1e-14)
    assert_backward_matches(lambda w_: neuron_backward(w_, x)[0], w,
                            lambda d: np.array(neuron_backward(w, x)[1]) * d, rng)
    assert_backward_matches(lambda x_: neuron_backward(w, x_)[0], x,
                            lambda d: np.array(neuron_backward(w, x)[2]) * d, rng)


@gradient_settings
@given(seed=seeds)
def test_staged_backward(seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-5, 5, 2)
    assert_backward_matches(lambda v: staged_backward(*v)[0], xy,
                            lambda d: np.array(staged_backward(*xy)[1:]) * d, rng)


@gradient_settings
@given(depth=st.integers(1, 5), seed=seeds)
def test_chain_backward(depth, seed):
    rng = np.random.default_rng(seed)
    # |w| >= 1.5 and x away from 0 keep df/dw_1 = dy x prod(sigma' w) resolvable for L = 5.
    x = away_from_zero(rng.uniform(-1.5, 1.5, 1), 0.5)
    w, b = away_from_zero(rng.uniform(-2, 2, depth), 1.5), rng.uniform(-1, 1, depth)
    y = chain_forward(x[0], list(w), list(b))[0]
    h = x[0]
    for wk, bk in zip(w, b):
        h = 1 / (1 + math.exp(-(wk * h + bk)))
    assert math.isclose(y, h, rel_tol=1e-14)

    def gradients(dy):
        return chain_backward(dy, chain_forward(x[0], list(w), list(b))[1])

    assert_backward_matches(lambda w_: chain_forward(x[0], list(w_), list(b))[0], w,
                            lambda d: gradients(d)[0], rng)
    assert_backward_matches(lambda b_: chain_forward(x[0], list(w), list(b_))[0], b,
                            lambda d: gradients(d)[1], rng)
    assert_backward_matches(lambda x_: chain_forward(x_[0], list(w), list(b))[0], x,
                            lambda d: [gradients(d)[2]], rng)


def test_chain_forward_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        chain_forward(0.5, [1.0, 2.0], [0.0])


# --- a2: layers, losses, Sequential.


@gradient_settings
@given(n=batch_sizes, d=widths, m=widths, seed=seeds)
@example(n=2, d=3, m=5, seed=0)  # W is not square in at least this draw
def test_affine_backward(n, d, m, seed):
    rng = np.random.default_rng(seed)
    x, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    layer = Affine(W, b)
    np.testing.assert_array_equal(layer.forward(x), x @ W + b)
    # f closes over the layer, which reads W and b by reference: the checker's in-place
    # perturbation of W (or b) reaches the forward.
    assert_backward_matches(layer.forward, x, layer.backward, rng)
    assert_backward_matches(lambda _: layer.forward(x), W,
                            lambda dout: (layer.backward(dout), layer.dW)[1], rng)
    assert_backward_matches(lambda _: layer.forward(x), b,
                            lambda dout: (layer.backward(dout), layer.db)[1], rng)


@pytest.mark.parametrize("layer_class", [ReLU, Sigmoid, Tanh])
@gradient_settings
@given(n=batch_sizes, d=widths, seed=seeds)
def test_activation_backward(layer_class, n, d, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng.uniform(-2.5, 2.5, (n, d)))  # the margin matters for ReLU only
    layer = layer_class()
    formula = {ReLU: lambda z: np.maximum(z, 0.0), Sigmoid: lambda z: 1 / (1 + np.exp(-z)),
               Tanh: np.tanh}[layer_class]
    np.testing.assert_allclose(layer.forward(x), formula(x), rtol=1e-15)
    assert_backward_matches(layer.forward, x, layer.backward, rng)


def naive_softmax_loss_and_gradient(scores, y):
    """Softmax cross-entropy straight from the definition (no shift): valid for small scores."""
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    n = len(y)
    onehot = np.zeros_like(scores)
    onehot[np.arange(n), y] = 1.0
    return -np.mean(np.log(probs[np.arange(n), y])), (probs - onehot) / n


@gradient_settings
@given(n=batch_sizes, classes=st.integers(2, 5), seed=seeds)
def test_softmax_cross_entropy_backward(n, classes, seed):
    rng = np.random.default_rng(seed)
    scores, y = rng.standard_normal((n, classes)), rng.integers(0, classes, n)
    loss = SoftmaxCrossEntropy()
    expected_loss, _ = naive_softmax_loss_and_gradient(scores, y)
    assert math.isclose(loss.forward(scores, y), expected_loss, rel_tol=1e-12)
    assert_backward_matches(lambda s: loss.forward(s, y), scores, loss.backward, rng)


@gradient_settings
@given(n=batch_sizes, classes=st.integers(2, 5), seed=seeds)
def test_softmax_cross_entropy_large_scores_are_finite_and_shift_invariant(n, classes, seed):
    rng = np.random.default_rng(seed)
    # Quarter-integers in [-2, 2]: adding 1000 is exact, so the shifted problem is the same one.
    small = rng.integers(-8, 9, (n, classes)) / 4.0
    y = rng.integers(0, classes, n)
    expected_loss, expected_grad = naive_softmax_loss_and_gradient(small, y)
    for shift in (1000.0, -1000.0):
        loss = SoftmaxCrossEntropy()
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise",
                                                    divide="raise"):
            warnings.simplefilter("error")
            value, grad = loss.forward(small + shift, y), loss.backward()
        assert math.isclose(value, expected_loss, rel_tol=1e-12)
        # p - 1 for a confident class is ~1e-3, so its relative error grows to ~1e-13.
        assert rel_error(grad, expected_grad) < 1e-11


def test_softmax_cross_entropy_scores_a_thousand_apart():
    loss = SoftmaxCrossEntropy()
    scores = np.array([[1000.0, -1000.0, 0.0]] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss.forward(scores, np.array([0, 1, 2]))
    # -log softmax is 0, 2000 and 1000 for the three labels: exp(-1000) underflows to 0.
    assert value == 1000.0
    expected = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.0], [1.0, 0.0, -1.0]]) / 3
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-15, atol=0)
    np.testing.assert_allclose(loss.backward(2.0), 2 * expected, rtol=1e-15, atol=0)


@gradient_settings
@given(n=batch_sizes, d=widths, seed=seeds)
def test_mse_loss_backward(n, d, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    loss = MSELoss()
    assert math.isclose(loss.forward(pred, target), 0.5 * np.sum((pred - target) ** 2) / n,
                        rel_tol=1e-14)
    assert_backward_matches(lambda p: loss.forward(p, target), pred, loss.backward, rng)


@pytest.mark.parametrize("wrt", ["x to output", "x to loss", "W1", "b1", "W2", "b2", "W3", "b3"])
@gradient_settings
@given(n=batch_sizes, sizes=st.lists(widths, min_size=4, max_size=4), seed=seeds)
@example(n=3, sizes=[2, 4, 3, 5], seed=0)  # non-square weights in at least this draw
def test_sequential_backward_through_a_whole_network(wrt, n, sizes, seed):
    rng = np.random.default_rng(seed)
    d_in, h1, h2, classes = sizes
    classes += 1  # at least two classes
    # Weights scaled by 1/sqrt(fan_in) keep every layer out of saturation (as in practice).
    affines = [Affine(rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in),
                      rng.standard_normal(fan_out) / 2)
               for fan_in, fan_out in [(d_in, h1), (h1, h2), (h2, classes)]]
    model = Sequential(affines[0], Sigmoid(), affines[1], ReLU(), affines[2], Tanh())
    x, y = rng.standard_normal((n, d_in)), rng.integers(0, classes, n)
    hidden = 1 / (1 + np.exp(-(x @ affines[0].W + affines[0].b)))
    assume(np.all(np.abs(hidden @ affines[1].W + affines[1].b) > KINK_MARGIN))  # relu's input
    loss = SoftmaxCrossEntropy()

    def backward_to_input(dout):
        return model.backward(loss.backward(dout))

    if wrt == "x to output":
        assert_backward_matches(model.forward, x, model.backward, rng)
    elif wrt == "x to loss":
        assert_backward_matches(lambda x_: loss.forward(model.forward(x_), y), x,
                                backward_to_input, rng)
    else:
        # The closure pattern: the loss reads layer.W (or layer.b) by reference, the checker
        # perturbs that array in place, and the gradient is read from layer.dW after backward.
        layer, name = affines[int(wrt[1]) - 1], wrt[0]
        assert_backward_matches(lambda _: loss.forward(model.forward(x), y), getattr(layer, name),
                                lambda d: (backward_to_input(d), getattr(layer, "d" + name))[1],
                                rng)


def test_sgd_step_updates_parameters_in_place():
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    layer = Affine(W, b)
    model = Sequential(layer, ReLU())
    x = rng.standard_normal((4, 3))
    model.backward(rng.standard_normal(model.forward(x).shape))
    expected_W, expected_b = W - 0.1 * layer.dW, b - 0.1 * layer.db
    sgd_step(model, 0.1)
    assert layer.W is W and layer.b is b  # the one exercise that mutates, by design
    np.testing.assert_array_equal(W, expected_W)
    np.testing.assert_array_equal(b, expected_b)


# --- a3: Value.


def positive(rng):
    return rng.uniform(0.5, 3.0)


def any_real(rng):
    return rng.uniform(-2.0, 2.0)


def nonzero(rng):
    return float(away_from_zero(rng.uniform(-2.0, 2.0), 0.5))


def off_kink(rng):
    return float(away_from_zero(rng.uniform(-2.0, 2.0)))


def float_sigmoid(t):
    return 1 / (1 + math.exp(-t))


# name: (operation on Values, the same operation on floats, input domains)
VALUE_OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, (any_real, any_real)),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, (any_real, any_real)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, (any_real, any_real)),
    "truediv": (lambda a, b: a / b, lambda a, b: a / b, (any_real, nonzero)),
    "add number": (lambda a: a + 1.5, lambda a: a + 1.5, (any_real,)),
    "sub number": (lambda a: a - 1.5, lambda a: a - 1.5, (any_real,)),
    "mul number": (lambda a: a * 2.5, lambda a: a * 2.5, (any_real,)),
    "div number": (lambda a: a / 2.5, lambda a: a / 2.5, (any_real,)),
    "radd": (lambda a: 1.5 + a, lambda a: 1.5 + a, (any_real,)),
    "rsub": (lambda a: 1.5 - a, lambda a: 1.5 - a, (any_real,)),
    "rmul": (lambda a: 2.5 * a, lambda a: 2.5 * a, (any_real,)),
    "rtruediv": (lambda a: 2.5 / a, lambda a: 2.5 / a, (nonzero,)),
    "neg": (lambda a: -a, lambda a: -a, (any_real,)),
    # Away from 0: there 3a^2 ~ 0 while the central difference of a^3 is 3a^2 + h^2.
    "pow int": (lambda a: a**3, lambda a: a**3, (nonzero,)),
    "pow negative": (lambda a: a**-2, lambda a: a**-2, (nonzero,)),
    "pow fractional": (lambda a: a**1.5, lambda a: a**1.5, (positive,)),
    "exp": (lambda a: a.exp(), math.exp, (any_real,)),
    "log": (lambda a: a.log(), math.log, (positive,)),
    "sigmoid": (lambda a: a.sigmoid(), float_sigmoid, (any_real,)),
    "relu": (lambda a: a.relu(), lambda a: max(a, 0.0), (off_kink,)),
    "tanh": (lambda a: a.tanh(), math.tanh, (any_real,)),
    "node used twice": (lambda a: a * a + a, lambda a: a * a + a, (any_real,)),
    "diamond": (lambda a: a.exp() * a.tanh(), lambda a: math.exp(a) * math.tanh(a), (any_real,)),
}


def value_gradient(operation, inputs, dout):
    """Gradient of dout * operation(inputs) from Value.backward. Scaling by dout inside the graph
    makes the operation's output gradient dout, not 1, so a local backward that forgets to
    multiply by out.grad is caught."""
    leaves = [Value(t) for t in inputs]
    (operation(*leaves) * float(dout)).backward()
    return np.array([leaf.grad for leaf in leaves])


@pytest.mark.parametrize("name", VALUE_OPS)
@gradient_settings
@given(seed=seeds)
def test_value_operation(name, seed):
    rng = np.random.default_rng(seed)
    operation, float_operation, domains = VALUE_OPS[name]
    inputs = np.array([domain(rng) for domain in domains])
    out = operation(*[Value(t) for t in inputs])
    assert isinstance(out, Value)
    assert math.isclose(out.data, float_operation(*inputs), rel_tol=1e-14)
    assert_backward_matches(lambda v: operation(*[Value(t) for t in v]).data, inputs,
                            lambda d: value_gradient(operation, inputs, d), rng)


def test_value_node_used_twice_and_diamond_accumulate_exactly():
    a = Value(3.0)
    (a * a + a).backward()
    assert a.grad == 7.0  # d(a^2 + a)/da = 2a + 1: three uses, all accumulated
    a = Value(0.5)
    doubled, squared = a * 2.0, a**2
    (doubled * squared).backward()  # a -> (2a, a^2) -> 2a^3: two paths meet again
    assert a.grad == pytest.approx(6 * 0.5**2, rel=1e-15)


def test_value_power_needs_a_number_exponent():
    with pytest.raises(TypeError, match="number exponent"):
        Value(2.0) ** Value(3.0)


RANDOM_GRAPH_OPS = [
    lambda a, b: a + b,
    lambda a, b: (a * b).tanh(),
    lambda a, b: (a - b).sigmoid(),
    lambda a, b: a * b.tanh(),
    lambda a, b: a * 0.5 - 1.0 / (b.exp() + 1.0),
]


def build_random_graph(leaf_values, recipe):
    """Leaves, then one node per (op, i, j) in recipe from two earlier nodes (maybe the same)."""
    nodes = [Value(t) for t in leaf_values]
    for op_index, i, j in recipe:
        nodes.append(RANDOM_GRAPH_OPS[op_index](nodes[i % len(nodes)], nodes[j % len(nodes)]))
    return nodes


def reachable_from(root):
    """Every node reachable from root, by a plain stack walk (independent of topological_order)."""
    found, stack = {}, [root]
    while stack:
        node = stack.pop()
        if id(node) not in found:
            found[id(node)] = node
            stack.extend(node._prev)
    return found


random_recipes = st.lists(
    st.tuples(st.integers(0, len(RANDOM_GRAPH_OPS) - 1), st.integers(0, 99), st.integers(0, 99)),
    min_size=1, max_size=10)


@gradient_settings
@given(n_leaves=st.integers(1, 4), recipe=random_recipes, seed=seeds)
def test_topological_order_and_backward_on_random_graphs(n_leaves, recipe, seed):
    rng = np.random.default_rng(seed)
    # Leaves away from 0 keep products like a * tanh(a) off their stationary points, where the
    # central difference's own error (h^2 f''' / 6) would swamp a derivative that is ~0.
    leaf_values = away_from_zero(rng.uniform(-1.0, 1.0, n_leaves), 0.5)
    nodes = build_random_graph(leaf_values, recipe)
    root = nodes[-1]
    order = topological_order(root)
    position = {id(node): k for k, node in enumerate(order)}
    assert len(position) == len(order), "a node is listed twice"
    reachable = reachable_from(root)
    assert position.keys() == reachable.keys()
    for node in order:
        for child in node._prev:
            assert position[id(child)] < position[id(node)]
    assert order[-1] is root

    root.backward()
    # Values in these graphs are O(1). A reachable leaf with |df/dleaf| < 1e-3 sits near a
    # stationary point (or its paths cancel, as in (a + b) - a, where round-off still moves f),
    # and there the central difference's own error is not small relative to the derivative.
    # Only an unreachable leaf is exactly constant and compares exactly.
    assume(all(abs(leaf.grad) >= 1e-3 or id(leaf) not in reachable for leaf in nodes[:n_leaves]))

    def leaf_gradients(dout):
        fresh = build_random_graph(leaf_values, recipe)
        fresh[-1].backward()
        return np.array([leaf.grad for leaf in fresh[:n_leaves]]) * dout

    assert_backward_matches(lambda v: build_random_graph(v, recipe)[-1].data, leaf_values,
                            leaf_gradients, rng)


def test_repeated_backward_gives_the_same_gradients():
    w, b = Value(0.7), Value(-0.3)
    f = (w * 2.0 + b).sigmoid() * w + w.tanh()
    f.backward()
    first = {id(node): node.grad for node in topological_order(f)}
    for node in topological_order(f):
        node.grad = 123.0  # stale gradients from elsewhere must not leak in either
    f.backward()
    f.backward()
    assert {id(node): node.grad for node in topological_order(f)} == first


@gradient_settings
@given(seed=seeds)
def test_seed_graph_backward(seed):
    rng = np.random.default_rng(seed)
    wb, x, y = rng.uniform(-2, 2, 2), rng.uniform(-2, 2), rng.uniform(0, 1)
    assert_backward_matches(lambda p: seed_graph(p[0], p[1], x, y)[0], wb,
                            lambda d: np.array(seed_graph(wb[0], wb[1], x, y)[1:]) * d, rng)


# --- a4: gradient norms per layer, clipping, residual block, initialisers.

INDEPENDENT_ACTIVATIONS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


@pytest.mark.parametrize("activation", INDEPENDENT_ACTIVATIONS)
@gradient_settings
@given(n=batch_sizes, sizes=st.lists(widths, min_size=2, max_size=5), seed=seeds)
@example(n=2, sizes=[3, 5, 2], seed=0)
@example(n=1, sizes=[4, 4, 4, 4, 1], seed=6049)  # tiny loss, large third derivatives (tanh)
def test_layer_grad_norms(activation, n, sizes, seed):
    rng = np.random.default_rng(seed)
    act = INDEPENDENT_ACTIVATIONS[activation]
    x = rng.standard_normal((n, sizes[0]))
    weights = [rng.standard_normal(shape) for shape in itertools.pairwise(sizes)]

    def loss(_):
        h = x
        for W in weights:
            h = act(h @ W)
        return 0.5 * np.sum(h**2) / n

    if activation == "relu":
        h = x
        for W in weights:
            z = h @ W
            # z == 0 exactly comes from an all-zero row of h, which no perturbation moves.
            assume(np.all((z == 0) | (np.abs(z) > KINK_MARGIN)))
            h = act(z)
    # Deep tanh/sigmoid stacks can have third derivatives far larger than the gradient (a tiny
    # loss whose output sits near 0), where central differences' truncation error, h^2 f'''/6,
    # alone exceeds 1e-7 (seen: 2.3e-7 at h = 1e-5, falling as h^2). Richardson's
    # extrapolation of two steps cancels that term, leaving about 1e-12.
    def richardson(W, h=1e-4):
        return (4 * numerical_gradient(loss, W, h / 2) - numerical_gradient(loss, W, h)) / 3

    numeric = np.array([np.linalg.norm(richardson(W)) for W in weights])
    norms = layer_grad_norms(x, weights, activation)
    assert isinstance(norms, np.ndarray) and norms.shape == (len(weights),)
    # The same resolution rule as for single backwards (here out is the loss and dout is 1).
    assume(np.all((norms == 0) | (norms >= RESOLUTION * max(loss(None), 1.0))))
    assert rel_error(norms, numeric) < GRADIENT_TOLERANCE


def test_layer_grad_norms_rejects_unknown_activations():
    with pytest.raises(ValueError, match="activation"):
        layer_grad_norms(np.ones((2, 2)), [np.ones((2, 2))], "softplus")


@gradient_settings
@given(n=batch_sizes, d=widths, hidden=widths, seed=seeds)
@example(n=2, d=3, hidden=5, seed=0)
def test_residual_block_backward(n, d, hidden, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    W1, b1 = rng.standard_normal((d, hidden)), rng.standard_normal(hidden)
    W2, b2 = rng.standard_normal((hidden, d)), rng.standard_normal(d)
    assume(np.all(np.abs(x @ W1 + b1) > KINK_MARGIN))
    block = ResidualBlock(W1, b1, W2, b2)
    np.testing.assert_allclose(block.forward(x), x + np.maximum(x @ W1 + b1, 0) @ W2 + b2,
                               rtol=1e-14, atol=1e-14)
    assert_backward_matches(block.forward, x, block.backward, rng)
    for name, param in [("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)]:
        # The block reads W1, ... by reference, so the checker's in-place perturbation reaches it.
        assert_backward_matches(
            lambda _: block.forward(x), param,
            lambda dout, name=name: (block.backward(dout), getattr(block, "d" + name))[1], rng)


@gradient_settings
@given(shapes=st.lists(st.lists(widths, min_size=0, max_size=2), min_size=1, max_size=4),
       seed=seeds, max_norm=st.floats(0.1, 10.0))
def test_clip_grad_norm(shapes, seed, max_norm):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(shape) * 3 for shape in shapes]
    clipped, total_norm = clip_grad_norm(grads, max_norm)
    expected_total = np.linalg.norm(np.concatenate([g.ravel() for g in grads]))
    assert math.isclose(total_norm, expected_total, rel_tol=1e-12)
    scale = max_norm / expected_total if expected_total > max_norm else 1.0
    assert len(clipped) == len(grads)
    for g, c in zip(grads, clipped):
        assert c is not g and not np.shares_memory(c, g)  # new arrays, in both branches
        np.testing.assert_allclose(c, g * scale, rtol=1e-12)
    clipped_total = np.linalg.norm(np.concatenate([c.ravel() for c in clipped]))
    if expected_total > max_norm:
        assert math.isclose(clipped_total, max_norm, rel_tol=1e-12)
    else:
        assert clipped_total == expected_total


def test_clip_grad_norm_both_branches_exactly():
    grads = [np.array([3.0]), np.array([[4.0]])]  # joint norm 5
    for max_norm in (5.0, 7.0):  # "exceeds" is strict: a norm equal to max_norm is kept
        clipped, total = clip_grad_norm(grads, max_norm)
        assert total == 5.0
        assert_same([np.array([3.0]), np.array([[4.0]])], clipped)
    clipped, total = clip_grad_norm(grads, 1.0)
    assert total == 5.0
    np.testing.assert_allclose(clipped[0], [0.6], rtol=1e-15)
    np.testing.assert_allclose(clipped[1], [[0.8]], rtol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zero gradients: no 0/0
        clipped, total = clip_grad_norm([np.zeros(3)], 1.0)
    assert total == 0.0
    np.testing.assert_array_equal(clipped[0], np.zeros(3))


@pytest.mark.parametrize("init, variance", [
    (xavier_init, lambda fan_in, fan_out: 2 / (fan_in + fan_out)),
    (he_init, lambda fan_in, fan_out: 2 / fan_in),
])
def test_initialisers(init, variance):
    fan_in, fan_out = 300, 200
    W = init(fan_in, fan_out, np.random.default_rng(42))
    assert W.shape == (fan_in, fan_out) and W.dtype == np.float64
    # The contract's formula, literally, with the same random stream.
    expected = np.random.default_rng(42).standard_normal((fan_in, fan_out)) * math.sqrt(
        variance(fan_in, fan_out))
    np.testing.assert_array_equal(W, expected)
    np.testing.assert_array_equal(W, init(fan_in, fan_out, np.random.default_rng(42)))
    assert not np.array_equal(W, init(fan_in, fan_out, np.random.default_rng(43)))
    # 60000 samples: the sample std scatters by ~0.3 % around the true one, so 2 % is ~7 sigma.
    assert W.std() == pytest.approx(math.sqrt(variance(fan_in, fan_out)), rel=0.02)
    assert init(3, 7, np.random.default_rng(0)).shape == (3, 7)


# ================================================================== 2. the seeds' worked examples


def assert_worked(actual, expected):
    assert math.isclose(actual, expected, rel_tol=WORKED_TOLERANCE, abs_tol=0.0), (actual, expected)


def test_worked_circuit():
    f, dx, dy, dz = circuit_backward(*worked_examples.CIRCUIT_INPUT)
    assert f == worked_examples.CIRCUIT_F == -12.0
    assert (dx, dy, dz) == worked_examples.CIRCUIT_GRAD == (-4.0, -4.0, 3.0)


def test_worked_neuron():
    w, x = worked_examples.NEURON_W, worked_examples.NEURON_X
    f, dw, dx = neuron_backward(list(w), list(x))
    # The seed's code: dot = 1, f = 1 / (1 + exp(-dot)), ddot = (1 - f) f.
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    assert dot == 1.0
    seed_f = 1.0 / (1 + math.exp(-dot))
    ddot = (1 - seed_f) * seed_f
    assert_worked(f, seed_f)
    for actual, expected in zip(dw, [x[0] * ddot, x[1] * ddot, 1.0 * ddot]):
        assert_worked(actual, expected)
    for actual, expected in zip(dx, [w[0] * ddot, w[1] * ddot]):
        assert_worked(actual, expected)
    assert len(dw) == 3 and len(dx) == 2
    assert round(f, 2) == 0.73 and round(ddot, 1) == 0.2  # the seed's rounded numbers


def seed_staged_code(x, y):
    """The staged forward and backward of seed 004, re-run line by line with math.exp."""
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / (den**2)) * dinvden
    dsigx = (1) * dden
    dxpysqr = (1) * dden
    dxpy = (2 * xpy) * dxpysqr
    dx = (1) * dxpy
    dy = (1) * dxpy
    dx += ((1 - sigx) * sigx) * dsigx
    dx += (1) * dnum
    dsigy = (1) * dnum
    dy += ((1 - sigy) * sigy) * dsigy
    return f, dx, dy


def staged_closed_form(x, y):
    """Quotient rule by hand: f = N/D, N = x + s(y), D = s(x) + (x+y)^2, s' = s(1 - s)."""
    sx, sy = 1 / (1 + math.exp(-x)), 1 / (1 + math.exp(-y))
    num, den = x + sy, sx + (x + y) ** 2
    dfdx = (den - num * (sx * (1 - sx) + 2 * (x + y))) / den**2
    dfdy = (sy * (1 - sy) * den - num * 2 * (x + y)) / den**2
    return num / den, dfdx, dfdy


def test_worked_staged_expression():
    x, y = worked_examples.STAGED_INPUT
    result = staged_backward(x, y)
    for independent in (seed_staged_code(x, y), staged_closed_form(x, y)):
        for actual, expected in zip(result, independent):
            assert_worked(actual, expected)


def seed_network_by_hand():
    """Seed 002's scalar code for the 2-2-2 network, re-run: the numbers it prints."""
    i, o = [0.1, 0.2], [0.01, 0.99]
    w = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    b = [0.55, 0.56, 0.66, 0.67]

    def s(z):
        return 1.0 / (1.0 + math.exp(-z))

    n = {"h1_in": w[0] * i[0] + w[1] * i[1] + b[0], "h2_in": w[2] * i[0] + w[3] * i[1] + b[1]}
    n["h1_out"], n["h2_out"] = s(n["h1_in"]), s(n["h2_in"])
    n["o1_in"] = w[4] * n["h1_out"] + w[5] * n["h2_out"] + b[2]
    n["o2_in"] = w[6] * n["h1_out"] + w[7] * n["h2_out"] + b[3]
    n["o1_out"], n["o2_out"] = s(n["o1_in"]), s(n["o2_in"])
    # The cost is C = 1/2 sum (y - a)^2 (the seed's formula drops the square; its code doesn't).
    n["o1_err"] = (n["o1_out"] - o[0]) * (n["o1_out"] * (1 - n["o1_out"]))
    n["o2_err"] = (n["o2_out"] - o[1]) * (n["o2_out"] * (1 - n["o2_out"]))
    # h1 feeds o1 through w5 and o2 through w7 (the seed's LaTeX repeats delta_1 by mistake).
    n["h1_err"] = (w[4] * n["o1_err"] + w[6] * n["o2_err"]) * (n["h1_out"] * (1 - n["h1_out"]))
    n["h2_err"] = (w[5] * n["o1_err"] + w[7] * n["o2_err"]) * (n["h2_out"] * (1 - n["h2_out"]))
    n["d_w5"] = n["o1_err"] * n["h1_out"]
    n["d_w1"] = n["h1_err"] * i[0]
    return n


def test_seed_network_numbers_match_the_seed_code():
    by_hand = seed_network_by_hand()
    assert by_hand.keys() == worked_examples.SEED_NETWORK_NUMBERS.keys()
    for name, expected in worked_examples.SEED_NETWORK_NUMBERS.items():
        assert_worked(by_hand[name], expected)


def test_worked_network_with_sequential():
    i, o, W1, b1, W2, b2 = worked_examples.seed_network_arrays()
    model = Sequential(Affine(W1, b1), Sigmoid(), Affine(W2, b2), Sigmoid())
    loss = MSELoss()
    # Walk the layers by hand to read the values in between that the seed prints.
    activations = [i]
    for layer in model.layers:
        activations.append(layer.forward(activations[-1]))
    loss.forward(activations[-1], o)
    gradients = [loss.backward()]
    for layer in reversed(model.layers):
        gradients.append(layer.backward(gradients[-1]))
    # Sequential itself gives the same output, input gradient and weight gradients.
    np.testing.assert_array_equal(model.forward(i), activations[-1])
    loss.forward(activations[-1], o)
    np.testing.assert_array_equal(model.backward(loss.backward()), gradients[-1])
    h_in, h_out, o_in, o_out = activations[1:]
    o_err, _, h_err = gradients[1:4]  # dLoss/d(o_in), dLoss/d(h_out), dLoss/d(h_in)
    actual = {
        "h1_in": h_in[0, 0], "h2_in": h_in[0, 1], "h1_out": h_out[0, 0], "h2_out": h_out[0, 1],
        "o1_in": o_in[0, 0], "o2_in": o_in[0, 1], "o1_out": o_out[0, 0], "o2_out": o_out[0, 1],
        "o1_err": o_err[0, 0], "o2_err": o_err[0, 1], "h1_err": h_err[0, 0], "h2_err": h_err[0, 1],
        "d_w5": model.layers[2].dW[0, 0],  # W2[0, 0] is w5, from h1 into o1
        "d_w1": model.layers[0].dW[0, 0],  # W1[0, 0] is w1, from i1 into h1
    }
    assert actual.keys() == worked_examples.SEED_NETWORK_NUMBERS.keys()
    for name, expected in worked_examples.SEED_NETWORK_NUMBERS.items():
        assert_worked(float(actual[name]), expected)


@pytest.mark.parametrize("w, b, x, y", [
    (0.5, -0.2, 1.5, 1.0),
    (-1.2, 0.8, -0.7, 0.0),
    (2.0, -1.0, 0.3, 0.9),
    (0.1, 2.0, 3.0, 0.2),
    (-0.4, -1.5, 2.5, 0.6),
])
def test_worked_seed_graph_against_closed_form(w, b, x, y):
    f, dw, db = seed_graph(w, b, x, y)
    for actual, expected in zip((f, dw, db), worked_examples.seed_graph_closed_form(w, b, x, y)):
        assert_worked(actual, expected)


# ================================================================ sigmoid: stable and exact


def test_sigmoid_is_stable_at_plus_and_minus_a_thousand():
    z = np.array([-1000.0, -745.0, -30.0, 0.0, 30.0, 1000.0])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        values = sigmoid(z)
        scalars = [sigmoid(1000.0), sigmoid(-1000.0), SigmoidGate().forward(1000.0),
                   SigmoidGate().forward(-1000.0), Value(1000.0).sigmoid().data,
                   Value(-1000.0).sigmoid().data]
        layer = Sigmoid()
        layer_values = layer.forward(z)
        layer_grads = layer.backward(np.ones_like(z))
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(layer_grads))
    assert values[0] == 0.0 and values[-1] == 1.0 and values[3] == 0.5
    assert scalars == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    np.testing.assert_array_equal(layer_values, values)
    # For z < 0 it is exp(z) / (1 + exp(z)): the same function, to the last bits.
    moderate = np.linspace(-30, -0.1, 50)
    np.testing.assert_allclose(sigmoid(moderate), 1 / (1 + np.exp(-moderate)), rtol=1e-15)


def test_sigmoid_is_exactly_the_seed_formula_for_non_negative_z():
    z = np.concatenate([[0.0, 1.0, 0.6000000000000001, 0.67, 30.0, 1000.0],
                        np.random.default_rng(0).uniform(0, 10, 50)])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(sigmoid(z), 1.0 / (1.0 + np.exp(-z)))
    for t in z:
        value = sigmoid(t)
        assert isinstance(value, float) and value == 1.0 / (1.0 + math.exp(-t))


# ================================================================= 3. nothing mutates its inputs


def test_scalar_functions_leave_their_sequences_unchanged():
    rng = np.random.default_rng(0)
    for w, x in [([2.0, -3.0, -3.0], [-1.0, -2.0]),
                 (rng.standard_normal(3), rng.standard_normal(2))]:
        before = copy.deepcopy((w, x))
        neuron_backward(w, x)
        assert_same(before, (w, x))
    for w, b in [([0.5, -1.0, 2.0], [0.1, 0.2, 0.3]),
                 (rng.standard_normal(4), rng.standard_normal(4))]:
        before = copy.deepcopy((w, b))
        _, cache = chain_forward(0.3, w, b)
        cache_before = copy.deepcopy(cache)
        chain_backward(1.5, cache)
        assert_same(before, (w, b))
        assert_same(cache_before, cache)


def run_and_check_unchanged(layer, forward_args, dout):
    """forward then backward; inputs, dout and the arrays cached by forward stay unchanged."""
    inputs_before = copy.deepcopy((forward_args, dout, cached_arrays(layer)))
    layer.forward(*forward_args)
    assert_same(inputs_before[0], forward_args)
    cache = cached_arrays(layer)
    layer.backward(dout)
    assert_same(inputs_before[0], forward_args)
    assert_same(inputs_before[1], dout)
    assert_cache_unchanged(cache, layer)
    assert_cache_unchanged(inputs_before[2], layer)  # parameters held since construction


@pytest.mark.parametrize("make", [
    lambda rng: (Affine(rng.standard_normal((3, 5)), rng.standard_normal(5)),
                 (rng.standard_normal((2, 3)),), rng.standard_normal((2, 5))),
    lambda rng: (ReLU(), (rng.standard_normal((2, 3)),), rng.standard_normal((2, 3))),
    lambda rng: (Sigmoid(), (rng.standard_normal((2, 3)),), rng.standard_normal((2, 3))),
    lambda rng: (Tanh(), (rng.standard_normal((2, 3)),), rng.standard_normal((2, 3))),
    lambda rng: (SoftmaxCrossEntropy(), (rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])),
                 np.float64(1.5)),
    lambda rng: (SoftmaxCrossEntropy(), (rng.standard_normal((4, 3)), [0, 2, 1, 2]), 1.0),
    lambda rng: (MSELoss(), (rng.standard_normal((4, 3)), rng.standard_normal((4, 3))), 2.0),
    lambda rng: (Sequential(Affine(rng.standard_normal((3, 4)), rng.standard_normal(4)), Tanh(),
                            Affine(rng.standard_normal((4, 2)), rng.standard_normal(2)), ReLU()),
                 (rng.standard_normal((5, 3)),), rng.standard_normal((5, 2))),
    lambda rng: (ResidualBlock(rng.standard_normal((3, 4)), rng.standard_normal(4),
                               rng.standard_normal((4, 3)), rng.standard_normal(3)),
                 (rng.standard_normal((2, 3)),), rng.standard_normal((2, 3))),
], ids=["Affine", "ReLU", "Sigmoid", "Tanh", "SoftmaxCrossEntropy", "SoftmaxCrossEntropy list",
        "MSELoss", "Sequential", "ResidualBlock"])
def test_layers_do_not_mutate(make):
    layer, forward_args, dout = make(np.random.default_rng(0))
    run_and_check_unchanged(layer, forward_args, dout)


def test_value_operations_do_not_change_their_operands():
    a, b = Value(0.7), Value(-1.3)
    f = ((a * b + 2.0) / (a.exp() - b) - a**2).tanh() + (3.0 - b).sigmoid() * a.log().relu()
    f.backward()
    assert (a.data, b.data) == (0.7, -1.3)
    assert seed_graph(0.5, -0.2, 1.5, 1.0) == seed_graph(0.5, -0.2, 1.5, 1.0)


def test_grad_norms_and_clipping_do_not_mutate():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    weights = [rng.standard_normal((4, 5)), rng.standard_normal((5, 2))]
    before = copy.deepcopy((x, weights))
    for activation in INDEPENDENT_ACTIVATIONS:
        layer_grad_norms(x, weights, activation)
        assert_same(before, (x, weights))
    grads = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    before = copy.deepcopy(grads)
    for max_norm in (0.1, 100.0):  # the clipping and the non-clipping branch
        clip_grad_norm(grads, max_norm)
        assert_same(before, grads)


# ------------------------------------------------------------------ numerical_jacobian (a2)


@pytest.mark.parametrize("x", [np.array([0.2, -0.4, 1.0]), np.arange(1.0, 7.0).reshape(2, 3) / 7,
                               (np.arange(1.0, 7.0).reshape(3, 2) / 5).T], ids=["1-D", "2-D", "x.T"])
def test_numerical_jacobian_is_numerator_layout_in_c_order(x):
    from grader.reference import numerical_jacobian

    kept = x.copy()
    # elementwise sin: a diagonal Jacobian, entries numbered in C order on both sides
    J = numerical_jacobian(np.sin, x)
    assert J.shape == (x.size, x.size) and np.array_equal(x, kept)
    assert rel_error(J, np.diag(np.cos(x).ravel())) < 1e-9
    # a linear map v -> v @ A (v flattened): the Jacobian is A.T
    A = np.random.default_rng(0).standard_normal((x.size, 4))
    assert rel_error(numerical_jacobian(lambda v: v.ravel() @ A, x), A.T) < 1e-9
    # a scalar: one row, the gradient (x has no zero entry: there 3x^2 + h^2 is all relative error)
    J = numerical_jacobian(lambda v: np.sum(v**3), x)
    assert J.shape == (1, x.size) and rel_error(J[0], 3 * x.ravel() ** 2) < 1e-8
