"""Lecture 1 states numbers in its prose: each is recomputed here from the same functions, and
must appear both in the stored outputs (which nbval compares with a fresh run) and in the text."""

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from lecture_text import markdown_text, printed_text

from course.gradcheck import numerical_derivative, numerical_gradient
from grader.reference import sigmoid

NOTEBOOK = (Path(__file__).resolve().parent.parent / "lectures"
            / "01_derivatives_and_chain_rule.ipynb")


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def printed(nb):
    return printed_text(nb)


@pytest.fixture(scope="module")
def prose(nb):
    return markdown_text(nb)


def latex(number):
    """'3e-09' -> '3 \\times 10^{-9}', the way the prose writes a printed number."""
    mantissa, exponent = number.split("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def test_notebook_is_executed_nbformat_4_5_with_ids(nb):
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    assert all(cell.get("id") for cell in nb.cells)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]


def test_no_absolute_paths_and_seeded_randomness(nb):
    source = "\n".join(cell.source for cell in nb.cells)
    assert not re.search(r"['\"](/|[A-Za-z]:\\)", source)
    assert "default_rng()" not in source and "np.random.rand" not in source


def test_product_example(printed, prose):
    def f(x, y):
        return x * y

    h = 0.01
    assert f(4.0, -3.0) == -12.0
    assert "f(4, -3) = -12.0" in printed
    assert f"{f(4.0 + h, -3.0) - f(4.0, -3.0):+.4f}" == "-0.0300" and "= -0.0300" in printed
    assert f"{f(4.0, -3.0 + h) - f(4.0, -3.0):+.4f}" == "+0.0400" and "= +0.0400" in printed
    for claim in ("f = -12", r"\partial f/\partial x = y = -3", r"\partial f/\partial y = x = 4",
                  "$-0.03$", "$+0.04$"):
        assert claim in prose


def finite_difference_errors():
    hs = np.logspace(-16, 0, 161)
    exact = math.cos(1.0)
    forward = np.array([abs((math.sin(1.0 + h) - math.sin(1.0)) / h - exact) for h in hs])
    central = np.array([abs(numerical_derivative(math.sin, 1.0, h) - exact) for h in hs])
    return hs, forward, central


def test_forward_and_central_difference_numbers(printed, prose):
    hs, forward, central = finite_difference_errors()
    eps = np.finfo(float).eps
    predicted = (f"{math.sqrt(2 * eps):.1e}", f"{(3 * eps * math.tan(1.0)) ** (1 / 3):.1e}")
    measured = (f"{hs[forward.argmin()]:.0e}", f"{hs[central.argmin()]:.0e}")
    smallest = (f"{forward.min():.0e}", f"{central.min():.0e}")
    i = np.argmin(abs(hs - 1e-5))
    at_1e5 = (f"{forward[i]:.0e}", f"{central[i]:.0e}")
    assert f"predicted best h: forward {predicted[0]}, central {predicted[1]}" in printed
    assert f"measured  best h: forward {measured[0]}, central {measured[1]}" in printed
    assert f"smallest error:   forward {smallest[0]}, central {smallest[1]}" in printed
    assert f"at h = 1e-5:      forward {at_1e5[0]}, central {at_1e5[1]}" in printed
    for number in (*predicted, *measured, *smallest, at_1e5[0]):
        assert latex(number) in prose, number
    assert at_1e5[1] == "1e-11" and "about $10^{-11}$" in prose
    # the theory the prose teaches: central beats forward, and h* sits near the prediction
    assert central.min() < forward.min()
    for m, p in zip(measured, predicted):
        assert 0.1 <= float(m) / float(p) <= 10


def test_gradients_of_the_basic_functions(printed, prose):
    grad = numerical_gradient(lambda p: 3 * p[0] + 4 * p[1], np.array([1.0, -2.0]))
    np.testing.assert_allclose(grad, [3.0, 4.0])
    assert str(grad) in printed and "$(3, 4)$" in prose
    assert "gradient [-3.  4.]" in printed and "gradient [1. 0.]" in printed
    tie = numerical_gradient(lambda p: max(p[0], p[1]), np.array([3.0, 3.0]))
    np.testing.assert_allclose(tie, [0.5, 0.5])
    assert "[0.5 0.5]" in printed and r"\tfrac12" in prose


def test_directional_derivative_numbers(printed):
    grad = np.array([2.0, 6.0])
    assert f"|grad f| = {np.linalg.norm(grad):.4f}" in printed
    assert f"gradient direction {np.degrees(np.arctan2(6, 2)):.2f} degrees" in printed
    assert "steepest ascent at 72 degrees" in printed
    error = float(re.search(r"over all directions: (\S+)", printed).group(1))
    assert error < 1e-6


def test_gradient_descent_numbers(printed):
    def grad(w):
        return np.array([w[0], 10 * w[1]])

    def valley(w):
        return 0.5 * (w[0] ** 2 + 10 * w[1] ** 2)

    w0 = np.array([-9.0, 1.5])
    assert f"actual change of f:  {valley(w0 - 0.001 * grad(w0)) - valley(w0):.5f}" in printed
    assert f"-eta * |grad f|^2:   {-0.001 * np.sum(grad(w0) ** 2):.5f}" in printed
    final = {}
    for eta in (0.05, 0.18, 0.21):
        w = w0
        for _ in range(30):
            w = w - eta * grad(w)
        final[eta] = valley(w)
        assert f"eta = {eta}: f after 30 steps = {final[eta]:.4g}" in printed
    assert final[0.21] > valley(w0) > final[0.05] > final[0.18]  # diverges / creeps / zigzags in


def test_chain_rule_numbers(printed):
    w1, b1, w2, b2, x, t = 0.5, 0.1, -2.0, 0.3, 1.5, 1.0
    F = w2 * (w1 * x + b1) + b2
    assert f"chain rule {w2 * x:.6f}, central difference {w2 * x:.6f}" in printed
    dE = (F - t) * w2 * x
    assert f"chain rule {dE:.6f}, central difference {dE:.6f}" in printed
    y1, y2 = 2.0, 3.0
    assert f"summed over both paths: {math.cos(y1) * 2 + 2 * y2:.6f}" in printed
    assert f"only the path through y1:      {math.cos(y1) * 2:.6f}" in printed
    assert f"central difference:            {math.cos(y1) * 2 + 2 * y2:.6f}" in printed


def test_jacobian_form(nb, printed):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 2))
    x = np.array([0.5, -1.0])
    y = np.tanh(A @ x)
    jacobian = (1 - y**2)[:, None] * A
    assert "J shape (3, 2) | grad_y shape (3,) | grad_x shape (2,)" in printed
    assert f"J^T grad_y         : {jacobian.T @ y}" in printed


def test_sigmoid_numbers(printed, prose):
    for z in (0.0, 1.0):
        s = sigmoid(z)
        assert f"z = {z}: sigma = {s:.4f}, sigma' = s(1 - s) = {s * (1 - s):.4f}" in printed
    s1 = sigmoid(1.0)
    assert f"{s1:.4f}" == "0.7311" and f"{s1 * (1 - s1):.4f}" == "0.1966"
    assert r"\sigma \approx 0.73" in prose and r"\approx 0.2" in prose
    assert "largest sigma' on [-8, 8]: 0.2500 at z = 0.0" in printed
    assert "σ(z) = 0.7311" in printed  # the explorer's plain-text view, at z = 1


def test_ends_with_summary_and_the_assignment(nb):
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "Summary" in last.source
    assert "a1_scalar_backprop" in last.source


def test_the_notation_table_sets_out_the_course_notation(nb):
    table = next(c.source for c in nb.cells if c.get("id") == "notation")
    for row in ("| $x$ | the input: a batch of $N$ examples, **one per row**",
                r"| $z_k = h_{k-1} W_k + b_k$", r"$h_0 = x$", r"| $\hat y = h_K$ | the network's output",
                "| $y$ | the target", "| $L$ | the loss", "**it has the shape of $v$**",
                "`x @ W + b` with `x` of shape $(N, D)$ and `W` of shape $(D, M)$"):
        assert row in table, row
    assert "Nielsen's column vectors" in table  # other conventions: said once, where they occur
