"""Hidden checks for a4_vanishing_gradients: per-layer gradient norms, initialisers, a residual
block and gradient clipping."""

import itertools

import numpy as np

from grader import reference as ref
from grader.course_secret import secret_seed
from grader.i18n import N_, _
from grader.reference.deep import ACTIVATIONS

from .common import (
    call,
    close,
    expect_array,
    expect_close,
    expect_independent,
    expect_number,
    expect_unchanged,
    fail,
    qualified,
    standin,
    type_name,
)


# Hidden inputs come from a seed per student and check, derived from the course secret:
# re-grading gives the same grade, and no two students share inputs.
def _seed(offset):
    """This student's secret seed for the hidden inputs at `offset` (grader.course_secret)."""
    return secret_seed(__name__, offset)


# ---------------------------------------------------------------- xavier_init / he_init

# (fan_in, fan_out): never square, so a swapped shape and fan_in vs fan_out are visible.
_INIT_SHAPES = [(3, 5), (7, 2), (1, 4), (6, 1), (40, 24)]


def _check_init(name, init, ref_init, wrong_scales):
    """wrong_scales(fan_in, fan_out, std) -> [(wrong std, sentence)], std the right one."""
    for i, (fan_in, fan_out) in enumerate(_INIT_SHAPES):
        seed = _seed(10 + i)
        what = f"{name}({fan_in}, {fan_out}, rng)"
        # the generator is made where the student's code runs: only plain data crosses
        got = call(name, init, fan_in, fan_out, standin(init, "Generator", seed))
        if isinstance(got, np.ndarray) and got.shape == (fan_out, fan_in):
            fail(name, _("{what} has shape {got}, but it should be (fan_in, fan_out) = "
                         "({fan_in}, {fan_out}): x @ W maps fan_in input features to fan_out "
                         "outputs.").format(what=what, got=got.shape, fan_in=fan_in,
                                            fan_out=fan_out))
        got = expect_array(name, what, got, (fan_in, fan_out))
        want = ref_init(fan_in, fan_out, np.random.default_rng(seed))
        if close(got, want):
            continue
        draws = np.random.default_rng(seed).standard_normal((fan_in, fan_out))
        std = np.linalg.norm(want) / np.linalg.norm(draws)  # the right scale, from the reference
        transposed = np.random.default_rng(seed).standard_normal((fan_out, fan_in)).T
        candidates = [(draws * s, sentence) for s, sentence in wrong_scales(fan_in, fan_out, std)]
        candidates.append((transposed * std, _(
            "draw the array in the shape (fan_in, fan_out) directly: "
            "rng.standard_normal((fan_out, fan_in)).T holds different numbers for the same seed.")))
        for wrong, sentence in candidates:
            if close(got, wrong):
                fail(name, _("{what} is wrong: {sentence}").format(what=what, sentence=sentence))
        fail(name, _("{what} does not match a hidden test with a seeded generator: draw once with "
                     "rng.standard_normal((fan_in, fan_out)) from the rng you are given (not "
                     "np.random, not a new generator) and multiply by the standard deviation of "
                     "the contract.").format(what=what))


def check_xavier_init(xavier_init):
    def wrong_scales(fan_in, fan_out, std):
        return [
            (np.sqrt(1.0 / fan_in), _("the Xavier scale is sqrt(2 / (fan_in + fan_out)), not "
             "sqrt(1 / fan_in) (that one only balances the forward pass).")),
            (std**2, _("the square root is missing: 2 / (fan_in + fan_out) is the variance, the "
             "standard deviation is its square root.")),
            (np.sqrt(2.0 / fan_in), _("that is He's scale sqrt(2 / fan_in); Xavier uses "
             "sqrt(2 / (fan_in + fan_out)).")),
            (np.sqrt(6.0 / (fan_in + fan_out)), _("sqrt(6 / (fan_in + fan_out)) is the bound of "
             "the *uniform* Xavier initialisation; here the normal one has standard deviation "
             "sqrt(2 / (fan_in + fan_out)).")),
            (np.sqrt(1.0 / (fan_in + fan_out)), _("the numerator is 2: the standard deviation is "
             "sqrt(2 / (fan_in + fan_out)).")),
        ]
    _check_init("xavier_init", xavier_init, ref.xavier_init, wrong_scales)


def check_he_init(he_init):
    def wrong_scales(fan_in, fan_out, std):
        return [
            (np.sqrt(1.0 / fan_in), _("He uses sqrt(2 / fan_in), not sqrt(1 / fan_in): the 2 "
             "makes up for the ReLU setting half of its inputs to zero.")),
            (std**2, _("the square root is missing: 2 / fan_in is the variance, the standard "
             "deviation is its square root.")),
            (np.sqrt(2.0 / fan_out), _("He divides by fan_in (the number of inputs of each unit), "
             "not by fan_out.")),
            (np.sqrt(2.0 / (fan_in + fan_out)),
             _("that is Xavier's scale; He's is sqrt(2 / fan_in).")),
        ]
    _check_init("he_init", he_init, ref.he_init, wrong_scales)


# ---------------------------------------------------------------- layer_grad_norms

# (batch size, layer widths D_0..D_L, activation, weight scale in units of 1/sqrt(fan_in))
_NORM_CASES = [
    (5, (4, 6, 3), "sigmoid", 2.5),
    (1, (3, 5, 4, 2), "tanh", 1.5),
    (6, (5, 3, 4, 6), "relu", 1.3),
    (4, (3, 2), "sigmoid", 1.0),
    (3, (2, 4), "tanh", 2.0),
    (3, (4, 3), "relu", 1.0),
    (7, (4, 4, 4, 4, 4, 4, 4), "tanh", 1.8),
    (8, (6, 6, 6, 6, 6, 6), "sigmoid", 3.0),
    (2, (3, 6, 2, 5, 4), "relu", 1.5),
]


def _norm_inputs(seed=1):
    rng = np.random.default_rng(_seed(seed))
    cases = []
    for n, widths, activation, scale in _NORM_CASES:
        x = 1.5 * rng.standard_normal((n, widths[0]))
        weights = [rng.standard_normal((a, b)) * scale / np.sqrt(a)
                   for a, b in itertools.pairwise(widths)]
        cases.append((x, weights, activation))
    return cases


def _frobenius_of_dw(h_prev, dz, dh, W):
    return np.linalg.norm(h_prev.T @ dz)


def _variant_norms(x, weights, activation, local=None, measure=_frobenius_of_dw):
    """The per-layer numbers a layer_grad_norms with one mistake returns.

    local(z, h, dh) -> dz replaces the activation's backward; measure(h_prev, dz, dh, W) replaces
    the Frobenius norm of dW = h_prev.T @ dz. The forward and the loss are the reference's.
    """
    acts = [ACTIVATIONS[activation]() for _ in weights]
    hs, zs = [x], []
    for W, act in zip(weights, acts):
        zs.append(hs[-1] @ W)
        hs.append(act.forward(zs[-1]))
    dh = hs[-1] / x.shape[0]
    values = []
    for k in reversed(range(len(weights))):
        dz = acts[k].backward(dh) if local is None else local(zs[k], hs[k + 1], dh)
        values.append(measure(hs[k], dz, dh, weights[k]))
        dh = dz @ weights[k].T
    return np.array(values[::-1])


_LOCAL_MISTAKES = {
    "sigmoid": [
        (lambda z, h, dh: dh * z * (1 - z), N_(
            "sigma'(z) was computed as z (1 - z) from the pre-activation z; it is h (1 - h) with "
            "the layer's output h = sigma(z).")),
        (lambda z, h, dh: dh * ref.sigmoid(h) * (1 - ref.sigmoid(h)), N_(
            "the sigmoid was applied twice: the layer's output h already is sigma(z), so "
            "sigma'(z) = h (1 - h).")),
    ],
    "tanh": [
        (lambda z, h, dh: dh * (1 - z**2), N_(
            "tanh'(z) was computed as 1 - z^2 from the pre-activation z; it is 1 - h^2 with the "
            "layer's output h = tanh(z).")),
        (lambda z, h, dh: dh * (1 - np.tanh(h) ** 2), N_(
            "tanh was applied twice: the layer's output h already is tanh(z), so "
            "tanh'(z) = 1 - h^2.")),
    ],
    "relu": [
        (lambda z, h, dh: dh * (dh > 0), N_(
            "the ReLU mask was taken from the upstream gradient; it comes from the forward pass: "
            "relu'(z) = 1 where z > 0 (equivalently h > 0), else 0.")),
    ],
}

_MEASURE_MISTAKES = [
    (lambda h_prev, dz, dh, W: np.linalg.norm(dh), N_(
        "that is the norm of the gradient with respect to the layer's output h_k; the exercise "
        "asks for the gradient with respect to its weights, dloss/dW_k = h_{k-1}.T @ dz_k.")),
    (lambda h_prev, dz, dh, W: np.linalg.norm(dz), N_(
        "that is the norm of the gradient with respect to the pre-activation z_k; the gradient "
        "with respect to W_k is h_{k-1}.T @ dz_k.")),
    (lambda h_prev, dz, dh, W: np.linalg.norm(dz @ W.T), N_(
        "that is the norm of the gradient with respect to the layer's input h_{k-1}; the "
        "gradient with respect to W_k is h_{k-1}.T @ dz_k.")),
    (lambda h_prev, dz, dh, W: np.linalg.norm(h_prev.T @ dz, 2), N_(
        "that is the spectral norm (ord=2); use the Frobenius norm, the square root of the sum "
        "of all squared entries: np.linalg.norm(dW) without ord.")),
]


def _norm_mistakes(x, weights, activation, want):
    n = x.shape[0]
    mistakes = [(_variant_norms(x, weights, activation, local), _(sentence))
                for local, sentence in _LOCAL_MISTAKES[activation]]
    mistakes.append((_variant_norms(x, weights, activation, lambda z, h, dh: dh), _(
        "the activation's local derivative is missing: dz_k = dh_k * act'(z_k).")))
    mistakes += [(_variant_norms(x, weights, activation, measure=measure), _(sentence))
                 for measure, sentence in _MEASURE_MISTAKES]
    if len(weights) > 1:
        mistakes.append((want[::-1], _(
            "the norms are in reverse order; return them for layers 1..L, layer 1 (the one "
            "next to the input) first.")))
    mistakes.append((want**2, _("those are squared norms; take the square root "
                                "(np.linalg.norm).")))
    if n > 1:
        mistakes += [
            (want * n, _("the 1/N of the loss is missing: dloss/dh_L = h_L / N.")),
            (want / n, _("1/N is applied twice: it belongs once, in dloss/dh_L = h_L / N.")),
        ]
    mistakes.append((want * 2, _("dloss/dh_L = h_L / N: the 1/2 of the loss cancels the 2 of "
                                 "the square.")))
    return mistakes


def check_layer_grad_norms(layer_grad_norms):
    name = "layer_grad_norms"
    cases = _norm_inputs()
    results = []
    for x, weights, activation in cases:  # types and shapes first, for every case
        x_before, w_before = x.copy(), [W.copy() for W in weights]
        L = len(weights)
        what = _("the result for {layers} {activation} layer(s) and a batch of {batch}").format(
            layers=L, activation=activation, batch=x.shape[0])
        got = call(name, layer_grad_norms, x, list(weights), activation)
        if isinstance(got, (list, tuple)):
            fail(name, _("returned a {type}; return a numpy array (np.array(norms)) with one norm "
                         "per layer.").format(type=type_name(got)))
        got = expect_array(name, what, got, (L,))
        expect_unchanged(name, "x", x_before, x)
        for k, (W, B) in enumerate(zip(weights, w_before), start=1):
            expect_unchanged(name, f"weights[{k - 1}] (W_{k})", B, W)
        results.append((what, got))
    for (x, weights, activation), (what, got) in zip(cases, results):
        want = ref.layer_grad_norms(x, weights, activation)
        expect_close(name, what, got, want, rtol=1e-6, atol=1e-12,
                     mistakes=_norm_mistakes(x, weights, activation, want))


def check_layer_grad_norms_unknown_activation(layer_grad_norms):
    name = "layer_grad_norms"
    rng = np.random.default_rng(_seed(2))
    x, weights = rng.standard_normal((3, 4)), [rng.standard_normal((4, 2))]
    for bad in ("softplus", "linear"):
        try:
            layer_grad_norms(x, weights, bad)
        except ValueError as error:
            message = str(error)
        except NotImplementedError:
            fail(name, _("not implemented yet (it still raises NotImplementedError)."))
        except Exception as error:  # noqa: BLE001  (any error in student code becomes feedback)
            fail(name, _("for the unknown activation {activation!r} it raised {type}; raise a "
                         "ValueError whose message names the allowed activations.").format(
                             activation=bad, type=type_name(error)))
        else:
            fail(name, _("for the unknown activation {activation!r} it returned a result; raise "
                         "a ValueError whose message names the allowed activations.").format(
                             activation=bad))
        if not all(allowed in message for allowed in ACTIVATIONS):
            fail(name, _("the ValueError for an unknown activation should say which activations "
                         "are allowed ('sigmoid', 'tanh', 'relu'), so that the caller knows what "
                         "to pass."))


# ---------------------------------------------------------------- clip_grad_norm

def _clip_cases(seed=3):
    rng = np.random.default_rng(_seed(seed))
    return [  # (grads, max_norm)
        ([3 * rng.standard_normal((3, 4)), rng.standard_normal(4), 2 * rng.standard_normal((4, 2))],
         1.0),                                                    # clipped
        ([0.1 * rng.standard_normal((2, 3)), 0.1 * rng.standard_normal(3)], 5.0),  # left alone
        ([10 * rng.standard_normal(5)], 2.5),                     # one array
        ([np.array([3.0]), np.array([[4.0]])], 5.0),              # exactly at max_norm
        ([50 * rng.standard_normal((2, 2)), 0.01 * rng.standard_normal(3),
          rng.standard_normal((2, 3, 2))], 4.0),                  # one array dominates
        ([np.zeros((2, 2)), 5 * rng.standard_normal(6), np.zeros(1)], 0.5),  # zero arrays
        ([0.5 * rng.standard_normal((3, 3)), 0.5 * rng.standard_normal(3)], 1.0),
    ]


def _flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def _clip_mistakes(grads, max_norm, total):
    norms = [np.linalg.norm(g) for g in grads]
    each = [g * min(1.0, max_norm / n) if n > 0 else g for g, n in zip(grads, norms)]
    return [
        (_flat(each), _("each array was clipped on its own; compute ONE norm over all arrays "
         "together and scale every array by the same factor max_norm / total_norm, so that the "
         "whole gradient keeps its direction.")),
        (_flat(grads) * max_norm / total, _("the arrays were scaled although the total norm did "
         "not exceed max_norm; clip only when total_norm > max_norm, otherwise return them as "
         "they are.")),
        (_flat(grads) * total / max_norm, _("the scale is max_norm / total_norm (it shrinks the "
         "gradient), not total_norm / max_norm.")),
        (_flat(grads) * min(1.0, max_norm / total**2), _("the scale should use the norm "
         "sqrt(sum of squares), not the sum of squares.")),
        (_flat(grads) * min(1.0, max_norm / sum(norms)), _("the scale should use the L2 norm of "
         "all entries together, not the sum of the arrays' norms.")),
    ]


def check_clip_grad_norm(clip_grad_norm):
    name = "clip_grad_norm"
    for grads, max_norm in _clip_cases():
        before = [g.copy() for g in grads]
        want_clipped, want_total = ref.clip_grad_norm(before, max_norm)
        given = list(grads)
        got = call(name, clip_grad_norm, given, max_norm)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(name, _("should return the pair (clipped, total_norm)."))
        clipped, total = got
        if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
            fail(name, _("clipped should be a list with one array per gradient ({count} here).")
                 .format(count=len(grads)))
        for i, (c, g) in enumerate(zip(clipped, grads)):
            expect_array(name, f"clipped[{i}]", c, g.shape)
        total = expect_number(name, "total_norm", total)
        sizes = [np.linalg.norm(g) for g in before]
        expect_close(name, "total_norm", total, want_total, rtol=1e-5, mistakes=[
            (want_total**2, _("total_norm is the square root of the sum of all squared "
             "entries, not the sum itself.")),
            (sum(sizes), _("total_norm is the L2 norm of all entries together, "
             "sqrt(sum over arrays of sum(g**2)), not the sum of the arrays' norms.")),
            (max(sizes), _("total_norm is the L2 norm of all arrays together, not the largest "
             "array's norm.")),
            (min(want_total, max_norm), _("total_norm is the norm of the gradients as they were "
             "given, before clipping (it tells how large they were), not after."))])
        expect_close(name, _("clipped (with max_norm {max_norm:g})").format(max_norm=max_norm),
                     _flat(clipped),
                     _flat(want_clipped), rtol=1e-5,
                     mistakes=_clip_mistakes(before, max_norm, want_total))
        for i, (g, b) in enumerate(zip(grads, before)):
            expect_unchanged(name, f"grads[{i}]", b, g)
        if clipped is given:
            fail(name, _("returned the list it was given; build a new list of new arrays."))
        for i, (c, g) in enumerate(zip(clipped, grads)):
            if np.shares_memory(c, g):
                fail(name, _("clipped[{i}] is the array grads[{i}] itself; return new arrays "
                             "(e.g. g * scale, even when the scale is 1), so that changing one "
                             "does not change the other.").format(i=i))


# ---------------------------------------------------------------- ResidualBlock

# (batch N, features D, hidden H); the square cases come first, so that a ReLU mask taken from
# the wrong (N, D) array is named before a non-square case turns it into a shape error.
_BLOCK_SHAPES = [(4, 5, 5), (3, 4, 6), (1, 3, 2), (6, 2, 7), (5, 6, 6)]


def _block_inputs(shape, seed):
    n, d, hidden = shape
    rng = np.random.default_rng(_seed(seed))
    return {"x": rng.standard_normal((n, d)), "W1": rng.standard_normal((d, hidden)),
                "b1": 0.5 * rng.standard_normal(hidden), "W2": rng.standard_normal((hidden, d)),
                "b2": rng.standard_normal(d), "dout": rng.standard_normal((n, d)),
                "x2": rng.standard_normal((n, d)), "dout2": rng.standard_normal((n, d))}


def _block_parts(p, x, dout):
    """The reference block's pieces, and its gradients for x and dout."""
    block = ref.ResidualBlock(p["W1"], p["b1"], p["W2"], p["b2"])
    out = block.forward(x)
    dx = block.backward(dout)
    z1 = ref.Affine(p["W1"], p["b1"]).forward(x)
    a1 = ref.ReLU().forward(z1)
    return {"out": out, "dx": dx, "dW1": block.dW1, "db1": block.db1, "dW2": block.dW2,
            "db2": block.db2,
                "z1": z1, "a1": a1, "branch": out - x, "da1": dout @ p["W2"].T}


def _mask_mistakes(p, x, dout, r):
    """(dx, dW1, db1) for each wrong ReLU mask: the mask must come from z1, the ReLU's input."""
    masks = [(r["da1"] > 0, _("the ReLU mask was taken from the upstream gradient; it comes "
              "from the forward pass: 1 where z1 = x @ W1 + b1 > 0."))]
    if r["branch"].shape == r["z1"].shape:
        masks += [
            (r["branch"] > 0, _("the ReLU mask was taken from the output of the second affine "
             "layer; it belongs to the ReLU's own input z1 = x @ W1 + b1.")),
            (r["out"] > 0, _("the ReLU mask was taken from the block's output; it belongs to the "
             "ReLU's own input z1 = x @ W1 + b1.")),
            (dout > 0, _("the ReLU mask was taken from dout; it comes from the forward pass: "
             "1 where z1 = x @ W1 + b1 > 0.")),
        ]
    masks.append((np.ones_like(r["z1"], dtype=bool), _("the ReLU's local gradient is missing: "
                  "multiply by the mask z1 > 0 on the way back.")))
    variants = []
    for mask, sentence in masks:
        dz1 = r["da1"] * mask
        variants.append(({"dx": dout + dz1 @ p["W1"].T, "dW1": x.T @ dz1, "db1": dz1.sum(axis=0)},
                         sentence))
    return variants


def _block_mistakes(p, x, dout, r):
    n = x.shape[0]
    masks = _mask_mistakes(p, x, dout, r)
    m = {key: [(v[key], sentence) for v, sentence in masks] for key in ("dx", "dW1", "db1")}
    m["dx"] += [
        (r["dx"] - dout, _("the skip path is missing: x also reaches the output directly, so "
         "dx = dout + (the gradient through the branch).")),
        (dout, _("only the skip path is there: add the gradient that flows back through the "
         "branch (fc2, ReLU, fc1).")),
    ]
    m["dW2"] = [(r["z1"].T @ dout, _("dW2 = relu(z1).T @ dout: use the ReLU's output (the input "
                 "of the second affine layer), not z1."))]
    for key in ("db1", "db2"):
        m.setdefault(key, []).append((r[key] / n, _(
            "{key} was averaged over the batch; the bias is added to every row, so its gradient "
            "is the SUM over the rows (axis 0).").format(key=key)))
    for key in ("dW1", "dW2"):
        if r[key].shape[0] == r[key].shape[1]:
            m.setdefault(key, []).append((r[key].T, _(
                "{key} is transposed: {key} = (layer input).T @ (gradient of the layer output), "
                "the shape of the weight.").format(key=key)))
    return m


def _expect_block_grads(name, block, p, x, dout, r, mistakes):
    n, d = x.shape
    hidden = p["W1"].shape[1]
    shapes = {"dW1": (d, hidden), "db1": (hidden,), "dW2": (hidden, d), "db2": (d,)}
    for key, shape in shapes.items():
        if not hasattr(block, key):
            fail(name, _("backward should set self.{key}.").format(key=key))
        got = getattr(block, key)
        if key.startswith("db") and isinstance(got, np.ndarray) and got.shape == (n, *shape):
            fail(name, _("{key} has shape {got}: the bias is added to every row of the batch, so "
                         "sum its gradient over the rows (axis 0).").format(key=key,
                                                                           got=got.shape))
        if isinstance(got, np.ndarray) and got.ndim == 2 and got.shape == shape[::-1] != shape:
            fail(name, _("{key} has shape {got}, the transpose of the weight's shape {shape}: "
                         "{key} = (layer input).T @ (gradient of the layer output).").format(
                             key=key, got=got.shape, shape=shape))
        expect_array(name, key, got, shape)
    for key in shapes:
        expect_close(name, key, getattr(block, key), r[key], mistakes=mistakes.get(key, []))


def check_residual_block(ResidualBlock):
    name = "ResidualBlock"
    for i, shape in enumerate(_BLOCK_SHAPES):
        v = _block_inputs(shape, 20 + i)
        p = {k: v[k] for k in ("W1", "b1", "W2", "b2")}
        saved = {k: a.copy() for k, a in v.items()}
        x, dout = v["x"], v["dout"]
        where = _("(batch {batch}, D = {D}, H = {H})").format(batch=shape[0], D=shape[1],
                                                               H=shape[2])
        block = call(name, ResidualBlock, p["W1"], p["b1"], p["W2"], p["b2"])
        out = call(name, block.forward, x)
        expect_array(name, qualified("forward(x)", where), out, x.shape)
        expect_unchanged(name, _("x (in forward)"), saved["x"], x)
        r = _block_parts(saved, saved["x"], saved["dout"])
        expect_close(name, qualified("forward(x)", where), out, r["out"], mistakes=[
            (r["branch"], _("the skip connection is missing: forward returns x + branch(x).")),
            (saved["x"] + r["z1"] @ saved["W2"] + saved["b2"], _("the ReLU between the two affine "
             "layers is missing.")),
            (r["out"] - saved["b2"], _("b2 is missing.")),
        ])
        dx = call(name, block.backward, dout)
        expect_array(name, qualified("dx", where), dx, x.shape)
        mistakes = _block_mistakes(saved, saved["x"], saved["dout"], r)
        expect_close(name, qualified("dx", where), dx, r["dx"], mistakes=mistakes["dx"],
                     precise=True)
        _expect_block_grads(name, block, saved, saved["x"], saved["dout"], r, mistakes)
        for key in ("x", "dout", "W1", "b1", "W2", "b2"):
            expect_unchanged(name, key, saved[key], v[key])

        # the same block on a second batch: gradients are set afresh, not accumulated
        call(name, block.forward, v["x2"])
        call(name, block.backward, v["dout2"])
        r2 = _block_parts(saved, saved["x2"], saved["dout2"])
        for key in ("dW1", "db1", "dW2", "db2"):
            expect_close(name, _("{key} after a second forward/backward").format(key=key),
                         getattr(block, key), r2[key], mistakes=[(r[key] + r2[key], _(
                              "the gradients of the previous backward() were kept and added to; "
                              "assign them (=) in backward instead of accumulating (+=)."))])
    v, w = _block_inputs(_BLOCK_SHAPES[0], 40), _block_inputs(_BLOCK_SHAPES[0], 41)
    r = _block_parts(v, v["x"], v["dout"])
    expect_independent(name, _("ResidualBlocks"),
                       lambda: ResidualBlock(v["W1"], v["b1"], v["W2"], v["b2"]),
                       [(v["x"],), (w["x"],)], r["dx"], (v["dout"],))


# The catalogue the grading tests run through the real pipeline (see grader.simulate):
# name -> (grade_id, text of the model answer, the mistake typed instead, words of the feedback).
KNOWN_MISTAKES = {
    "clip_returns_given": ("clip_grad_norm", "clipped = [g * scale for g in grads]",
                           "clipped = [g * scale for g in grads] if scale < 1.0 else grads",
                           "returned the list it was given"),
    "sigmoid_derivative_at_z": ("layer_grad_norms", "dz = dh * h * (1.0 - h)",
                                "dz = dh * z * (1.0 - z)", "pre-activation"),
    "residual_no_skip_backward": ("residual_block", "return dout + dz1 @ self.W1.T",
                                  "return dz1 @ self.W1.T", "skip path"),
    "tanh_derivative_at_z": ("layer_grad_norms", "dz = dh * (1.0 - h**2)",
                             "dz = dh * (1.0 - z**2)", "pre-activation"),
    "relu_mask_from_dout": ("layer_grad_norms", "dz = dh * (z > 0)", "dz = dh * (dh > 0)",
                            "upstream gradient"),
    "missing_1_over_n": ("layer_grad_norms", "dh = hs[-1] / N", "dh = hs[-1]", "1/N"),
    "1_over_n_twice": ("layer_grad_norms", "dh = hs[-1] / N", "dh = hs[-1] / N / N",
                       "applied twice"),
    "norm_of_dh": ("layer_grad_norms", "norms.append(np.linalg.norm(hs[k - 1].T @ dz))",
                   "norms.append(np.linalg.norm(dh))", "output h_k"),
    "squared_norm": ("layer_grad_norms", "norms.append(np.linalg.norm(hs[k - 1].T @ dz))",
                     "norms.append(np.sum((hs[k - 1].T @ dz) ** 2))", "squared"),
    "norms_reversed": ("layer_grad_norms", "return np.array(norms[::-1])",
                       "return np.array(norms)", "reverse order"),
    "clip_each_array": ("clip_grad_norm", "clipped = [g * scale for g in grads]",
                        "clipped = [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]",
                        "together"),
    "clip_always": ("clip_grad_norm",
                    ("scale = 1.0\n    if total_norm > max_norm:\n"
                    "        scale = max_norm / total_norm"),
                    "scale = max_norm / total_norm", "did not exceed"),
    "clip_in_place": ("clip_grad_norm", "clipped = [g * scale for g in grads]",
                      "for g in grads:\n        g *= scale\n    clipped = grads",
                      "modified in place"),
    "clip_no_sqrt": ("clip_grad_norm", "total_norm = np.sqrt(sum(np.sum(g * g) for g in grads))",
                     "total_norm = sum(np.sum(g * g) for g in grads)", "square root"),
    "residual_db_not_summed": ("residual_block", "self.db1 = dz1.sum(axis=0)", "self.db1 = dz1",
                               "sum its gradient over the rows"),
    "residual_db_averaged": ("residual_block", "self.db2 = dout.sum(axis=0)",
                             "self.db2 = dout.mean(axis=0)", "SUM over the rows"),
    "residual_mask_from_fc2_output": (
        "residual_block", "dz1 = da1 * (self.z1 > 0)",
        "dz1 = da1 * (self.a1 @ self.W2 + self.b2 > 0)", "second affine"),
    "residual_forward_mutates_x": (
        "residual_block", "return x + self.a1 @ self.W2 + self.b2",
        "out = x\n        out += self.a1 @ self.W2 + self.b2\n        return out",
        "modified in place"),
    "xavier_swapped_shape": (
        "xavier_init", "rng.standard_normal((fan_in, fan_out))",
        "rng.standard_normal((fan_out, fan_in))", "(fan_in, fan_out)"),
    "xavier_lecun_scale": (
        "xavier_init", "np.sqrt(2.0 / (fan_in + fan_out))", "np.sqrt(1.0 / fan_in)",
        "not sqrt(1 / fan_in)"),
    "he_missing_sqrt": ("he_init", "np.sqrt(2.0 / fan_in)", "(2.0 / fan_in)",
                        "square root is missing"),
    "he_fan_out": ("he_init", "np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / fan_out)", "fan_in"),
}

# Correct answers written differently from the model answers: each must score full marks.
# They are submitted together in one notebook, so they work with each other and the experiments.
ALTERNATIVE_SOLUTIONS = {
    "xavier_init": """
def xavier_init(fan_in, fan_out, rng):
    std = (2 / (fan_in + fan_out)) ** 0.5
    return rng.normal(0.0, std, size=(fan_in, fan_out))
""",
    "he_init": """
import math

def he_init(fan_in, fan_out, rng):
    return math.sqrt(2 / fan_in) * rng.standard_normal(size=(fan_in, fan_out))
""",
    "layer_grad_norms": """
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))

# the derivatives taken at the pre-activation z (the model answer uses the output h)
_FORWARD = {"sigmoid": _sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}
_DERIVATIVE = {"sigmoid": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
               "tanh": lambda z: 1 / np.cosh(z) ** 2,
               "relu": lambda z: (z > 0).astype(float)}

def layer_grad_norms(x, weights, activation):
    if activation not in _FORWARD:
        raise ValueError("Unknown activation %r: use one of %s." % (activation,
                                                                   ", ".join(_FORWARD)))
    inputs, pre = [], []
    h = x
    for W in weights:
        inputs.append(h)
        pre.append(np.einsum("nd,dm->nm", h, W))
        h = _FORWARD[activation](pre[-1])
    grad_h = h / len(x)
    norms = np.zeros(len(weights))
    for k in range(len(weights) - 1, -1, -1):
        grad_z = grad_h * _DERIVATIVE[activation](pre[k])
        norms[k] = np.sqrt(np.sum(np.einsum("nd,nm->dm", inputs[k], grad_z) ** 2))
        grad_h = grad_z @ weights[k].T
    return norms
""",
    "clip_grad_norm": """
def clip_grad_norm(grads, max_norm):
    total_norm = float(np.linalg.norm(np.concatenate([g.ravel() for g in grads])))
    factor = min(1.0, max_norm / (total_norm + 1e-12))
    return tuple(np.multiply(g, factor) for g in grads), total_norm
""",
    "residual_block": """
class ResidualBlock:
    def __init__(self, W1, b1, W2, b2):
        self.W1, self.b1, self.W2, self.b2 = W1, b1, W2, b2

    def forward(self, x):
        hidden = x @ self.W1 + self.b1
        self.cache = (x, hidden > 0, np.where(hidden > 0, hidden, 0.0))
        return self.cache[2] @ self.W2 + self.b2 + x

    def backward(self, dout):
        x, active, relu_out = self.cache
        self.dW2 = np.einsum("nh,nd->hd", relu_out, dout)
        self.db2 = np.sum(dout, axis=0)
        dhidden = np.where(active, dout @ self.W2.T, 0.0)
        self.dW1 = np.einsum("nd,nh->dh", x, dhidden)
        self.db1 = np.sum(dhidden, axis=0)
        through_branch = dhidden @ self.W1.T
        return through_branch + dout
""",
}

# Two more complete sets of correct answers, each in a style of its own and submitted together as
# one student's notebook (tests/conftest.py: students alt2_<aid>, alt3_<aid>), the experiments
# included; each must score full marks. Set 1: activation classes with caches, a loop over the
# examples for dW, the math module, helper layers inside the block, copies. Set 2: recursion over
# the layers, an exception class of its own (a ValueError), derivatives recomputed in backward,
# in-place scaling of new arrays.
MORE_ALTERNATIVE_SOLUTIONS = [
    {
        "layer_grad_norms": """
import math


class SigmoidUnit:
    def forward(self, z):
        self.h = 1.0 / (1.0 + np.exp(-z))
        return self.h

    def backward(self, dh):
        return dh * self.h * (1.0 - self.h)


class TanhUnit:
    def forward(self, z):
        self.h = np.tanh(z)
        return self.h

    def backward(self, dh):
        return dh * (1.0 - self.h**2)


class ReluUnit:
    def forward(self, z):
        self.active = z > 0
        return np.where(self.active, z, 0.0)

    def backward(self, dh):
        return np.where(self.active, dh, 0.0)


UNITS = {"sigmoid": SigmoidUnit, "tanh": TanhUnit, "relu": ReluUnit}


def layer_grad_norms(x, weights, activation):
    if activation not in UNITS:
        raise ValueError(f"unknown activation {activation!r}; the allowed ones are "
                         + ", ".join(sorted(UNITS)))
    units = [UNITS[activation]() for _ in weights]  # one unit per layer, each with its cache
    inputs = []
    h = x
    for W, unit in zip(weights, units):
        inputs.append(h)
        h = unit.forward(np.dot(h, W))
    dh = h / len(x)
    norms = [0.0] * len(weights)
    for k in reversed(range(len(weights))):
        dz = units[k].backward(dh)
        dW = np.zeros(weights[k].shape)
        for n in range(len(x)):  # one example at a time: dW = sum_n h_n^T dz_n
            dW += np.outer(inputs[k][n], dz[n])
        norms[k] = math.sqrt(float(np.sum(dW * dW)))
        dh = np.dot(dz, weights[k].T)
    return np.asarray(norms, dtype=np.float64)
""",
        "xavier_init": """
import math


def scaled_standard_normal_for_xavier(rng, shape, variance):
    return rng.standard_normal(size=shape) * math.sqrt(variance)


def xavier_init(fan_in, fan_out, rng):
    return scaled_standard_normal_for_xavier(rng, (fan_in, fan_out), 2 / (fan_in + fan_out))
""",
        "he_init": """
def he_init(fan_in, fan_out, rng):
    std = (2 / fan_in) ** 0.5
    return np.multiply(rng.standard_normal((fan_in, fan_out)), std)
""",
        "residual_block": """
class BlockAffine:
    # a fully connected layer inside the block (keeps the arrays it is given)
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = np.sum(dout, axis=0)
        return dout @ self.W.T


class BlockReLU:
    def forward(self, z):
        self.z = z
        return np.maximum(z, 0.0)

    def backward(self, dout):
        return dout * (self.z > 0)


class ResidualBlock:
    def __init__(self, W1, b1, W2, b2):
        self.W1, self.b1, self.W2, self.b2 = W1, b1, W2, b2
        self.fc1, self.relu, self.fc2 = BlockAffine(W1, b1), BlockReLU(), BlockAffine(W2, b2)

    def forward(self, x):
        branch = self.fc2.forward(self.relu.forward(self.fc1.forward(x)))
        return x + branch

    def backward(self, dout):
        dbranch = self.fc1.backward(self.relu.backward(self.fc2.backward(dout)))
        self.dW1, self.db1 = self.fc1.dW, self.fc1.db
        self.dW2, self.db2 = self.fc2.dW, self.fc2.db
        return dout + dbranch  # the skip path and the branch add up
""",
        "clip_grad_norm": """
import math


def clip_grad_norm(grads, max_norm):
    squares = 0.0
    for g in grads:
        squares += float(np.vdot(g, g))
    total_norm = math.sqrt(squares)
    if total_norm > max_norm:
        clipped = [np.multiply(g, max_norm / total_norm) for g in grads]
    else:
        clipped = [np.copy(g) for g in grads]  # new arrays even when nothing changes
    return clipped, total_norm
""",
        "experiment_activations": """
rng = np.random.default_rng(0)
depth, width, batch = 10, 64, 32
x = rng.standard_normal((batch, width))
panels = {}
for activation in ("sigmoid", "tanh", "relu"):
    curves = {}
    for scale in (0.5, 1.0, 2.0, 4.0):
        weights = []
        for _ in range(depth):
            weights.append(rng.standard_normal((width, width)) / np.sqrt(width) * scale)
        curves[f"scale {scale}"] = layer_grad_norms(x, weights, activation)
    panels[activation] = curves
plot_norms(panels)
for activation, curves in panels.items():  # the norms of layer 1 and of layer 10
    ends = [f"{k}: {v[0]:.0e} .. {v[-1]:.0e}" for k, v in curves.items()]
    print(f"{activation:8s}", ",  ".join(ends))
""",
        "experiment_init": """
rng = np.random.default_rng(1)
depth, width, batch = 30, 64, 32
x = rng.standard_normal((batch, width))
setups = {"tanh, Xavier": ("tanh", xavier_init), "relu, He": ("relu", he_init),
          "relu, Xavier": ("relu", xavier_init), "sigmoid, Xavier": ("sigmoid", xavier_init)}
curves = {}
for label, (activation, init) in setups.items():
    weights = list(map(lambda _: init(width, width, rng), range(depth)))
    curves[label] = layer_grad_norms(x, weights, activation)
plot_norms({f"depth {depth}, width {width}": curves})
for label, norms in curves.items():
    print(f"{label:16s} layer 1: {norms[0]:.1e}   layer {depth}: {norms[-1]:.1e}")
""",
        "experiment_residual": """
def stack_backward(blocks, x):
    # forward through the blocks, loss = 0.5 * sum(out**2) / N, backward; returns the loss
    # (afterwards every block holds its gradients dW1, db1, dW2, db2)
    out = x
    for block in blocks:
        out = block.forward(out)
    n = len(x)
    grad = out / n
    for k in range(len(blocks) - 1, -1, -1):
        grad = blocks[k].backward(grad)
    return float(np.sum(out**2) / (2 * n))


rng = np.random.default_rng(2)
depth, width, batch = 10, 64, 32
x = rng.standard_normal((batch, width))
params = [(0.1 * he_init(width, width, rng), np.zeros(width), 0.1 * he_init(width, width, rng),
           np.zeros(width)) for _ in range(depth)]
blocks = [ResidualBlock(*p) for p in params]
stack_backward(blocks, x)
plain = layer_grad_norms(x, [W for W1, _, W2, _ in params for W in (W1, W2)], "relu")
plot_norms({"10 blocks, branches 0.1 x He": {
    "residual blocks": [np.linalg.norm(block.dW1) for block in blocks],
    "plain ReLU network": plain[::2]}}, xlabel="block", ylabel="||dloss/dW1|| of the block")
""",
        "experiment_clipping": """
def train_stack(max_norm, lr=0.01, steps=30):
    # gradient descent on a stack of residual blocks; returns the loss at every step
    rng = np.random.default_rng(3)
    width, batch = 32, 16
    x = rng.standard_normal((batch, width))
    params = [[he_init(width, width, rng), np.zeros(width), he_init(width, width, rng),
               np.zeros(width)] for _ in range(8)]
    losses = []
    for _ in range(steps):
        blocks = [ResidualBlock(*p) for p in params]
        losses.append(stack_backward(blocks, x))
        grads = [g for block in blocks for g in (block.dW1, block.db1, block.dW2, block.db2)]
        if max_norm is not None:
            grads = clip_grad_norm(grads, max_norm)[0]  # the clipped arrays; the norm is not needed
        params = [[p - lr * g for p, g in zip(ps, grads[4 * i:4 * i + 4])]
                  for i, ps in enumerate(params)]
    return losses


with np.errstate(over="ignore", invalid="ignore"):  # the unclipped run overflows on purpose
    curves = {"no clipping": train_stack(None), "clipped to norm 100": train_stack(100.0)}
plot_norms({"8 residual blocks, lr 0.01": curves}, xlabel="step", ylabel="loss")
print({label: [f"{v:.3g}" for v in losses[:4]] for label, losses in curves.items()})
""",
    },
    {
        "layer_grad_norms": """
class UnknownActivationError(ValueError):
    \"\"\"layer_grad_norms was asked for an activation it does not know.\"\"\"


def activation_and_slope(name):
    # the activation and its derivative written with the activation's OUTPUT h
    if name == "sigmoid":
        return (lambda z: 1.0 / (1.0 + np.exp(-z))), (lambda h: h * (1.0 - h))
    if name == "tanh":
        return np.tanh, (lambda h: 1.0 - h * h)
    if name == "relu":
        return (lambda z: np.maximum(z, 0.0)), (lambda h: (h > 0).astype(float))
    raise UnknownActivationError(
        f"activation {name!r} is not one of 'sigmoid', 'tanh', 'relu'")


def layer_grad_norms(x, weights, activation):
    act, slope = activation_and_slope(activation)
    norms = np.empty(len(weights))

    def through(k, h_prev):
        # layer k + 1 forward, the layers above it (recursively), then its backward:
        # returns dloss/dh_prev and stores ||dloss/dW_{k+1}||
        h = act(h_prev @ weights[k])
        dh = h / x.shape[0] if k == len(weights) - 1 else through(k + 1, h)
        dz = dh * slope(h)
        norms[k] = np.linalg.norm((h_prev.T @ dz).ravel())
        return dz @ weights[k].T

    through(0, x)
    return norms
""",
        "xavier_init": """
def xavier_init(fan_in, fan_out, rng):
    W = rng.standard_normal((fan_in, fan_out))
    W *= np.sqrt(2.0) / np.sqrt(fan_in + fan_out)  # W is a new array: scaling it in place is fine
    return W
""",
        "he_init": """
def he_init(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in / 2.0)
""",
        "residual_block": """
class ResidualBlock:
    def __init__(self, W1, b1, W2, b2):
        self.W1, self.b1, self.W2, self.b2 = W1, b1, W2, b2

    def forward(self, x):
        self.x = x  # only the input is kept: backward recomputes the rest
        z1 = np.dot(x, self.W1) + self.b1
        return x + np.dot(np.maximum(z1, 0.0), self.W2) + self.b2

    def backward(self, dout):
        z1 = np.dot(self.x, self.W1) + self.b1
        a1 = np.maximum(z1, 0.0)
        self.dW2 = np.tensordot(a1, dout, axes=([0], [0]))
        self.db2 = dout.sum(axis=0)
        dz1 = np.dot(dout, self.W2.T) * np.heaviside(z1, 0.0)
        self.dW1 = np.tensordot(self.x, dz1, axes=([0], [0]))
        self.db1 = dz1.sum(axis=0)
        return dout + np.dot(dz1, self.W1.T)
""",
        "clip_grad_norm": """
def clip_grad_norm(grads, max_norm):
    # the norm of the arrays' norms is the norm of all their entries together
    total_norm = float(np.linalg.norm([np.linalg.norm(g) for g in grads]))
    clipped = [np.array(g, dtype=float, copy=True) for g in grads]
    if total_norm > max_norm:
        for c in clipped:
            c *= max_norm / total_norm  # in place, on my own copies
    return clipped, total_norm
""",
        "experiment_activations": """
rng = np.random.default_rng(0)
depth, width, batch = 10, 64, 32
x = rng.standard_normal((batch, width))
panels = {}
for activation in ("sigmoid", "tanh", "relu"):
    curves = {}
    for scale in (0.5, 1.0, 2.0, 4.0):
        std = scale / width**0.5
        weights = [std * rng.standard_normal(size=(width, width)) for _ in range(depth)]
        curves.update({f"scale {scale}": layer_grad_norms(x, weights, activation)})
    panels[activation] = curves
plot_norms(panels)
for activation, curves in panels.items():  # the norms of layer 1 and of layer 10
    print(f"{activation:8s}",
          ",  ".join(f"{k}: {v[0]:.0e} .. {v[-1]:.0e}" for k, v in curves.items()))
""",
        "experiment_init": """
rng = np.random.default_rng(1)
depth, width, batch = 30, 64, 32
x = rng.standard_normal((batch, width))
setups = {"tanh, Xavier": ("tanh", xavier_init), "relu, He": ("relu", he_init),
          "relu, Xavier": ("relu", xavier_init), "sigmoid, Xavier": ("sigmoid", xavier_init)}
curves = {}
for label, (activation, init) in setups.items():
    weights = []
    while len(weights) < depth:
        weights.append(init(width, width, rng))
    curves[label] = np.asarray(layer_grad_norms(x, weights, activation))
plot_norms({f"depth {depth}, width {width}": curves})
for label, norms in curves.items():
    print(f"{label:16s} layer 1: {norms[0]:.1e}   layer {depth}: {norms[-1]:.1e}")
""",
        "experiment_residual": """
def stack_backward(blocks, x):
    # forward through the blocks, loss = 0.5 * sum(out**2) / N, backward; returns the loss
    # (afterwards every block holds its gradients dW1, db1, dW2, db2)
    def run(k, h):
        # block k forward, the blocks above it, then block k backward: returns (loss, dh)
        if k == len(blocks):
            return 0.5 * np.einsum("nd,nd->", h, h) / len(x), h / len(x)
        loss, grad = run(k + 1, blocks[k].forward(h))
        return loss, blocks[k].backward(grad)

    return run(0, x)[0]


rng = np.random.default_rng(2)
depth, width, batch = 10, 64, 32
x = rng.standard_normal((batch, width))
params = [(0.1 * he_init(width, width, rng), np.zeros(width), 0.1 * he_init(width, width, rng),
           np.zeros(width)) for _ in range(depth)]
blocks = [ResidualBlock(*p) for p in params]
stack_backward(blocks, x)
plain = layer_grad_norms(x, [W for W1, _, W2, _ in params for W in (W1, W2)], "relu")
plot_norms({"10 blocks, branches 0.1 x He": {
    "residual blocks": [np.linalg.norm(block.dW1) for block in blocks],
    "plain ReLU network": plain[::2]}}, xlabel="block", ylabel="||dloss/dW1|| of the block")
""",
        "experiment_clipping": """
def train_stack(max_norm, lr=0.01, steps=30):
    # gradient descent on a stack of residual blocks; returns the loss at every step
    rng = np.random.default_rng(3)
    width, batch = 32, 16
    x = rng.standard_normal((batch, width))
    params = [[he_init(width, width, rng), np.zeros(width), he_init(width, width, rng),
               np.zeros(width)] for _ in range(8)]
    losses = []
    for _ in range(steps):
        blocks = [ResidualBlock(*p) for p in params]
        losses.append(stack_backward(blocks, x))
        grads = [g for block in blocks for g in (block.dW1, block.db1, block.dW2, block.db2)]
        if max_norm is not None:
            clipped, total = clip_grad_norm(grads, max_norm)
            grads = list(clipped)
        params = [[p - lr * g for p, g in zip(ps, grads[4 * i:4 * i + 4])]
                  for i, ps in enumerate(params)]
    return losses


with np.errstate(over="ignore", invalid="ignore"):  # the unclipped run overflows on purpose
    curves = {"no clipping": train_stack(None), "clipped to norm 100": train_stack(100.0)}
plot_norms({"8 residual blocks, lr 0.01": curves}, xlabel="step", ylabel="loss")
print({label: [f"{v:.3g}" for v in losses[:4]] for label, losses in curves.items()})
""",
    },
]
