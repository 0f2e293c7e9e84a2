"""Lecture 03 (vector backprop): the notebook's form, and every number it states, recomputed here
with the same functions and found in the outputs stored in the notebook."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from lecture_text import (
    assert_executed_in_order_without_errors_or_warnings,
    assert_nbformat_45_with_unique_ids,
    assert_no_absolute_paths,
    cell,
    code_cells,
    output,
    prose,
)

from course.gradcheck import check_gradient, numerical_gradient, rel_error
from course.worked_examples import SEED_NETWORK_NUMBERS, seed_network_arrays
from grader.reference import Affine, MSELoss, Sequential, Sigmoid, SoftmaxCrossEntropy, sgd_step

NOTEBOOK = Path(__file__).resolve().parent.parent / "lectures" / "03_vector_backprop.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


# ------------------------------------------------------------------ form


def test_nbformat_45_and_every_cell_has_a_unique_id(nb):
    assert_nbformat_45_with_unique_ids(nb)


def test_executed_in_order_without_errors_or_warnings(nb):
    assert_executed_in_order_without_errors_or_warnings(nb)


def test_no_absolute_paths(nb):
    assert_no_absolute_paths(nb)


def test_sections_follow_the_curriculum_row_in_order(nb):
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    topics = ["Derivatives of vectors", "chain rule for vectors", "matrix product", "Affine",
              "four equations", "2-2-2", "Mini-batches and the bias sum", "softmax − y",
              "whole network", "What backprop saves", "Summary"]
    assert len(headings) == len(topics)
    for heading, topic in zip(headings, topics):
        assert topic in heading


def test_only_timing_cells_are_exempt_from_output_checks(nb):
    ignored = [c.id for c in code_cells(nb) if "# NBVAL_IGNORE_OUTPUT" in c.source.splitlines()]
    assert ignored == ["timing", "timing-plot"]
    assert "perf_counter" in cell(nb, "timing").source
    assert not any("NBVAL_SKIP" in c.source for c in code_cells(nb))


def test_layers_come_from_the_reference_and_are_not_retyped(nb):
    setup = cell(nb, "setup").source
    assert "from course.reference import" in setup
    for c in code_cells(nb):
        for name in ("Affine", "Sigmoid", "Sequential", "MSELoss", "SoftmaxCrossEntropy", "Tanh"):
            assert not re.search(rf"^class {name}\b", c.source, re.MULTILINE), c.id
    flawed = cell(nb, "flawed-affine").source
    assert "class SeedAffine(Affine):" in flawed and "FLAWED" in flawed
    assert "np.dot(dout, self.W)" in flawed and "np.dot(self.x, dout)" in flawed


def test_ends_with_summary_and_points_to_assignment_a2(nb):
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "## Summary" in last.source
    assert "../assignments/a2_vector_backprop/a2_vector_backprop.ipynb" in last.source


def test_every_long_decimal_in_the_prose_is_printed_by_a_cell(nb):
    printed = "".join(output(nb, c.id) for c in code_cells(nb))
    for number in re.findall(r"\d+\.\d{3,}", prose(nb)):
        assert number in printed, number


def test_prose_corrects_the_seed_errors(nb):
    text = prose(nb)
    for corrected in [
        r"\sum_j \frac{\partial z}{\partial y_i}\frac{\partial y_i}{\partial x_i}",  # indices
        "np.dot(dout, self.W)",  # the flawed Affine.backward
        "weighted input",  # z^l is not the output
        "drops the bias",
        "without the square",
        r"(w^3_{11}\delta^3_1 + w^3_{12}\delta^3_1)",
        r"$\mathbf a^{l-1}\boldsymbol\delta^l$",  # BP4
        r"\boldsymbol\delta^l(\mathbf a^{l-1})^T",
        "forgets to `return grad`",
        r"\frac{\partial E}{\partial y}\frac{\partial E}{\partial x_2}",
    ]:
        assert corrected in text, corrected


# ------------------------------------------------------------------ numbers


def test_jacobian_and_vector_chain_rule(nb):
    x = np.array([0.5, -1.0])
    J = np.array([[x[1], x[0]], [np.cos(x[0]), 2 * x[1]], [0.0, np.exp(x[1])]])
    y = np.array([x[0] * x[1], np.sin(x[0]) + x[1] ** 2, np.exp(x[1])])
    grad_x = J.T @ y
    numeric = numerical_gradient(
        lambda v: 0.5 * (v[0] * v[1]) ** 2 + 0.5 * (np.sin(v[0]) + v[1] ** 2) ** 2
        + 0.5 * np.exp(2 * v[1]), x)
    assert rel_error(grad_x, numeric) < 1e-8
    assert "J has shape (3, 2)" in output(nb, "jacobian-numeric")
    with np.printoptions(precision=4, suppress=True):
        assert f"grad_x z = {grad_x}" in output(nb, "chain-rule-check")
        seed_version = np.array([3 * y[i] * J[i, i] for i in range(2)])
        assert not np.allclose(seed_version, grad_x)
        assert f"the seed's formula gives {seed_version}" in output(nb, "chain-rule-seed-indices")


def test_jacobian_size(nb):
    assert "has 16,777,216 entries, of which only 4,096 are not zero" in output(nb, "jacobian-size")


def test_matrix_product_shapes_and_gradients(nb):
    rng = np.random.default_rng(1)
    W, X = rng.standard_normal((5, 10)), rng.standard_normal((10, 3))
    assert check_gradient(lambda W_: W_ @ X, W, lambda d: d @ X.T) < 1e-6
    assert check_gradient(lambda X_: W @ X_, X, lambda d: W.T @ d) < 1e-6
    assert "D (5, 3)  dW (5, 10)  dX (10, 3)" in output(nb, "matmul-forward")
    assert output(nb, "matmul-check").count("-> OK") == 2


class SeedAffine(Affine):
    """The seed blog's flawed backward (the same code the lecture studies)."""

    def backward(self, dout):
        dx = np.dot(dout, self.W)
        self.dW = np.dot(self.x, dout)
        self.db = np.sum(dout, axis=0)
        return dx


def test_flawed_affine_fails_on_rectangular_shapes(nb):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    layer = SeedAffine(rng.standard_normal((3, 2)), rng.standard_normal(2))
    dout = np.ones_like(layer.forward(x))
    with pytest.raises(ValueError, match=r"shapes \(4,2\) and \(3,2\) not aligned"):
        layer.backward(dout)
    with pytest.raises(ValueError, match=r"shapes \(4,3\) and \(4,2\) not aligned"):
        np.dot(x, dout)
    assert "line A, ValueError: shapes (4,2) and (3,2) not aligned" in output(nb, "flawed-rectangular")
    printed = output(nb, "flawed-line-b")
    assert "line B, ValueError: shapes (4,3) and (4,2) not aligned" in printed
    assert "fixed: dx (4, 3)  dW (3, 2)" in printed


def test_flawed_affine_gives_wrong_numbers_on_square_shapes(nb):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 3))
    W, b = rng.standard_normal((3, 3)), rng.standard_normal(3)
    flawed, correct = SeedAffine(W.copy(), b.copy()), Affine(W.copy(), b.copy())
    assert check_gradient(flawed.forward, x, flawed.backward) > 0.1
    assert check_gradient(correct.forward, x, correct.backward) < 1e-6
    printed = output(nb, "flawed-square")
    assert "SeedAffine dx: relative error 1.0e+00 -> WRONG" in printed
    assert "SeedAffine dW: relative error 1.0e+00 -> WRONG" in printed
    assert printed.count("-> OK") == 2


def seed_network():
    """The 2-2-2 network run forward and backward layer by layer, as the lecture does."""
    i, o, W1, b1, W2, b2 = seed_network_arrays()
    fc1, act1, fc2, act2 = Affine(W1, b1), Sigmoid(), Affine(W2, b2), Sigmoid()
    mse = MSELoss()
    h_in = fc1.forward(i)
    h_out = act1.forward(h_in)
    o_in = fc2.forward(h_out)
    o_out = act2.forward(o_in)
    mse.forward(o_out, o)
    delta_o = act2.backward(mse.backward())
    delta_h = act1.backward(fc2.backward(delta_o))
    fc1.backward(delta_h)
    numbers = {
        "h1_in": h_in[0, 0], "h1_out": h_out[0, 0], "h2_in": h_in[0, 1], "h2_out": h_out[0, 1],
        "o1_in": o_in[0, 0], "o1_out": o_out[0, 0], "o2_in": o_in[0, 1], "o2_out": o_out[0, 1],
        "o1_err": delta_o[0, 0], "o2_err": delta_o[0, 1],
        "h1_err": delta_h[0, 0], "h2_err": delta_h[0, 1],
        "d_w5": fc2.dW[0, 0], "d_w1": fc1.dW[0, 0],
    }
    return numbers, h_out, delta_o, fc2


def test_seed_network_inputs_as_stated(nb):
    i, o, W1, b1, W2, b2 = seed_network_arrays()
    text = prose(nb)
    assert i.tolist() == [[0.1, 0.2]] and r"$\mathbf i = [0.1, 0.2]$" in text
    assert o.tolist() == [[0.01, 0.99]] and r"$\mathbf o = [0.01, 0.99]$" in text
    # w1..w8 = 0.1..0.8 with column j of W holding the weights into neuron j
    weights = [W1[0, 0], W1[1, 0], W1[0, 1], W1[1, 1], W2[0, 0], W2[1, 0], W2[0, 1], W2[1, 1]]
    assert weights == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    assert [*b1, *b2] == [0.55, 0.56, 0.66, 0.67] and "biases $[0.55, 0.56, 0.66, 0.67]$" in text


def test_seed_network_reproduces_every_number(nb):
    numbers, *_ = seed_network()
    assert set(numbers) == set(SEED_NETWORK_NUMBERS)
    printed = output(nb, "seed-table")
    for name, stated in SEED_NETWORK_NUMBERS.items():
        assert abs(numbers[name] - stated) <= 1e-12 * abs(stated), name
        assert re.search(rf"{name} +{re.escape(repr(stated))} +{numbers[name]:.12g}  True", printed)
    assert f"{len(SEED_NETWORK_NUMBERS)} of {len(SEED_NETWORK_NUMBERS)} numbers agree" in printed
    assert "14 of 14" in printed and "fourteen numbers" in prose(nb)
    # "The seed prints every digit of a double (up to 17 significant digits)"
    digits = [len(repr(abs(v)).replace("0.", "", 1).lstrip("0").replace(".", ""))
              for v in SEED_NETWORK_NUMBERS.values()]
    assert max(digits) == 17 and "up to 17 significant digits" in prose(nb)


def test_bp2_formula_for_h1_and_the_seeds_wrong_one(nb):
    _, h_out, delta_o, _ = seed_network()
    _, _, _, _, W2, _ = seed_network_arrays()
    w5, w6, w7 = W2[0, 0], W2[1, 0], W2[0, 1]
    a1, (d1, d2) = h_out[0, 0], delta_o[0]
    correct = (w5 * d1 + w7 * d2) * a1 * (1 - a1)
    seeds = (w5 * d1 + w6 * d1) * a1 * (1 - a1)
    assert correct == pytest.approx(SEED_NETWORK_NUMBERS["h1_err"], rel=1e-12)
    assert seeds != pytest.approx(correct, rel=0.1)
    printed = output(nb, "seed-bp2-check")
    assert f"= {correct:.6g}" in printed and f"= {seeds:.6g}" in printed


def test_bp4_outer_product_and_its_transpose(nb):
    _, h_out, delta_o, fc2 = seed_network()
    grad_W3 = np.outer(delta_o[0], h_out[0])
    assert np.allclose(grad_W3, fc2.dW.T)
    assert not np.allclose(np.outer(h_out[0], delta_o[0]), grad_W3)
    printed = output(nb, "seed-bp4-check")
    assert "equals fc2.dW.T: True" in printed and "equals it: False" in printed


def test_one_sgd_step_lowers_the_cost(nb):
    i, o, W1, b1, W2, b2 = seed_network_arrays()
    model = Sequential(Affine(W1, b1), Sigmoid(), Affine(W2, b2), Sigmoid())
    mse = MSELoss()
    before = mse.forward(model.forward(i), o)
    model.backward(mse.backward())
    sgd_step(model, lr=0.5)
    after = mse.forward(model.forward(i), o)
    assert after < before
    assert f"cost before {before:.6f}, after one step {after:.6f}" in output(nb, "seed-step")
    assert f"cost {round(before, 6)}" in output(nb, "seed-forward")


def test_batch_gradient_is_the_sum_over_examples(nb):
    printed = output(nb, "batch-vs-loop")
    assert printed.count(": True") == 2
    assert "-> OK" in output(nb, "bias-shape")


def test_softmax_cross_entropy_gradient_and_large_scores(nb):
    ce = SoftmaxCrossEntropy()
    big = np.array([[1000.0, 1001.0, 1002.0]])
    loss = ce.forward(big, np.array([0]))
    assert loss == pytest.approx(np.log(1 + np.e + np.e**2), rel=1e-12)
    probs = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    assert np.allclose(ce.backward(), probs - [1, 0, 0])
    assert f"{loss:.4f}" == "2.4076"
    assert r"\log(1 + e + e^2) \approx 2.4076" in prose(nb)
    printed = output(nb, "softmax-big-check")
    assert "loss 2.4076" in printed and "log(1 + e + e^2) = 2.4076" in printed
    assert "naive softmax:   [[nan nan nan]]" in output(nb, "softmax-naive")
    assert "equals (softmax - onehot) / N: True" in output(nb, "softmax-check")


def test_whole_network_check_passes_and_localises_the_planted_bug(nb):
    assert output(nb, "net-check").count("-> OK") == 6
    verdicts = dict(re.findall(r"(layer \d d[Wb]): relative error \S+ -> (\w+)",
                               output(nb, "net-check-bug")))
    assert verdicts == {"layer 0 dW": "WRONG", "layer 0 db": "WRONG", "layer 2 dW": "WRONG",
                        "layer 2 db": "OK", "layer 4 dW": "OK", "layer 4 db": "OK"}


def test_forward_pass_counts_are_2p(nb):
    printed = output(nb, "count-forwards")
    for h in [2, 4, 8, 16, 32, 64]:
        P = (10 * h + h) + (h * h + h) + (h * 3 + 3)
        row = rf"^ +{h} +{P} +{2 * P} forwards +1 forward \+ 1 backward$"
        assert re.search(row, printed, re.MULTILINE), h
