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

    flag = ""  # a note for the instructor, when the mistake deserves a look

    def _render_traceback_(self):
        return [f"Mistake: {self}"]


def type_name(obj):
    """The name of obj's type as the student knows it (a proxy asks the sandbox; an error from
    the sandbox has its own type's name): the grader's internal class names never show."""
    from grader.sandbox_runner import Remote, RemoteError

    if isinstance(obj, RemoteError):
        return obj.ename
    if isinstance(obj, Remote):
        try:
            return str(obj.__getattr__("__class__").__getattr__("__name__"))[:60]
        except Exception:  # noqa: BLE001  (a class that hides its name: say so plainly)
            return "object"
    return type(obj).__name__


def describe_error(exc):
    """'ValueError: message' for an error raised by the student's code, here or in the sandbox."""
    text = str(exc)
    name = type_name(exc)
    return text if text.startswith(name) else f"{name}: {text}"


class PartialCredit(Mistake):
    """Some of a cell's independent parts failed: the cell earns the share that passed."""

    def __init__(self, message, fraction, flag=""):
        super().__init__(message)
        self.fraction, self.flag = fraction, flag


def check_parts(entity, parts):
    """Run independent sub-checks [(label, zero-argument check)]: all pass, or PartialCredit
    with the share that passed and, for each failed part, its own sentence."""
    passed, failed = [], []
    for label, check in parts:
        try:
            check()
            passed.append(label)
        except Mistake as mistake:
            failed.append((label, mistake))
    if not failed:
        return
    head = (f"{entity}: {len(passed)} of {len(parts)} parts are right"
            + (f" ({', '.join(passed)})" if passed else "")
            + f"; {', '.join(label for label, _ in failed)} "
            + ("is" if len(failed) == 1 else "are") + " not.")
    details = " ".join(f"[{label}] {_without_entity(entity, str(m))}" for label, m in failed)
    raise PartialCredit(f"{head} {details}", len(passed) / len(parts),
                        "; ".join(dict.fromkeys(m.flag for _, m in failed if m.flag)))


def _without_entity(entity, sentence):
    return sentence.removeprefix(f"{entity}: ")


def fail(entity, message):
    raise Mistake(f"{entity}: {message}")


def call(entity, fn, *args):
    """Call student code; an exception becomes feedback instead of a traceback into grader code."""
    try:
        return fn(*args)
    except NotImplementedError:
        fail(entity, "not implemented yet (it still raises NotImplementedError).")
    except Exception as exc:  # noqa: BLE001  (any error in student code becomes feedback)
        fail(entity, f"raised {describe_error(exc)}")


def expect_number(entity, what, got):
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        if isinstance(got, np.ndarray) and got.shape == ():
            return float(got)
        fail(entity, f"{what} should be a number (a float), but it is a {type_name(got)}.")
    if not np.isfinite(got):
        fail(entity, f"{what} is {got}; it should be a finite number.")
    return float(got)


def expect_array(entity, what, got, shape):
    if not isinstance(got, np.ndarray):
        fail(entity, f"{what} should be a numpy array of shape {shape}, "
             f"but it is a {type_name(got)}.")
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


# Backpropagation in float64 agrees with the reference to a few units in the last place
# (~1e-15); a finite-difference estimate of a nonlinear function cannot get below ~1e-11 (its
# rounding error is eps |f| / h, its truncation error h^2 |third derivative| / 6). Between the two:
PRECISE_RTOL = 1e-12
FINITE_DIFFERENCES = (
    "agrees with the exact gradient to only about {digits} significant digits, where "
    "backpropagation in float64 agrees to about 15: this is what a numerical "
    "(finite-difference) estimate gives, or a computation in float32. Compute the local "
    "derivative with its formula and multiply by the upstream gradient (chain rule), in float64.")


def expect_close(entity, what, got, want, *, mistakes=(), rtol=1e-6, atol=1e-9, precise=False,
                 precise_scale=0.0):
    """got must match want; otherwise name the first known mistake that reproduces got.

    mistakes: pairs (value_the_mistake_would_give, feedback_sentence). Generic ones (sign,
    constant factor) are tried after them. Reference values are never printed.
    precise: got is a gradient that backpropagation computes to machine precision (a
    nonlinear, well-conditioned case): an estimate that is only close fails, and is flagged.
    precise_scale: for a gradient that is a sum of terms, the size of the terms (the precision a
    float64 sum reaches is relative to them, not to a sum that nearly cancels).
    """
    got_a, want_a = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if close(got_a, want_a, rtol, atol):
        if precise:
            _expect_machine_precision(entity, what, got_a, want_a, precise_scale)
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
        fail(entity, f"{what} is off by the same factor, about {ratio:.2g}, in every entry: look "
             "for a missing or extra scale (a 1/N, a 2, the upstream gradient).")
    fail(entity, f"{what} differs from the expected value (no common mistake we know of gives "
         "this value): check the formula step by step; for a gradient, compare it with "
         "course.gradcheck's numerical gradient on small inputs of your own.")


def _expect_machine_precision(entity, what, got, want, scale=0.0):
    scale = max(float(np.max(np.abs(want), initial=0.0)), scale, 1e-3)
    error = float(np.max(np.abs(got - want), initial=0.0))
    if error <= PRECISE_RTOL * scale:
        return
    digits = max(1, int(-np.log10(error / scale)))
    mistake = Mistake(f"{entity}: {what} {FINITE_DIFFERENCES.format(digits=digits)}")
    mistake.flag = "review: the gradient looks like a finite-difference estimate"
    raise mistake


# A common ratio means something only across many entries: one number divided by another is
# always "a constant factor", whatever the mistake was.
RATIO_ENTRIES = 4


def _constant_ratio(got, want):
    mask = np.abs(want) > 1e-8
    if (np.count_nonzero(mask) < RATIO_ENTRIES or got.shape != want.shape
            or np.any(np.abs(got[~mask]) > 1e-8)):
        return None
    r = got[mask] / want[mask]
    if np.allclose(r, r.flat[0], rtol=1e-6) and not np.isclose(r.flat[0], 1.0):
        return float(r.flat[0])
    return None


def blame_failing_dependencies(entity, mistake, dependencies):
    """Re-raise a failed check, led by the entities it uses that fail their own checks.

    A test cell that cannot run on stand-ins (it trains the student's network, or reads the
    cache the student's forward made) fails when something it uses is wrong. Then the detail of
    the failure may be misleading, so the feedback names the culprit instead. dependencies:
    [(name, a zero-argument call of that entity's own check)]."""
    failing = []
    for name, check in dependencies:
        problem = _problem(check)
        # a dependency that fails only because of an earlier one is not named again
        if problem is not None and not (USES in problem and any(
                f" {earlier}" in problem.split(USES, 1)[1] for earlier in failing)):
            failing.append(name)
    if not failing:
        raise mistake
    names = " and ".join(failing)
    one = len(failing) == 1
    # what this test saw holds only if the dependencies are right: said as a condition
    seen = str(mistake).removeprefix(f"{entity}: ")
    raise Mistake(f"{entity}: {USES} {names}, which {'does' if one else 'do'} not "
                  f"pass {'its' if one else 'their'} own test yet, so this failure may come from "
                  f"{'it' if one else 'them'}: fix {names} first ("
                  f"{'its test cell says' if one else 'their test cells say'} what is wrong). "
                  f"If {'it is' if one else 'they are'} right, then: {seen}") from None


USES = "this test uses your"


def _problem(check):
    """None when the check passes, else what it says (any error counts as failing)."""
    try:
        check()
    except Exception as exc:  # noqa: BLE001  (a Mistake, or the student's code raising)
        return str(exc)
    return None


SHARED_STATE = ("two {kind} used together got in each other's way: the first one's backward "
                "used what the second one's forward saw. Keep what forward caches on the object "
                "itself (self.x = x), not in a class attribute or a global.")


def expect_independent(entity, kind, make, forward_args, want_grad, backward_args=()):
    """Two instances used together, as in a network: both forward, then the first one's
    backward must give want_grad (each alone passed already, so only shared state fails)."""
    first, second = call(entity, make), call(entity, make)
    call(entity, first.forward, *forward_args[0])
    call(entity, second.forward, *forward_args[1])
    got = call(entity, first.backward, *backward_args)
    try:
        same = close(np.asarray(got, dtype=np.float64), want_grad)
    except (TypeError, ValueError):
        same = False
    if not same:
        fail(entity, SHARED_STATE.format(kind=kind))


def expect_unchanged(entity, what, before, after):
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        fail(entity, f"{what} was modified in place; compute new arrays instead "
             "(e.g. x = x + 1, not x += 1, on an array you were given).")


def standin(entity, name, *args):
    """A stand-in (grader/standins.py) for the student's code to use, made from plain data where
    the student's entity lives: in its sandbox when it is a proxy, here otherwise (tests)."""
    from grader.sandbox_runner import Remote

    if isinstance(entity, Remote):
        return entity._end.standin(name, *args)
    from grader import standins

    return getattr(standins, name)(*args)
