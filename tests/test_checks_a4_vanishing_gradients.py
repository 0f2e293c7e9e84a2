"""The hidden checks of a4_vanishing_gradients, run in-process (no nbgrader, no kernel).

The namespace a student's notebook would have is built from the source notebook: its setup cell,
then the model answers of the graded cells (or the alternatives, or a known mistake typed in).
"""

import re

import matplotlib
import nbformat
import pytest
from conftest import source_path

from grader import reference as ref
from grader.checks import a4_vanishing_gradients as checks
from grader.checks.common import Mistake
from grader.simulate import grade_id, model_answer

matplotlib.use("Agg")

AID = "a4_vanishing_gradients"
SOURCE = nbformat.read(source_path(AID), as_version=4)
CELLS = {grade_id(c): c for c in SOURCE.cells if grade_id(c)}

# grade_id of a solution cell -> the checks its test cells run: (check, names of the entities)
CHECKS = {
    "layer_grad_norms": [(checks.check_layer_grad_norms, ["layer_grad_norms"]),
                         (checks.check_layer_grad_norms_unknown_activation, ["layer_grad_norms"])],
    "xavier_init": [(checks.check_xavier_init, ["xavier_init"])],
    "he_init": [(checks.check_he_init, ["he_init"])],
    "residual_block": [(checks.check_residual_block, ["ResidualBlock"])],
    "clip_grad_norm": [(checks.check_clip_grad_norm, ["clip_grad_norm"])],
}
ALL_CHECKS = [(gid, check, names) for gid, pairs in CHECKS.items() for check, names in pairs]


def namespace(answers=None):
    """Setup cell, then every graded solution cell (answers: grade_id -> source to use instead)."""
    answers = answers or {}
    ns = {}
    exec(CELLS["setup"].source, ns)  # noqa: S102  (the course's own notebook)
    for gid in CHECKS:
        exec(answers.get(gid, model_answer(CELLS[gid])), ns)  # noqa: S102
    return ns


def run(check, names, ns):
    check(*(ns[name] for name in names))


def mistake_text(check, names, ns):
    with pytest.raises(Mistake) as info:
        run(check, names, ns)
    return str(info.value)


def assert_no_reference_numbers(text):
    # feedback names the mistake; it never prints arrays or long reference values
    assert not re.search(r"\[\s*-?\d+\.\d", text), text
    assert not re.search(r"\d\.\d{5,}", text), text


@pytest.mark.parametrize(("gid", "check", "names"), ALL_CHECKS,
                         ids=[c.__name__ for _, c, _ in ALL_CHECKS])
def test_every_check_passes_on_the_model_answers(gid, check, names):
    run(check, names, namespace())


@pytest.mark.parametrize(("gid", "check", "names"), ALL_CHECKS,
                         ids=[c.__name__ for _, c, _ in ALL_CHECKS])
def test_every_check_passes_on_the_reference(gid, check, names):
    run(check, names, {name: getattr(ref, name) for name in names})


def test_every_entity_has_an_alternative_and_all_alternatives_pass_together():
    assert set(checks.ALTERNATIVE_SOLUTIONS) == set(CHECKS)
    ns = namespace(checks.ALTERNATIVE_SOLUTIONS)
    for _, check, names in ALL_CHECKS:
        run(check, names, ns)


# every code cell a student completes: the graded functions and the experiments that use them
SOLUTION_CELLS = [gid for gid, c in CELLS.items()
                  if c.cell_type == "code" and c.metadata["nbgrader"].get("solution")]


def test_there_are_at_least_two_more_sets_each_written_unlike_the_model_and_the_alternative():
    assert len(checks.MORE_ALTERNATIVE_SOLUTIONS) >= 2
    for alternatives in checks.MORE_ALTERNATIVE_SOLUTIONS:
        for gid, text in alternatives.items():
            assert text.split() != model_answer(CELLS[gid]).split(), f"{gid} is the model answer"
            assert text.split() != checks.ALTERNATIVE_SOLUTIONS.get(gid, "").split(), gid


@pytest.mark.parametrize("k", range(len(checks.MORE_ALTERNATIVE_SOLUTIONS)),
                         ids=lambda k: f"alt{k + 2}")
def test_each_more_alternative_set_covers_every_cell_and_passes_every_check(k):
    alternatives = checks.MORE_ALTERNATIVE_SOLUTIONS[k]
    assert set(alternatives) == set(SOLUTION_CELLS), "a set answers every solution cell"
    ns = namespace(alternatives)
    for _, check, names in ALL_CHECKS:
        run(check, names, ns)
    # the whole notebook in order, as the student runs it: the experiments use the set's
    # functions, and the visible tests pass
    ns = {}
    for cell in SOURCE.cells:
        meta = cell.metadata["nbgrader"]
        if cell.cell_type == "code":
            source = alternatives[meta["grade_id"]] if meta.get("solution") else cell.source
            exec(compile(source, meta["grade_id"], "exec"), ns)  # noqa: S102
    ns["plt"].close("all")


@pytest.mark.parametrize("name", sorted(checks.KNOWN_MISTAKES))
def test_each_known_mistake_is_caught_and_named(name):
    gid, right, wrong, words = checks.KNOWN_MISTAKES[name]
    answer = model_answer(CELLS[gid])
    assert right in answer, f"{name}: the model answer no longer contains {right!r}"
    ns = namespace({gid: answer.replace(right, wrong)})
    check, names = CHECKS[gid][0]  # the entity's main test cell, the one that loses its points
    text = mistake_text(check, names, ns)
    assert words in text, text
    assert_no_reference_numbers(text)


def _with(gid, right, wrong):
    answer = model_answer(CELLS[gid])
    assert right in answer
    return namespace({gid: answer.replace(right, wrong)})


# Mistakes not in the pipeline catalogue (each costs a full autograding run there): checked here.
MORE_MISTAKES = [
    ("layer_grad_norms", "norms.append(np.linalg.norm(hs[k - 1].T @ dz))",
     "norms.append(np.linalg.norm(hs[k - 1].T @ dz, 2))", "Frobenius"),
    ("layer_grad_norms", "norms.append(np.linalg.norm(hs[k - 1].T @ dz))",
     "norms.append(np.linalg.norm(dz))", "pre-activation"),
    ("layer_grad_norms", "dz = dh * h * (1.0 - h)", "dz = dh", "local derivative is missing"),
    ("layer_grad_norms", "dz = dh * h * (1.0 - h)",
     "dz = dh * (1 / (1 + np.exp(-h))) * (1 - 1 / (1 + np.exp(-h)))", "applied twice"),
    ("layer_grad_norms", "return np.array(norms[::-1])", "return norms[::-1]", "numpy array"),
    ("xavier_init", "np.sqrt(2.0 / (fan_in + fan_out))", "(2.0 / (fan_in + fan_out))",
     "square root is missing"),
    ("xavier_init", "np.sqrt(2.0 / (fan_in + fan_out))", "np.sqrt(2.0 / fan_in)", "He's scale"),
    ("xavier_init", "rng.standard_normal((fan_in, fan_out))",
     "np.random.default_rng(0).standard_normal((fan_in, fan_out))", "the rng you are given"),
    ("he_init", "rng.standard_normal((fan_in, fan_out))",
     "rng.standard_normal((fan_out, fan_in)).T", "directly"),
    ("he_init", "np.sqrt(2.0 / fan_in)", "np.sqrt(1.0 / fan_in)", "ReLU"),
    ("clip_grad_norm", "total_norm = np.sqrt(sum(np.sum(g * g) for g in grads))",
     "total_norm = sum(np.linalg.norm(g) for g in grads)", "not the sum of the arrays' norms"),
    ("clip_grad_norm", "scale = max_norm / total_norm\n", "scale = total_norm / max_norm\n",
     "not total_norm / max_norm"),
    ("clip_grad_norm", "clipped = [g * scale for g in grads]",
     "clipped = grads if scale == 1.0 else [g * scale for g in grads]", "returned the list"),
    ("clip_grad_norm", "return clipped, float(total_norm)", "return clipped",
     "(clipped, total_norm)"),
    ("residual_block", "dz1 = da1 * (self.z1 > 0)", "dz1 = da1 * (da1 > 0)", "upstream gradient"),
    ("residual_block", "dz1 = da1 * (self.z1 > 0)", "dz1 = da1", "ReLU's local gradient"),
    ("residual_block", "self.dW2 = self.a1.T @ dout", "self.dW2 = self.z1.T @ dout",
     "ReLU's output"),
    ("residual_block", "self.dW1 = self.x.T @ dz1", "self.dW1 = dz1.T @ self.x", "transpose"),
    ("residual_block", "return dout + dz1 @ self.W1.T", "return dout", "only the skip path"),
    ("residual_block", "return x + self.a1 @ self.W2 + self.b2",
     "return self.a1 @ self.W2 + self.b2",
     "skip connection is missing"),
    ("residual_block", "self.db1 = dz1.sum(axis=0)", "self.db1 = dz1.sum(axis=0) / len(dz1)",
     "averaged"),
]


@pytest.mark.parametrize(("gid", "right", "wrong", "words"), MORE_MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(MORE_MISTAKES)])
def test_more_mistakes_are_named(gid, right, wrong, words):
    check, names = CHECKS[gid][0]
    text = mistake_text(check, names, _with(gid, right, wrong))
    assert words in text, text
    assert_no_reference_numbers(text)


def test_gradients_accumulated_across_backward_calls_are_named():
    block_source = model_answer(CELLS["residual_block"])
    accumulating = block_source.replace(
        "self.W1, self.b1, self.W2, self.b2 = W1, b1, W2, b2",
        "self.W1, self.b1, self.W2, self.b2 = W1, b1, W2, b2\n"
        "        self.dW1 = self.db1 = self.dW2 = self.db2 = 0.0",
    ).replace("self.dW2 = self.a1.T @ dout", "self.dW2 = self.dW2 + self.a1.T @ dout")
    text = mistake_text(checks.check_residual_block, ["ResidualBlock"],
                        namespace({"residual_block": accumulating}))
    assert "accumulating" in text, text


def test_a_bias_gradient_not_summed_over_the_batch_is_a_shape_message():
    ns = _with("residual_block", "self.db2 = dout.sum(axis=0)", "self.db2 = dout")
    assert "sum its gradient over the rows" in mistake_text(
        checks.check_residual_block, ["ResidualBlock"], ns)


@pytest.mark.parametrize(("wrong", "words"), [
    ("raise KeyError(activation)", "raised KeyError"),
    ("return np.zeros(len(weights))", "returned a result"),
    ('raise ValueError("bad activation")', "which activations are allowed"),
])
def test_an_unknown_activation_needs_a_value_error_that_names_the_allowed_ones(wrong, words):
    right = ('raise ValueError(f"activation must be \'sigmoid\', \'tanh\' or \'relu\', '
             'not {activation!r}.")')
    ns = _with("layer_grad_norms", right, wrong)
    text = mistake_text(checks.check_layer_grad_norms_unknown_activation, ["layer_grad_norms"], ns)
    assert words in text, text


def test_student_code_that_raises_becomes_a_sentence():
    class Broken(ref.ResidualBlock):
        def backward(self, dout):
            raise RuntimeError("oops")

    text = mistake_text(checks.check_residual_block, ["ResidualBlock"], {"ResidualBlock": Broken})
    assert "raised RuntimeError: oops" in text

    def not_done(*args):
        raise NotImplementedError()

    for check in (checks.check_layer_grad_norms, checks.check_layer_grad_norms_unknown_activation,
                  checks.check_clip_grad_norm, checks.check_xavier_init, checks.check_he_init):
        with pytest.raises(Mistake, match="not implemented yet"):
            check(not_done)


def test_a_shape_error_inside_student_code_is_reported_not_raised():
    ns = _with("layer_grad_norms", "dh = dz @ weights[k - 1].T", "dh = dz @ weights[k - 1]")
    text = mistake_text(checks.check_layer_grad_norms, ["layer_grad_norms"], ns)
    assert "raised ValueError" in text


def test_points_sum_to_100_and_written_answers_are_graded_by_hand():
    graded = [c for c in SOURCE.cells if c.metadata["nbgrader"].get("grade")]
    assert sum(c.metadata["nbgrader"]["points"] for c in graded) == 100
    written = [c for c in graded if c.cell_type == "markdown"]
    assert len(written) == 3
    for cell in written:
        meta = cell.metadata["nbgrader"]
        assert meta["solution"] and not meta["locked"] and not meta.get("task")
        # nbgrader only accepts a mark scheme in task cells; inside the solution region it is
        # replaced with "YOUR ANSWER HERE" together with the model answer
        begin, end = cell.source.index("### BEGIN SOLUTION"), cell.source.index("### END SOLUTION")
        assert begin < cell.source.index("=== BEGIN MARK SCHEME ===") < end
        assert begin < cell.source.index("=== END MARK SCHEME ===") < end
