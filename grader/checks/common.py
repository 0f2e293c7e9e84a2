"""Feedback-producing comparisons shared by the hidden checks.

Order of checks mirrors how a person debugs: type and shape first, then values; for wrong
values, the known mistakes are tried before the generic "wrong value" message.
"""

import numbers

import numpy as np


class Mistake(AssertionError):
    """A check failed; the message is feedback written for the student.

    IPython shows an exception through its _render_traceback_ when it has one: only the
    sentence is printed, never the grader's source lines or variables (nbgrader issue #917).
    """

    def _render_traceback_(self):
        return [f"Mistake: {self}"]


def fail(entity, message):
    raise Mistake(f"{entity}: {message}")


def call(entity, fn, *args):
    """Call student code; an exception becomes feedback instead of a traceback into grader code."""
    try:
        return fn(*args)
    except NotImplementedError:
        fail(entity, "not implemented yet (it still raises NotImplementedError).")
    except Exception as exc:  # noqa: BLE001  (any error in student code becomes feedback)
        fail(entity, f"raised {type(exc).__name__}: {exc}")


def expect_number(entity, what, got):
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        if isinstance(got, np.ndarray) and got.shape == ():
            return float(got)
        fail(entity, f"{what} should be a number (a float), but it is a {type(got).__name__}.")
    if not np.isfinite(got):
        fail(entity, f"{what} is {got}; it should be a finite number.")
    return float(got)


def expect_array(entity, what, got, shape):
    if not isinstance(got, np.ndarray):
        fail(entity, f"{what} should be a numpy array of shape {shape}, "
             f"but it is a {type(got).__name__}.")
    if got.shape != tuple(shape):
        fail(entity, f"{what} has shape {got.shape} but should have shape {tuple(shape)} "
             "(the shape of the thing it is the gradient of); check which dimensions you "
             "multiply or sum over.")
    if not np.issubdtype(got.dtype, np.floating):
        fail(entity, f"{what} has dtype {got.dtype}; it should be float64.")
    if not np.all(np.isfinite(got)):
        fail(entity, f"{what} contains inf or nan.")
    return got


def expect_sequence(entity, what, got, length):
    if isinstance(got, np.ndarray):
        got = list(got.ravel()) if got.ndim <= 1 else got
    if not isinstance(got, (list, tuple)) or len(got) != length:
        size = len(got) if hasattr(got, "__len__") else "no"
        fail(entity, f"{what} should be a sequence of {length} numbers, got {size} items.")
    return [expect_number(entity, f"{what}[{i}]", v) for i, v in enumerate(got)]


def close(got, want, rtol=1e-6, atol=1e-9):
    return bool(np.allclose(got, want, rtol=rtol, atol=atol))


def expect_close(entity, what, got, want, *, mistakes=(), rtol=1e-6, atol=1e-9):
    """got must match want; otherwise name the first known mistake that reproduces got.

    mistakes: pairs (value_the_mistake_would_give, feedback_sentence). Generic ones (sign,
    constant factor) are tried after them. Reference values are never printed.
    """
    got_a, want_a = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if close(got_a, want_a, rtol, atol):
        return
    for wrong, sentence in mistakes:
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == got_a.shape and close(got_a, wrong, rtol, atol):
            fail(entity, f"{what} is wrong: {sentence}")
    if np.any(want_a != 0) and close(got_a, -want_a, rtol, atol):
        fail(entity, f"{what} has the right size but the wrong sign: check the sign of "
             "the local derivative.")
    ratio = _constant_ratio(got_a, want_a)
    if ratio is not None:
        fail(entity, f"{what} is off by a constant factor of {ratio:.4g}: look for a missing or "
             "extra scale (a 1/N, a 2, the upstream gradient).")
    fail(entity, f"{what} does not match the expected value on a hidden test input; "
         "compare your formula with a numerical gradient on small random inputs.")


def _constant_ratio(got, want):
    mask = np.abs(want) > 1e-8
    if not np.any(mask) or got.shape != want.shape or np.any(np.abs(got[~mask]) > 1e-8):
        return None
    r = got[mask] / want[mask]
    if np.allclose(r, r.flat[0], rtol=1e-6) and not np.isclose(r.flat[0], 1.0):
        return float(r.flat[0])
    return None


def expect_unchanged(entity, what, before, after):
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        fail(entity, f"{what} was modified in place; compute new arrays instead "
             "(e.g. x = x + 1, not x += 1, on an array you were given).")
