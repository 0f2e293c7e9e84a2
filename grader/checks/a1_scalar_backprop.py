"""Hidden checks for a1_scalar_backprop: gates, circuits and the deep scalar chain."""

import numpy as np

from grader import reference as ref
from grader.course_secret import secret_seed
from grader.i18n import N_, _

from .common import (
    Mistake,
    blame_failing_dependencies,
    call,
    call_method,
    close,
    expect_close,
    expect_number,
    expect_sequence,
    fail,
)


# Hidden inputs come from a seed per student and check, derived from the course secret:
# re-grading gives the same grade, and no two students share inputs.
def _seed(offset):
    """This student's secret seed for the hidden inputs at `offset` (grader.course_secret)."""
    return secret_seed(__name__, offset)


def _cases(n=6, scale=3.0, seed=0):
    rng = np.random.default_rng(_seed(seed))
    return [tuple(float(v) for v in rng.uniform(-scale, scale, 3)) for _ in range(n)]


SHARED_CACHE = N_("two gates used together got in each other's way: the first gate's backward "
                  "used what the second gate's forward saw. Keep each gate's cache on the gate "
                  "itself (self.x = x in forward), not in a class attribute or a global.")


def _check_binary_gate(name, Gate, RefGate, extra_cases=(), mistakes_for=lambda x, y, d: {}):
    cases = [*_cases(), *extra_cases]
    for x, y, dout in cases:
        gate, ref_gate = call(name, Gate), RefGate()
        out = expect_number(name, "forward(x, y)", call_method(name, gate, "forward", x, y))
        expect_close(name, f"forward({x:.3g}, {y:.3g})", out, ref_gate.forward(x, y))
        grads = call_method(name, gate, "backward", dout)
        if not isinstance(grads, (tuple, list)) or len(grads) != 2:
            fail(name, _("backward(dout) should return the pair (dx, dy)."))
        want = ref_gate.backward(dout)
        m = mistakes_for(x, y, dout)
        for i, label in enumerate(("dx", "dy")):
            got = expect_number(name, label, grads[i])
            expect_close(name, _("{label} at x={x:.3g}, y={y:.3g}").format(label=label, x=x, y=y),
                         got, want[i], mistakes=[*m.get(label, []), (want[i] / dout, _(
                             "it ignores the upstream gradient dout: multiply the local gradient "
                             "by dout (chain rule)."))], precise=True)
    _check_gates_independent(name, lambda: call(name, Gate), RefGate,
                             [c[:2] for c in cases[:2]], cases[0][2])


def _check_gates_independent(name, make, make_ref, inputs, dout):
    """Two gates used together, as in a circuit: both forward, then the first one's backward.
    Each gate alone passed already, so a wrong result here can only come from a cache the two
    share (a class attribute or a global)."""
    first, second = make(), make()
    call_method(name, first, "forward", *inputs[0])
    call_method(name, second, "forward", *inputs[1])
    got = call_method(name, first, "backward", dout)
    want = make_ref()
    want.forward(*inputs[0])
    if not close(np.ravel(np.asarray(got, dtype=float)), np.ravel(want.backward(dout))):
        fail(name, _(SHARED_CACHE))


def check_add_gate(AddGate):
    _check_binary_gate("AddGate", AddGate, ref.AddGate, mistakes_for=lambda x, y, d: {
        "dx": [(0.0, _("an add gate passes dout unchanged to both inputs."))],
        "dy": [(0.0, _("an add gate passes dout unchanged to both inputs."))]})


def check_multiply_gate(MultiplyGate):
    swap = _("the local gradient of one input is the *other* input: swap them.")
    _check_binary_gate("MultiplyGate", MultiplyGate, ref.MultiplyGate,
                       mistakes_for=lambda x, y, d: {"dx": [(x * d, swap)], "dy": [(y * d, swap)]})


def check_max_gate(MaxGate):
    route = _("the max gate routes dout to the input that was larger in forward, and 0 to the "
              "other.")
    split = _("at a tie (x == y) the gradient is not split in half: by this course's convention "
              "x wins ties (x >= y), so all of dout goes to x and 0 to y.")
    both = _("at a tie (x == y) dout goes to one input only, not to both: by this course's "
             "convention x wins ties (x >= y), so y gets 0.")
    to_y = _("at a tie (x == y) this course's convention gives all of dout to x (x >= y wins), "
             "not to y.")

    def mistakes(x, y, d):
        if x != y:
            return {"dx": [(d if x < y else 0.0, route)], "dy": [(d if x > y else 0.0, route)]}
        return {"dx": [(d / 2, split), (0.0, to_y)], "dy": [(d / 2, split), (d, both)]}
    ties = [(1.5, 1.5, 2.0), (-0.75, -0.75, -3.0)]
    _check_binary_gate("MaxGate", MaxGate, ref.MaxGate, extra_cases=ties, mistakes_for=mistakes)


def _check_unary_gate(name, make, make_ref, xs, mistakes_for):
    for x, dout in xs:
        gate, ref_gate = call(name, make), make_ref()
        out = expect_number(name, "forward(x)", call_method(name, gate, "forward", x))
        expect_close(name, f"forward({x:.3g})", out, ref_gate.forward(x))
        got = expect_number(name, "backward(dout)", call_method(name, gate, "backward", dout))
        want = ref_gate.backward(dout)
        expect_close(name, _("dx at x={x:.3g}").format(x=x), got, want,
                     mistakes=[*mistakes_for(x, dout),
                               (want / dout, _("it ignores the upstream gradient dout: multiply "
                                "the local gradient by dout (chain rule)."))], precise=True)
    _check_gates_independent(name, lambda: call(name, make), make_ref,
                             [(x,) for x, _ in xs[:2]], xs[0][1])


def _unary_inputs(lo=-4.0, hi=4.0, avoid_zero=False, seed=1):
    rng = np.random.default_rng(_seed(seed))
    xs = rng.uniform(lo, hi, 6)
    if avoid_zero:
        xs = np.where(np.abs(xs) < 0.3, 0.3 + np.abs(xs), xs)
    return [(float(x), float(d)) for x, d in zip(xs, rng.uniform(-2, 2, 6))]


def check_sigmoid_gate(SigmoidGate):
    s = ref.sigmoid

    def mistakes(x, d):
        return [(x * (1 - x) * d, _("the derivative was taken at the input x; use the output: "
                 "sigma'(x) = sigma(x) (1 - sigma(x)).")),
                (s(s(x)) * (1 - s(s(x))) * d, _("sigma is applied twice: the cached output "
                 "already is sigma(x), use it as it is.")),
                (s(x) * d, _("sigma(x) alone is not its derivative: "
                             "sigma'(x) = sigma(x)(1-sigma(x)).")),
                ((1 - np.tanh(x) ** 2) * d, _("1 - tanh(x)^2 is the derivative of tanh, not of "
                 "the sigmoid: sigma'(x) = sigma(x) (1 - sigma(x)).")),
                (s(x) * (1 - s(x)) * (1 - s(x)) * d, _("the factor (1 - sigma(x)) appears twice: "
                 "sigma'(x) = sigma(x) (1 - sigma(x))."))]
    _check_unary_gate("SigmoidGate", SigmoidGate, ref.SigmoidGate, _unary_inputs(), mistakes)


def check_exp_gate(ExpGate):
    def mistakes(x, d):
        return [(d, _("the local derivative of e^x is e^x, not 1.")),
                (x * np.exp(x - 1) * d, _("e^x is not a power of x: the power rule "
                 "(x^n -> n x^(n-1)) does not apply; the derivative of e^x is e^x itself.")),
                (np.exp(x - 1) * d, _("the derivative of e^x is e^x itself, not e^(x-1)."))]
    _check_unary_gate("ExpGate", ExpGate, ref.ExpGate, _unary_inputs(-3, 3), mistakes)


def check_reciprocal_gate(ReciprocalGate):
    def mistakes(x, d):
        return [(-d / x, _("d(1/x)/dx is -1/x^2, not -1/x.")),
                (d / x**2, _("d(1/x)/dx is negative."))]
    _check_unary_gate("ReciprocalGate", ReciprocalGate, ref.ReciprocalGate,
                      _unary_inputs(avoid_zero=True), mistakes)


def check_scale_gate(ScaleGate):
    for a in (2.5, -0.5, 3.0):
        _check_unary_gate("ScaleGate", lambda a=a: ScaleGate(a), lambda a=a: ref.ScaleGate(a),
                          _unary_inputs(seed=100 + int(a * 10)),
                          lambda x, d: [(x * d, _("the local derivative of a*x is the constant "
                                                  "a."))])


def check_shift_gate(ShiftGate):
    for c in (1.5, -2.0):
        _check_unary_gate("ShiftGate", lambda c=c: ShiftGate(c), lambda c=c: ref.ShiftGate(c),
                          _unary_inputs(seed=200 + int(c * 10)),
                          lambda x, d, c=c: [(c * d, _("the local derivative of c + x is 1: the "
                                         "constant does not scale the gradient."))])


def _expect_tuple(name, result, n, description):
    if not isinstance(result, (tuple, list)) or len(result) != n:
        fail(name, _("should return {description}.").format(description=description))
    return result


def check_circuit_backward(circuit_backward):
    name = "circuit_backward"
    for x, y, z in _cases(seed=2):
        got = _expect_tuple(name, call(name, circuit_backward, x, y, z), 4, "(f, dx, dy, dz)")
        f, dx, dy, dz = (expect_number(name, n, v) for n, v in zip(("f", "dx", "dy", "dz"), got))
        want = ref.circuit_backward(x, y, z)
        expect_close(name, "f", f, want[0])
        expect_close(name, "dz", dz, want[3], mistakes=[
            (z, _("df/dz is q = x + y (swap rule)."))], precise=True)
        for label, g, w in (("dx", dx, want[1]), ("dy", dy, want[2])):
            expect_close(name, label, g, w, mistakes=[
                (x + y, _("df/dq is z: the add gate passes df/dq on to x and y unchanged."))],
                precise=True)


def check_neuron_backward(neuron_backward):
    name = "neuron_backward"
    rng = np.random.default_rng(_seed(3))
    for _case in range(6):
        w, x = rng.normal(size=3).tolist(), rng.normal(size=2).tolist()
        given_w, given_x = list(w), list(x)
        got = _expect_tuple(name, call(name, neuron_backward, given_w, given_x), 3, "(f, dw, dx)")
        if given_w != w or given_x != x:
            fail(name, _("changed the list w or x it was given: read the inputs, do not modify "
                         "them."))
        f = expect_number(name, "f", got[0])
        lengths = [len(v) if isinstance(v, (list, tuple)) else None for v in got[1:]]
        if lengths == [2, 3]:
            fail(name, _("dw and dx are swapped: return (f, dw, dx), dw with the 3 gradients of "
                         "w = (w0, w1, w2) and dx with the 2 of x = (x0, x1)."))
        dw, dx = expect_sequence(name, "dw", got[1], 3), expect_sequence(name, "dx", got[2], 2)
        wf, wdw, wdx = ref.neuron_backward(w, x)
        s = wf
        dot = w[0] * x[0] + w[1] * x[1] + w[2]
        at_input = dot * (1 - dot)
        expect_close(name, "f", f, wf)
        expect_close(name, "dw", dw, wdw, mistakes=[
            (np.array([x[0], x[1], 1.0]) * at_input, _("sigma' was taken at the dot product; "
             "use the output f: sigma'(dot) = f (1 - f).")),
            (np.array(wdw) / (s * (1 - s)), _("the sigmoid's local gradient f (1 - f) is "
                                              "missing.")),
            (np.array([w[0], w[1], w[2]]) * s * (1 - s), _("dw_i is x_i times the dot's gradient "
             "(swap rule of the multiply gate), and dw_2 is 1 times it."))], precise=True)
        expect_close(name, "dx", dx, wdx, mistakes=[
            (np.array(x) * s * (1 - s), _("dx_i is w_i times the dot's gradient (swap rule)."))],
            precise=True)


def check_staged_backward(staged_backward):
    name = "staged_backward"
    rng = np.random.default_rng(_seed(4))
    for _case in range(6):
        x, y = (float(v) for v in rng.uniform(-3, 3, 2))
        got = _expect_tuple(name, call(name, staged_backward, x, y), 3, "(f, dx, dy)")
        f, dx, dy = (expect_number(name, n, v) for n, v in zip(("f", "dx", "dy"), got))
        wf, wdx, wdy = ref.staged_backward(x, y)
        expect_close(name, "f", f, wf)
        overwrite = _("x reaches f along several paths (through sigma(x), through x + y and "
                      "through the numerator): accumulate with += instead of overwriting.")
        # dx and dy are sums of branches that may nearly cancel: the precision a float64 sum
        # can reach is relative to the branches, not to the sum
        expect_close(name, "dx", dx, wdx, mistakes=_staged_overwrites(x, y, "dx", overwrite),
                     precise=True, precise_scale=_scale_of(_staged_branches(x, y, "dx")))
        expect_close(name, "dy", dy, wdy, mistakes=_staged_overwrites(
            x, y, "dy", _("y reaches f through sigma(y) and through x + y: accumulate with +=")),
            precise=True, precise_scale=_scale_of(_staged_branches(x, y, "dy")))


def _staged_overwrites(x, y, which, sentence):
    """The values dx/dy take when one branch overwrites instead of adding (one per branch)."""
    parts = _staged_branches(x, y, which)
    # keeping only the last branch, or only the first, are the two overwrite bugs seen in practice
    return [(parts[-1], sentence), (parts[0], sentence),
            (sum(parts[1:]), sentence), (sum(parts[:-1]), sentence)]


def _staged_branches(x, y, which):
    """What each path from x (or y) to f contributes to dx (or dy): they add up to it."""
    s = ref.sigmoid
    sigy, sigx, xpy = s(y), s(x), x + y
    num, den = x + sigy, sigx + xpy**2
    dnum, dden = 1 / den, -num / den**2
    via_xpy = 2 * xpy * dden
    via_sigx = sigx * (1 - sigx) * dden
    via_sigy = sigy * (1 - sigy) * dnum
    return [via_xpy, via_sigx, dnum] if which == "dx" else [via_xpy, via_sigy]


def _scale_of(terms):
    return float(np.sum(np.abs(terms)))


def _chain_cases(seed=5):
    rng = np.random.default_rng(_seed(seed))
    cases = []
    for L in (1, 2, 3, 5, 8):
        cases.append((float(rng.normal()), rng.normal(size=L).tolist(), rng.normal(size=L).tolist(),
                      float(rng.normal())))
    return cases


def check_chain_forward(chain_forward):
    name = "chain_forward"
    for x, w, b, _dy in _chain_cases():
        given_w, given_b = list(w), list(b)
        got = _expect_tuple(name, call(name, chain_forward, x, given_w, given_b), 2, "(y, cache)")
        for label, given, kept in (("w", given_w, w), ("b", given_b, b)):
            if given != kept:
                fail(name, _("changed the list {label} it was given (its caller's list): read w "
                             "and b, do not modify them (no pop, clear, append or item "
                             "assignment); copy first if you need a list of your own.").format(
                                 label=label))
        y = expect_number(name, "y", got[0])
        expect_close(name, _("{what} for a chain of length {length}").format(
            what="y", length=len(w)), y, ref.chain_forward(x, w, b)[0])


def check_chain_backward(chain_forward, chain_backward):
    """chain_backward reads the cache the student's own chain_forward made (its layout is theirs),
    so a wrong chain_forward can fail this cell: then the feedback names chain_forward."""
    try:
        _check_chain_backward(chain_forward, chain_backward)
    except Mistake as mistake:
        blame_failing_dependencies("chain_backward", mistake, [
            ("chain_forward", lambda: check_chain_forward(chain_forward))])


def _check_chain_backward(chain_forward, chain_backward):
    name = "chain_backward"
    for x, w, b, dy in _chain_cases(seed=6):
        _y, cache = call("chain_forward", chain_forward, x, list(w), list(b))
        got = _expect_tuple(name, call(name, chain_backward, dy, cache), 3, "(dw, db, dx)")
        L = len(w)
        dw, db = expect_sequence(name, "dw", got[0], L), expect_sequence(name, "db", got[1], L)
        dx = expect_number(name, "dx", got[2])
        _y, ref_cache = ref.chain_forward(x, w, b)
        wdw, wdb, wdx = ref.chain_backward(dy, ref_cache)

        def where(what, L=L):
            return _("{what} for a chain of length {length}").format(what=what, length=L)
        expect_close(name, where("db"), db, wdb, mistakes=[
            (np.array(wdb) / dy, _("the upstream gradient dy was dropped."))], precise=True)
        expect_close(name, where("dw"), dw, wdw, mistakes=[
            (np.array(wdb), _("dw_k is db_k times h_{k-1}, the input of layer k."))], precise=True)
        expect_close(name, where("dx"), dx, wdx, precise=True)


# The catalogue the grading tests run through the real pipeline (see grader.simulate):
# name -> (grade_id, text of the model answer, the mistake typed instead, words of the feedback).
KNOWN_MISTAKES = {
    "neuron_dw_dx_swapped": ("neuron_backward", "return f, dw, dx", "return f, dx, dw", "swapped"),
    # the false passes a class of students found: each now loses its own cell's points
    "multiply_shared_cache": ("multiply_gate", "self.x, self.y = x, y",
                              "MultiplyGate.x, MultiplyGate.y = x, y", "in each other's way"),
    "chain_forward_empties_w": ("chain_forward", "return h[-1], (list(w), h)",
                                "cache = (list(w), h)\n    w.clear()\n    return h[-1], cache",
                                "changed the list"),
    "multiply_no_swap": ("multiply_gate", "return self.y * dout, self.x * dout",
                         "return self.x * dout, self.y * dout", "swap"),
    "staged_overwrite": ("staged_backward", "dx += dnum", "dx = dnum", "accumulate"),
    "sigmoid_twice": ("sigmoid_gate", "return self.out * (1.0 - self.out) * dout",
                         "return 1 / (1 + math.exp(-self.out)) * (1 - 1 / (1 + math.exp(-self.out))) * dout",
                         "applied twice"),
    "add_drops_upstream": ("add_gate", "return dout, dout", "return 1.0, 1.0", "upstream"),
    "max_tie_to_y": ("max_gate", "self.x_wins = x >= y", "self.x_wins = x > y", "tie"),
    "reciprocal_sign": ("reciprocal_gate", "return -1.0 / self.x**2 * dout",
                        "return 1.0 / self.x**2 * dout", "negative"),
    "chain_no_upstream": ("chain_backward", "dh = dy", "dh = 1.0", "upstream"),
}

# Correct answers written differently from the model answers: each must score full marks.
ALTERNATIVE_SOLUTIONS = {
    "multiply_gate": """
class MultiplyGate:
    def forward(self, x, y):
        self.inputs = (x, y)
        return x * y

    def backward(self, dout):
        x, y = self.inputs
        return dout * y, dout * x
""",
    "max_gate": """
class MaxGate:
    def forward(self, x, y):
        self.inputs = (x, y)
        return x if x >= y else y

    def backward(self, dout):
        x, y = self.inputs
        return (dout * (x >= y), dout * (y > x))
""",
    "sigmoid_gate": """
import numpy as np

class SigmoidGate:
    def forward(self, x):
        self.x = x  # keep the input; the derivative is computed from it
        return float(np.exp(-np.logaddexp(0.0, -x)))

    def backward(self, dout):
        e = np.exp(-self.x)
        return float(e / (1 + e) ** 2 * dout)
""",
    "staged_backward": """
def staged_backward(x, y):
    sig = lambda v: 1 / (1 + math.exp(-v))
    num, den = x + sig(y), sig(x) + (x + y) ** 2
    f = num / den
    dnum, dden = 1 / den, -num / den**2
    dx = dnum + dden * (sig(x) * (1 - sig(x)) + 2 * (x + y))
    dy = dnum * sig(y) * (1 - sig(y)) + dden * 2 * (x + y)
    return f, dx, dy
""",
    "chain_forward": """
def chain_forward(x, w, b):
    hs = [x]
    for k in range(len(w)):
        hs.append(1 / (1 + np.exp(-(w[k] * hs[k] + b[k]))))
    return hs[-1], {"h": hs, "w": tuple(w)}
""",
    "chain_backward": """
def chain_backward(dy, cache):
    h, w = cache["h"], cache["w"]
    dw, db = [], []
    grad = dy
    for k in reversed(range(len(w))):
        local = grad * h[k + 1] * (1 - h[k + 1])
        dw.insert(0, local * h[k])
        db.insert(0, local)
        grad = local * w[k]
    return np.array(dw), np.array(db), grad
""",
}

# Two more complete sets of correct answers, each in a style of its own and submitted together as
# one student's notebook (tests/conftest.py: students alt2_<aid>, alt3_<aid>); each must score
# full marks. Set 1: numpy, caches in dicts, lists, recomputed derivatives, a list of per-layer
# caches. Set 2: the math module, helpers and the student's own gates wired into circuits, a
# namedtuple result, a closure as the chain's cache.
MORE_ALTERNATIVE_SOLUTIONS = [
    {
        "add_gate": """
class AddGate:
    def forward(self, x, y):
        return float(np.add(x, y))

    def backward(self, dout):
        local = [1.0, 1.0]  # d(x + y)/dx, d(x + y)/dy
        return [g * dout for g in local]
""",
        "multiply_gate": """
class MultiplyGate:
    def forward(self, x, y):
        self.cache = {"x": x, "y": y}
        return float(np.multiply(x, y))

    def backward(self, dout):
        return dout * self.cache["y"], dout * self.cache["x"]
""",
        "max_gate": """
class MaxGate:
    def forward(self, x, y):
        self.winner = 0 if x >= y else 1  # index of the input that passes through (x at a tie)
        return (x, y)[self.winner]

    def backward(self, dout):
        grads = [0.0, 0.0]
        grads[self.winner] = dout
        return tuple(grads)
""",
        "sigmoid_gate": """
class SigmoidGate:
    # sigma(x) = (1 + tanh(x / 2)) / 2, so sigma'(x) = (1 - tanh(x / 2)^2) / 4
    def forward(self, x):
        self.t = math.tanh(x / 2)
        return 0.5 * (1.0 + self.t)

    def backward(self, dout):
        return (1.0 - self.t**2) / 4 * dout
""",
        "exp_gate": """
class ExpGate:
    def forward(self, x):
        self.x = x  # recompute e^x in backward instead of caching it
        return float(np.exp(x))

    def backward(self, dout):
        return float(np.exp(self.x) * dout)
""",
        "reciprocal_gate": """
class ReciprocalGate:
    def forward(self, x):
        self.out = 1.0 / x
        return self.out

    def backward(self, dout):
        # d(1/x)/dx = -1/x^2 = -(1/x)^2, from the cached output
        return -(self.out**2) * dout
""",
        "scale_gate": """
class ScaleGate:
    def __init__(self, a):
        self.a = float(a)

    def forward(self, x):
        return float(np.multiply(self.a, x))

    def backward(self, dout):
        return float(np.multiply(self.a, dout))
""",
        "shift_gate": """
class ShiftGate:
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, dout):
        return 1.0 * dout  # the constant does not change the slope
""",
        "circuit_backward": """
def circuit_backward(x, y, z):
    # wired from my own gates: q = x + y, f = q * z
    add, mul = AddGate(), MultiplyGate()
    q = add.forward(x, y)
    f = mul.forward(q, z)
    dq, dz = mul.backward(1.0)
    dx, dy = add.backward(dq)
    return f, dx, dy, dz
""",
        "neuron_backward": """
def neuron_backward(w, x):
    w = np.array(w, dtype=float)
    inputs = np.append(np.array(x, dtype=float), 1.0)  # the bias multiplies a constant 1
    dot = w @ inputs
    f = 1.0 / (1.0 + np.exp(-dot))
    ddot = f * (1.0 - f)
    return float(f), ddot * inputs, ddot * w[:2]
""",
        "staged_backward": """
def staged_backward(x, y):
    sig = lambda v: 0.5 * (1.0 + math.tanh(v / 2))
    stage = {}
    stage["sigy"] = sig(y)
    stage["num"] = x + stage["sigy"]
    stage["sigx"] = sig(x)
    stage["xpy"] = x + y
    stage["den"] = stage["sigx"] + stage["xpy"] ** 2
    stage["f"] = stage["num"] / stage["den"]
    grad = {"x": 0.0, "y": 0.0}
    dnum = 1.0 / stage["den"]
    dden = -stage["num"] / stage["den"] ** 2
    grad["x"] += dnum  # x in the numerator
    grad["y"] += dnum * stage["sigy"] * (1.0 - stage["sigy"])  # sigma(y) in the numerator
    grad["x"] += dden * stage["sigx"] * (1.0 - stage["sigx"])  # sigma(x) in the denominator
    dxpy = dden * 2.0 * stage["xpy"]  # (x + y)^2 in the denominator
    grad["x"] += dxpy
    grad["y"] += dxpy
    return stage["f"], grad["x"], grad["y"]
""",
        "chain_forward": """
def chain_forward(x, w, b):
    layers, h = [], x
    for wk, bk in zip(w, b):
        z = wk * h + bk
        layers.append({"w": wk, "h_in": h, "z": z})
        h = 1.0 / (1.0 + math.exp(-z))
    return h, layers
""",
        "chain_backward": """
def chain_backward(dy, cache):
    dw, db = [], []
    dh = dy
    for layer in reversed(cache):
        s = 1.0 / (1.0 + math.exp(-layer["z"]))  # sigma'(z) recomputed from the cached z
        dz = dh * s * (1.0 - s)
        dw.append(dz * layer["h_in"])
        db.append(dz)
        dh = dz * layer["w"]
    dw.reverse()
    db.reverse()
    return dw, db, dh
""",
    },
    {
        "add_gate": """
class AddGate:
    def forward(self, x, y):
        return math.fsum((x, y))

    def backward(self, dout):
        return (dout,) * 2
""",
        "multiply_gate": """
class MultiplyGate:
    def forward(self, x, y):
        self._x, self._y = x, y
        return math.prod((x, y))

    def local_gradients(self):
        return self._y, self._x  # each input's local gradient is the other input

    def backward(self, dout):
        gx, gy = self.local_gradients()
        return gx * dout, gy * dout
""",
        "max_gate": """
class MaxGate:
    def forward(self, x, y):
        self.pair = (x, y)
        return max(x, y)  # max returns its first argument at a tie

    def backward(self, dout):
        x, y = self.pair
        x_wins = not y > x  # the whole gradient goes to x at a tie
        return (dout if x_wins else 0.0), (0.0 if x_wins else dout)
""",
        "sigmoid_gate": """
def stable_sigmoid_of_a_float(v):
    # never exponentiates a large positive number
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


class SigmoidGate:
    def forward(self, x):
        self.x = x
        return stable_sigmoid_of_a_float(x)

    def backward(self, dout):
        s = stable_sigmoid_of_a_float(self.x)  # recomputed from the cached input
        return s * (1.0 - s) * dout
""",
        "exp_gate": """
class ExpGate:
    def forward(self, x):
        self.out = math.expm1(x) + 1.0  # e^x, from expm1
        return self.out

    def backward(self, dout):
        return dout * self.out
""",
        "reciprocal_gate": """
class ReciprocalGate:
    def forward(self, x):
        self.x = x
        return x**-1

    def backward(self, dout):
        return -dout / (self.x * self.x)
""",
        "scale_gate": """
class ScaleGate:
    def __init__(self, a):
        self.a = a

    def forward(self, x):
        return self.a * x

    def local_gradient(self):
        return self.a

    def backward(self, dout):
        print(f"ScaleGate({self.a}).backward({dout})")
        return self.local_gradient() * dout
""",
        "shift_gate": """
class ShiftGate:
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return math.fsum((self.c, x))

    def local_gradient(self):
        return 1.0

    def backward(self, dout):
        return self.local_gradient() * dout
""",
        "circuit_backward": """
def circuit_backward(x, y, z):
    q = x + y
    gradient = np.array([z, z, q])  # (df/dx, df/dy, df/dz): the add gate copies df/dq = z
    return (q * z, *gradient)
""",
        "neuron_backward": """
def neuron_backward(w, x):
    # the neuron as a circuit of my gates: two products, two sums, a sigmoid
    times0, times1, plus, plus_bias = MultiplyGate(), MultiplyGate(), AddGate(), AddGate()
    squash = SigmoidGate()
    dot = plus_bias.forward(plus.forward(times0.forward(w[0], x[0]),
                                         times1.forward(w[1], x[1])), w[2])
    f = squash.forward(dot)
    ddot = squash.backward(1.0)
    dsum, dw2 = plus_bias.backward(ddot)
    dp0, dp1 = plus.backward(dsum)
    dw0, dx0 = times0.backward(dp0)
    dw1, dx1 = times1.backward(dp1)
    return f, (dw0, dw1, dw2), (dx0, dx1)
""",
        "staged_backward": """
from collections import namedtuple

StagedResult = namedtuple("StagedResult", ["f", "dx", "dy"])


def staged_backward(x, y):
    # the staged computation wired from my gates; x and y reach f along several paths (+=)
    sig_y, sig_x, inv = SigmoidGate(), SigmoidGate(), ReciprocalGate()
    add_num, add_xy, add_den = AddGate(), AddGate(), AddGate()
    square, times = MultiplyGate(), MultiplyGate()
    num = add_num.forward(x, sig_y.forward(y))
    xpy = add_xy.forward(x, y)
    den = add_den.forward(sig_x.forward(x), square.forward(xpy, xpy))
    f = times.forward(num, inv.forward(den))
    dnum, dinvden = times.backward(1.0)
    dsigx, dxpysqr = add_den.backward(inv.backward(dinvden))
    dxpy_left, dxpy_right = square.backward(dxpysqr)
    dx, dy = add_xy.backward(dxpy_left + dxpy_right)
    dx += sig_x.backward(dsigx)
    dx_num, dsigy = add_num.backward(dnum)
    dx += dx_num
    dy += sig_y.backward(dsigy)
    return StagedResult(f, dx, dy)
""",
        "chain_forward": """
def chain_forward(x, w, b):
    w, b = tuple(w), tuple(b)  # my own copies: the closure below keeps them
    hs = [x]
    for k in range(len(w)):
        hs.append(1.0 / (1.0 + math.exp(-(w[k] * hs[k] + b[k]))))

    def backprop(dy):
        # the cache is this function: it remembers w and every h_k
        dw, db = [0.0] * len(w), [0.0] * len(w)

        def step(k, dh):  # layer k + 1, recursively down to the first one
            if k < 0:
                return dh
            dz = dh * hs[k + 1] * (1.0 - hs[k + 1])
            dw[k], db[k] = dz * hs[k], dz
            return step(k - 1, dz * w[k])

        dx = step(len(w) - 1, dy)
        return dw, db, dx

    return hs[-1], backprop
""",
        "chain_backward": """
def chain_backward(dy, cache):
    backprop = cache  # chain_forward's cache is the function that walks the chain back
    return backprop(dy)
""",
    },
]
