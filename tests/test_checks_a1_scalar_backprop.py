"""The hidden checks of a1_scalar_backprop, run in-process on the source notebook (no nbgrader).

They pass on the model answers and on every alternative answer; every known mistake (the
false passes a class of students found included) makes its own cell's check raise a Mistake
that names it, and only that cell's: the other checks still pass.
"""

import re

import nbformat
import pytest
from conftest import source_path

from grader.checks import a1_scalar_backprop as hidden
from grader.checks.common import Mistake
from grader.simulate import grade_id, model_answer

AID = "a1_scalar_backprop"
NOTEBOOK = nbformat.read(source_path(AID), as_version=4)
CELLS = {grade_id(c): c for c in NOTEBOOK.cells}
SETUP = CELLS["setup"].source
ANSWERS = {gid: model_answer(c) for gid, c in CELLS.items()
           if c.cell_type == "code" and c.metadata["nbgrader"]["solution"]}
TEST_CELLS = [gid for gid, c in CELLS.items() if c.metadata["nbgrader"].get("grade")
              and c.cell_type == "code"]
LONG_NUMBER = re.compile(r"\d\.\d{5,}")  # a number with many decimals: a leaked value


def hidden_block(test_id):
    source = CELLS[test_id].source
    return source[source.index("### BEGIN HIDDEN TESTS"):source.index("### END HIDDEN TESTS")]


def namespace(answers=None, extra=()):
    answers = dict(ANSWERS, **(answers or {}))
    ns = {}
    exec(SETUP, ns)  # noqa: S102  (the course's own notebook cells)
    for gid in ANSWERS:
        exec(answers[gid], ns)  # noqa: S102
    for source in extra:
        exec(source, ns)  # noqa: S102
    return ns


def failing_cells(ns):
    """{test cell: its Mistake's sentence} for the cells whose hidden check fails."""
    failed = {}
    for test_id in TEST_CELLS:
        try:
            exec(hidden_block(test_id), ns)  # noqa: S102
        except Mistake as mistake:
            failed[test_id] = str(mistake)
    return failed


def test_checks_pass_on_the_model_answers_and_on_the_alternatives():
    assert failing_cells(namespace()) == {}
    assert failing_cells(namespace(extra=hidden.ALTERNATIVE_SOLUTIONS.values())) == {}


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
    assert failing_cells(namespace(alternatives)) == {}
    ns = namespace(alternatives)  # the visible tests too, as the student runs them
    for test_id in TEST_CELLS:
        exec(CELLS[test_id].source, ns)  # noqa: S102  (the course's own notebook cells)


@pytest.mark.parametrize("name", list(hidden.KNOWN_MISTAKES))
def test_each_known_mistake_costs_its_own_cell_only_and_is_named(name):
    gid, right, wrong, words = hidden.KNOWN_MISTAKES[name]
    assert right in ANSWERS[gid], f"{name}: {right!r} is not in the model answer of {gid}"
    failed = failing_cells(namespace({gid: ANSWERS[gid].replace(right, wrong)}))
    assert set(failed) == {f"test_{gid}"}, failed
    message = failed[f"test_{gid}"]
    assert words.lower() in message.lower(), message
    assert not LONG_NUMBER.search(message), f"feedback shows a reference value: {message}"


MAX_GATE_AT_TIES = {  # what a MaxGate's backward does at a tie -> words of the feedback
    "(dout / 2, dout / 2)": "not split in half",
    "(dout, dout)": "not to both",
    "(0.0, dout)": "not to y",
}


@pytest.mark.parametrize("at_tie", list(MAX_GATE_AT_TIES))
def test_max_gate_ties_are_named_truthfully(at_tie):
    gate = ("class MaxGate:\n"
            "    def forward(self, x, y):\n"
            "        self.x, self.y = x, y\n"
            "        return max(x, y)\n\n"
            "    def backward(self, dout):\n"
            f"        if self.x == self.y:\n            return {at_tie}\n"
            "        return (dout, 0.0) if self.x > self.y else (0.0, dout)\n")
    failed = failing_cells(namespace({"max_gate": gate}))
    assert set(failed) == {"test_max_gate"}, failed
    assert MAX_GATE_AT_TIES[at_tie] in failed["test_max_gate"]


def test_a_class_level_cache_is_named_for_unary_gates_too():
    gate = ("class SigmoidGate:\n"
            "    def forward(self, x):\n"
            "        SigmoidGate.out = 1.0 / (1.0 + math.exp(-x))\n"
            "        return SigmoidGate.out\n\n"
            "    def backward(self, dout):\n"
            "        return SigmoidGate.out * (1.0 - SigmoidGate.out) * dout\n")
    failed = failing_cells(namespace({"sigmoid_gate": gate}))
    assert set(failed) == {"test_sigmoid_gate"}, failed
    assert "in each other's way" in failed["test_sigmoid_gate"]


def test_a_finite_difference_backward_loses_its_cell_and_says_why():
    gate = ("class SigmoidGate:\n"
            "    def forward(self, x):\n"
            "        self.x = x\n"
            "        return 1.0 / (1.0 + math.exp(-x))\n\n"
            "    def backward(self, dout):\n"
            "        h = 1e-5\n"
            "        f = lambda v: 1.0 / (1.0 + math.exp(-v))\n"
            "        return (f(self.x + h) - f(self.x - h)) / (2 * h) * dout\n")
    failed = failing_cells(namespace({"sigmoid_gate": gate}))
    assert set(failed) == {"test_sigmoid_gate"}, failed
    assert "finite-difference" in failed["test_sigmoid_gate"]
