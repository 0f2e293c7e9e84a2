"""Hidden checks for a2_vector_backprop: numerical Jacobian, layers, losses, Sequential, SGD.

Each check runs the student's entity on secret random inputs (fixed seeds, so grades are
reproducible) next to grader.reference: types and shapes first, then values, naming the known
mistakes it recognises; it also checks that no input, dout or cached array is modified.
The check of Sequential runs stand-in and reference layers and the check of sgd_step sets the
gradients by hand, so each tests that entity alone. The student's objects may be proxies of a
sandboxed process (grader.sandbox): only calls, attributes, numbers and arrays are used.
"""

import numbers

import numpy as np

from course.data import make_spirals
from course.worked_examples import seed_network_arrays
from grader import reference as ref
from grader import standins
from grader.course_secret import secret_seed
from grader.i18n import N_, _

from .common import (
    Mistake,
    blame_failing_dependencies,
    expect_array,
    expect_close,
    expect_independent,
    expect_number,
    fail,
    qualified,
    standin,
)


# Hidden inputs come from a seed per student and check, derived from the course secret:
# re-grading gives the same grade, and no two students share inputs.
def _seed(offset):
    """This student's secret seed for the hidden inputs at `offset` (grader.course_secret)."""
    return secret_seed(__name__, offset)

UPSTREAM = N_("the upstream gradient dout was dropped: multiply the local derivative by dout "
              "(elementwise, chain rule).")
FORWARD_HINT = N_("forward is x @ W + b: x (N, D) times W (D, M) gives (N, M), and b (M,) is "
                  "added to every row.")
BACKWARD_HINT = N_("let the shapes decide: dx has the shape of x (N, D) and dW the shape of W "
                   "(D, M); multiply dout (N, M) by W or by x, with a transpose where the inner "
                   "dimensions must match.")
BIAS_HINT = N_("b (M,) was added to every row of the batch, so db sums dout over the batch "
               "(axis 0) and has the shape of b.")
NO_PARAMETERS_HINT = N_("Layers without parameters (ReLU, Sigmoid, Tanh) have no W and no b: "
                        "skip them, e.g. with hasattr(layer, 'W').")
NEW_ARRAY = N_("compute a new array instead of writing into this one (y = x * 2, not x *= 2).")
COPY = N_("work on a copy or a new array.")
# The helpers below translate the hints and advice they are given (marked N_ by their callers).


# ---------------------------------------------------------------------------------------------
# small helpers


def _call(entity, fn, *args, hints=None):
    """common.call with a hint for some kinds of error (e.g. a matmul of mismatched shapes).

    hints maps an exception's type name to a sentence. Student code may run in a sandbox, whose
    errors arrive as one type carrying the original type's name (ename) and "Name: message".
    """
    try:
        return fn(*args)
    except NotImplementedError:
        fail(entity, _("not implemented yet (it still raises NotImplementedError)."))
    except Exception as exc:  # noqa: BLE001  (any error in student code becomes feedback)
        ename = getattr(exc, "ename", None)
        text = str(exc) if ename else f"{type(exc).__name__}: {exc}"
        hint = (hints or {}).get(ename or type(exc).__name__, "")
        hint = _(hint) if hint else ""  # (_("") would be the catalogue's header)
        hint = f" {hint[0].upper()}{hint[1:]}" if hint else ""
        fail(entity, _("raised {error}.{hint}").format(error=text.rstrip("."), hint=hint))


_MISSING = object()


def _attribute(obj, name):
    """obj.name, or _MISSING; a proxy of a sandboxed object raises its own error type."""
    try:
        return getattr(obj, name)
    except Exception:  # noqa: BLE001
        return _MISSING


def _expect_shaped(entity, what, got, shape, hint):
    """expect_array, with a hint of where the shape comes from when the shape is wrong."""
    if isinstance(got, np.ndarray) and got.shape != tuple(shape):
        fail(entity, _("{what} has shape {got} but should have shape {shape}: {hint}").format(
            what=what, got=got.shape, shape=tuple(shape), hint=_(hint)))
    return expect_array(entity, what, got, shape)


def _unchanged(entity, what, before, after, advice=NEW_ARRAY):
    if not (np.shape(before) == np.shape(after) and np.array_equal(before, after)):
        fail(entity, _("{what} was modified in place: {advice}").format(what=what,
                                                                       advice=_(advice)))


def _stored(entity, layer, name, what):
    value = _attribute(layer, name)
    if value is _MISSING:
        fail(entity, _("backward should store {what} as self.{name}.").format(what=what,
                                                                             name=name))
    return value


def _same_again(entity, got, want, advice=COPY):
    """A second backward with the same dout must give the same gradient."""
    if not np.allclose(got, want, rtol=1e-6, atol=1e-9):
        fail(entity, _("calling backward a second time with the same dout gave a different "
                       "result: backward modified an array cached by forward in place; {advice}")
             .format(advice=_(advice)))


# ---------------------------------------------------------------------------------------------
# numerical_jacobian


def _forward_jacobian(f, x, h):
    """Forward differences (f(x + h e_j) - f(x)) / h in the reference's layout: the mistake the
    central differences replace."""
    x = np.asarray(x, dtype=float)
    y0 = np.ravel(f(x))
    jac = np.zeros((y0.size, x.size))
    for j, idx in enumerate(np.ndindex(x.shape)):
        step = np.zeros(x.shape)
        step[idx] = h
        jac[:, j] = (np.ravel(f(x + step)) - y0) / h
    return jac


def _jacobian_cases():
    """(description, (kind, coefficients) of a standins.Function, x, h or None for the default):
    outputs of several shapes (a scalar, a vector, a matrix) from inputs of several shapes and
    memory layouts (x.T is Fortran-ordered), and several steps."""
    rng = np.random.default_rng(_seed(0))
    A, C, Q = rng.standard_normal((4, 2)), rng.standard_normal((3, 4)), rng.standard_normal((6, 6))
    functions = [
        (("x @ A", A), (3, 4), None), (("sin(x) * x", None), (2, 3), None),
        (("softmax(x)", None), (5,), None), (("sum(C * x**2)", C), (3, 4), None),
        ((N_("a quadratic form"), Q), (3, 2), 1e-4), (("outer(x, x)", None), (3,), 1e-3),
        (("exp(3x)", None), (1,), 1e-2), (("exp(3x)", None), (2, 2), 1e-2),
        (("x**3", None), (2, 3, 2), None), (("sin(x) * x", None), (4, 3), None),
    ]
    cases = [(function[0], function, rng.standard_normal(shape), h)
             for function, shape, h in functions]
    # the last input arrives as the transpose of a C-ordered array, as x.T would
    kind, function, x, h = cases[-1]
    cases[-1] = (_("{function} (x Fortran-ordered, like an x.T)").format(function=_(kind)),
                 function, np.ascontiguousarray(x.T).T, h)
    return cases


def check_numerical_jacobian(numerical_jacobian):
    name = "numerical_jacobian"
    for what, function, x, h in _jacobian_cases():
        f = standins.Function(*function)  # here, for the expected values
        f_student = standin(numerical_jacobian, "Function", *function)  # where the student's is
        kept = x.copy(order="K")
        step = 1e-5 if h is None else h
        # a description of f is code, except "a quadratic form" (translated when it is shown)
        if h is None:
            where = _("for f(x) = {function} with x of shape {shape}").format(
                function=_(what), shape=x.shape)
        else:
            where = _("for f(x) = {function} with x of shape {shape}, h={h}").format(
                function=_(what), shape=x.shape, h=h)
        jac = _call(name, numerical_jacobian, f_student, x) if h is None else \
            _call(name, numerical_jacobian, f_student, x, h)
        if not np.array_equal(x, kept):
            fail(name, _("x was not restored {where}: if you change entries of x, put the old "
                         "value back (save it first: old = x[idx], then x[idx] = old; adding and "
                         "subtracting h does not always give exactly the old number back), or "
                         "evaluate f at new arrays x + step and x - step.").format(where=where))
        y_size = np.size(f(kept))
        shape = (y_size, kept.size)
        if isinstance(jac, np.ndarray) and jac.shape != shape:
            if jac.shape == (kept.size, y_size):
                fail(name, _("the Jacobian {where} has shape {got}: one row per entry of x. The "
                             "layout is one row per entry of y = f(x) and one column per entry of "
                             "x (J[i, j] = d y_i / d x_j), shape (y.size, x.size) = {shape}.")
                     .format(where=where, got=jac.shape, shape=shape))
            if jac.size == y_size * kept.size:
                fail(name, _("the Jacobian {where} has shape {got}; it should be the 2-D array of "
                             "shape (y.size, x.size) = {shape}: flatten y and x (C order) to "
                             "number their entries.").format(where=where, got=jac.shape,
                                                             shape=shape))
        the_jacobian = _("the Jacobian {where}").format(where=where)
        jac = expect_array(name, the_jacobian, jac, shape)
        want = ref.numerical_jacobian(f, kept, step)
        forward = _forward_jacobian(f, kept, step)
        mistakes = [
            (forward, _("this is the forward difference (f(x + h) - f(x)) / h; use the central "
             "difference (f(x + h) - f(x - h)) / (2h), which is much more accurate.")),
            (forward / 2, _("f was evaluated at x + h and at x itself, not at x - h: evaluate "
             "f at x + h and at x - h.")),
            (2 * want, _("divide by 2h, not by h: x + h and x - h are 2h apart.")),
            (want * step * step, _("(f_plus - f_minus) / 2 * h multiplies by h: write "
                                   "/ (2 * h).")),
        ]
        if not np.any(jac) and np.any(want):
            fail(name, _("every entry of the Jacobian {where} is 0: f never saw the perturbed x. "
                         "When x is not C-ordered (an x.T, say), x.reshape(-1) and x.ravel() are "
                         "copies, so changing them leaves x alone: perturb x[idx] with idx from "
                         "np.ndindex(x.shape), or evaluate f at x + step.").format(where=where))
        if shape[0] == shape[1]:
            mistakes.append((want.T, _("rows and columns are swapped: J[i, j] = d y_i / d x_j, "
                             "one row per entry of y = f(x), one column per entry of x.")))
        if h is not None:
            ignored = _("the step h you are given is ignored: use the argument h.")
            mistakes += [(ref.numerical_jacobian(f, kept, other), ignored)
                         for other in (1e-4, 1e-5, 1e-6)]
        expect_close(name, the_jacobian, jac, want, mistakes=mistakes,
                     rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# Affine

# (N, D, M): a batch of one, non-square shapes, a square W (a missing transpose then fits), N = D
_AFFINE_SHAPES = [(1, 3, 2), (4, 3, 5), (5, 4, 4), (2, 6, 3), (3, 3, 7)]


def check_affine(Affine):
    name = "Affine"
    rng = np.random.default_rng(_seed(1))
    shape_errors = {"ValueError": BACKWARD_HINT}
    for N, D, M in _AFFINE_SHAPES:
        x, W, b = rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M)
        dout, dout2 = rng.standard_normal((N, M)), rng.standard_normal((N, M))
        kept = {"x": x.copy(), "W": W.copy(), "b": b.copy(), "dout": dout.copy()}
        reference = ref.Affine(W.copy(), b.copy())
        want_out = reference.forward(x.copy())
        want_dx = reference.backward(dout.copy())
        want_dW, want_db = reference.dW, reference.db
        where = _("for x of shape {x_shape} and W of shape {w_shape}").format(
            x_shape=(N, D), w_shape=(D, M))

        layer = _call(name, Affine, W, b)
        out = _call(f"{name}.forward", layer.forward, x, hints={"ValueError": FORWARD_HINT})
        out = _expect_shaped(name, qualified("forward(x)", where), out, (N, M), FORWARD_HINT)
        expect_close(name, qualified("forward(x)", where), out, want_out,
                     mistakes=[(kept["x"] @ kept["W"], _("the bias is missing: out = x @ W + b."))])

        dx = _call(f"{name}.backward", layer.backward, dout, hints=shape_errors)
        dx = _expect_shaped(name, qualified("dx", where), dx, (N, D), BACKWARD_HINT)
        dW = _stored(name, layer, "dW", _("the gradient of {name}").format(name="W"))
        dW = _expect_shaped(name, qualified("self.dW", where), dW, (D, M), BACKWARD_HINT)
        db = _expect_shaped(name, qualified("self.db", where), _stored(name, layer, "db", _(
            "the gradient of {name}").format(name="b")), (M,), BIAS_HINT)
        transpose = _("a transpose is missing: the shapes only fit here because the matrices "
                      "happen to be square; {hint}").format(hint=_(BACKWARD_HINT))
        averaged = _("it was averaged over the batch: the 1/N of the loss is already in dout, "
                     "so the layer sums the contributions of the examples.")
        dx_mistakes = [(want_dx / N, averaged)]
        if D == M:
            dx_mistakes.append((dout @ kept["W"], transpose))
        expect_close(name, qualified("dx", where), dx, want_dx, mistakes=dx_mistakes, precise=True)
        dW_mistakes = [(want_dW / N, averaged)]
        if D == M:
            dW_mistakes.append((want_dW.T, transpose))
        if N == D:
            dW_mistakes.append((kept["x"] @ dout, transpose))
        expect_close(name, qualified("self.dW", where), dW, want_dW, mistakes=dW_mistakes,
                     precise=True)
        expect_close(name, qualified("self.db", where), db, want_db, mistakes=[
            (want_db / N, _("db was averaged over the batch instead of summed: {hint}").format(
                hint=_(BIAS_HINT)))], precise=True)
        for label in ("x", "W", "b", "dout"):
            now = {"x": x, "W": W, "b": b, "dout": dout}[label]
            _unchanged(name, _("{name} (given to forward or backward)").format(name=label),
                       kept[label], now)

        # a second backward (same forward) sets the gradients anew
        want_dx2 = reference.backward(dout2.copy())
        dx2 = _expect_shaped(name, _("dx of a second backward"), _call(
            f"{name}.backward", layer.backward, dout2, hints=shape_errors), (N, D), BACKWARD_HINT)
        expect_close(name, _("dx of a second backward {where}").format(where=where), dx2,
                     want_dx2)
        expect_close(name, _("self.dW after a second backward {where}").format(where=where),
                     layer.dW, reference.dW,
                     mistakes=[(want_dW + reference.dW, _("dW accumulated over two backward "
                                "calls: set self.dW = ..., do not add to the old value."))])
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    x1, x2, dout = (rng.standard_normal((4, 3)), rng.standard_normal((4, 3)),
                    rng.standard_normal((4, 2)))
    twin = ref.Affine(W, b)
    twin.forward(x1)
    expect_independent(name, _("{name} layers").format(name=name), lambda: Affine(W, b),
                       [(x1,), (x2,)],
                       twin.backward(dout), (dout,))


# ---------------------------------------------------------------------------------------------
# ReLU, Sigmoid, Tanh

_ACTIVATION_SHAPES = [(1, 4), (5, 3), (3, 3), (2, 7)]


def _check_activation(name, Layer, RefLayer, inputs, mistakes_for, seed,
                      forward_advice=NEW_ARRAY):
    rng = np.random.default_rng(_seed(seed))
    for shape in _ACTIVATION_SHAPES:
        x, dout = inputs(rng, shape), rng.standard_normal(shape)
        x_kept, dout_kept = x.copy(), dout.copy()
        reference = RefLayer()
        want_out = reference.forward(x.copy())
        want_dx = reference.backward(dout.copy())
        where = _("for x of shape {shape}").format(shape=shape)

        layer = _call(name, Layer)
        out = expect_array(name, qualified("forward(x)", where), _call(name, layer.forward, x),
                           shape)
        _unchanged(name, _("the input x of forward"), x_kept, x, forward_advice)
        out_kept = out.copy()
        expect_close(name, qualified("forward(x)", where), out, want_out)

        dx = expect_array(name, qualified("dx", where), _call(name, layer.backward, dout), shape)
        _unchanged(name, "dout", dout_kept, dout)
        _unchanged(name, _("the output of forward"), out_kept, out,
                   N_("backward must not write into the array forward returned (and cached)."))
        expect_close(name, qualified("dx", where), dx, want_dx,
                     mistakes=mistakes_for(x_kept, dout_kept, want_out), precise=True)
        again = expect_array(name, _("dx of a second backward"), _call(name, layer.backward,
                             dout_kept.copy()), shape)
        _same_again(name, again, want_dx)
    x1, x2, dout = inputs(rng, (3, 4)), inputs(rng, (3, 4)), rng.standard_normal((3, 4))
    twin = RefLayer()
    twin.forward(x1)
    expect_independent(name, _("{name} layers").format(name=name), Layer, [(x1,), (x2,)],
                       twin.backward(dout), (dout,))


def _away_from_zero(rng, shape):
    # ReLU has no derivative at 0; inputs stay clear of it so every answer is well defined
    x = rng.standard_normal(shape)
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    # both signs in every input (whatever the draw), so a mask that is inverted, missing or
    # taken from dout never agrees with the right one by chance
    flat = x.reshape(-1)
    if flat.size > 1:
        flat[0], flat[-1] = abs(flat[0]), -abs(flat[-1])
    return x


def check_relu(ReLU):
    def mistakes(x, dout, out):
        return [
            (dout * (dout > 0), _("the mask was taken from dout; the gradient passes where the "
             "INPUT x was positive (remember that mask in forward).")),
            ((x > 0).astype(float), _(UPSTREAM)),
            (dout, _("the gradient passed everywhere: ReLU blocks it where x <= 0.")),
            (dout * (x < 0), _("the mask is inverted: the gradient passes where x > 0.")),
        ]
    _check_activation("ReLU", ReLU, ref.ReLU, _away_from_zero, mistakes, 2, forward_advice=N_(
        "x[x < 0] = 0 changes the caller's array; build a new one, e.g. with np.maximum(x, 0) "
        "or np.where."))


def check_sigmoid(Sigmoid):
    def mistakes(x, dout, s):
        twice = ref.sigmoid(s)
        return [
            (dout * x * (1 - x), _("the derivative was taken at the input x; it is "
             "sigma'(x) = s (1 - s) where s = sigma(x) is the output (cache it in forward).")),
            (dout * twice * (1 - twice), _("sigma is applied twice: the cached output already is "
             "sigma(x); use it as it is.")),
            (s * (1 - s), _(UPSTREAM)),
            (dout * s, _("sigma(x) alone is not its derivative: "
                         "sigma'(x) = sigma(x) (1 - sigma(x)).")),
        ]
    _check_activation("Sigmoid", Sigmoid, ref.Sigmoid,
                      lambda rng, shape: rng.uniform(-4, 4, shape), mistakes, 3)


def check_tanh(Tanh):
    def mistakes(x, dout, t):
        return [
            (1 - t**2, _(UPSTREAM)),
            (dout * (1 - x**2), _("the derivative was taken at the input x; it is "
             "tanh'(x) = 1 - tanh(x)^2, from the output of forward.")),
            (dout * (1 - np.tanh(t) ** 2), _("tanh is applied twice: the cached output already "
             "is tanh(x); use it as it is.")),
            (dout * (1 - t), _("the square is missing: tanh'(x) = 1 - tanh(x)^2.")),
        ]
    _check_activation("Tanh", Tanh, ref.Tanh, lambda rng, shape: rng.uniform(-2.5, 2.5, shape),
                      mistakes, 4)


# ---------------------------------------------------------------------------------------------
# losses


def _loss_value(entity, got, large):
    try:
        finite = bool(np.all(np.isfinite(got)))
    except TypeError:
        finite = True  # not a number at all: expect_number says so
    if large and not finite:
        fail(entity, _("forward gives {got} for large scores (around +-1000): np.exp overflows "
                       "to inf (or every exponential underflows to 0). Subtract each row's "
                       "maximum score before exponentiating; the softmax does not change.")
             .format(got=got))
    return expect_number(entity, _("the loss returned by forward"), got)


def _softmax_cases():
    rng = np.random.default_rng(_seed(20))
    cases = []
    # (N, C, offset): a batch of one, non-square, two classes, square, large scores of both signs
    for N, C, offset in [(1, 3, 0.0), (6, 4, 0.0), (8, 2, 0.0), (4, 4, 0.0), (5, 3, 1000.0),
                         (3, 5, -1000.0)]:
        scores = rng.standard_normal((N, C)) * 2.0 + offset
        cases.append((scores, rng.integers(0, C, N), offset != 0.0))
    return cases


def check_softmax_cross_entropy(SoftmaxCrossEntropy):
    name = "SoftmaxCrossEntropy"
    dout_value = 1.7
    for scores, y, large in _softmax_cases():
        N, C = scores.shape
        scores_kept, y_kept = scores.copy(), y.copy()
        reference = ref.SoftmaxCrossEntropy()
        want_loss = reference.forward(scores.copy(), y.copy())
        want = reference.backward()
        onehot = np.eye(C)[y]
        if large:
            where = _("for scores of shape {shape} (large scores)").format(shape=(N, C))
        else:
            where = _("for scores of shape {shape}").format(shape=(N, C))

        loss_fn = _call(name, SoftmaxCrossEntropy)
        loss = _loss_value(name, _call(name, loss_fn.forward, scores, y), large)
        _unchanged(name, _("the scores given to forward"), scores_kept, scores)
        _unchanged(name, _("the labels y given to forward"), y_kept, y)
        expect_close(name, _("the loss {where}").format(where=where), loss, want_loss, mistakes=[
            (want_loss * N, _("the loss is the MEAN over the batch, not the sum: divide by N."))])

        dscores = expect_array(name, qualified("dscores = backward()", where),
                               _call(name, loss_fn.backward),
                               (N, C))
        expect_close(name, qualified("dscores", where), dscores, want, mistakes=[
            (-want, _("the sign is flipped: the gradient is softmax(scores) - onehot(y), "
             "not onehot(y) - softmax(scores).")),
            (want * N, _("the 1/N of the batch mean is missing: the loss is a mean over the N "
             "examples, so its gradient is (softmax - onehot(y)) / N.")),
            (want / N, _("the 1/N is applied twice: divide by N once.")),
            (want + onehot / N, _("the -1 at the true class is missing: the gradient is "
             "softmax(scores) - onehot(y), over N.")),
        ])
        again = expect_array(name, _("dscores of a second backward()"),
                             _call(name, loss_fn.backward), (N, C))
        _same_again(name, again, want, N_("dscores = self.probs does not copy the "
                    "probabilities, self.probs.copy() does."))
        scaled = expect_array(name, f"backward({dout_value})", _call(name, loss_fn.backward,
                              dout_value), (N, C))
        expect_close(name, _("backward(dout) with dout={dout} {where}").format(
            dout=dout_value, where=where), scaled, want * dout_value, mistakes=[(want, _(
                "dout was ignored: multiply the gradient by the upstream gradient dout."))])
        _unchanged(name, _("the scores"), scores_kept, scores)
    rng = np.random.default_rng(_seed(21))
    (s1, y1), (s2, y2) = [(rng.standard_normal((4, 3)), rng.integers(0, 3, 4)) for _ in range(2)]
    twin = ref.SoftmaxCrossEntropy()
    twin.forward(s1, y1)
    expect_independent(name, _("{name} objects").format(name=name), SoftmaxCrossEntropy,
                       [(s1, y1), (s2, y2)], twin.backward())


def check_mse_loss(MSELoss):
    name = "MSELoss"
    rng = np.random.default_rng(_seed(30))
    dout_value = -0.6
    for N, D in [(1, 3), (4, 2), (6, 1), (3, 5)]:
        pred, target = rng.standard_normal((N, D)), rng.standard_normal((N, D))
        pred_kept, target_kept = pred.copy(), target.copy()
        reference = ref.MSELoss()
        want_loss = reference.forward(pred.copy(), target.copy())
        want = reference.backward()
        where = _("for pred of shape {shape}").format(shape=(N, D))

        loss_fn = _call(name, MSELoss)
        loss = expect_number(name, _("the loss returned by forward"),
                             _call(name, loss_fn.forward, pred, target))
        _unchanged(name, "pred", pred_kept, pred)
        _unchanged(name, "target", target_kept, target)
        expect_close(name, _("the loss {where}").format(where=where), loss, want_loss, mistakes=[
            (want_loss * N, _("the 1/N is missing: the loss is a mean over the N examples.")),
            (want_loss / D, _("it was divided by the number of entries N*D; divide by the batch "
             "size N only (the loss sums over the D outputs of an example).")),
            (2 * want_loss, _("the 1/2 is missing: L = 1/2 sum (pred - target)^2 / N.")),
            (want_loss / N, _("the 1/N is applied twice.")),
        ])
        dpred = expect_array(name, qualified("dpred = backward()", where),
                             _call(name, loss_fn.backward),
                             (N, D))
        expect_close(name, qualified("dpred", where), dpred, want, mistakes=[
            (-want, _("the sign is flipped: the derivative of (pred - target)^2 / 2 with "
             "respect to pred is pred - target.")),
            (want * N, _("the 1/N is missing in backward: forward divides by N, so does its "
             "gradient.")),
            (want / N, _("the 1/N is applied twice: divide by N once.")),
            (want / D, _("it was divided by N*D; divide by the batch size N only.")),
            (2 * want, _("the 1/2 of the loss cancels the 2 of the square's derivative.")),
        ])
        again = expect_array(name, _("dpred of a second backward()"),
                             _call(name, loss_fn.backward), (N, D))
        _same_again(name, again, want)
        scaled = expect_array(name, f"backward({dout_value})",
                              _call(name, loss_fn.backward, dout_value), (N, D))
        expect_close(name, _("backward(dout) with dout={dout} {where}").format(
            dout=dout_value, where=where), scaled, want * dout_value, mistakes=[(want, _(
                "dout was ignored: multiply the gradient by the upstream gradient dout."))])
        _unchanged(name, "pred", pred_kept, pred)
        _unchanged(name, "target", target_kept, target)
    rng = np.random.default_rng(_seed(31))
    (p1, t1), (p2, t2) = [(rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))
                          for _ in range(2)]
    twin = ref.MSELoss()
    twin.forward(p1, t1)
    expect_independent(name, _("{name} objects").format(name=name), MSELoss,
                       [(p1, t1), (p2, t2)], twin.backward())


# ---------------------------------------------------------------------------------------------
# Sequential and sgd_step


PASS_ON = N_("each layer's backward returns the gradient for the layer before it; pass it on: "
             "dout = layer.backward(dout), and return the last one.")


def _check_sequential_order(Sequential, rng, scales, shape):
    """Sequential on stand-in layers (standins.ProbeLayer, made where the student's code runs)
    that scale by c and write down every call and the gradient they receive."""
    name = "Sequential"
    log = standin(Sequential, "CallLog")
    probes = [standin(Sequential, "ProbeLayer", c, k, log) for k, c in enumerate(scales)]
    model = _call(name, Sequential, *probes)
    layers = _attribute(model, "layers")
    if not isinstance(layers, (list, tuple)) or len(layers) != len(probes) or any(
            a is not b for a, b in zip(layers, probes)):
        fail(name, _("Sequential(*layers).layers should be the list of the layers it was "
                     "given, in order."))
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    out = expect_array(name, "forward(x)", _call(name, model.forward, x), x.shape)
    order = list(range(len(probes)))
    if log.entries != [["forward", k] for k in order]:
        fail(name, _("forward should call the forward of every layer once, in order, each on "
                     "the output of the layer before it."))
    chain = _("forward must feed each layer the output of the previous one: "
              "x = layer.forward(x), and return the last output.")
    expect_close(name, "forward(x)", out, x * np.prod(scales),
                 mistakes=[(x * scales[-1], chain), (x, chain)])
    log.entries = []
    dx = expect_array(name, "backward(dout)", _call(name, model.backward, dout), dout.shape)
    if len(probes) > 1 and log.entries == [["backward", k] for k in order]:
        fail(name, _("backward went through the layers from first to last; it must go in "
                     "reverse order, from the last layer to the first (reversed(self.layers))."))
    if log.entries != [["backward", k] for k in reversed(order)]:
        fail(name, _("backward should call the backward of every layer once, in reverse "
                     "order."))
    expected = dout
    for k in reversed(order):
        received = probes[k].dout
        if not isinstance(received, np.ndarray) or not np.allclose(received, expected):
            fail(name, _("layer {k} received the wrong upstream gradient: {advice}").format(
                k=k, advice=_(PASS_ON)))
        expected = scales[k] * expected
    expect_close(name, _("the gradient returned by backward"), dx, expected,
                 mistakes=[(dout * scales[0], _(PASS_ON)), (dout, _(PASS_ON))])


def check_sequential(Sequential):
    rng = np.random.default_rng(_seed(40))
    for scales, shape in [((2.0, -3.0, 0.5, 4.0), (3, 2)), ((1.5, -0.5), (1, 5)),
                          ((3.0,), (4, 3))]:
        _check_sequential_order(Sequential, rng, scales, shape)


def check_sgd_step(sgd_step, Sequential, Affine, ReLU, Sigmoid):
    """sgd_step on the student's own Sequential and Affine (constructors only): a failure names
    them when they do not keep what they are given (see _check_sgd_step)."""
    try:
        _check_sgd_step(sgd_step, Sequential, Affine, ReLU, Sigmoid)
    except Mistake as mistake:
        blame_failing_dependencies("sgd_step", mistake, [
            (_("{name} (its constructor)").format(name="Sequential"),
             lambda: _check_sequential_keeps_its_layers(Sequential, Affine)),
            (_("{name} (its constructor)").format(name="Affine"),
             lambda: _check_affine_keeps_its_arrays(Affine))])


def _check_sequential_keeps_its_layers(Sequential, Affine):
    """Sequential(*layers).layers lists the layers given, in order (what sgd_step relies on)."""
    layers = [_call("Affine", Affine, np.ones((2, 2)), np.zeros(2)) for _ in range(2)]
    kept = _attribute(_call("Sequential", Sequential, *layers), "layers")
    if not isinstance(kept, (list, tuple)) or len(kept) != 2 or any(
            a is not b for a, b in zip(kept, layers)):
        fail("Sequential", _("Sequential(*layers) should keep the layers, in order, as "
                             "self.layers."))


def _check_affine_keeps_its_arrays(Affine):
    """Affine(W, b) keeps W and b (or copies of them) as self.W and self.b: what sgd_step uses."""
    W, b = np.arange(6.0).reshape(2, 3), np.arange(3.0)
    layer = _call("Affine", Affine, W, b)
    for label, given in (("W", W), ("b", b)):
        kept = _attribute(layer, label)
        if not isinstance(kept, np.ndarray) or not np.array_equal(kept, given):
            fail("Affine", _("Affine(W, b) should keep {name} as self.{name}.").format(
                name=label))


def _check_sgd_step(sgd_step, Sequential, Affine, ReLU, Sigmoid):
    """sgd_step on a model built with the student's classes, of which only the constructors
    given in the notebook run (Affine(W, b) keeps W and b, Sequential keeps its layers): the
    gradients are set by hand, so this tests sgd_step alone, on the kind of layers it meets
    (an isinstance or hasattr test in sgd_step works on them as in the notebook)."""
    name = "sgd_step"
    rng = np.random.default_rng(_seed(50))
    for lr, parameters_first in [(0.1, True), (0.5, False), (0.03, True)]:
        affines, before = [], []
        for D, M in [(4, 5), (5, 2)]:
            W, b = rng.standard_normal((D, M)), rng.standard_normal(M)
            layer = _call("Affine", Affine, W, b)
            grads = {"dW": rng.standard_normal((D, M)), "db": rng.standard_normal(M)}
            for grad_name, grad in grads.items():
                setattr(layer, grad_name, grad.copy())
            affines.append(layer)
            before.append({"W": W.copy(), "b": b.copy(), **grads})
        if parameters_first:
            layers = [affines[0], _call("ReLU", ReLU), affines[1], _call("Sigmoid", Sigmoid)]
        else:
            layers = [_call("Sigmoid", Sigmoid), affines[0], _call("ReLU", ReLU), affines[1]]
        model = _call("Sequential", Sequential, *layers)
        arrays_before = [[standin(sgd_step, "attribute_id", layer, p) for p in ("W", "b")]
                         for layer in affines]
        _call(name, sgd_step, model, lr, hints={"AttributeError": NO_PARAMETERS_HINT})
        for k, (layer, old) in enumerate(zip(affines, before)):
            for p in ("W", "b"):
                if k == 0:
                    what = _("the {p} of the first Affine layer after a step with lr={lr}")
                else:
                    what = _("the {p} of the second Affine layer after a step with lr={lr}")
                what = what.format(p=p, lr=lr)
                new = expect_array(name, what, _attribute(layer, p), old[p].shape)
                grad = old["d" + p]
                expect_close(name, what, new, old[p] - lr * grad, mistakes=[
                    (old[p] + lr * grad, _("the step was added: gradient descent subtracts "
                     "lr * gradient.")),
                    (old[p], _("it did not change: update the layer's own array "
                     "(layer.{p} -= lr * layer.d{p}); assigning to a local name does not "
                     "change the layer.").format(p=p)),
                    (old[p] - grad, _("the learning rate lr was not used: the step is "
                     "lr * gradient.")),
                    (old[p] - 2 * lr * grad, _("the step was applied twice.")),
                ])
                _unchanged(name, f"d{p}", grad, _attribute(layer, "d" + p),
                           N_("sgd_step changes the parameters, not their gradients."))
        for layer, before in zip(affines, arrays_before):
            for p, array_id in zip(("W", "b"), before):
                if standin(sgd_step, "attribute_id", layer, p) != array_id:
                    fail(name, _("the step made a new array for layer.{p} (layer.{p} = "
                                 "layer.{p} - lr * layer.d{p}); update the layer's own array in "
                                 "place (layer.{p} -= lr * layer.d{p}), as the exercise asks: "
                                 "whatever else holds that array (an optimizer, a copy of the "
                                 "model) sees the step.").format(p=p))


# ---------------------------------------------------------------------------------------------
# the worked 2-2-2 network and the training run (they use several of the student's entities)


def _reference_seed_network():
    """Every quantity of the worked 2-2-2 network, from grader.reference's layers."""
    i, o, W1, b1, W2, b2 = seed_network_arrays()
    layers = [ref.Affine(W1, b1), ref.Sigmoid(), ref.Affine(W2, b2), ref.Sigmoid()]
    values, h = {}, i
    for key, layer in zip(("h_in", "h_out", "o_in", "o_out"), layers):
        h = values[key] = layer.forward(h)
    mse = ref.MSELoss()
    values["loss"] = mse.forward(h, o)
    grad = mse.backward()
    for key, layer in zip(("o_err", "o_dx", "h_err", "i_dx"), reversed(layers)):
        grad = values[key] = layer.backward(grad)
    values |= {"d_w5": layers[2].dW, "d_b5": layers[2].db, "d_w1": layers[0].dW,
               "d_b1": layers[0].db}
    return values


def check_seed_network(Sequential, Affine, Sigmoid, MSELoss):
    """The worked network is built from the student's layers: a failure there names the layers
    that fail their own tests (see _check_seed_network)."""
    try:
        _check_seed_network(Sequential, Affine, Sigmoid, MSELoss)
    except Mistake as mistake:
        blame_failing_dependencies(_("the worked 2-2-2 network"), mistake, [
            ("Affine", lambda: check_affine(Affine)), ("Sigmoid", lambda: check_sigmoid(Sigmoid)),
            ("MSELoss", lambda: check_mse_loss(MSELoss)),
            ("Sequential", lambda: check_sequential(Sequential))])


def _check_seed_network(Sequential, Affine, Sigmoid, MSELoss):
    """The worked 2-2-2 sigmoid network with the student's layers: every entry of every
    intermediate array against the reference (which reproduces the worked example's numbers,
    tests/test_reference.py), so a transposed dW or a missing 1/2 shows wherever it is."""
    name = _("the worked 2-2-2 network")

    def run(what, fn, *args, shape=(1, 2)):
        got = _call(_("{entity}, in {what}").format(entity=name, what=what), fn, *args)
        return got if shape is None else expect_array(
            name, _("the result of {what}").format(what=what), got, shape)

    i, o, W1, b1, W2, b2 = seed_network_arrays()
    hidden_affine = run("Affine(W1, b1)", Affine, W1, b1, shape=None)
    output_affine = run("Affine(W2, b2)", Affine, W2, b2, shape=None)
    hidden_sigmoid, output_sigmoid = (run("Sigmoid()", Sigmoid, shape=None) for _k in range(2))
    mse = run("MSELoss()", MSELoss, shape=None)

    got = {"h_in": run("Affine.forward", hidden_affine.forward, i)}
    got["h_out"] = run("Sigmoid.forward", hidden_sigmoid.forward, got["h_in"])
    got["o_in"] = run("Affine.forward", output_affine.forward, got["h_out"])
    got["o_out"] = run("Sigmoid.forward", output_sigmoid.forward, got["o_in"])
    got["loss"] = expect_number(name, _("the loss"), run("MSELoss.forward", mse.forward,
                                                         got["o_out"], o, shape=None))
    got["o_err"] = run("Sigmoid.backward", output_sigmoid.backward,
                       run("MSELoss.backward", mse.backward))
    got["o_dx"] = run("Affine.backward", output_affine.backward, got["o_err"])
    got["h_err"] = run("Sigmoid.backward", hidden_sigmoid.backward, got["o_dx"])
    got["i_dx"] = run("Affine.backward", hidden_affine.backward, got["h_err"])
    for key, layer, attribute, shape in (("d_w5", output_affine, "dW", (2, 2)),
                                         ("d_b5", output_affine, "db", (2,)),
                                         ("d_w1", hidden_affine, "dW", (2, 2)),
                                         ("d_b1", hidden_affine, "db", (2,))):
        got[key] = expect_array(name, _("self.{attribute} of a layer").format(
            attribute=attribute), _stored("Affine", layer, attribute, _(
                "the gradient of {name}").format(name=attribute[1])), shape)
    want = _reference_seed_network()
    sources = {
        "h_in": _("the hidden Affine layer's forward"), "h_out": _("the hidden Sigmoid's forward"),
        "o_in": _("the output Affine layer's forward"), "o_out": _("the output Sigmoid's forward"),
        "loss": "MSELoss.forward",
        "o_err": _("MSELoss.backward and the output Sigmoid's backward"),
        "o_dx": _("the output Affine layer's dx"), "h_err": _("the hidden Sigmoid's backward"),
        "i_dx": _("the hidden Affine layer's dx"), "d_w5": _("the output Affine layer's dW"),
        "d_b5": _("the output Affine layer's db"), "d_w1": _("the hidden Affine layer's dW"),
        "d_b1": _("the hidden Affine layer's db"),
    }
    for key, source in sources.items():  # in the order the values are computed
        if not np.allclose(got[key], want[key], rtol=1e-10, atol=1e-15):
            fail(name, _("{key} differs from the worked example's value; it comes from {source} "
                         "(and what feeds it): the test cell of that entity above says what is "
                         "wrong.").format(key=key, source=source))

    net = run("Sequential(...)", Sequential, hidden_affine, hidden_sigmoid, output_affine,
              output_sigmoid, shape=None)
    if not np.allclose(run("Sequential.forward", net.forward, i), want["o_out"], rtol=1e-10,
                       atol=0.0):
        fail(name, _("Sequential.forward gives a different output than the layers one by "
                     "one."))
    run("MSELoss.forward", mse.forward, got["o_out"], o, shape=None)
    run("Sequential.backward", net.backward, run("MSELoss.backward", mse.backward), shape=None)
    d_w1 = expect_array(name, _("the hidden layer's dW"), _stored(
        "Affine", hidden_affine, "dW", _("the gradient of {name}").format(name="W")), (2, 2))
    if not np.allclose(d_w1, want["d_w1"], rtol=1e-10, atol=1e-15):
        fail(name, _("Sequential.backward gives a different hidden dW than the layers one by "
                     "one."))


# 200 full-batch steps, as the notebook's visible test says: the reference reached 97.7-98.5%
# on 40 draws of spirals and starting weights (each student gets draws of their own)
TRAINING_STEPS, LEARNING_RATE, HIDDEN_UNITS, ACCURACY_NEEDED = 200, 1.0, 100, 0.9


def check_training(Sequential, Affine, ReLU, SoftmaxCrossEntropy, sgd_step):
    """Training runs the student's own layers, loss and sgd_step: a failure names those that
    fail their own tests rather than the symptom (a wrong Affine shows in sgd_step's shapes)."""
    try:
        _check_training(Sequential, Affine, ReLU, SoftmaxCrossEntropy, sgd_step)
    except Mistake as mistake:
        blame_failing_dependencies(_("training"), mistake, [
            ("Affine", lambda: check_affine(Affine)), ("ReLU", lambda: check_relu(ReLU)),
            ("SoftmaxCrossEntropy", lambda: check_softmax_cross_entropy(SoftmaxCrossEntropy)),
            ("Sequential", lambda: check_sequential(Sequential)),
            ("sgd_step", lambda: check_sgd_step(sgd_step, Sequential, Affine, ReLU, ReLU))])


def _raise(exc):
    raise exc


def _check_training(Sequential, Affine, ReLU, SoftmaxCrossEntropy, sgd_step):
    """Train the student's network on a secret draw of the spirals (the notebook's recipe)."""
    name = _("training")

    def run(what, fn, *args):
        return _call(_("while training, {what}").format(what=what), fn, *args)

    X, y = make_spirals(n_per_class=100, n_classes=3, seed=_seed(0) % 1000)
    rng = np.random.default_rng(_seed(60))
    W1 = rng.standard_normal((2, HIDDEN_UNITS)) * np.sqrt(2 / 2)
    W2 = rng.standard_normal((HIDDEN_UNITS, 3)) * np.sqrt(2 / HIDDEN_UNITS)
    model = run("Sequential(...)", Sequential,
                run("Affine(W1, b1)", Affine, W1, np.zeros(HIDDEN_UNITS)),
                run("ReLU()", ReLU), run("Affine(W2, b2)", Affine, W2, np.zeros(3)))
    loss_fn = run("SoftmaxCrossEntropy()", SoftmaxCrossEntropy)
    # the loop runs where the student's code is (standins.TrainingRun: a few requests instead
    # of ten per step); every loss it reports is checked here, as the steps went
    trainer = standin(Sequential, "TrainingRun", model, loss_fn, sgd_step, X, y, LEARNING_RATE)
    losses = []
    while len(losses) < TRAINING_STEPS:
        try:
            batch = trainer.steps(TRAINING_STEPS - len(losses))
        except Exception as exc:  # noqa: BLE001  (said as a call to the part that raised)
            run(str(trainer.where), _raise, exc)
        for loss in batch:
            step = len(losses)
            is_number = isinstance(loss, numbers.Real) or (isinstance(loss, np.ndarray)
                                                           and loss.shape == ())
            if is_number and not np.isfinite(loss):
                fail(name, _("the loss became {loss} at step {step}: check that sgd_step "
                             "subtracts the gradient and that SoftmaxCrossEntropy is stable for "
                             "large scores.").format(loss=loss, step=step))
            losses.append(expect_number(name, _("the loss"), loss))
    predicted = expect_array(name, _("the scores of Sequential.forward"),
                             run("Sequential.forward", model.forward, X), (len(y), 3))
    accuracy = float(np.mean(predicted.argmax(axis=1) == y))
    if accuracy >= ACCURACY_NEEDED:
        return
    if losses[-1] >= losses[0]:
        fail(name, _("the training loss did not go down (from {first:.3f} to {last:.3f}): "
                     "gradient descent subtracts lr * gradient, and every gradient must have the "
                     "right sign. The test cells of sgd_step and the layers say which part is "
                     "wrong.").format(first=losses[0], last=losses[-1]))
    # the 90% is a placeholder too: a literal "%" would read as a %-format to gettext's tools
    fail(name, _("the network reached only {accuracy:.0%} training accuracy (at least "
                 "{needed:.0%} is needed); the loss went from {first:.3f} to {last:.3f} in "
                 "{steps} steps. Fix the layers whose test cells fail above.").format(
                     accuracy=accuracy, needed=ACCURACY_NEEDED, first=losses[0],
                     last=losses[-1], steps=TRAINING_STEPS))


# ---------------------------------------------------------------------------------------------
# The catalogue the grading tests run through the real pipeline (see grader.simulate):
# name -> (grade_id, text of the model answer, the mistake typed instead, words of the feedback).

_SIGMOID_ANSWER = ("self.out = 1.0 / (1.0 + np.exp(-x))\n        return self.out\n\n"
                   "    def backward(self, dout):\n"
                   "        return dout * self.out * (1.0 - self.out)")
_NUMJAC_CENTRAL = "jac[:, j] = (y_plus - y_minus) / (2 * h)"
_NUMJAC_LOOP = ("    for j, idx in enumerate(np.ndindex(x.shape)):\n"
                "        saved = x[idx]\n        x[idx] = saved + h\n        y_plus = np.ravel(f(x))\n"
                "        x[idx] = saved - h\n        y_minus = np.ravel(f(x))\n"
                "        x[idx] = saved  # put the entry back: x must be unchanged afterwards\n")
# the same loop through x.reshape(-1): right for a C-ordered x, a copy (so no effect) for an x.T
_NUMJAC_FLAT_LOOP = ("    flat = x.reshape(-1)\n    for j in range(x.size):\n"
                     "        saved = flat[j]\n        flat[j] = saved + h\n"
                     "        y_plus = np.ravel(f(x))\n        flat[j] = saved - h\n"
                     "        y_minus = np.ravel(f(x))\n        flat[j] = saved\n")

KNOWN_MISTAKES = {
    "sgd_rebinds": ("sgd_step", "layer.W -= lr * layer.dW",
                    "layer.W = layer.W - lr * layer.dW", "new array"),
    # the first two are on different cells: the demo's "two mistakes" student types both
    "affine_missing_transpose": ("affine", "return dout @ self.W.T", "return dout @ self.W",
                                 "shape"),
    "sigmoid_twice": ("sigmoid", "return dout * self.out * (1.0 - self.out)",
                      "s = 1.0 / (1.0 + np.exp(-self.out))\n        return dout * s * (1.0 - s)",
                      "applied twice"),
    "numjac_divides_by_h": ("numerical_jacobian", _NUMJAC_CENTRAL,
                            "jac[:, j] = (y_plus - y_minus) / h", "2h"),
    "numjac_forward_difference": ("numerical_jacobian", _NUMJAC_CENTRAL,
                                  "jac[:, j] = (y_plus - np.ravel(f(x))) / h",
                                  "forward difference"),
    "numjac_not_restored": ("numerical_jacobian", "x[idx] = saved  # put the entry back",
                            "pass  # put the entry back", "not restored"),
    "numjac_evaluates_at_x": ("numerical_jacobian", "x[idx] = saved - h", "x[idx] = saved", "x - h"),
    "numjac_transposed": ("numerical_jacobian", "return jac", "return jac.T", "row"),
    "numjac_flat_copy": ("numerical_jacobian", _NUMJAC_LOOP, _NUMJAC_FLAT_LOOP, "x.reshape(-1)"),
    "affine_dW_order": ("affine", "self.dW = self.x.T @ dout", "self.dW = dout.T @ self.x",
                        "shape"),
    "affine_bias_averaged": ("affine", "self.db = dout.sum(axis=0)",
                             "self.db = dout.mean(axis=0)", "averaged"),
    "affine_bias_not_summed": ("affine", "self.db = dout.sum(axis=0)", "self.db = dout",
                               "over the batch"),
    "relu_forward_in_place": ("relu", "return np.where(self.mask, x, 0.0)",
                              "x[~self.mask] = 0.0\n        return x", "in place"),
    "relu_mask_from_dout": ("relu", "return np.where(self.mask, dout, 0.0)",
                            "return np.where(dout > 0, dout, 0.0)", "mask"),
    "relu_backward_in_place": ("relu", "return np.where(self.mask, dout, 0.0)",
                               "dout[~self.mask] = 0.0\n        return dout", "in place"),
    "relu_drops_upstream": ("relu", "return np.where(self.mask, dout, 0.0)",
                            "return self.mask.astype(float)", "upstream"),
    "sigmoid_at_input": ("sigmoid", _SIGMOID_ANSWER,
                         "self.x = x\n        " + _SIGMOID_ANSWER.replace(
                             "dout * self.out * (1.0 - self.out)",
                             "dout * self.x * (1.0 - self.x)"), "input"),
    "sigmoid_drops_upstream": ("sigmoid", "return dout * self.out * (1.0 - self.out)",
                               "return self.out * (1.0 - self.out)", "upstream"),
    "tanh_drops_upstream": ("tanh", "return dout * (1.0 - self.out**2)",
                            "return 1.0 - self.out**2", "upstream"),
    "tanh_twice": ("tanh", "return dout * (1.0 - self.out**2)",
                   "return dout * (1.0 - np.tanh(self.out)**2)", "applied twice"),
    "softmax_not_stable": ("softmax_cross_entropy",
                           "shifted = scores - scores.max(axis=1, keepdims=True)",
                           "shifted = scores", "maximum"),
    "softmax_sign_flipped": ("softmax_cross_entropy", "return dscores * dout / N",
                             "return -dscores * dout / N", "sign"),
    "softmax_probs_in_place": ("softmax_cross_entropy", "dscores = self.probs.copy()",
                               "dscores = self.probs", "in place"),
    "softmax_sum_not_mean": ("softmax_cross_entropy",
                             "return -log_probs[np.arange(len(y)), y].mean()",
                             "return -log_probs[np.arange(len(y)), y].sum()", "mean"),
    "mse_mean_over_entries": ("mse_loss", "return 0.5 * np.sum(self.diff**2) / N",
                              "return 0.5 * np.mean(self.diff**2)", "batch size"),
    "mse_missing_half": ("mse_loss", "return 0.5 * np.sum(self.diff**2) / N",
                         "return np.sum(self.diff**2) / N", "1/2"),
    "mse_backward_no_N": ("mse_loss", "return dout * self.diff / N", "return dout * self.diff",
                          "1/N"),
    "mse_backward_sign": ("mse_loss", "return dout * self.diff / N",
                          "return -dout * self.diff / N", "sign"),
    "sequential_not_reversed": ("sequential", "for layer in reversed(self.layers):",
                                "for layer in self.layers:", "reverse"),
    "sequential_drops_gradient": ("sequential", "dout = layer.backward(dout)",
                                  "layer.backward(dout)", "pass it on"),
    "sgd_adds": ("sgd_step", "layer.W -= lr * layer.dW", "layer.W += lr * layer.dW",
                 "subtracts"),
    "sgd_forgets_bias": ("sgd_step", "layer.b -= lr * layer.db", "pass", "did not change"),
    "sgd_no_skip": ("sgd_step", 'if hasattr(layer, "W"):\n            layer.W -= lr * layer.dW',
                    "layer.W -= lr * layer.dW", "skip them"),
}

# Correct answers written differently from the model answers: each must score full marks, and
# all of them are submitted together in one notebook.
ALTERNATIVE_SOLUTIONS = {
    "numerical_jacobian": """
def numerical_jacobian(f, x, h=1e-5):
    # never touches x: f is evaluated at shifted copies; one column per entry, in C order
    columns = []
    for idx in np.ndindex(*x.shape):
        step = np.zeros_like(x, dtype=float)
        step[idx] = h
        columns.append((np.ravel(f(x + step)) - np.ravel(f(x - step))) / (2 * h))
    return np.stack(columns, axis=1)
""",
    "affine": """
class Affine:
    def __init__(self, W, b):
        self.W = np.array(W, dtype=float)  # own copies
        self.b = np.array(b, dtype=float)

    def forward(self, x):
        self.cache = x
        return np.einsum("nd,dm->nm", x, self.W) + self.b

    def backward(self, dout):
        x = self.cache
        self.dW = np.einsum("nd,nm->dm", x, dout)
        self.db = np.einsum("nm->m", dout)
        return np.einsum("nm,dm->nd", dout, self.W)
""",
    "relu": """
class ReLU:
    def forward(self, x):
        self.x = x
        return x * (x > 0)

    def backward(self, dout):
        return dout * (self.x > 0)
""",
    "sigmoid": """
class Sigmoid:
    # the derivative is computed from the cached input, with a formula stable for any x
    def forward(self, x):
        self.x = x
        return np.exp(-np.logaddexp(0.0, -x))

    def backward(self, dout):
        s = np.exp(-np.logaddexp(0.0, -self.x))
        return dout * s * (1.0 - s)
""",
    "tanh": """
class Tanh:
    def forward(self, x):
        self.x = x
        return np.tanh(x)

    def backward(self, dout):
        return dout / np.cosh(self.x) ** 2
""",
    "softmax_cross_entropy": """
class SoftmaxCrossEntropy:
    def forward(self, scores, y):
        z = scores - np.max(scores, axis=1, keepdims=True)
        p = np.exp(z)
        p /= np.sum(p, axis=1, keepdims=True)  # p is a new array, so /= is safe
        N = scores.shape[0]
        self.p, self.onehot = p, np.eye(scores.shape[1])[y]
        return float(-np.sum(np.log(p[np.arange(N), y])) / N)

    def backward(self, dout=1.0):
        return (self.p - self.onehot) * (dout / self.p.shape[0])
""",
    "mse_loss": """
class MSELoss:
    def forward(self, pred, target):
        self.pred, self.target = pred, target
        return float(0.5 * np.mean(np.sum((pred - target) ** 2, axis=1)))

    def backward(self, dout=1.0):
        return dout * (self.pred - self.target) / len(self.pred)
""",
    "sequential": """
class Sequential:
    def __init__(self, *layers):
        self.layers = [layer for layer in layers]

    def forward(self, x):
        out = x
        for i in range(len(self.layers)):
            out = self.layers[i].forward(out)
        return out

    def backward(self, dout):
        grad = dout
        for i in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[i].backward(grad)
        return grad
""",
    # rebinding (a new array) instead of updating in place: accepted, the layer still moves
    "sgd_step": """
def sgd_step(model, lr):
    for layer in model.layers:
        for name in ("W", "b"):
            if hasattr(layer, "d" + name):
                # in place, without an operator: the layer's own array receives the step
                np.subtract(getattr(layer, name), lr * getattr(layer, "d" + name),
                            out=getattr(layer, name))
""",
}

# Two more complete sets of correct answers, each in a style of its own and submitted together as
# one student's notebook (tests/conftest.py: students alt2_<aid>, alt3_<aid>); each must score
# full marks. Set 1: vectorised numpy throughout (np.dot, tensordot, take_along_axis, reduce),
# caches of outputs. Set 2: loops over index tuples, derivatives recomputed from cached inputs,
# stable formulas of their own, helpers, recursion and slice assignment.
MORE_ALTERNATIVE_SOLUTIONS = [
    {
        "numerical_jacobian": """
def numerical_jacobian(f, x, h=1e-5):
    # x itself is never written: f sees x plus or minus one basis array at a time
    n = x.size
    basis = np.eye(n)
    columns = []
    for j in range(n):
        step = h * basis[j].reshape(x.shape)  # e_j, numbered in C order
        columns.append(np.ravel(f(x + step)) - np.ravel(f(x - step)))
    jac = np.column_stack(columns) / (2 * h)
    return jac.astype(float)
""",
        "affine": """
class Affine:
    def __init__(self, W, b):
        self.W = W  # the layer keeps the arrays it is given; sgd_step updates them
        self.b = b

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.tensordot(self.x, dout, axes=(0, 0))  # sum over the batch of x_n^T dout_n
        self.db = np.ones(dout.shape[0]) @ dout
        return np.matmul(dout, self.W.T)
""",
        "relu": """
class ReLU:
    def forward(self, x):
        self.out = np.maximum(x, 0.0)
        return self.out

    def backward(self, dout):
        # the output is positive exactly where the input was
        return dout * (self.out > 0)
""",
        "sigmoid": """
class Sigmoid:
    def forward(self, x):
        self.out = 0.5 * (1.0 + np.tanh(0.5 * x))  # sigma(x), through tanh
        return self.out

    def backward(self, dout):
        return np.multiply(dout, self.out - self.out**2)
""",
        "tanh": """
class Tanh:
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * (1.0 + self.out)
""",
        "softmax_cross_entropy": """
class SoftmaxCrossEntropy:
    def forward(self, scores, y):
        m = scores.max(axis=1, keepdims=True)
        lse = m + np.log(np.sum(np.exp(scores - m), axis=1, keepdims=True))  # log-sum-exp
        log_p = scores - lse
        self.probs, self.y = np.exp(log_p), y
        return -np.mean(np.take_along_axis(log_p, y[:, None], axis=1))

    def backward(self, dout=1.0):
        N, C = self.probs.shape
        onehot = np.zeros((N, C))
        np.put_along_axis(onehot, self.y[:, None], 1.0, axis=1)
        return (self.probs - onehot) * (dout / N)
""",
        "mse_loss": """
class MSELoss:
    def forward(self, pred, target):
        self.pred, self.target = pred, target
        d = pred - target
        return np.einsum("nd,nd->", d, d) / (2 * len(pred))

    def backward(self, dout=1.0):
        return (self.pred - self.target) * (dout / len(self.pred))
""",
        "sequential": """
from functools import reduce


class Sequential:
    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        return reduce(lambda h, layer: layer.forward(h), self.layers, x)

    def backward(self, dout):
        return reduce(lambda g, layer: layer.backward(g), reversed(self.layers), dout)
""",
        "sgd_step": """
def sgd_step(model, lr):
    for layer in model.layers:
        params = vars(layer)
        for name in ("W", "b"):
            if name in params:
                params[name] -= lr * params["d" + name]  # -= on the layer's own array
""",
    },
    {
        "numerical_jacobian": """
import itertools


def numerical_jacobian(f, x, h=1e-5):
    y = np.ravel(f(x))
    jac = np.empty((y.size, x.size))
    # the index tuples of x in C order, whatever its memory layout
    for j, idx in enumerate(itertools.product(*(range(n) for n in x.shape))):
        old = x[idx]
        try:
            x[idx] = old + h
            f_plus = np.ravel(f(x)).copy()
            x[idx] = old - h
            f_minus = np.ravel(f(x)).copy()
        finally:
            x[idx] = old  # x holds exactly its old values again
        for i in range(y.size):
            jac[i, j] = (f_plus[i] - f_minus[i]) / (2.0 * h)
    return jac
""",
        "affine": """
class Affine:
    def __init__(self, W, b):
        self.W = W  # the layer keeps the arrays it is given; sgd_step updates them
        self.b = b

    def forward(self, x):
        self.x = x
        return x.dot(self.W) + self.b[np.newaxis, :]

    def backward(self, dout):
        self.dW = (dout.T @ self.x).T
        self.db = dout.sum(axis=0)
        return (self.W @ dout.T).T
""",
        "relu": """
class ReLU:
    def forward(self, x):
        self.x = x
        return np.clip(x, 0.0, None)

    def backward(self, dout):
        return dout * np.heaviside(self.x, 0.0)  # 1 where x > 0, else 0
""",
        "sigmoid": """
def stable_sigmoid_of_an_array(x):
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Sigmoid:
    def forward(self, x):
        self.x = x
        return stable_sigmoid_of_an_array(x)

    def backward(self, dout):
        e = np.exp(-np.abs(self.x))
        return dout * e / (1.0 + e) ** 2  # sigma'(x) = e^-|x| / (1 + e^-|x|)^2
""",
        "tanh": """
class Tanh:
    # tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|), and tanh'(x) = 4e / (1 + e)^2
    def forward(self, x):
        self.x = x
        e = np.exp(-2.0 * np.abs(x))
        return np.sign(x) * (1.0 - e) / (1.0 + e)

    def backward(self, dout):
        e = np.exp(-2.0 * np.abs(self.x))
        return dout * 4.0 * e / (1.0 + e) ** 2
""",
        "softmax_cross_entropy": """
class SoftmaxCrossEntropy:
    def forward(self, scores, y):
        self.scores, self.y = scores, y
        lse = np.logaddexp.reduce(scores, axis=1)  # log sum exp, stable for any scores
        picked = np.array([scores[n, label] for n, label in enumerate(y)])
        return float(np.mean(lse - picked))

    def backward(self, dout=1.0):
        N = len(self.y)
        lse = np.logaddexp.reduce(self.scores, axis=1)
        dscores = np.exp(self.scores - lse[:, None])  # softmax, recomputed (a new array)
        for n, label in enumerate(self.y):
            dscores[n, label] -= 1.0
        return dscores * dout / N
""",
        "mse_loss": """
class MSELoss:
    def forward(self, pred, target):
        self.pred, self.target = pred, target
        total = 0.0
        for row in pred - target:
            total += float(row @ row)
        return 0.5 * total / len(pred)

    def backward(self, dout=1.0):
        return np.subtract(self.pred, self.target) / len(self.pred) * dout
""",
        "sequential": """
class Sequential:
    def __init__(self, *layers):
        self.layers = list(layers)
        print(f"Sequential with {len(self.layers)} layers")

    def forward(self, x):
        return self._forward_from(0, x)

    def _forward_from(self, k, x):
        if k == len(self.layers):
            return x
        return self._forward_from(k + 1, self.layers[k].forward(x))

    def backward(self, dout):
        for k in range(len(self.layers) - 1, -1, -1):
            dout = self.layers[k].backward(dout)
        return dout
""",
        "sgd_step": """
def sgd_step(model, lr):
    for layer in model.layers:
        for name, grad_name in (("W", "dW"), ("b", "db")):
            param = getattr(layer, name, None)
            if param is not None:
                param[...] = param - lr * getattr(layer, grad_name)  # into the same array
""",
    },
]
