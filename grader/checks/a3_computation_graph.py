"""Hidden checks for a3_computation_graph: the Value engine, topological order, backward, seed graph.

Each check isolates its entity where it can:
- check_value drives the student's operations by calling every node's _backward in a
  topological order the grader works out, so it does not depend on the student's backward;
- check_topological_order runs on graphs of reference Values and on graphs made with the
  student's constructor only, never with the student's operations;
- check_backward calls the student's backward function on graphs of reference Values, so a
  wrong operation in the student's Value does not cost the backward points;
- check_seed_graph depends on everything by nature; when it fails it says which of Value,
  backward and topological_order fails its own check.
"""

import numbers
from collections import namedtuple

import numpy as np

from grader import reference as ref
from grader.course_secret import secret_seed
from grader.i18n import N_, _
from grader.sandbox_runner import remote_error

from .common import (
    Mistake,
    blame_failing_dependencies,
    call,
    check_parts,
    describe_error,
    expect_close,
    expect_number,
    fail,
    standin,
    type_name,
)


# Hidden inputs come from a seed per student and check, derived from the course secret:
# re-grading gives the same grade, and no two students share inputs.
def _seed(offset):
    """This student's secret seed for the hidden inputs at `offset` (grader.course_secret)."""
    return secret_seed(__name__, offset)

# ---------------------------------------------------------------------------------------------
# Feedback sentences (they name the mistake; they never show reference values), translated
# where they are used: the language is only known when a check runs

UPSTREAM = N_("it ignores the upstream gradient: multiply the local derivative by out.grad "
              "(chain rule).")
OVERWRITE = N_("a node used several times must accumulate its gradient: use += in _backward, "
               "never =, since each use adds its own contribution (for x * x, self and other "
               "are the same node).")
MUL_SWAP = N_("the local derivative of x * y with respect to x is y (and with respect to y is x).")
SUB_SIGN = N_("in x - y the local derivative with respect to y is -1: check the sign in "
              "__sub__'s backward (other.grad gets -out.grad).")
DIV_SQUARE = N_("d(x / y)/dy is -x / y**2 (the square is missing).")
NEG = N_("the local derivative of -x is -1.")
RSUB = N_("2 - x came out as x - 2: Python calls x.__rsub__(2) for 2 - x, so __rsub__(self, other) "
          "must compute other - self.")
RTRUEDIV = N_("3 / x came out as x / 3: Python calls x.__rtruediv__(3) for 3 / x, so "
              "__rtruediv__(self, other) must compute other / self.")
POW_RULE = N_("the power rule is d(x**k)/dx = k * x**(k - 1), not k * x**k.")
POW_FACTOR = N_("the power rule is d(x**k)/dx = k * x**(k - 1): the factor k is missing.")
EXP = N_("the local derivative of e**x is e**x itself (out.data), not 1.")
LOG_OUT = N_("d log(x)/dx is 1/x with x the input (self.data); dividing by the output log(x) is "
             "wrong.")
SIGMOID_AT_INPUT = N_("sigma'(x) = s (1 - s) with s = sigma(x) the output; x (1 - x) uses the "
                      "input instead.")
SIGMOID_TWICE = N_("sigma is applied twice: s = out.data already is sigma(x), so the local "
                   "derivative is s * (1 - s).")
SIGMOID_ALONE = N_("sigma(x) alone is not its derivative: sigma'(x) = sigma(x) (1 - sigma(x)).")
RELU_NEGATIVE = N_("ReLU passes no gradient where its input is negative (local derivative 0).")
RELU_POSITIVE = N_("ReLU passes the whole gradient where its input is positive (local "
                     "derivative 1).")
TANH_AT_INPUT = N_("tanh'(x) is 1 - tanh(x)^2: square the output t = tanh(x), not the input x "
                   "(1 - x^2 is wrong).")
NOT_REVERSED = N_("the _backward functions ran in topological order instead of reversed "
                  "topological order: walk reversed(topological_order(self)), so that the root's "
                  "_backward runs first.")
NO_SEED = N_("every gradient is 0: after resetting, set self.grad = 1.0 (d self/d self = 1) before "
             "calling the _backward functions.")
SOME_RESET = N_("a second backward() added to the gradients of some nodes: at the start of "
                "backward(), set the grad of every node of topological_order(self) to 0, not only "
                "the leaves or only the inner nodes.")
NO_RESET = N_("a second backward() added to the gradients of the first: set every node's grad to 0 "
              "at the start of backward(), before self.grad = 1.0.")

# ---------------------------------------------------------------------------------------------
# Walking a student's graph


def _nodes(entity, root, what):
    """Every node reachable from root through _prev, each checked to be a node. The walk runs
    where the nodes are (standins.graph_walk, one request); what it found wrong is said here."""
    found = standin(root, "graph_walk", root)
    if found[0] == "not a node":
        fail(entity, _("the graph of {what} holds a {type} where a Value should be: _prev must "
                       "contain Value nodes only (turn numbers into Value(...) first).").format(
                           what=what, type=found[1]))
    if found[0] == "missing":
        fail(entity, _("a node in the graph of {what} has no .{attribute}; every Value needs "
                       "data, grad, _prev and _backward (set in __init__).").format(
                           what=what, attribute=found[1]))
    if found[0] == "_prev":
        fail(entity, _("_prev of a node in {what} is not a collection of nodes; it should be "
                       "the set of the inputs.").format(what=what))
    return list(found[1])


def _read(objects, *names):
    """[[obj.name for each name] for each obj], read where the objects are in one request."""
    objects = list(objects)
    # (tuples: plain data the stand-in only reads; a list would be watched for changes)
    return standin(objects[0], "attributes", tuple(objects), names) if objects else []


def _topological_positions(inputs):
    """The positions of a graph's nodes in a topological order (inputs first, the root, at
    position 0, last), from each node's input positions (graph_state's; -1: not a node)."""
    order, visited, stack = [], set(), [(0, False)]
    while stack:
        k, inputs_done = stack.pop()
        if inputs_done:
            order.append(k)
        elif k not in visited:
            visited.add(k)
            stack.append((k, True))
            stack.extend((i, False) for i in reversed(inputs[k]) if i >= 0 and i not in visited)
    return order


def _push_gradients(entity, root, dout, what, nodes=None):
    """root.grad = dout, then every node's _backward in reversed topological order. The order
    is worked out here from the graph's shape, never with the student's code; the calls run
    where the nodes are (standins.backward_in_order): a few requests, not four a node. nodes:
    the root's, walked already (_nodes)."""
    nodes = _nodes(entity, root, what) if nodes is None else nodes
    inputs = [state[2] for state in _snapshot(nodes)]
    order = [nodes[k] for k in reversed(_topological_positions(inputs))]
    try:
        stopped = standin(root, "backward_in_order", tuple(order), dout)
    except Exception as exc:  # noqa: BLE001  (student code: ran too long, or ended the call)
        stopped = ["_backward", type_name(exc), str(exc).removeprefix(f"{type_name(exc)}: ")]
    if stopped and stopped[0] == "grad":  # setting a grad raised: not a _backward's fault
        raise remote_error(*stopped[1:])
    if stopped:
        fail(entity, _("the _backward of a node in {what} raised {error}").format(
            what=what, error=describe_error(remote_error(*stopped[1:]))))


def _run(entity, what, method, fn, *args):
    """Run a student expression; an exception becomes feedback naming the method involved."""
    try:
        return fn(*args)
    except NotImplementedError:
        fail(entity, _("{what} is not implemented yet ({method} still raises "
                       "NotImplementedError).").format(what=what, method=_(method)))
    except Exception as exc:  # noqa: BLE001  (student code)
        hint = ""
        if isinstance(exc, AttributeError) and "has no attribute 'data'" in str(exc):
            hint = " " + _("A number must become a Value before you read .data: "
                           "other = other if isinstance(other, Value) else Value(other).")
        fail(entity, _("computing {what} raised {error} (look at {method}).{hint}").format(
            what=what, error=describe_error(exc), method=_(method), hint=hint))


# ---------------------------------------------------------------------------------------------
# check_value

# what: the expression; method: the method it exercises (both marked N_ when they are words, and
# translated when shown); build(*leaves) -> root;
# values: the leaves' data; grad_mistakes(values, dout) -> one [(wrong grad, sentence)] per leaf;
# data_mistakes(values) -> [(wrong data, sentence)].
_Case = namedtuple("_Case", "what method build values grad_mistakes data_mistakes")


def _case(what, method, build, values, grad_mistakes=None, data_mistakes=None):
    return _Case(what, method, build, tuple(float(v) for v in values),
                 grad_mistakes or (lambda v, d: [[] for _ in v]),
                 data_mistakes or (lambda v: []))


def _value_cases(rng):
    def anywhere(n=1, scale=2.5):
        return rng.uniform(-scale, scale, n)

    def away_from_zero(n=1):
        return rng.choice([-1.0, 1.0], n) * rng.uniform(0.4, 2.5, n)

    def positive(n=1):
        return rng.uniform(1.3, 3.5, n)

    cases = [
        _case("x + y", "__add__", lambda x, y: x + y, anywhere(2)),
        _case("x * y", "__mul__", lambda x, y: x * y, away_from_zero(2),
              lambda v, d: [[(v[0] * d, MUL_SWAP)], [(v[1] * d, MUL_SWAP)]]),
        _case("x - y", "__sub__", lambda x, y: x - y, anywhere(2),
              lambda v, d: [[], [(d, SUB_SIGN)]]),
        _case("x / y", "__truediv__", lambda x, y: x / y, away_from_zero(2),
              lambda v, d: [[(v[1] * d, N_("d(x / y)/dx is 1 / y."))],
                            [(-v[0] / v[1] * d, DIV_SQUARE)]]),
        _case("x + 1.5", "__add__", lambda x: x + 1.5, anywhere()),
        _case("1.5 + x", "__radd__", lambda x: 1.5 + x, anywhere()),
        _case("x * 2.5", "__mul__", lambda x: x * 2.5, anywhere()),
        _case("2.5 * x", "__rmul__", lambda x: 2.5 * x, anywhere()),
        _case("x - 0.75", "__sub__", lambda x: x - 0.75, anywhere()),
        _case("2 - x", "__rsub__", lambda x: 2 - x, anywhere(),
              lambda v, d: [[(d, RSUB)]], lambda v: [(v[0] - 2, RSUB)]),
        _case("x / 4", "__truediv__", lambda x: x / 4, anywhere()),
        _case("3 / x", "__rtruediv__", lambda x: 3 / x, away_from_zero(),
              lambda v, d: [[(d / 3, RTRUEDIV), (-3 / v[0] * d, DIV_SQUARE)]],
              lambda v: [(v[0] / 3, RTRUEDIV)]),
        _case("-x", "__neg__", lambda x: -x, away_from_zero(), lambda v, d: [[(d, NEG)]],
              lambda v: [(v[0], N_("-x came out as x: negate it, for example as x * -1."))]),
    ]
    for k, values in ((3, away_from_zero()), (2, away_from_zero()), (-2, away_from_zero()),
                      (0.5, positive()), (-1.5, positive())):
        cases.append(_case(f"x ** {k}", "__pow__", lambda x, k=k: x**k, values,
                           lambda v, d, k=k: [[(k * v[0]**k * d, POW_RULE),
                                               (v[0] ** (k - 1) * d, POW_FACTOR)]]))
    cases += [
        _case("x.exp()", "exp", lambda x: x.exp(), anywhere(), lambda v, d: [[(d, EXP)]]),
        _case("x.log()", "log", lambda x: x.log(), positive(),
              lambda v, d: [[(d / np.log(v[0]), LOG_OUT)]]),
        _case("x.sigmoid()", "sigmoid", lambda x: x.sigmoid(), anywhere(scale=4.0),
              _sigmoid_mistakes),
        _case(N_("x.sigmoid() at a large x"), "sigmoid", lambda x: x.sigmoid(), [7.5],
              _sigmoid_mistakes),
        _case(N_("x.relu() at x > 0"), "relu", lambda x: x.relu(), positive(),
              lambda v, d: [[(0.0, RELU_POSITIVE)]]),
        _case(N_("x.relu() at x < 0"), "relu", lambda x: x.relu(), -positive(),
              lambda v, d: [[(d, RELU_NEGATIVE)]]),
        _case("x.tanh()", "tanh", lambda x: x.tanh(), away_from_zero(),
              lambda v, d: [[((1 - v[0] ** 2) * d, TANH_AT_INPUT)]]),
        # a node used twice: its gradient must accumulate
        _case("x * x", "__mul__", lambda x: x * x, away_from_zero(),
              lambda v, d: [[(v[0] * d, OVERWRITE)]]),
        _case("x + x", "__add__", lambda x: x + x, anywhere(), lambda v, d: [[(d, OVERWRITE)]]),
        _case("x * y + x", "__mul__", lambda x, y: x * y + x, away_from_zero(2),
              lambda v, d: [[(v[1] * d, OVERWRITE), (d, OVERWRITE)], []]),
        _case("y * x + x", "__mul__", lambda x, y: y * x + x, away_from_zero(2),
              lambda v, d: [[(v[1] * d, OVERWRITE), (d, OVERWRITE)], []]),
        # compositions: everything at once
        _case("(x * y + x.tanh()) / (y ** 2 + 1)", N_("several operations"),
              lambda x, y: (x * y + x.tanh()) / (y**2 + 1), anywhere(2)),
        _case("(x - y).sigmoid() * x.exp() - 2 * y", N_("several operations"),
              lambda x, y: (x - y).sigmoid() * x.exp() - 2 * y, anywhere(2)),
        _case("(2 - x).relu() + (3 / y).log()", N_("several operations"),
              lambda x, y: (2 - x).relu() + (3 / y).log(), [rng.uniform(-2, 1.5),
                                                             rng.uniform(0.5, 2.5)]),
    ]
    return cases


def _sigmoid_mistakes(v, d):
    s = ref.sigmoid
    a = v[0]
    return [[(a * (1 - a) * d, SIGMOID_AT_INPUT),
             (s(s(a)) * (1 - s(s(a))) * d, SIGMOID_TWICE),
             (s(a) * d, SIGMOID_ALONE)]]


LEAF_NAMES = ("x", "y")


def check_value(Value):
    """A new Value first (nothing works without it), then each operation as a part of its own:
    a Value with 11 of 12 operations right earns 11/12 of the cell."""
    _check_leaf(Value)
    rng = np.random.default_rng(_seed(0))
    by_method = {}
    for case in _value_cases(rng):
        dout = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
        by_method.setdefault(case.method, []).append((case, dout))

    def part(cases):
        def check():
            for case, dout in cases:
                _check_case(Value, case, dout)
        return check
    check_parts("Value", [(_(method), part(cases)) for method, cases in by_method.items()])


def _check_leaf(Value):
    name = "Value"
    leaf = call(name, Value, 3)
    data = expect_number(name, "Value(3).data", getattr(leaf, "data", None))
    expect_close(name, "Value(3).data", data, 3.0)
    if not isinstance(getattr(leaf, "grad", None), numbers.Real) or leaf.grad != 0.0:
        fail(name, _("a new Value should start with grad = 0.0."))
    _nodes(name, leaf, _("a leaf Value(3)"))
    if len(list(leaf._prev)) != 0:
        fail(name, _("a leaf (made with Value(3)) should have no inputs: _prev empty."))
    call(name, leaf._backward)  # a leaf's _backward exists and does nothing harmful


def _check_case(Value, case, dout):
    name = "Value"
    what = _(case.what)
    leaves = [call(name, Value, v) for v in case.values]
    out = _run(name, what, case.method, case.build, *leaves)
    if not isinstance(out, Value):
        fail(name, _("{what} returned a {type}; every operation must return a new Value.").format(
            what=what, type=type_name(out)))
    if any(out is leaf for leaf in leaves):
        fail(name, _("{what} returned its input; an operation must create a new Value.").format(
            what=what))
    nodes = _nodes(name, out, what)
    reachable = {id(n) for n in nodes}
    for label, leaf in zip(LEAF_NAMES, leaves):
        if id(leaf) not in reachable:
            fail(name, _("in {what}, {label} cannot be reached from the result through _prev: "
                         "create the output with its inputs as _children, Value(data, (self, "
                         "other)).").format(what=what, label=label))
    *leaf_fields, (out_data, _grad) = _read([*leaves, out], "data", "grad")
    for label, (leaf_data, leaf_grad), v in zip(LEAF_NAMES, leaf_fields, case.values):
        if leaf_data != v or leaf_grad != 0.0:
            fail(name, _("computing {what} changed {label} (its data or grad): an operation only "
                         "creates a new node; gradients change only inside _backward.").format(
                             what=what, label=label))
    data = expect_number(name, f"({what}).data", out_data)
    ref_leaves = [ref.Value(v) for v in case.values]
    ref_out = case.build(*ref_leaves)
    where = _("at {values}").format(values=", ".join(
        f"{lab} = {v:.3g}" for lab, v in zip(LEAF_NAMES, case.values)))
    expect_close(name, _("the value of {what} {where}").format(what=what, where=where), data,
                 ref_out.data, mistakes=[(wrong, _(sentence))
                                         for wrong, sentence in case.data_mistakes(case.values)])
    _push_gradients(name, out, dout, what, nodes)
    _push_gradients(name, ref_out, dout, what)
    per_leaf = case.grad_mistakes(case.values, dout)
    leaf_fields = _read(leaves, "grad", "data")
    for label, (leaf_grad, _data), ref_leaf, mistakes in zip(LEAF_NAMES, leaf_fields, ref_leaves,
                                                            per_leaf):
        got = expect_number(name, _("the gradient of {label} in {what}").format(
            label=label, what=what), leaf_grad)
        expect_close(name, _("the gradient of {label} in {what} {where}").format(
            label=label, what=what, where=where), got, ref_leaf.grad,
            mistakes=[*[(wrong, _(sentence)) for wrong, sentence in mistakes],
                      (ref_leaf.grad / dout, _(UPSTREAM))], precise=True)
    for label, (_grad, leaf_data), v in zip(LEAF_NAMES, leaf_fields, case.values):
        if leaf_data != v:
            fail(name, _("the backward of {what} changed {label}.data; only grads may change.")
                 .format(what=what, label=label))


# ---------------------------------------------------------------------------------------------
# Graphs for topological_order and backward: builders return (root, {name: node})


def _leaf_graph():
    x = ref.Value(1.5)
    return x, {"x": x}


def _diamond_graph():
    x, y = ref.Value(0.7), ref.Value(-1.2)
    a = x * 2.0
    b = x + y
    c = (a * b).tanh()
    return c, {"x": x, "y": y, "a": a, "b": b, "c": c}


def _twice_graph():
    x = ref.Value(-0.9)
    y = x * x
    z = y * x + x
    return z, {"x": x, "y": y, "z": z}


def _equal_values_graph():
    # distinct nodes with the same data: a visited set keyed by data would merge them
    a, b = ref.Value(1.0), ref.Value(1.0)
    c = a * b + a
    d = c * b
    return d, {"a": a, "b": b, "c": c, "d": d}


def _seed_graph(w=0.8, b=-0.3, x=1.7, y=0.2):
    w, b = ref.Value(w), ref.Value(b)
    u1 = w * x
    u2 = u1 + b
    u3 = u2.sigmoid()
    u4 = u3 - y
    u5 = u4**2
    u6 = 0.5 * u5
    u7 = w**2
    u8 = 0.5 * u7
    u9 = u6 + u8
    return u9, {"w": w, "b": b, "u2": u2, "u4": u4, "u7": u7, "u9": u9}


def _random_graph(seed=1):
    rng = np.random.default_rng(_seed(seed))
    leaves = [ref.Value(v) for v in rng.uniform(-1.5, 1.5, 4)]
    nodes = list(leaves)
    for _step in range(30):
        i, j = rng.integers(len(nodes), size=2)
        a, b = nodes[i], nodes[j]
        op = rng.integers(5)
        nodes.append([a + b, a * b, a - b, (a * b).tanh(), (a + b).sigmoid()][op])
    root = nodes[-1] + nodes[-2] + nodes[-5]
    return root, {f"leaf{k}": v for k, v in enumerate(leaves)} | {"root": root}


def _chain_graph(steps=100, seed=2):
    """h <- h * w_k + x, 100 times: 300 nodes, 200 deep (fine for a recursive sort)."""
    rng = np.random.default_rng(_seed(seed))
    x = ref.Value(0.3)
    h = x
    weights = []
    for w in rng.uniform(0.8, 1.05, steps):
        weights.append(ref.Value(w))
        h = h * weights[-1] + x
    return h, {"x": x, "w1": weights[0], "w50": weights[49], "w100": weights[-1], "h": h}


def _graph_spec(root, named):
    """A reference graph as plain data for standins.graph: [data, op, inputs, local derivatives]
    per node, inputs first, and each node's index. The local derivatives are read off the
    reference's own _backward (numbers, never formulas). Named nodes that the root does not
    reach (a random graph's unused leaf) come first, on their own."""
    order = ref.topological_order(root)
    reached = {id(n) for n in order}
    order = [n for n in named.values() if id(n) not in reached] + order
    index = {id(n): k for k, n in enumerate(order)}
    spec = []
    for node in order:
        inputs = sorted(node._prev, key=lambda n: index[id(n)])
        for n in (node, *inputs):  # a _backward changes only its inputs' grads
            n.grad = 0.0
        node.grad = 1.0
        node._backward()
        # (tuples: plain data the stand-in only reads; a list would be watched for changes)
        spec.append((node.data, node._op, tuple(index[id(n)] for n in inputs),
                     tuple(n.grad for n in inputs)))
        for n in (node, *inputs):
            n.grad = 0.0
    return tuple(spec), index


def _standin_graph(like, build):
    """build()'s graph made of stand-in nodes where the student's code runs (only plain data
    crosses): (root, {label: node}, every node the root reaches)."""
    root, named = build()
    spec, index = _graph_spec(root, named)
    nodes = list(standin(like, "graph", spec))
    rows = [index[id(n)] for n in ref.topological_order(root)]  # the reachable nodes' rows
    reachable = _StandinNodes(nodes[k] for k in rows)
    # the graph's structure is known here: no need to ask the sandbox node by node
    reachable.inputs = {id(nodes[k]): [nodes[i] for i in spec[k][2]] for k in range(len(nodes))}
    # and so is what graph_state says of the graph just built (data, grad 0, input positions)
    position = {k: p for p, k in enumerate(rows)}
    reachable.state = [[float(spec[k][0]), 0.0, sorted({position[i] for i in spec[k][2]})]
                       for k in rows]
    reachable.like = like
    return nodes[-1], {label: nodes[index[id(n)]] for label, n in named.items()}, reachable


class _StandinNodes(list):
    """The nodes of a stand-in graph, with each node's inputs as built (id(node) -> inputs) and
    their state as built (what graph_state would say)."""

    inputs, state, like = None, None, None


# (description, builder); a description is translated where it is shown
_GRAPHS = [(N_("a single node"), _leaf_graph), (N_("a diamond-shaped graph"), _diamond_graph),
           (N_("a graph using x three times"), _twice_graph),
           (N_("a graph with two different nodes holding the same number"), _equal_values_graph),
           (N_("the lecture's graph of f(w, b)"), _seed_graph),
           (N_("a random expression"), _random_graph),
           (N_("a chain of 300 nodes"), _chain_graph)]


def _constructor_graphs(Value):
    """Graphs made with the student's Value constructor only (not with their operations)."""
    # [constructor arguments, which of them are inputs (positions among the nodes made)]:
    # made where the student's code runs, in one request (standins.constructed)
    specs = [((2.0,), ()), ((1.0,), ()), ((1.0,), ()),  # leaf, x, y
             ((0.0, (1, 2), "+"), (1,)), ((0.0, (3, 1), "*"), (1,)), ((0.0, (3, 4), "+"), (1,))]
    chain = 1  # x, then 120 nodes chain[-1] + y
    for k in range(120):
        specs.append(((float(k), (chain, 2), "+"), (1,)))
        chain = len(specs) - 1
    specs = tuple(specs)  # plain data the stand-in only reads
    made = call("Value", lambda: standin(Value, "constructed", Value, specs))
    return [(_("a single node made with your Value"), made[0]),
            (_("a diamond made with your Value"), made[5]),
            (_("a chain of 120 nodes made with your Value"), made[chain])]


# ---------------------------------------------------------------------------------------------
# check_topological_order


def _is_topological(order, inputs):
    """Every node after all of its inputs (inputs: id(node) -> its inputs)."""
    position = {id(n): i for i, n in enumerate(order)}
    return all(position[id(c)] < position[id(n)] for n in order for c in inputs[id(n)])


def _snapshot(nodes):
    """The nodes' data, grad and inputs (positions among nodes), read in one request."""
    like = nodes.like if isinstance(nodes, _StandinNodes) else (nodes[0] if nodes else None)
    return standin(like, "graph_state", tuple(nodes))


def check_topological_order(topological_order, Value):
    name = "topological_order"
    for what, build in _GRAPHS:
        root, _named, nodes = _standin_graph(topological_order, build)
        _check_order(name, topological_order, root, _(what), nodes)
    for what, root in _constructor_graphs(Value):
        _check_order(name, topological_order, root, what)


def _check_order(name, topological_order, root, what, nodes=None):
    nodes = _nodes("Value", root, what) if nodes is None else nodes
    before = nodes.state if isinstance(nodes, _StandinNodes) else _snapshot(nodes)
    got = call(name, topological_order, root)
    if not isinstance(got, (list, tuple)):
        fail(name, _("should return a list of nodes, but it returned a {type}.").format(
            type=type_name(got)))
    got = list(got)
    ids = {id(n) for n in nodes}
    strangers = [n for n in got if id(n) not in ids]
    if strangers:
        fail(name, _("on {what}, the list holds a {type} that is not a node of the graph: "
                     "return the Value objects themselves.").format(
                         what=what, type=type_name(strangers[0])))
    if len({id(n) for n in got}) < len(got):
        fail(name, _("on {what}, the list has a node more than once: a node used by several "
                     "others is reached several times; keep a set of visited nodes and skip "
                     "them.").format(what=what))
    # what the nodes hold now, read in one request: their data, and their inputs for the order
    after = _snapshot(nodes)
    if len(got) < len(nodes):
        listed = {id(n) for n in got}
        data = [state[0] for state in after]
        same_data = {d for n, d in zip(nodes, data) if id(n) in listed} & \
            {d for n, d in zip(nodes, data) if id(n) not in listed}
        hint = " " + _("Different nodes may hold the same number: keep the nodes themselves "
                       "in the visited set, not their data.") if same_data else ""
        fail(name, _("on {what}, the list misses {missing} of the {total} reachable nodes: visit "
                     "every input in node._prev, recursively, down to the leaves.{hint}").format(
                         what=what, missing=len(nodes) - len(got), total=len(nodes), hint=hint))
    if after != before:  # (an input that is not a node of the graph shows here too)
        fail(name, _("changed the graph of {what} (a node's data, grad or _prev): it must only "
                     "read the nodes.").format(what=what))
    inputs = nodes.inputs if isinstance(nodes, _StandinNodes) else {
        id(node): [nodes[i] for i in state[2] if i >= 0] for node, state in zip(nodes, after)}
    if not _is_topological(got, inputs):
        if _is_topological(got[::-1], inputs):
            fail(name, _("on {what}, the list is reversed: every node must come after all of "
                         "its inputs, so the root is last (append a node after visiting its "
                         "inputs; do not reverse the list).").format(what=what))
        fail(name, _("on {what}, a node comes before one of its inputs: append a node only after "
                     "all of its inputs have been visited (post-order), not when you first reach "
                     "it.").format(what=what))


# ---------------------------------------------------------------------------------------------
# check_backward


def _simulated_grads(build, *, reverse=True, seed=True, reset="all", calls=1):
    """The gradients a backward() with a known mistake leaves, made from the reference's pieces.
    reset: which nodes it sets to 0 first: "all", "leaves", "inner" or "none"."""
    root, named = build()
    order = ref.topological_order(root)
    for _call_k in range(calls):
        for node in order:
            leaf = not node._prev
            if reset == "all" or (reset == "leaves" and leaf) or (reset == "inner" and not leaf):
                node.grad = 0.0
        if seed:
            root.grad = 1.0
        for node in reversed(order) if reverse else order:
            node._backward()
    return {label: node.grad for label, node in named.items()}


def check_backward(Value, backward, topological_order=None):
    name = "Value.backward"
    if not callable(backward):
        fail(name, _("backward should be a function backward(self)."))
    if getattr(Value, "backward", None) is not backward:
        fail(name, _("Value.backward is not your backward function: keep the line "
                     "Value.backward = backward after the function (and re-run that cell after "
                     "the Value cell)."))
    leaf = call("Value", Value, 3.0)
    leaf.grad = 5.0  # a stale gradient from an earlier call
    call(name, leaf.backward)
    single = _("x.grad after x.backward() on a single node x")
    got = expect_number(name, single, leaf.grad)
    expect_close(name, single, got, 1.0,
                 mistakes=[(0.0, _(NO_SEED)), (5.0, _(NO_SEED)), (6.0, _(NO_RESET))])
    for what, build in _GRAPHS:
        try:
            _check_backward_on(name, backward, _(what), build)
        except Mistake as mistake:
            # backward walks the order your topological_order gives: when that is wrong, say so
            # rather than describe the symptom
            if topological_order is not None and not _gives_valid_order(topological_order, build):
                blame_failing_dependencies(name, mistake, [(
                    "topological_order",
                    lambda: check_topological_order(topological_order, Value))])
            raise


def _gives_valid_order(topological_order, build):
    root, _, nodes = _standin_graph(topological_order, build)
    try:
        got = list(topological_order(root))
    except Exception:  # noqa: BLE001  (student code)
        return False
    return (len(got) == len(nodes) and {id(n) for n in got} == {id(n) for n in nodes}
            and _is_topological(got, nodes.inputs))


def _check_backward_on(name, backward, what, build):
    root, named, _nodes_reached = _standin_graph(backward, build)
    labels = list(named)
    # the nodes' fields are read in one request each time (standins.attributes)
    data_before = dict(zip(labels, (data for (data,) in _read(named.values(), "data"))))
    call(name, backward, root)
    want_root, want_named = build()
    ref.Value.backward(want_root)
    want = {label: node.grad for label, node in want_named.items()}
    not_reversed = _simulated_grads(build, reverse=False)
    no_seed = _simulated_grads(build, seed=False)
    # the root first: if its grad is not 1, nothing else can be right
    (root_grad_got,), *grads = _read([root, *named.values()], "grad")
    root_grad = _("the root's grad after backward() on {what}").format(what=what)
    got = expect_number(name, root_grad, root_grad_got)
    expect_close(name, root_grad, got, 1.0, mistakes=[(0.0, _(NO_SEED))])
    for label, (node_grad,) in zip(labels, grads):
        grad = _("{label}.grad after backward() on {what}").format(label=label, what=what)
        got = expect_number(name, grad, node_grad)
        expect_close(name, grad, got, want[label], mistakes=[
            (not_reversed[label], _(NOT_REVERSED)), (no_seed[label], _(NO_SEED))])
    call(name, backward, root)
    no_reset = _simulated_grads(build, reset="none", calls=2)
    some_reset = [_simulated_grads(build, reset=which, calls=2) for which in ("leaves", "inner")]
    fields = _read(named.values(), "grad", "data")
    for label, (node_grad, _data) in zip(labels, fields):
        got = expect_number(name, _("{label}.grad after a second backward()").format(
            label=label), node_grad)
        expect_close(name, _("{label}.grad after a second backward() on {what}").format(
            label=label, what=what), got, want[label],
            mistakes=[(no_reset[label], _(NO_RESET)),
                      *[(grads[label], _(SOME_RESET)) for grads in some_reset]])
    for label, (_grad, node_data) in zip(labels, fields):
        if node_data != data_before[label]:
            fail(name, _("backward() changed {label}.data on {what}; it may only change grads.")
                 .format(label=label, what=what))


# ---------------------------------------------------------------------------------------------
# check_seed_graph


def _seed_points(seed=3):
    rng = np.random.default_rng(_seed(seed))
    points = [tuple(float(v) for v in rng.uniform(-2, 2, 4)) for _ in range(5)]
    points.append((2.5, 1.0, 3.0, 0.9))  # a saturated sigmoid: wx + b = 8.5
    points.append((-0.6, 0.0, 0.0, 1.0))  # x = 0: only the weight penalty moves w
    return points


def check_seed_graph(seed_graph, Value, backward=None, topological_order=None):
    name = "seed_graph"
    try:
        _check_seed_graph(name, seed_graph, Value)
    except Mistake as mistake:
        blame_failing_dependencies(name, mistake, [
            ("Value", lambda: check_value(Value)),
            *([("topological_order", lambda: check_topological_order(topological_order, Value))]
              if topological_order is not None else []),
            *([("backward", lambda: check_backward(Value, backward, topological_order))]
              if backward is not None else [])])


def _check_seed_graph(name, seed_graph, Value):
    for k, point in enumerate(_seed_points()):
        if k == 0:
            got, made = _counting_values(name, Value, seed_graph, point)
            if made == 0:
                fail(name, _("seed_graph should build the graph from Value objects "
                             "(w = Value(w), ...) and call backward() on it; the closed form is "
                             "only for checking."))
        else:
            got = call(name, seed_graph, *point)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            fail(name, _("should return the three numbers (f, df/dw, df/db)."))
        if any(isinstance(v, Value) for v in got):
            fail(name, _("should return plain numbers (u9.data, w.grad, b.grad), not Value "
                         "objects."))
        f, dw, db = (expect_number(name, lab, v) for lab, v in zip(("f", "df/dw", "df/db"), got))
        w, b, x, y = point
        want_f, want_dw, want_db = ref.seed_graph(*point)
        s = ref.sigmoid(w * x + b)
        no_backward = _("the gradients are 0: call u9.backward() before reading w.grad and "
                        "b.grad.")
        expect_close(name, "f", f, want_f, mistakes=[
            (0.5 * (s - y) ** 2, _("f is missing the weight penalty 1/2 w^2 (u7, u8, "
                                   "u9 = u6 + u8).")),
            ((s - y) ** 2 + w**2, _("f is missing the factors 1/2 (u6 = 0.5 * u5, "
                                    "u8 = 0.5 * u7)."))])
        expect_close(name, "df/db", db, want_db, mistakes=[
            (0.0, no_backward), (want_dw, _("df/dw and df/db are swapped: return (f, dw, db).")),
            (s - y, _("the sigmoid's local derivative s (1 - s) is missing."))], precise=True)
        expect_close(name, "df/dw", dw, want_dw, mistakes=[
            (0.0, no_backward),
            (x * want_db, _("w feeds u1 = wx and u7 = w^2: the path through u7 (the weight "
                            "penalty, + w) is missing.")),
            (w, _("w feeds u1 = wx and u7 = w^2: the path through u1 (x times df/du1) is "
                  "missing.")),
            (x * want_db + 2 * w, _("u8 = 0.5 * u7: the path through u7 should add w, not 2w."))],
            precise=True)


def _counting_values(name, Value, seed_graph, point):
    """seed_graph(*point) while counting the Values it makes, where the student's code runs
    (standins.made_while): (its result, the count)."""
    got, made = call(name, lambda: standin(Value, "made_while", Value, seed_graph, tuple(point)))
    return got, made


# ---------------------------------------------------------------------------------------------
# The catalogue the grading tests run through the real pipeline (see grader.simulate):
# name -> (grade_id, text of the model answer, the mistake typed instead, words of the feedback).
KNOWN_MISTAKES = {
    "mul_overwrites": ("value", "other.grad += self.data * out.grad",
                       "other.grad = self.data * out.grad", "accumulate"),
    "tanh_at_input": ("value", "self.grad += (1.0 - t**2) * out.grad",
                      "self.grad += (1.0 - self.data**2) * out.grad", "1 - tanh(x)^2"),
    "sigmoid_twice": ("value", "self.grad += s * (1.0 - s) * out.grad",
                      ("self.grad += (1 / (1 + math.exp(-s))) * (1 - 1 / (1 + math.exp(-s)))"
                       " * out.grad"), "applied twice"),
    "log_over_output": ("value", "self.grad += out.grad / self.data",
                        "self.grad += out.grad / out.data", "1/x"),
    "pow_rule": ("value", "self.grad += k * self.data ** (k - 1) * out.grad",
                 "self.grad += k * self.data ** k * out.grad", "power rule"),
    "sub_sign": ("value", "other.grad -= out.grad", "other.grad += out.grad", "__sub__"),
    "rsub_swapped": ("value", "return Value(other) - self", "return self - other", "__rsub__"),
    "rtruediv_swapped": ("value", "return Value(other) / self", "return self / other",
                         "__rtruediv__"),
    "topological_pre_order": ("topological_order",
                              ("            for inp in node._prev:\n"
                               "                visit(inp)\n"
                               "            order.append(node)"),
                              ("            order.append(node)\n"
                               "            for inp in node._prev:\n"
                               "                visit(inp)"), "post-order"),
    "topological_reversed": ("topological_order", "return order", "return order[::-1]",
                             "reversed"),
    "topological_no_visited_set": ("topological_order", "if node not in visited:",
                                   "if True:", "more than once"),
    "backward_not_reversed": ("backward", "for node in reversed(order):", "for node in order:",
                              "reversed"),
    "backward_no_reset": ("backward", "        node.grad = 0.0\n", "        pass\n",
                          "second backward"),
    "backward_no_seed": ("backward", "self.grad = 1.0", "pass", "self.grad = 1.0"),
    "backward_resets_leaves_only": ("backward", "    for node in order:\n        node.grad = 0.0\n",
                                    ("    for node in order:\n        if not node._prev:\n"
                                     "            node.grad = 0.0\n"), "some nodes"),
    "seed_no_backward": ("seed_graph", "    u9.backward()\n", "", "u9.backward()"),
    "seed_swapped": ("seed_graph", "return u9.data, w.grad, b.grad",
                     "return u9.data, b.grad, w.grad", "swapped"),
}

# Correct answers written differently from the model answers: each must score full marks.
# They are submitted together in one notebook, so they work with each other.
ALTERNATIVE_SOLUTIONS = {
    "value": '''
class Value:
    """micrograd style, with composite operations where they are enough."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value({self.data}, grad={self.grad})"

    @staticmethod
    def wrap(v):
        return v if isinstance(v, Value) else Value(v)

    def one_input(self, data, local, op):
        """A node made from self alone, whose derivative with respect to self is local."""
        out = Value(data, (self,), op)

        def push():
            self.grad += local * out.grad

        out._backward = push
        return out

    def __add__(self, other):
        other = Value.wrap(other)
        out = Value(self.data + other.data, (self, other), "+")

        def push():
            for node in (self, other):
                node.grad += out.grad

        out._backward = push
        return out

    def __mul__(self, other):
        other = Value.wrap(other)
        out = Value(self.data * other.data, (self, other), "*")

        def push():
            for node, local in ((self, other.data), (other, self.data)):
                node.grad += local * out.grad

        out._backward = push
        return out

    def __pow__(self, k):
        return self.one_input(self.data**k, k * self.data ** (k - 1), f"**{k}")

    def exp(self):
        e = math.exp(self.data)
        return self.one_input(e, e, "exp")

    def log(self):
        return self.one_input(math.log(self.data), 1 / self.data, "log")

    def sigmoid(self):
        e = math.exp(-self.data)  # the derivative from the input: e^-x / (1 + e^-x)^2
        return self.one_input(1 / (1 + e), e / (1 + e) ** 2, "sigmoid")

    def relu(self):
        positive = self.data > 0
        return self.one_input(self.data if positive else 0.0, 1.0 if positive else 0.0, "relu")

    def tanh(self):
        return self.one_input(math.tanh(self.data), 1 / math.cosh(self.data) ** 2, "tanh")

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
        return -self + other

    def __rtruediv__(self, other):
        return self**-1 * other
''',
    "topological_order": '''
def topological_order(root):
    # iterative depth-first search: a node is listed once all of its inputs are listed
    order, done, stack = [], set(), [root]
    while stack:
        node = stack[-1]
        waiting = [c for c in node._prev if c not in done]
        if waiting:
            stack.extend(waiting)
            continue
        stack.pop()
        if node not in done:
            done.add(node)
            order.append(node)
    return order
''',
    "backward": '''
def backward(self):
    # Kahn's algorithm: a node runs once every node computed from it has run
    nodes = topological_order(self)
    consumers = {node: 0 for node in nodes}
    for node in nodes:
        node.grad = 0.0
        for child in node._prev:
            consumers[child] += 1
    self.grad = 1.0
    ready = [self]
    while ready:
        node = ready.pop()
        node._backward()
        for child in node._prev:
            consumers[child] -= 1
            if consumers[child] == 0:
                ready.append(child)


Value.backward = backward
''',
    "seed_graph": '''
def seed_graph(w, b, x, y):
    w, b = Value(w), Value(b)
    f = 0.5 * ((w * x + b).sigmoid() - y) ** 2 + 0.5 * w**2
    f.backward()
    return f.data, w.grad, b.grad
''',
}

# Two more complete sets of correct answers, each in a style of its own and submitted together as
# one student's notebook (tests/conftest.py: students alt2_<aid>, alt3_<aid>); each must score
# full marks. Set 1: one generic node maker with (input, local derivative) pairs, operator
# aliases, Kahn's algorithm, integer seeds. Set 2: numpy's functions, derivatives read off
# out.data, composite operations, a recursive generator for the order, a backward with its own
# explicit-stack search.
MORE_ALTERNATIVE_SOLUTIONS = [
    {
        "value": '''
class Value:
    """A scalar in a computation graph: its value, its gradient and how it was computed."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0  # d(root)/d(this node); filled in by backward()
        self._prev = set(_children)  # the nodes this one was computed from
        self._op = _op  # the operation that made this node
        self._backward = lambda: None  # pushes self.grad into the inputs' grads

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _lift(v):
        return v if isinstance(v, Value) else Value(v)

    def _node(self, data, pairs, op):
        """A new node from [(input, d data / d input), ...]; an input may appear twice."""
        out = Value(data, [node for node, _ in pairs], op)

        def _backward():
            for node, local in pairs:
                node.grad += local * out.grad

        out._backward = _backward
        return out

    def __add__(self, other):
        other = Value._lift(other)
        return self._node(self.data + other.data, [(self, 1.0), (other, 1.0)], "+")

    def __mul__(self, other):
        other = Value._lift(other)
        return self._node(self.data * other.data, [(self, other.data), (other, self.data)], "*")

    def __sub__(self, other):
        other = Value._lift(other)
        return self._node(self.data - other.data, [(self, 1.0), (other, -1.0)], "-")

    def __truediv__(self, other):
        other = Value._lift(other)
        return self._node(self.data / other.data,
                          [(self, 1.0 / other.data), (other, -self.data / other.data**2)], "/")

    def __pow__(self, k):
        """self ** k for a number k (int or float)."""
        return self._node(self.data**k, [(self, k * self.data ** (k - 1))], f"**{k}")

    def exp(self):
        e = math.exp(self.data)
        return self._node(e, [(self, e)], "exp")

    def log(self):
        return self._node(math.log(self.data), [(self, 1.0 / self.data)], "log")

    def sigmoid(self):
        t = math.tanh(self.data / 2)  # sigma(x) = (1 + tanh(x/2)) / 2
        return self._node(0.5 * (1.0 + t), [(self, 0.25 * (1.0 - t * t))], "sigmoid")

    def relu(self):
        return self._node(max(self.data, 0.0), [(self, 1.0 if self.data > 0 else 0.0)], "relu")

    def tanh(self):
        t = math.tanh(self.data)
        return self._node(t, [(self, 1.0 - t * t)], "tanh")

    def __neg__(self):
        return self._node(-self.data, [(self, -1.0)], "neg")

    __radd__ = __add__  # other + self == self + other
    __rmul__ = __mul__

    def __rsub__(self, other):
        """other - self, for a number other."""
        return Value._lift(other) - self

    def __rtruediv__(self, other):
        """other / self, for a number other."""
        return Value._lift(other) / self
''',
        "topological_order": '''
def topological_order(root):
    """Every node reachable from root, each after all of its inputs (root is last)."""
    # Kahn's algorithm: find every node, then list a node once all of its inputs are listed
    nodes, stack, seen = [], [root], {id(root)}
    while stack:
        node = stack.pop()
        nodes.append(node)
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    waiting = {id(node): len(node._prev) for node in nodes}  # inputs not listed yet
    users = {id(node): [] for node in nodes}
    for node in nodes:
        for child in node._prev:
            users[id(child)].append(node)
    ready = [node for node in nodes if waiting[id(node)] == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for user in users[id(node)]:
            waiting[id(user)] -= 1
            if waiting[id(user)] == 0:
                ready.append(user)
    return order
''',
        "backward": '''
def backward(self):
    """Fill in .grad of every node of the graph that computes self: d(self)/d(node)."""
    order = topological_order(self)
    for node in order:
        node.grad = 0
    self.grad = 1  # d self / d self
    for node in order[::-1]:
        node._backward()


Value.backward = backward
''',
        "seed_graph": '''
def seed_graph(w, b, x, y):
    """f(w, b) = 1/2 (sigma(w x + b) - y)^2 + 1/2 w^2 and its gradient, from a graph of Values."""
    w, b = Value(w), Value(b)
    u1 = x * w
    u2 = b + u1
    u3 = u2.sigmoid()
    u4 = u3 + (-y)
    u5 = u4 * u4
    u6 = u5 / 2
    u7 = w * w
    u8 = u7 * 0.5
    u9 = u8 + u6
    u9.backward()
    return float(u9.data), float(w.grad), float(b.grad)
''',
    },
    {
        "value": '''
class Value:
    """A scalar in a computation graph: its value, its gradient and how it was computed."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0  # d(root)/d(this node); filled in by backward()
        self._prev = set(_children)  # the nodes this one was computed from
        self._op = _op  # the operation that made this node
        self._backward = lambda: None  # pushes self.grad into the inputs' grads

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other):
        if not isinstance(other, Value):
            other = Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        if not isinstance(other, Value):
            other = Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)  # -other: a number, or a new node

    def __truediv__(self, other):
        if isinstance(other, Value):
            return self * other**-1
        return self * (1.0 / other)

    def __pow__(self, k):
        """self ** k for a number k (int or float)."""
        if not isinstance(k, (int, float)):
            raise TypeError("the exponent must be a number")
        out = Value(np.power(self.data, float(k)), (self,), f"**{k}")

        def _backward():
            self.grad += k * np.power(self.data, k - 1.0) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(np.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad  # (e^x)' = e^x, the output itself

        out._backward = _backward
        return out

    def log(self):
        out = Value(np.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data
        s = 1.0 / (1.0 + np.exp(-x)) if x >= 0 else np.exp(x) / (1.0 + np.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += out.data * (1.0 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            if out.data > 0:  # the output is positive exactly where the input was
                self.grad += out.grad

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(np.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):
        """other + self, for a number other."""
        return Value(other) + self

    def __rmul__(self, other):
        """other * self, for a number other."""
        return Value(other) * self

    def __rsub__(self, other):
        """other - self, for a number other."""
        return (-self) + other

    def __rtruediv__(self, other):
        """other / self, for a number other."""
        return self**-1 * other
''',
        "topological_order": '''
def topological_order(root):
    """Every node reachable from root, each after all of its inputs (root is last)."""
    listed = set()  # ids of the nodes already visited

    def post_order(node):
        if id(node) in listed:
            return
        listed.add(id(node))
        for child in node._prev:
            yield from post_order(child)
        yield node

    return list(post_order(root))
''',
        "backward": '''
def _reverse_topological(root):
    """The nodes that compute root, each before all of its inputs (explicit stack, no recursion)."""
    post, done, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            post.append(node)
        elif id(node) not in done:
            done.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if id(child) not in done)
    return post[::-1]


def backward(self):
    """Fill in .grad of every node of the graph that computes self: d(self)/d(node)."""
    nodes = _reverse_topological(self)
    for node in nodes:
        node.grad = 0.0
    self.grad = 1.0
    for node in nodes:
        node._backward()


Value.backward = backward
''',
        "seed_graph": '''
def half_square(v):
    return 0.5 * v**2


def seed_graph(w, b, x, y):
    """f(w, b) = 1/2 (sigma(w x + b) - y)^2 + 1/2 w^2 and its gradient, from a graph of Values."""
    params = {"w": Value(w), "b": Value(b)}
    prediction = (params["w"] * x + params["b"]).sigmoid()  # u1, u2, u3
    loss = half_square(prediction - y)  # u4, u5, u6
    penalty = half_square(params["w"])  # u7, u8
    f = loss + penalty  # u9
    backward(f)
    return tuple(float(v) for v in (f.data, params["w"].grad, params["b"].grad))
''',
    },
]
