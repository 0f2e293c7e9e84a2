"""The project's one gradient checker (course.gradcheck) is itself right.

Everything else is trusted only because it agrees with this checker, so it is tested on
functions whose gradients are known in closed form, and on deliberately wrong backwards that it
must reject.
"""

import math
import warnings

import numpy as np
import pytest

from course.gradcheck import (
    check_gradient,
    numerical_derivative,
    numerical_gradient,
    numerical_vjp,
    rel_error,
)

# A backward is accepted below this relative error (float64, central differences, h = 1e-5).
ACCEPTED = 1e-7
# A wrong backward is off by O(1); anything above this is an unmistakable rejection.
REJECTED = 1e-2


def positive_array(rng, shape):
    """Entries in [0.5, 2]: sums of products of these cannot cancel towards 0, so elementwise
    relative error stays meaningful for linear maps checked at 1e-7."""
    return rng.uniform(0.5, 2.0, shape)


# --------------------------------------------------------------------------- numerical_gradient


def test_numerical_gradient_of_sum_of_cubes_is_central_difference():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))
    h = 1e-3
    numeric = numerical_gradient(lambda x_: np.sum(x_**3), x, h=h)
    # For x**3 the central difference is exactly 3x^2 + h^2 (a forward difference would be off
    # by ~3xh = 3e-3), so this pins the method down, not just the answer.
    np.testing.assert_allclose(numeric - 3 * x**2, h**2, rtol=0, atol=1e-9)
    assert rel_error(numerical_gradient(lambda x_: np.sum(x_**3), x), 3 * x**2) < 1e-9


def test_numerical_gradient_of_linear_map_with_non_square_matrix():
    rng = np.random.default_rng(1)
    x, A = positive_array(rng, (2, 3)), positive_array(rng, (3, 5))
    upstream = positive_array(rng, (2, 5))
    numeric = numerical_gradient(lambda x_: np.sum((x_ @ A) * upstream), x)
    assert numeric.shape == x.shape and numeric.dtype == np.float64
    assert rel_error(numeric, upstream @ A.T) < ACCEPTED
    assert rel_error(numerical_vjp(lambda x_: x_ @ A, x, upstream), upstream @ A.T) < ACCEPTED


def test_numerical_gradient_perturbs_arrays_read_through_a_closure():
    # Layers read their weights through self.W, not through the argument of f.
    W = np.random.default_rng(2).uniform(0.5, 2.0, (3, 2))
    numeric = numerical_gradient(lambda _: np.sum(W**2), W)
    assert rel_error(numeric, 2 * W) < ACCEPTED


def test_numerical_gradient_handles_three_dimensional_and_zero_dimensional_arrays():
    x = np.random.default_rng(3).uniform(0.5, 2.0, (2, 3, 4))
    assert rel_error(numerical_gradient(lambda x_: np.sum(np.exp(x_)), x), np.exp(x)) < ACCEPTED
    scalar = np.array(0.7)
    assert rel_error(numerical_gradient(lambda s: np.sin(s), scalar), np.cos(0.7)) < ACCEPTED


def test_numerical_gradient_restores_x_exactly():
    # 0.1 + 1e-5 - 1e-5 != 0.1 in floating point: restoring by subtraction would leave x changed.
    x = np.array([[0.1, 0.2, 0.3], [1e-7, -0.7, 123.456]])
    original = x.copy()
    numerical_gradient(lambda x_: np.sum(np.sin(x_)), x)
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x, original)


@pytest.mark.parametrize("failing_call", [1, 2, 5, 6])
def test_numerical_gradient_restores_x_when_f_raises(failing_call):
    # Odd calls evaluate f at x + h, even calls at x - h: both phases must restore x.
    x = np.array([0.1, 0.2, 0.3])
    original = x.copy()
    calls = []

    def f(x_):
        calls.append(None)
        if len(calls) == failing_call:
            raise RuntimeError("forward failed")
        return np.sum(x_)

    with pytest.raises(RuntimeError, match="forward failed"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, original)


@pytest.mark.parametrize(
    "bad_x",
    [np.array([1, 2, 3]), np.array([1.0, 2.0], dtype=np.float32), [1.0, 2.0], 1.5],
    ids=["int64 array", "float32 array", "list", "python float"],
)
def test_numerical_gradient_rejects_anything_but_a_float64_array(bad_x):
    # An int array cannot hold x + h; float32 loses h in round-off: both would give silent garbage.
    with pytest.raises(TypeError, match=r"float64 numpy array.*np\.asarray\(x, dtype=float\)"):
        numerical_gradient(lambda x_: np.sum(x_), bad_x)


def test_numerical_derivative_of_a_scalar_function():
    assert math.isclose(numerical_derivative(math.sin, 0.7), math.cos(0.7), rel_tol=1e-9)
    assert math.isclose(numerical_derivative(lambda t: t**3, 2), 12.0, rel_tol=1e-9)


# ---------------------------------------------------------------------------------- rel_error


def test_rel_error_basics():
    assert rel_error(np.array([1.0, -2.0]), np.array([1.0, -2.0])) == 0.0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)  # |1 - 3| / (1 + 3)
    assert rel_error(1.0, -1.0) == pytest.approx(1.0)  # opposite signs: as wrong as it gets
    assert rel_error([1.0, 1.0], [1.0, 3.0]) == pytest.approx(0.5)  # the worst entry counts
    assert rel_error(2.0, 5.0) == rel_error(5.0, 2.0)
    assert isinstance(rel_error(1.0, 2.0), float)


def test_rel_error_of_zeros_and_tiny_numbers_uses_the_floor():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0 / 0 must not happen
        assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(1e-10, 0.0) == pytest.approx(1e-10 / 1e-8)
    assert rel_error(np.zeros((0, 4)), np.zeros((0, 4))) == 0.0


@pytest.mark.parametrize("shapes", [((3,), (4,)), ((3,), (3, 1)), ((2, 3), (3, 2)), ((), (1,))])
def test_rel_error_refuses_to_compare_different_shapes(shapes):
    # Broadcasting (3,) against (3, 1) would compare 9 pairs and hide a transposed gradient.
    a, b = np.ones(shapes[0]), np.ones(shapes[1])
    with pytest.raises(ValueError, match="shapes"):
        rel_error(a, b)


# ------------------------------------------------------------------------------ check_gradient


def affine_forward(x, W, b):
    return x @ W + b


def test_check_gradient_accepts_a_correct_backward():
    rng = np.random.default_rng(4)
    x, W, b = positive_array(rng, (3, 4)), positive_array(rng, (4, 2)), positive_array(rng, 2)
    assert check_gradient(lambda x_: affine_forward(x_, W, b), x, lambda d: d @ W.T) < ACCEPTED
    assert check_gradient(lambda _: affine_forward(x, W, b), W, lambda d: x.T @ d) < ACCEPTED
    assert check_gradient(lambda _: affine_forward(x, W, b), b, lambda d: d.sum(axis=0)) < ACCEPTED


def test_check_gradient_runs_forward_at_x_just_before_the_backward():
    # A layer's backward reads the cache of its last forward; the last perturbed forward ran at
    # x - h, so the checker must run f(x) again before calling the backward.
    x = np.array([0.3, -1.2, 2.0])
    original = x.copy()
    seen = []

    def f(x_):
        seen.append(x_.copy())
        return x_**2

    def analytic(dout):
        np.testing.assert_array_equal(seen[-1], original)
        return 2 * seen[-1] * dout

    assert check_gradient(f, x, analytic) < ACCEPTED
    np.testing.assert_array_equal(x, original)


def test_check_gradient_is_deterministic_without_an_rng():
    x = np.array([0.3, -1.2, 2.0])
    first = check_gradient(np.sin, x, lambda d: np.cos(x) * d)
    assert first == check_gradient(np.sin, x, lambda d: np.cos(x) * d)


def test_missing_transpose_on_a_non_square_matrix_cannot_pass():
    rng = np.random.default_rng(5)
    x, W, b = positive_array(rng, (2, 3)), positive_array(rng, (3, 5)), positive_array(rng, 5)
    forward_at_W = lambda _: affine_forward(x, W, b)
    # dW = dout.T @ x has shape (5, 3) instead of (3, 5): the checker refuses to compare.
    with pytest.raises(ValueError, match=r"shapes \(3, 5\) and \(5, 3\)"):
        check_gradient(forward_at_W, W, lambda d: d.T @ x)
    # dx = dout @ W (no .T) cannot even be evaluated with a non-square W.
    with pytest.raises(ValueError):
        check_gradient(lambda x_: affine_forward(x_, W, b), x, lambda d: d @ W)


def test_wrong_axis_bias_sum_is_caught_by_shape_when_batch_and_width_differ():
    rng = np.random.default_rng(6)
    x, W, b = positive_array(rng, (2, 3)), positive_array(rng, (3, 5)), positive_array(rng, 5)
    with pytest.raises(ValueError, match="shapes"):
        check_gradient(lambda _: affine_forward(x, W, b), b, lambda d: d.sum(axis=1))


def error_with_ones_upstream(f, x, analytic):
    """What a checker using dout = ones (the gradient of sum(f(x))) would report."""
    ones = np.ones(np.shape(f(x)))
    numeric = numerical_vjp(f, x, ones)
    f(x)
    return rel_error(numeric, analytic(ones))


def test_wrong_axis_bias_sum_passes_with_ones_upstream_but_not_with_a_random_one():
    # Batch size N equal to the width M makes dout.sum(axis=1) the right shape; with dout = ones
    # both axes sum to N everywhere, so only a random upstream gradient exposes the bug.
    rng = np.random.default_rng(7)
    x, W, b = positive_array(rng, (4, 3)), positive_array(rng, (3, 4)), positive_array(rng, 4)
    forward_at_b = lambda _: affine_forward(x, W, b)
    correct, wrong_axis = (lambda d: d.sum(axis=0)), (lambda d: d.sum(axis=1))
    assert check_gradient(forward_at_b, b, correct) < ACCEPTED
    assert error_with_ones_upstream(forward_at_b, b, wrong_axis) < ACCEPTED
    assert check_gradient(forward_at_b, b, wrong_axis) > REJECTED


def test_missing_transpose_of_a_square_matrix_can_pass_with_ones_upstream():
    # ones @ W is the column sums of W, ones @ W.T the row sums: for this circulant (not
    # symmetric) W they are equal, so dx = dout @ W survives a ones upstream gradient.
    W = np.array([[1.0, 2.0, 0.5], [0.5, 1.0, 2.0], [2.0, 0.5, 1.0]])
    assert not np.array_equal(W, W.T)
    b = np.array([0.1, 0.2, 0.3])
    x = positive_array(np.random.default_rng(8), (2, 3))
    forward_at_x = lambda x_: affine_forward(x_, W, b)
    assert check_gradient(forward_at_x, x, lambda d: d @ W.T) < ACCEPTED
    assert error_with_ones_upstream(forward_at_x, x, lambda d: d @ W) < ACCEPTED
    assert check_gradient(forward_at_x, x, lambda d: d @ W) > REJECTED


def test_backward_that_ignores_the_upstream_gradient_is_caught_only_by_a_random_one():
    # The classic slip in an activation's backward: returning sigma'(x) and forgetting "* dout".
    x = np.random.default_rng(9).uniform(-2.0, 2.0, (3, 4))

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    s = sigmoid(x)
    correct = lambda d: d * s * (1 - s)
    forgets_dout = lambda d: s * (1 - s)
    assert check_gradient(sigmoid, x, correct) < ACCEPTED
    assert error_with_ones_upstream(sigmoid, x, forgets_dout) < ACCEPTED
    assert check_gradient(sigmoid, x, forgets_dout) > REJECTED


def test_backward_that_collapses_the_upstream_gradient_to_its_mean_is_caught():
    # dout.mean() * w equals dout * w exactly when dout is all ones.
    rng = np.random.default_rng(10)
    x, w = rng.uniform(-2.0, 2.0, 5), rng.uniform(0.5, 2.0, 5)
    scale = lambda x_: x_ * w
    assert check_gradient(scale, x, lambda d: d * w) < ACCEPTED
    assert error_with_ones_upstream(scale, x, lambda d: d.mean() * w) < ACCEPTED
    assert check_gradient(scale, x, lambda d: d.mean() * w) > REJECTED
