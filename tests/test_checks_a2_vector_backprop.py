"""The hidden checks of a2_vector_backprop, run in-process on the source notebook (no nbgrader).

They pass on the model answers, on grader.reference and on every alternative answer; every
known mistake makes its cell's check raise a Mistake that names it without printing reference
values; errors in student code become sentences.
"""

import re

import matplotlib
import nbformat
import pytest
from conftest import source_path

from grader import reference as ref
from grader.checks import a2_vector_backprop as hidden
from grader.checks.common import Mistake
from grader.simulate import grade_id, model_answer

matplotlib.use("Agg")  # the training cell draws a figure

AID = "a2_vector_backprop"
NOTEBOOK = nbformat.read(source_path(AID), as_version=4)
CELLS = {grade_id(c): c for c in NOTEBOOK.cells}
SETUP = CELLS["setup"].source
ANSWERS = {gid: model_answer(c) for gid, c in CELLS.items()
           if c.cell_type == "code" and c.metadata["nbgrader"]["solution"]}
TEST_CELLS = [gid for gid, c in CELLS.items() if c.metadata["nbgrader"].get("grade")]
ENTITIES = ["numerical_jacobian", "Affine", "ReLU", "Sigmoid", "Tanh", "SoftmaxCrossEntropy",
            "MSELoss", "Sequential", "sgd_step"]
# a number with many decimals in feedback would be a leaked reference value
LONG_NUMBER = re.compile(r"\d\.\d{5,}")


def run(source, ns):
    exec(source, ns)  # noqa: S102  (the course's own notebook cells)


def hidden_block(test_id):
    source = CELLS[test_id].source
    return source[source.index("### BEGIN HIDDEN TESTS"):source.index("### END HIDDEN TESTS")]


def namespace(answers=None, extra=()):
    """The notebook's namespace: the setup cell, then the answers in notebook order."""
    answers = dict(ANSWERS, **(answers or {}))
    ns = {}
    run(SETUP, ns)
    for gid in ANSWERS:
        run(answers[gid], ns)
    for source in extra:
        run(source, ns)
    return ns


def mistake_message(test_id, ns):
    with pytest.raises(Mistake) as info:
        run(hidden_block(test_id), ns)
    message = str(info.value)
    assert not LONG_NUMBER.search(message), f"feedback shows a reference value: {message}"
    return message


@pytest.fixture(scope="module")
def model_namespace():
    return namespace()


def test_the_points_add_up_to_100():
    assert sum(CELLS[gid].metadata["nbgrader"]["points"] for gid in TEST_CELLS) == 100


@pytest.mark.parametrize("test_id", TEST_CELLS)
def test_checks_pass_on_the_model_answers(model_namespace, test_id):
    run(hidden_block(test_id), model_namespace)


@pytest.mark.parametrize("test_id", TEST_CELLS)
def test_checks_pass_on_the_reference(test_id):
    ns = {}
    run(SETUP, ns)
    ns.update({name: getattr(ref, name) for name in ENTITIES})
    run(hidden_block(test_id), ns)


def test_every_solution_cell_has_an_alternative():
    assert set(hidden.ALTERNATIVE_SOLUTIONS) == set(ANSWERS)


def test_whole_test_cells_pass_on_model_answers_and_on_all_alternatives_together():
    for ns in (namespace(), namespace(extra=hidden.ALTERNATIVE_SOLUTIONS.values())):
        for test_id in TEST_CELLS:
            run(CELLS[test_id].source, ns)


def test_there_are_at_least_two_more_sets_each_written_unlike_the_model_and_the_alternative():
    assert len(hidden.MORE_ALTERNATIVE_SOLUTIONS) >= 2
    for alternatives in hidden.MORE_ALTERNATIVE_SOLUTIONS:
        for gid, text in alternatives.items():
            assert text.split() != ANSWERS[gid].split(), f"{gid} is the model answer"
            assert text.split() != hidden.ALTERNATIVE_SOLUTIONS.get(gid, "").split(), gid


@pytest.mark.parametrize("k", range(len(hidden.MORE_ALTERNATIVE_SOLUTIONS)),
                         ids=lambda k: f"alt{k + 2}")
def test_each_more_alternative_set_covers_every_cell_and_passes_every_check(k):
    alternatives = hidden.MORE_ALTERNATIVE_SOLUTIONS[k]
    assert set(alternatives) == set(ANSWERS), "a set answers every solution cell"
    ns = namespace(alternatives)
    for test_id in TEST_CELLS:  # every hidden check first, then the visible tests
        run(hidden_block(test_id), ns)
    ns = namespace(alternatives)
    for test_id in TEST_CELLS:
        run(CELLS[test_id].source, ns)


def test_every_known_mistake_matches_the_model_answer():
    for name, (gid, right, _wrong, _words) in hidden.KNOWN_MISTAKES.items():
        assert right in ANSWERS[gid], f"{name}: {right!r} is not in the model answer of {gid}"


@pytest.mark.parametrize("name", list(hidden.KNOWN_MISTAKES))
def test_each_known_mistake_is_caught_and_named(name):
    gid, right, wrong, words = hidden.KNOWN_MISTAKES[name]
    ns = namespace({gid: ANSWERS[gid].replace(right, wrong)})
    message = mistake_message(f"test_{gid}", ns)
    assert words.lower() in message.lower(), message


# More mistakes the checks name (kept out of KNOWN_MISTAKES to keep the pipeline test short):
# (grade_id, text of the model answer, text typed instead, words of the feedback)
MORE_MISTAKES = [
    ("numerical_jacobian", "(y_plus - y_minus) / (2 * h)", "(y_plus - y_minus) / 2 * h",
     "(2 * h)"),
    ("numerical_jacobian", "def numerical_jacobian(f, x, h=1e-5):",
     "def numerical_jacobian(f, x, h=1e-5):\n    h = 1e-4", "ignored"),
    ("numerical_jacobian", "return jac", "return jac.reshape(np.shape(f(x)) + x.shape)",
     "2-D"),
    ("affine", "self.dW = self.x.T @ dout", "self.dW = self.x.T @ dout / len(dout)", "averaged"),
    ("affine", "return x @ self.W + self.b", "return x @ self.W", "bias"),
    ("affine", "return x @ self.W + self.b", "return self.W @ x + self.b", "x @ W + b"),
    ("relu", "return np.where(self.mask, dout, 0.0)", "return np.where(self.mask, 0.0, dout)",
     "inverted"),
    ("tanh", "return dout * (1.0 - self.out**2)", "return dout * (1.0 - self.out)", "square"),
    ("tanh", "self.out = np.tanh(x)\n        return self.out",
     "self.x = x\n        self.out = np.tanh(x)\n        return self.out", None),
    ("softmax_cross_entropy", "return dscores * dout / N", "return dscores * dout", "1/N"),
    ("softmax_cross_entropy", "return dscores * dout / N", "return dscores / N", "dout was ignored"),
    ("softmax_cross_entropy", "dscores[np.arange(N), self.y] -= 1.0", "pass", "-1 at the true"),
    ("mse_loss", "return dout * self.diff / N", "return dout * self.diff / N / N", "twice"),
    ("mse_loss", "return dout * self.diff / N", "return dout * self.diff / N * 2", "1/2"),
    ("sequential", "x = layer.forward(x)", "layer.forward(x)", "x = layer.forward(x)"),
    ("sgd_step", "layer.W -= lr * layer.dW", "layer.W -= layer.dW", "learning rate"),
    ("sgd_step", "layer.W -= lr * layer.dW", "W = layer.W\n            W = W - lr * layer.dW",
     "did not change"),
]


@pytest.mark.parametrize(("gid", "right", "wrong", "words"), MORE_MISTAKES)
def test_more_mistakes_are_named(gid, right, wrong, words):
    assert right in ANSWERS[gid]
    ns = namespace({gid: ANSWERS[gid].replace(right, wrong)})
    if words is None:  # a harmless rewrite: the check must still pass
        run(hidden_block(f"test_{gid}"), ns)
        return
    message = mistake_message(f"test_{gid}", ns)
    assert words.lower() in message.lower(), message


def test_a_tanh_derivative_taken_at_the_input_is_named():
    wrong = """
class Tanh:
    def forward(self, x):
        self.x = x
        return np.tanh(x)

    def backward(self, dout):
        return dout * (1.0 - self.x**2)
"""
    assert "at the input" in mistake_message("test_tanh", namespace({"tanh": wrong}))


def test_a_backward_that_raises_becomes_a_sentence():
    wrong = """
class Sigmoid:
    def forward(self, x):
        return 1.0 / (1.0 + np.exp(-x))

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)
"""
    message = mistake_message("test_sigmoid", namespace({"sigmoid": wrong}))
    assert "raised AttributeError" in message and "Sigmoid" in message


def test_an_unanswered_cell_says_not_implemented():
    stub = "def sgd_step(model, lr):\n    raise NotImplementedError()"
    assert "not implemented yet" in mistake_message("test_sgd_step", namespace({"sgd_step": stub}))


def test_a_student_jacobian_of_the_wrong_type_is_named():
    wrong = "def numerical_jacobian(f, x, h=1e-5):\n    return [0.0] * x.size"
    assert "numpy array" in mistake_message("test_numerical_jacobian",
                                            namespace({"numerical_jacobian": wrong}))


def test_a_broken_layer_shows_in_the_seed_network_and_in_training():
    wrong_sigmoid = ANSWERS["sigmoid"].replace("return dout * self.out * (1.0 - self.out)",
                                               "return dout * self.out")
    message = mistake_message("test_seed_network", namespace({"sigmoid": wrong_sigmoid}))
    # the culprit is named, not the symptom it causes downstream
    assert "fix Sigmoid first" in message
    adds = ANSWERS["sgd_step"].replace("-=", "+=")
    message = mistake_message("test_training", namespace({"sgd_step": adds}))
    assert "sgd_step" in message



def test_a_wrong_layer_is_named_in_training_and_sgd_step_is_not_blamed():
    # a missing transpose in Affine used to surface as "sgd_step raised ValueError"
    wrong_affine = ANSWERS["affine"].replace("return dout @ self.W.T", "return dout @ self.W")
    message = mistake_message("test_training", namespace({"affine": wrong_affine}))
    assert "fix Affine first" in message and "sgd_step" not in message
