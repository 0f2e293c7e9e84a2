"""Lecture 4 teaches with its own inline code; every number it shows is recomputed here with the
grading reference (grader.reference) and must appear in the stored outputs (which nbval compares
with a fresh run) and match the text. Helpers the lecture defines (its Standardize layer, its
network builders) are taken from the notebook itself and checked against the reference."""

import math
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

from course.gradcheck import numerical_vjp
from course.widgets import make_deep_mlp, vanishing_state
from grader.reference import (
    ResidualBlock,
    chain_backward,
    chain_forward,
    clip_grad_norm,
    he_init,
    layer_grad_norms,
    sigmoid,
    xavier_init,
)

NOTEBOOK = (Path(__file__).resolve().parent.parent / "lectures"
            / "04_vanishing_exploding_gradients.ipynb")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
SCALES = (0.5, 1.0, np.sqrt(2), 2.0, 3.0)


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def printed(nb):
    return printed_text(nb)


@pytest.fixture(scope="module")
def prose(nb):
    return markdown_text(nb)


@pytest.fixture(scope="module")
def lecture(nb):
    """The lecture's own helpers, by running the cells that define them (and the imports)."""
    namespace = {}
    wanted = ("import ", "activations = ", "ACTIVATION = ", "def mlp_gradients", "class Standardize", "INITS = ",
              "def block_input_grad_norms", "def chain_values")
    for cell in nb.cells:
        if cell.cell_type == "code" and any(cell.source.startswith(w) or f"\n{w}" in cell.source
                                            for w in wanted):
            exec(cell.source, namespace)  # noqa: S102  (the course's own notebook)
    return namespace


def order(value):
    return round(math.log10(abs(value)))


def test_notebook_is_executed_nbformat_4_5_with_ids(nb):
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    assert all(cell.get("id") for cell in nb.cells)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]


def test_no_absolute_paths_and_seeded_randomness(nb):
    source = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert not re.search(r"['\"](/|[A-Za-z]:\\)", source)
    assert "default_rng()" not in source and "np.random.rand" not in source
    # the assignment's functions stay the student's: no function with a4's names or contract
    for name in ("ResidualBlock", "layer_grad_norms", "clip_grad_norm", "xavier_init", "he_init"):
        assert not re.search(rf"^(class|def) {name}\b", source, re.MULTILINE), name


def test_runs_in_a_students_copy_and_speaks_to_students(nb):
    assert_imports_only_the_course_package(nb)
    assert_speaks_to_students(nb)
    assert_self_checks(nb)


def test_gradient_is_the_product_of_the_layer_factors(printed):
    rng = np.random.default_rng(0)
    w, b, x = rng.uniform(-2, 2, 10), rng.uniform(-1, 1, 10), 0.5
    h = [x] + [chain_forward(x, w[:k], b[:k])[0] for k in range(1, 11)]
    product = np.prod([h[t] * (1 - h[t]) * w[t - 1] for t in range(1, 11)])
    dx = chain_backward(1.0, chain_forward(x, w, b)[1])[2]
    assert product == pytest.approx(dx, rel=1e-12)
    assert f"prod_t sigma'(z_t) w_t = {product:.6e}" in printed
    assert f"backward loop's df/dx  = {dx:.6e}" in printed


def test_sigmoid_factor_numbers(printed, prose):
    for z, shown in ((0.0, "0.2500"), (2.0, "0.1050"), (5.0, "0.0066")):
        assert f"{sigmoid(z) * (1 - sigmoid(z)):.4f}" == shown
        assert f"sigma'({z}) = {shown}" in printed
    assert sigmoid(2.0) * (1 - sigmoid(2.0)) > 0.1 and "above 0.1 for all" in prose
    assert f"(1/4)^10 = {0.25**10:.2e}" in printed
    for c in (0.5, 1.0, 2.0, 4.0, 8.0):
        _, cache = chain_forward(0.5, [c] * 10, [0.0] * 10)
        dx = chain_backward(1.0, cache)[2]
        assert f"w_t = {c}, b_t = 0: df/dx = {dx:.2e}" in printed
        assert abs(dx) < 1e-5  # with zero biases the sigmoid chain does not explode
    assert "multiplies** the gradient by a factor of at most $|w_t|/4$" in prose
    assert "divides the gradient by 4" not in prose


def test_a_sigmoid_chain_can_explode_when_biases_keep_z_at_zero(printed, prose):
    # w = 6, biases chosen so that every pre-activation is 0: each factor is 6/4 = 1.5
    _, cache = chain_forward(0.5, [6.0] * 10, [-3.0] * 10)
    dx = chain_backward(1.0, cache)[2]
    assert dx == pytest.approx(1.5**10, rel=1e-12)
    assert f"df/dx = {dx:.2f};  1.5 ** 10 = {1.5**10:.2f}" in printed
    assert "pre-activations: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]" in printed
    assert r"$1.5^{10} \approx 58$" in prose and "Rarely" not in prose


@pytest.fixture(scope="module")
def norms():
    return {(act, s): layer_grad_norms(*make_deep_mlp(20, s), act)
            for act in ACTIVATIONS for s in SCALES}


def test_per_layer_norm_table(printed, norms):
    for (act, s), n in norms.items():
        line = (f"{act:8} scale {s:.2f}:  |dW_1| = {n[0]:8.2e}   |dW_20| = {n[-1]:8.2e}   "
                f"first/last = {n[0] / n[-1]:8.2e}")
        assert line in printed


def test_what_the_prose_says_about_the_table(prose, norms):
    ratio = {key: n[0] / n[-1] for key, n in norms.items()}
    assert order(ratio["sigmoid", 1.0]) == -13 and order(ratio["sigmoid", 3.0]) == -7
    assert all(ratio["sigmoid", s] < 1e-6 for s in SCALES)
    assert 0.5 < ratio["tanh", 1.0] < 2 and 0.5 < ratio["tanh", np.sqrt(2)] < 2
    assert order(norms["tanh", 0.5][0]) == -11 and order(norms["tanh", 0.5][-1]) == -11
    assert round(ratio["tanh", 3.0], -2) == 500
    assert {f"{ratio['relu', s]:.2f}" for s in SCALES} == {"0.75"}
    assert f"{norms['relu', 0.5][0]:.0e}" == "2e-17" and f"{norms['relu', 3.0][0]:.0e}" == "5e+13"
    for claim in (r"about $10^{-13}$", r"about $10^{-7}$", r"$\sim 10^{-11}$", "about 500",
                  "same 0.75", r"$2 \times 10^{-17}$ (scale 0.5) to $5 \times 10^{13}$ (scale 3)",
                  "about $10^{-13}$ over"):
        assert claim in prose


def test_relu_homogeneity(printed, norms):
    factor = norms["relu", 2.0] / norms["relu", 1.0]
    np.testing.assert_allclose(factor, 2.0**39, rtol=1e-9)
    assert "2 ** 39 = 5.497558e+11" in printed


def test_exploding_with_depth(printed):
    previous = (0, 0)
    for d in (5, 10, 20, 30):
        tanh_norms = layer_grad_norms(*make_deep_mlp(d, 3.0), "tanh")
        relu_norms = layer_grad_norms(*make_deep_mlp(d, 2.0), "relu")
        now = (tanh_norms[0] / tanh_norms[-1], relu_norms[0])
        assert f"first/last = {now[0]:8.2e}" in printed and f"|dW_1| = {now[1]:8.2e}" in printed
        assert now > previous
        previous = now


def test_standardize_layer_is_correct(lecture):
    layer = lecture["Standardize"]()
    rng = np.random.default_rng(5)
    for _ in range(3):
        z = rng.standard_normal((12, 3)) * 2 - 1
        out = layer.forward(z)
        np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(out.var(axis=0), 1, atol=1e-5)
        dout = rng.standard_normal(z.shape)
        numeric = numerical_vjp(layer.forward, z, dout)
        layer.forward(z)
        np.testing.assert_allclose(layer.backward(dout), numeric, atol=1e-8)


def test_lecture_network_is_layer_grad_norms(lecture):
    x, weights = make_deep_mlp(6, 1.3, width=8, n=10, seed=3)
    # the network the explorer measures is the reference's too
    for act in ACTIVATIONS:
        np.testing.assert_allclose(vanishing_state(6, 1.3, act, width=8, n=10, seed=3)["norms"],
                                   layer_grad_norms(x, weights, act), rtol=1e-12)
    for act in ACTIVATIONS:
        grads = lecture["mlp_gradients"](x, weights, act)
        np.testing.assert_allclose(lecture["frobenius_norms"](grads),
                                   layer_grad_norms(x, weights, act), rtol=1e-12)


def test_the_lectures_initialisations_are_the_references(lecture):
    for name, reference in (("Xavier", xavier_init), ("He", he_init)):
        np.testing.assert_array_equal(lecture["INITS"][name](32, 16, np.random.default_rng(7)),
                                      reference(32, 16, np.random.default_rng(7)))


def init_network(init, depth=20, width=32, n=64, seed=0):
    """The lecture's init_mlp, with the reference initialisers."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, width))
    return x, [init(width, width, rng) for _ in range(depth)]


INITS = {"N(0, 0.01^2)": lambda n_in, n_out, rng: 0.01 * rng.standard_normal((n_in, n_out)),
         "N(0, 1)": lambda n_in, n_out, rng: rng.standard_normal((n_in, n_out)),
         "Xavier": xavier_init, "He": he_init}


def test_ruling_out_bad_initialisations(printed, prose):
    found = {}
    for act in ("tanh", "relu"):
        for name, init in INITS.items():
            n = layer_grad_norms(*init_network(init), act)
            found[act, name] = n
            assert f"{act:5} {name:13} |dW_1| = {n[0]:8.2e}   |dW_20| = {n[-1]:8.2e}" in printed
    assert order(found["tanh", "N(0, 0.01^2)"][0]) == -48
    assert order(found["relu", "N(0, 0.01^2)"][0]) == -54
    assert f"{found['tanh', 'N(0, 1)'][0]:.1e}" == "3.9e+04"
    assert f"{found['tanh', 'N(0, 1)'][-1]:.1f}" == "0.5"
    assert order(found["relu", "N(0, 1)"][0]) == 24
    assert order(found["relu", "Xavier"][0]) == -5
    assert f"{found['relu', 'He'][0]:.1f}" == "8.9" and f"{found['relu', 'He'][-1]:.1f}" == "11.8"
    for claim in (r"$10^{-48}$", r"$10^{-54}$", r"$3.9 \times 10^{4}$", r"$10^{24}$",
                  r"about $10^{-5}$", "(8.9 and 11.8)"):
        assert claim in prose
    sigmoid_xavier = layer_grad_norms(*init_network(xavier_init), "sigmoid")
    relu_he = layer_grad_norms(*init_network(he_init), "relu")
    assert f"first/last = {sigmoid_xavier[0] / sigmoid_xavier[-1]:.2e}" in printed
    assert f"first/last = {relu_he[0] / relu_he[-1]:.2e}" in printed


def test_tiny_weights_shrink_the_signal_as_the_variance_argument_says(printed, prose):
    # not "about 100 times per layer": 0.01 * sqrt(32) for tanh, 0.01 * sqrt(16) for ReLU
    x, weights = init_network(INITS["N(0, 0.01^2)"])
    for act, f, predicted, shown in (("tanh", np.tanh, 0.01 * np.sqrt(32), "1/18"),
                                     ("relu", lambda z: np.maximum(z, 0), 0.04, "1/26")):
        sizes, h = [np.sqrt(np.mean(x**2))], x
        for W in weights:
            h = f(h @ W)
            sizes.append(np.sqrt(np.mean(h**2)))
        per_layer = np.exp(np.mean(np.log(np.array(sizes[2:]) / np.array(sizes[1:-1]))))
        assert per_layer == pytest.approx(predicted, rel=0.05)
        assert f"{act}: the signal shrinks by {per_layer:.4f} per layer, {shown}" in printed
    assert "100 times per layer" not in prose
    assert r"$0.01\sqrt{32} \approx 0.057$" in prose and r"$0.01\sqrt{16} = 0.04$" in prose


def test_uniform_xavier_and_symmetry_breaking(printed, prose):
    a = np.sqrt(6 / 64)
    assert a**2 / 3 == pytest.approx(2 / 64)
    assert f"a = {a:.4f}; variance of U(-a, a): 0.03125, a^2/3 = 0.03125" in printed
    assert "constant 0.1:   1 different hidden units" in printed
    assert "random (He) : 100 different hidden units, training accuracy 99.3%" in printed
    assert "**breaks the symmetry**" in prose


def test_batch_norm_backward_on_its_graph(printed, lecture):
    layer = lecture["Standardize"]()
    rng = np.random.default_rng(6)
    z, g = rng.standard_normal((10, 3)) * 2 + 1, rng.standard_normal((10, 3))
    layer.forward(z)
    np.testing.assert_allclose(layer.backward_staged(g), layer.backward(g), rtol=1e-10, atol=1e-12)
    assert "staged vs compact: relative error" in printed


def test_normalisation_numbers(printed, prose, lecture):
    ratios = {}
    for act in ACTIVATIONS:
        for s in (0.5, 1.0, 3.0):
            x, weights = make_deep_mlp(20, s)
            grads = lecture["mlp_gradients"](x, weights, act, normalise=True)
            n = lecture["frobenius_norms"](grads)
            ratios[act, s] = n[0] / n[-1]
            assert f"with normalisation {ratios[act, s]:6.2f}" in printed
    for act in ACTIVATIONS:
        values = [ratios[act, s] for s in (0.5, 1.0, 3.0)]
        assert max(values) / min(values) < 1.01  # indifferent to the weight scale
    assert f"{ratios['sigmoid', 1.0]:.1f}" == "1.9"
    assert round(ratios["tanh", 1.0]) == 8 and round(ratios["relu", 1.0]) == 31
    assert "about 1.9" in prose and "about 8 times" in prose and "about 31 times" in prose


def test_residual_numbers(printed, prose, lecture):
    profiles = {(r, s): lecture["block_input_grad_norms"](20, r, s)
                for r in (False, True) for s in (0.1, 1.0)}
    ratio = {key: n[0] / n[-1] for key, n in profiles.items()}
    assert order(ratio[False, 0.1]) == -19 and "about 19 orders" in prose
    assert f"{ratio[True, 0.1]:.1f}" == "1.3" and "about 1.3" in prose
    assert f"{ratio[False, 1.0]:.1f}" == "1.7" and "first/last 1.7" in prose
    assert round(ratio[True, 1.0], -2) == 1500 and "about 1500" in prose
    for n in profiles.values():
        assert f"first block {n[0]:8.2e}   last block {n[-1]:8.2e}" in printed


def test_residual_block_passes_the_gradient_through_the_identity():
    # with a zero branch the block is the identity, and so is its backward
    rng = np.random.default_rng(2)
    block = ResidualBlock(rng.standard_normal((4, 4)), np.zeros(4), np.zeros((4, 4)), np.zeros(4))
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_array_equal(block.forward(x), x)
    np.testing.assert_array_equal(block.backward(dout), dout)


def test_clipping_numbers(printed, prose, lecture):
    x, weights = make_deep_mlp(20, 3.0)
    grads = lecture["mlp_gradients"](x, weights, "tanh")
    np.testing.assert_allclose(lecture["frobenius_norms"](grads),
                               layer_grad_norms(x, weights, "tanh"), rtol=1e-12)
    clipped, total = clip_grad_norm(grads, max_norm=1.0)
    clipped_norm = np.sqrt(sum(np.sum(g**2) for g in clipped))
    weights_norm = np.sqrt(sum(np.sum(W**2) for W in weights))
    assert clipped_norm == pytest.approx(1.0)
    for g, c in zip(grads, clipped):
        np.testing.assert_allclose(c, g / total)  # same direction, every layer the same factor
    assert (f"total gradient norm {total:.1f} -> 1.000000 after clipping; "
            "cosine between them 1.000000") in printed
    assert (f"moves the weights by {0.1 * total:.1f} (clipped: 0.10); "
            f"the weights' own norm is {weights_norm:.1f}") in printed
    assert f"{total:.0f}" == "515" and r"$0.1 \times 515$" in prose
    assert f"{0.1 * total:.0f}" == "52" and "about 52" in prose
    assert 0.5 < 0.1 * total / weights_norm < 1 and "more than half" in prose


def test_weight_decay_numbers(printed):
    x, weights = make_deep_mlp(20, 2.0)
    shrink = 0.99**20
    before = layer_grad_norms(x, weights, "relu")
    after = layer_grad_norms(x, [shrink * W for W in weights], "relu")
    np.testing.assert_allclose(after / before, shrink**39, rtol=1e-9)
    assert f"weights multiplied by {shrink:.4f}" in printed
    assert f"measured factor {after[0] / before[0]:.4e}, predicted {shrink**39:.4e}" in printed


def test_explorer_shows_the_default_setting(printed):
    n = layer_grad_norms(*make_deep_mlp(10, 1.0), "sigmoid")
    assert f"‖∂L/∂W_1‖ = {n[0]:.3g}   ‖∂L/∂W_10‖ = {n[-1]:.3g}" in printed


def test_ends_with_summary_and_the_assignment(nb):
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "Summary" in last.source
    assert "a4_vanishing_gradients" in last.source
