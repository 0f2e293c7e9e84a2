"""Feedback-producing comparisons shared by the hidden checks.

Order of checks mirrors how a person debugs: type and shape first, then values; for wrong
values, the known mistakes are tried before the generic "wrong value" message.
"""

import numbers

import numpy as np

from grader.i18n import N_, _, ngettext, tidy


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
    # whole sentences, not pieces ("is"/"are"): a translator needs the sentence
    if passed:
        head = ngettext("{passed} of {total} parts are right ({right}); {wrong} is not.",
                        "{passed} of {total} parts are right ({right}); {wrong} are not.",
                        len(failed))
    else:
        head = ngettext("{passed} of {total} parts are right; {wrong} is not.",
                        "{passed} of {total} parts are right; {wrong} are not.", len(failed))
    head = with_entity(entity, head.format(
        passed=len(passed), total=len(parts), right=", ".join(passed),
        wrong=", ".join(label for label, _mistake in failed)))
    details = " ".join(f"[{label}] {_without_entity(entity, str(m))}" for label, m in failed)
    raise PartialCredit(f"{head} {details}", len(passed) / len(parts),
                        "; ".join(dict.fromkeys(m.flag for _, m in failed if m.flag)))


def with_entity(entity, message):
    """The feedback sentence about entity: 'Affine: dx is wrong: ...'."""
    # TRANSLATORS: entity is a name from the student's code; every feedback sentence starts so
    return tidy(_("{entity}: {message}").format(entity=entity, message=message))


def _without_entity(entity, sentence):
    return sentence.removeprefix(with_entity(entity, ""))


def qualified(what, where):
    """'dx for x of shape (2, 3)': a quantity, then the case it was computed in."""
    # TRANSLATORS: what is code or a quantity, where a phrase such as "for x of shape (2, 3)"
    return _("{what} {where}").format(what=what, where=where)


def fail(entity, message):
    raise Mistake(with_entity(entity, message))


def call(entity, fn, *args):
    """Call student code; an exception becomes feedback instead of a traceback into grader code."""
    try:
        return fn(*args)
    except NotImplementedError:
        fail(entity, _("not implemented yet (it still raises NotImplementedError)."))
    except Exception as exc:  # noqa: BLE001  (any error in student code becomes feedback)
        fail(entity, _("raised {error}").format(error=describe_error(exc)))


def call_method(entity, obj, method, *args):
    """obj.method(*args) of the student's code, as call() calls it: looked up and called where
    obj lives, in one request when that is the sandbox (two otherwise: the lookup, the call)."""
    from grader.sandbox_runner import Remote

    if isinstance(obj, Remote):
        return call(entity, obj._method, method, *args)
    return call(entity, lambda: getattr(obj, method)(*args))


def expect_number(entity, what, got):
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        if isinstance(got, np.ndarray) and got.shape == ():
            return float(got)
        fail(entity, _("{what} should be a number (a float), but it is a {type}.").format(
            what=what, type=type_name(got)))
    if not np.isfinite(got):
        fail(entity, _("{what} is {got}; it should be a finite number.").format(what=what, got=got))
    return float(got)


def expect_array(entity, what, got, shape):
    if not isinstance(got, np.ndarray):
        fail(entity, _("{what} should be a numpy array of shape {shape}, but it is a {type}.")
             .format(what=what, shape=shape, type=type_name(got)))
    if got.shape != tuple(shape):
        fail(entity, _("{what} has shape {got} but should have shape {shape} (the shape of the "
                       "thing it is the gradient of); check which dimensions you multiply or sum "
                       "over.").format(what=what, got=got.shape, shape=tuple(shape)))
    if not np.issubdtype(got.dtype, np.floating):
        fail(entity, _("{what} has dtype {dtype}; it should be float64.").format(
            what=what, dtype=got.dtype))
    if not np.all(np.isfinite(got)):
        fail(entity, _("{what} contains inf or nan.").format(what=what))
    return got


def expect_sequence(entity, what, got, length):
    if isinstance(got, np.ndarray):
        got = list(got.ravel()) if got.ndim <= 1 else got
    if not isinstance(got, (list, tuple)) or len(got) != length:
        if hasattr(got, "__len__"):
            fail(entity, _("{what} should be a sequence of {length} numbers, got {size} items.")
                 .format(what=what, length=length, size=len(got)))
        fail(entity, _("{what} should be a sequence of {length} numbers, got no items.").format(
            what=what, length=length))
    return [expect_number(entity, f"{what}[{i}]", v) for i, v in enumerate(got)]


def close(got, want, rtol=1e-6, atol=1e-9):
    return bool(np.allclose(got, want, rtol=rtol, atol=atol))


# Backpropagation in float64 agrees with the reference to a few units in the last place
# (~1e-15); a finite-difference estimate of a nonlinear function cannot get below ~1e-11 (its
# rounding error is eps |f| / h, its truncation error h^2 |third derivative| / 6). Between the two:
PRECISE_RTOL = 1e-12
FINITE_DIFFERENCES = N_(
    "{what} agrees with the exact gradient to only about {digits} significant digits, where "
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
            fail(entity, _("{what} is wrong: {sentence}").format(what=what, sentence=sentence))
    if np.any(want_a != 0) and close(got_a, -want_a, rtol, atol):
        fail(entity, _("{what} has the right size but the wrong sign: check the sign of the local "
                       "derivative.").format(what=what))
    ratio = _constant_ratio(got_a, want_a)
    if ratio is not None:
        fail(entity, _("{what} is off by the same factor, about {ratio:.2g}, in every entry: look "
                       "for a missing or extra scale (a 1/N, a 2, the upstream gradient).").format(
                           what=what, ratio=ratio))
    fail(entity, _("{what} differs from the expected value (no common mistake we know of gives "
                   "this value): check the formula step by step; for a gradient, compare it with "
                   "course.gradcheck's numerical gradient on small inputs of your own.").format(
                       what=what))


def _expect_machine_precision(entity, what, got, want, scale=0.0):
    scale = max(float(np.max(np.abs(want), initial=0.0)), scale, 1e-3)
    error = float(np.max(np.abs(got - want), initial=0.0))
    if error <= PRECISE_RTOL * scale:
        return
    digits = max(1, int(-np.log10(error / scale)))
    mistake = Mistake(with_entity(entity, _(FINITE_DIFFERENCES).format(what=what,
                                                                         digits=digits)))
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
        if problem is not None and not any(
                f" {earlier}" in getattr(problem, "uses", "") for earlier in failing):
            failing.append(name)
    if not failing:
        raise mistake
    names = failing[0]
    for name in failing[1:]:
        # TRANSLATORS: a list of entity names, built one name at a time
        names = _("{names} and {name}").format(names=names, name=name)
    # what this test saw holds only if the dependencies are right: said as a condition
    seen = _without_entity(entity, str(mistake))
    blamed = Mistake(with_entity(entity, ngettext(
        "this test uses your {names}, which does not pass its own test yet, so this failure may "
        "come from it: fix {names} first (its test cell says what is wrong). If it is right, "
        "then: {seen}",
        "this test uses your {names}, which do not pass their own test yet, so this failure may "
        "come from them: fix {names} first (their test cells say what is wrong). If they are "
        "right, then: {seen}", len(failing)).format(names=names, seen=seen)))
    blamed.uses = f" {names} {seen}"  # the entities it names (read above, in any language)
    raise blamed from None


def _problem(check):
    """None when the check passes, else its error (any error counts as failing)."""
    try:
        check()
    except Exception as exc:  # noqa: BLE001  (a Mistake, or the student's code raising)
        return exc
    return None


SHARED_STATE = N_("two {kind} used together got in each other's way: the first one's backward "
                  "used what the second one's forward saw. Keep what forward caches on the "
                  "object itself (self.x = x), not in a class attribute or a global.")


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
        fail(entity, _(SHARED_STATE).format(kind=kind))


def expect_unchanged(entity, what, before, after):
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        fail(entity, _("{what} was modified in place; compute new arrays instead (e.g. "
                       "x = x + 1, not x += 1, on an array you were given).").format(what=what))


def standin(entity, name, *args):
    """A stand-in (grader/standins.py) for the student's code to use, made from plain data where
    the student's entity lives: in its sandbox when it is a proxy, here otherwise (tests)."""
    from grader.sandbox_runner import Remote

    if isinstance(entity, Remote):
        return entity._end.standin(name, *args)
    from grader import standins

    return getattr(standins, name)(*args)
