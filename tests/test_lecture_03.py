"""Lecture 03 (vector backprop): the notebook's form, and every number it shows, recomputed here
with the grading reference (grader.reference) and found in the outputs stored in the notebook,
so the lecture's own inline layers and the reference cannot drift."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from lecture_text import (
    assert_executed_in_order_without_errors_or_warnings,
    assert_imports_only_the_course_package,
    assert_nbformat_45_with_unique_ids,
    assert_no_absolute_paths,
    assert_self_checks,
    assert_speaks_to_students,
    cell,
    code_cells,
    output,
    prose,
)

from course.data import make_spirals
from course.gradcheck import check_gradient, numerical_gradient, rel_error
from course.worked_examples import SEED_NETWORK_NUMBERS, seed_network_arrays
from grader.reference import (
    Affine,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    sgd_step,
)

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


def test_runs_in_a_students_copy_and_speaks_to_students(nb):
    assert_imports_only_the_course_package(nb)
    assert_speaks_to_students(nb)
    assert_self_checks(nb)


def test_sections_follow_the_curriculum_row_in_order(nb):
    headings = [line for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    topics = ["Derivatives of vectors", "chain rule for vectors", "matrix product", "affine",
              "four equations", "2-2-2", "Mini-batches and the bias sum", "softmax − y",
              "training loop", "whole network", "What backprop saves", "Summary"]
    assert len(headings) == len(topics)
    for heading, topic in zip(headings, topics):
        assert topic in heading


def test_only_timing_cells_are_exempt_from_output_checks(nb):
    ignored = [c.id for c in code_cells(nb) if "nbval-ignore-output" in c.metadata.get("tags", [])]
    assert ignored == ["timing", "timing-plot"]
    assert "perf_counter" in cell(nb, "timing").source


def test_no_graded_layer_class_is_defined(nb):
    # the lecture's layers are functions; the classes of assignment 2 stay the student's
    for c in code_cells(nb):
        assert not re.search(r"^class ", c.source, re.MULTILINE), c.id
    flawed = cell(nb, "flawed-affine").source
    assert "FLAWED" in flawed and "np.dot(dout, W)" in flawed and "np.dot(x, dout)" in flawed


def test_ends_with_summary_and_points_to_assignment_a2(nb):
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "## Summary" in last.source
    assert "../assignments/a2_vector_backprop/a2_vector_backprop.ipynb" in last.source


def test_every_long_decimal_in_the_prose_is_printed_by_a_cell(nb):
    printed = "".join(output(nb, c.id) for c in code_cells(nb))
    for number in re.findall(r"\d+\.\d{3,}", prose(nb)):
        assert number in printed, number


def test_prose_corrects_the_sources_mistakes(nb):
    text = prose(nb)
    for corrected in [
        r"\sum_j \frac{\partial z}{\partial y_i}\frac{\partial y_i}{\partial x_i}",  # indices
        "np.dot(dout, self.W)",  # the flawed affine backward
        "weighted input",  # z^l is not the output
        "drops the bias",
        "without the square",
        r"(w^3_{11}\delta^3_1 + w^3_{12}\delta^3_1)",
        r"$\mathbf a^{l-1}\boldsymbol\delta^l$",  # BP4
        r"\boldsymbol\delta^l(\mathbf a^{l-1})^T",
        "forgets to `return grad`",
        r"\frac{\partial E}{\partial y}\frac{\partial E}{\partial x_2}",
        "**another convention than this course**",  # Nielsen's, said once, there
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
        blog_version = np.array([3 * y[i] * J[i, i] for i in range(2)])
        assert not np.allclose(blog_version, grad_x)
        assert f"the blog's formula gives {blog_version}" in output(nb, "chain-rule-blog-indices")


def test_jacobian_size(nb):
    assert "has 16,777,216 entries, of which only 4,096 are not zero" in output(nb, "jacobian-size")


def test_matrix_product_shapes_and_gradients(nb):
    rng = np.random.default_rng(1)
    W, X = rng.standard_normal((5, 10)), rng.standard_normal((10, 3))
    assert check_gradient(lambda W_: W_ @ X, W, lambda d: d @ X.T) < 1e-6
    assert check_gradient(lambda X_: W @ X_, X, lambda d: W.T @ d) < 1e-6
    assert "D (5, 3)  dW (5, 10)  dX (10, 3)" in output(nb, "matmul-forward")
    assert output(nb, "matmul-check").count("-> OK") == 2


def test_the_lectures_affine_is_the_reference_affine(nb):
    namespace = {"np": np}
    exec(cell(nb, "affine-def").source, namespace)  # noqa: S102  (the course's own notebook)
    rng = np.random.default_rng(4)
    x, W, b, dout = (rng.standard_normal((4, 3)), rng.standard_normal((3, 2)),
                     rng.standard_normal(2), rng.standard_normal((4, 2)))
    reference = Affine(W, b)
    np.testing.assert_allclose(namespace["affine_forward"](x, W, b), reference.forward(x))
    dx, dW, db = namespace["affine_backward"](dout, x, W)
    np.testing.assert_allclose(dx, reference.backward(dout))
    np.testing.assert_allclose(dW, reference.dW)
    np.testing.assert_allclose(db, reference.db)
    assert output(nb, "affine-check").count("-> OK") == 3


def test_flawed_affine_fails_on_rectangular_and_square_shapes(nb):
    rng = np.random.default_rng(2)
    x, W, dout = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), np.ones((4, 2))
    with pytest.raises(ValueError, match=r"shapes \(4,2\) and \(3,2\) not aligned"):
        np.dot(dout, W)
    with pytest.raises(ValueError, match=r"shapes \(4,3\) and \(4,2\) not aligned"):
        np.dot(x, dout)
    printed = output(nb, "flawed-affine")
    assert "line A, ValueError: shapes (4,2) and (3,2) not aligned" in printed
    assert "line B, ValueError: shapes (4,3) and (4,2) not aligned" in printed
    assert "fixed: dx (4, 3)  dW (3, 2)" in printed
    square = output(nb, "flawed-square")
    assert "blog    dx: relative error 1.0e+00 -> WRONG" in square
    assert "blog    dW: relative error 1.0e+00 -> WRONG" in square
    assert square.count("-> OK") == 2


def test_an_all_ones_dout_misses_only_the_wrong_axis_sum(nb):
    # the claim, recomputed: with N = M and dout = ones, the wrong-axis db passes, a missing
    # transpose does not; with a random dout both fail
    rng = np.random.default_rng(3)
    x, W, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    layer = Affine(W, b)
    ones = np.ones((3, 3))

    def vjp(f, array, dout):
        return numerical_gradient(lambda a: np.sum(f(a) * dout), array)

    assert rel_error(vjp(lambda b_: Affine(W, b_).forward(x), b, ones), ones.sum(axis=1)) < 1e-8
    assert rel_error(vjp(layer.forward, x, ones), ones @ W) > 0.1
    dout = rng.standard_normal((3, 3))
    assert rel_error(vjp(lambda b_: Affine(W, b_).forward(x), b, dout), dout.sum(axis=1)) > 0.1
    verdicts = re.findall(r"(dout = ones|random dout)  (.+?): relative error \S+ -> (\w+)",
                          output(nb, "ones-vs-random"))
    assert verdicts == [
        ("dout = ones", "db = dout.sum(axis=0)", "OK"), ("dout = ones", "db = dout.sum(axis=1)", "OK"),
        ("dout = ones", "dx = dout @ W (no .T)", "WRONG"),
        ("random dout", "db = dout.sum(axis=0)", "OK"),
        ("random dout", "db = dout.sum(axis=1)", "WRONG"),
        ("random dout", "dx = dout @ W (no .T)", "WRONG")]
    assert "some transpose mistakes cancel" not in prose(nb)


def reference_network():
    """The 2-2-2 network through the reference layers, forward and backward."""
    i, o, W1, b1, W2, b2 = seed_network_arrays()
    fc1, act1, fc2, act2 = Affine(W1, b1), Sigmoid(), Affine(W2, b2), Sigmoid()
    mse = MSELoss()
    h_in = fc1.forward(i)
    h_out = act1.forward(h_in)
    o_in = fc2.forward(h_out)
    o_out = act2.forward(o_in)
    loss = mse.forward(o_out, o)
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
    return numbers, loss, h_out, delta_o, fc2


def test_network_inputs_as_stated(nb):
    i, o, W1, b1, W2, b2 = seed_network_arrays()
    text = prose(nb)
    assert i.tolist() == [[0.1, 0.2]] and r"$\mathbf i = [0.1, 0.2]$" in text
    assert o.tolist() == [[0.01, 0.99]] and r"$\mathbf o = [0.01, 0.99]$" in text
    weights = [W1[0, 0], W1[1, 0], W1[0, 1], W1[1, 1], W2[0, 0], W2[1, 0], W2[0, 1], W2[1, 1]]
    assert weights == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    assert [*b1, *b2] == [0.55, 0.56, 0.66, 0.67] and "biases $[0.55, 0.56, 0.66, 0.67]$" in text
    source = cell(nb, "network-forward").source
    for array in ("np.array([[0.1, 0.3], [0.2, 0.4]])", "np.array([0.55, 0.56])",
                  "np.array([[0.5, 0.7], [0.6, 0.8]])", "np.array([0.66, 0.67])"):
        assert array in source
    assert any("image/png" in out.get("data", {}) for out in cell(nb, "network-figure").outputs)


def test_network_reproduces_every_number_of_the_post(nb):
    numbers, loss, *_ = reference_network()
    printed = output(nb, "network-table")
    exact = 0
    for name, stated in SEED_NETWORK_NUMBERS.items():
        assert abs(numbers[name] - stated) <= 1e-12 * abs(stated), name
        row = re.search(rf"^{name} +(\S+) +(\S+) +True +(True|False)$", printed, re.MULTILINE)
        assert row and float(row.group(1)) == stated, name
        assert float(row.group(2)) == pytest.approx(numbers[name], rel=1e-14), name
        exact += row.group(3) == "True"
    assert "14 of 14 agree to 12 significant digits" in printed
    assert f"{exact} of 14 in every digit" in printed and exact < 14  # not "to the last digit"
    assert f"loss {round(loss, 6)}" in output(nb, "network-forward")


def test_bp2_formula_for_h1_and_the_posts_wrong_one(nb):
    _, _, h_out, delta_o, _ = reference_network()
    _, _, _, _, W2, _ = seed_network_arrays()
    w5, w6, w7 = W2[0, 0], W2[1, 0], W2[0, 1]
    a1, (d1, d2) = h_out[0, 0], delta_o[0]
    correct = (w5 * d1 + w7 * d2) * a1 * (1 - a1)
    posts = (w5 * d1 + w6 * d1) * a1 * (1 - a1)
    assert correct == pytest.approx(SEED_NETWORK_NUMBERS["h1_err"], rel=1e-12)
    assert posts != pytest.approx(correct, rel=0.1)
    printed = output(nb, "network-bp2-check")
    assert f"= {correct:.6g}" in printed and f"= {posts:.6g}" in printed


def test_bp4_outer_product_and_its_transpose(nb):
    _, _, h_out, delta_o, fc2 = reference_network()
    assert np.allclose(np.outer(delta_o[0], h_out[0]), fc2.dW.T)
    assert not np.allclose(np.outer(h_out[0], delta_o[0]), fc2.dW.T)
    printed = output(nb, "network-bp4-check")
    assert "equals dW2.T: True" in printed and "equals it: False" in printed


def test_one_sgd_step_lowers_the_loss(nb):
    i, o, W1, b1, W2, b2 = seed_network_arrays()
    model = Sequential(Affine(W1, b1), Sigmoid(), Affine(W2, b2), Sigmoid())
    mse = MSELoss()
    before = mse.forward(model.forward(i), o)
    model.backward(mse.backward())
    sgd_step(model, lr=0.5)
    after = mse.forward(model.forward(i), o)
    assert after < before
    assert f"loss before {before:.6f}, after one step {after:.6f}" in output(nb, "network-step")


def test_batch_gradient_is_the_sum_over_examples(nb):
    assert output(nb, "batch-vs-loop").count(": True") == 2


def test_softmax_cross_entropy_is_the_reference_and_stable(nb):
    namespace = {"np": np}
    exec(cell(nb, "softmax-def").source, namespace)  # noqa: S102
    rng = np.random.default_rng(5)
    scores, labels = rng.standard_normal((5, 4)) * 3, np.array([0, 3, 1, 1, 2])
    reference = SoftmaxCrossEntropy()
    loss, dscores = namespace["softmax_cross_entropy"](scores, labels)
    assert loss == pytest.approx(reference.forward(scores, labels), rel=1e-12)
    np.testing.assert_allclose(dscores, reference.backward(), rtol=1e-12)
    big_loss = reference.forward(np.array([[0.0, 1000.0]]), np.array([0]))
    assert big_loss == 1000.0
    printed = output(nb, "softmax-naive")
    assert "probabilities, then log: loss = inf" in printed
    assert "log-sum-exp:             loss = 1000.0" in printed
    assert "-> OK" in output(nb, "softmax-check")
    assert "log-sum-exp" in prose(nb) and "p[np.arange(N), y]" not in prose(nb)


def test_training_loop_reaches_what_it_says(nb):
    # the same run with the reference layers
    X, y = make_spirals(n_per_class=100, n_classes=3, seed=0)
    init = np.random.default_rng(1)
    fc1 = Affine(init.standard_normal((2, 100)) * np.sqrt(2 / 2), np.zeros(100))
    fc2 = Affine(init.standard_normal((100, 3)) * np.sqrt(2 / 100), np.zeros(3))
    model, ce, losses = Sequential(fc1, ReLU(), fc2), SoftmaxCrossEntropy(), []
    for _ in range(1000):
        losses.append(ce.forward(model.forward(X), y))
        model.backward(ce.backward())
        sgd_step(model, lr=1.0)
    accuracy = np.mean(model.forward(X).argmax(axis=1) == y)
    printed = output(nb, "training-loop")
    assert (f"loss: start {losses[0]:.4f}, after 100 steps {losses[100]:.4f}, "
            f"after 1000 {losses[-1]:.4f}") in printed
    assert f"training accuracy {accuracy:.1%}" in printed and accuracy > 0.9
    assert any("image/png" in out.get("data", {}) for out in cell(nb, "training-plot").outputs)


def test_whole_network_checks_and_where_a_bug_shows(nb):
    assert output(nb, "net-def").count("-> OK") == 6
    printed = output(nb, "net-check-bug")
    blog, dx_only = printed.split("only dx wrong in layer 1:")
    pattern = r"(layer \d d[Wb]): relative error \S+ -> (\w+)"
    assert dict(re.findall(pattern, blog)) == {
        "layer 0 dW": "WRONG", "layer 0 db": "WRONG", "layer 1 dW": "WRONG",
        "layer 1 db": "OK", "layer 2 dW": "OK", "layer 2 db": "OK"}
    assert dict(re.findall(pattern, dx_only)) == {
        "layer 0 dW": "WRONG", "layer 0 db": "WRONG", "layer 1 dW": "OK",
        "layer 1 db": "OK", "layer 2 dW": "OK", "layer 2 db": "OK"}
    assert "the first failure points at the culprit" not in prose(nb)
    assert "does not point at the culprit" in prose(nb)


def test_gradient_check_practice(nb):
    assert "relative error 0.18: a false alarm" in output(nb, "kink")
    float64, float32 = re.findall(r"relative error (\S+)", output(nb, "float32"))
    assert float(float64) < 1e-9 and float(float32) > 1e-5
    assert output(nb, "few-coordinates").count("-> OK") == 5
    for rule in ("above\n  $10^{-2}$", "Kinks", "float64", "A few coordinates"):
        assert rule.replace("\n  ", " ") in prose(nb), rule


def test_forward_pass_counts_are_2p(nb):
    printed = output(nb, "count-forwards")
    for h in [2, 4, 8, 16, 32, 64]:
        P = (10 * h + h) + (h * h + h) + (h * 3 + 3)
        row = rf"^ +{h} +{P} +{2 * P} forwards +1 forward \+ 1 backward$"
        assert re.search(row, printed, re.MULTILINE), h
