"""Lecture 2 teaches with its own inline code; every number it shows is recomputed here with the
grading reference (grader.reference) and must appear both in the stored outputs (which nbval
compares with a fresh run) and in the text, so the lecture and the reference cannot drift."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from lecture_text import (
    assert_imports_only_the_course_package,
    assert_self_checks,
    assert_speaks_to_students,
    markdown_text,
    printed_text,
)

from course import worked_examples as seeds
from grader.reference import (
    AddGate,
    MaxGate,
    MultiplyGate,
    ScaleGate,
    chain_backward,
    chain_forward,
    circuit_backward,
    neuron_backward,
    sigmoid,
    staged_backward,
)

NOTEBOOK = Path(__file__).resolve().parent.parent / "lectures" / "02_scalar_backprop.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def printed(nb):
    return printed_text(nb)


@pytest.fixture(scope="module")
def prose(nb):
    return markdown_text(nb)


def test_notebook_is_executed_nbformat_4_5_with_ids(nb):
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    assert all(cell.get("id") for cell in nb.cells)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]


def test_no_absolute_paths_and_no_graded_entity_defined(nb):
    source = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert not re.search(r"['\"](/|[A-Za-z]:\\)", source)
    # the lecture shows the ideas inline; the assignment's gates and functions stay the student's
    assert not re.search(r"^class \w+Gate\b(?<!SquareGate)", source, re.MULTILINE)
    assert not re.search(r"^def (chain_forward|chain_backward|staged_backward|neuron_backward|"
                         r"circuit_backward)\b", source, re.MULTILINE)


def test_runs_in_a_students_copy_and_speaks_to_students(nb):
    assert_imports_only_the_course_package(nb)
    assert_speaks_to_students(nb)
    assert_self_checks(nb)


def test_nankai_opening_places_backprop(nb):
    text = markdown_text(nb)
    for claim in ("first-order", "Second-order", "Hessian", r"$n^2$ entries",
                  "**not a training algorithm**", "SGD", "Adam"):
        assert claim in text, claim


def test_circuit_numbers(printed, prose):
    f, dx, dy, dz = circuit_backward(*seeds.CIRCUIT_INPUT)
    assert (f, (dx, dy, dz)) == (seeds.CIRCUIT_F, seeds.CIRCUIT_GRAD) == (-12.0, (-4.0, -4.0, 3.0))
    assert "f = -12.0, gradient [df/dx, df/dy, df/dz] = [-4.0, -4.0, 3.0]" in printed
    assert "central differences: [-4. -4.  3.]" in printed
    assert r"$\partial f/\partial q = -4$" in prose and "passes this $-4$" in prose


def test_add_mul_max_patterns(printed, prose):
    x, y, z, w = 3.0, -4.0, 2.0, -1.0
    mul, mx, add, scale = MultiplyGate(), MaxGate(), AddGate(), ScaleGate(2.0)
    f = scale.forward(add.forward(mul.forward(x, y), mx.forward(z, w)))
    ds = scale.backward(1.0)
    dxy, dzw = add.backward(ds)
    (dx, dy), (dz, dw) = mul.backward(dxy), mx.backward(dzw)
    assert (f, ds, dxy, dzw, dx, dy, dz, dw) == (-20.0, 2.0, 2.0, 2.0, -8.0, 6.0, 2.0, 0.0)
    assert "f = -20.0" in printed
    assert "add gate: upstream 2.0 -> (2.0, 2.0)" in printed
    assert "max gate: upstream 2.0 -> dz = 2.0, dw = 0.0" in printed
    assert "mul gate: upstream 2.0 -> dx = y * 2.0 = -8.0, dy = x * 2.0 = 6.0" in printed
    # the numbers CS231n's notes quote, which these inputs reproduce
    assert "2.00" in prose and "−4.00 × 2.00 = −8.00" in prose
    assert "d(weight) = 2000.0" in printed and "by 1000" in prose


def test_gate_table_backwards_match_central_differences(printed):
    errors = re.findall(r"central difference\| = (\S+)", printed)
    assert len(errors) == 4
    assert all(float(e) < 1e-6 for e in errors)


def test_sigmoid_neuron_numbers(printed, prose):
    f, dw, dx = neuron_backward(list(seeds.NEURON_W), list(seeds.NEURON_X))
    ddot = f * (1 - f)
    assert f"{f:.4f}" == "0.7311" and f"{ddot:.4f}" == "0.1966"
    assert "w0*x0 = -2.0, w1*x1 = 6.0, dot = 1.0" in printed
    assert f"f = {f:.4f}" in printed
    gates_line = (f"dw = [{dw[0]:.4f}, {dw[1]:.4f}, {dw[2]:.4f}], "
                  f"dx = [{dx[0]:.4f}, {dx[1]:.4f}]")
    assert gates_line in printed  # the long chain of gates gives the neuron's gradients
    assert f"d(dot) = {ddot:.4f}" in printed and f"ddot = {ddot:.4f}" in printed
    assert f"dw = {np.round(dw, 4)}  dx = {np.round(dx, 4)}" in printed
    error = float(re.search(r"\[dw, dx\] against central differences: (\S+)", printed).group(1))
    assert error < 1e-6
    assert r"\approx 0.73" in prose and r"\approx 0.2" in prose and "0.7311 and 0.1966" in prose


def test_staged_computation_numbers(nb, printed):
    x, y = seeds.STAGED_INPUT
    f, dx, dy = staged_backward(x, y)
    assert f"f = {f:.6f}, df/dx = {dx:.6f}, df/dy = {dy:.6f}" in printed
    sigx, sigy = sigmoid(x), sigmoid(y)
    den = sigx + (x + y) ** 2
    cached = {"sigy": sigy, "num": x + sigy, "sigx": sigx, "xpy": x + y,
              "xpysqr": (x + y) ** 2, "den": den, "invden": 1 / den, "f": f}
    for name, value in cached.items():
        assert f"{name:7} = {value:.6f}" in printed
    # "=" instead of "+=": only the last branch into x (num) and into y (sigy) survives
    overwritten = (1 / den, sigy * (1 - sigy) / den)
    assert f"with '=':  df/dx = {overwritten[0]:.6f}, df/dy = {overwritten[1]:.6f}" in printed
    assert abs(overwritten[0] - dx) > 1 and abs(overwritten[1] - dy) > 1
    # the self-check's answer
    prose = markdown_text(nb)
    assert f"1/\\text{{den}} \\approx {overwritten[0]:.4f}" in prose and f"{dx:.5f}" in prose


def test_deep_chain_numbers(printed):
    y, cache = chain_forward(1.0, [2.0, -1.5, 3.0], [0.5, 1.0, -1.0])
    dw, db, dx = chain_backward(1.0, cache)
    assert f"y_hat = {y:.6f}" in printed
    assert f"dw = {np.round(dw, 6)}" in printed and f"db = {np.round(db, 6)}" in printed
    assert f"dx = {dx:.6f}" in printed
    error = float(re.search(r"against central differences: (\S+)", printed).group(1))
    assert error < 1e-6
    assert f"∂f/∂x = {dx:.6g}" in printed  # the explorer's plain-text view, same chain


def test_ends_with_summary_and_the_assignment(nb):
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "Summary" in last.source
    assert "a1_scalar_backprop" in last.source
