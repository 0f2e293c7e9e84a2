"""The hidden checks of a3_computation_graph, run in-process on the notebook's model answers.

Fast (no nbgrader, no kernel): the setup cells and the model answers of the source notebook are
executed into a namespace, as a student's kernel would, and the checks are called on it.
"""

import re

import nbformat
import numpy as np
import pytest
from conftest import source_path
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import reference as ref
from grader.checks import a3_computation_graph as hidden
from grader.checks.common import Mistake
from grader.simulate import grade_id, model_answer

AID = "a3_computation_graph"
NOTEBOOK = nbformat.read(source_path(AID), as_version=4)

# grade_id -> how the notebook's hidden test cell calls the check, given the namespace
CHECKS = {
    "value": lambda ns: hidden.check_value(ns["Value"]),
    "topological_order": lambda ns: hidden.check_topological_order(ns["topological_order"],
                                                                    ns["Value"]),
    "backward": lambda ns: hidden.check_backward(ns["Value"], ns["backward"],
                                                 ns["topological_order"]),
    "seed_graph": lambda ns: hidden.check_seed_graph(ns["seed_graph"], ns["Value"], ns["backward"],
                                                     ns["topological_order"]),
}
# a feedback sentence must not show numbers computed by the reference (inputs show 3 digits)
NUMBER = re.compile(r"\d+\.\d+")


def shows_a_computed_number(text):
    return any(len(n.replace(".", "").lstrip("0")) > 4 for n in NUMBER.findall(text))


def solution_cells():
    return {grade_id(c): model_answer(c) for c in NOTEBOOK.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def namespace(replace=None):
    """Run the read-only code cells and the (possibly replaced) answers in notebook order."""
    replace = replace or {}
    ns = {}
    for cell in NOTEBOOK.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue  # explanations and test cells
        gid = grade_id(cell)
        source = model_answer(cell) if meta.get("solution") else cell.source
        exec(compile(replace.get(gid, source), gid, "exec"), ns)  # noqa: S102
    return ns


def expect_feedback(run, *words):
    with pytest.raises(Mistake) as info:
        run()
    text = str(info.value)
    for word in words:
        assert word.lower() in text.lower(), text
    assert not shows_a_computed_number(text), f"the feedback shows a computed number: {text}"
    return text


def test_the_notebook_calls_each_check_from_the_test_cell_of_its_entity():
    sources = {grade_id(c): c.source for c in NOTEBOOK.cells}
    assert set(solution_cells()) == set(CHECKS)
    for gid in CHECKS:
        assert f"hidden.check_{gid}(" in sources[f"test_{gid}"]


def test_the_points_add_up_to_100():
    points = [c.metadata["nbgrader"].get("points", 0) for c in NOTEBOOK.cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    assert sum(points) == 100


@pytest.mark.parametrize("gid", list(CHECKS))
def test_every_check_passes_on_the_model_answers(gid):
    CHECKS[gid](namespace())


def test_every_check_passes_on_the_reference():
    ns = {"Value": ref.Value, "topological_order": ref.topological_order,
          "backward": ref.Value.backward, "seed_graph": ref.seed_graph}
    for check in CHECKS.values():
        check(ns)


def test_the_alternative_solutions_pass_together():
    assert set(hidden.ALTERNATIVE_SOLUTIONS) == set(CHECKS), "one alternative for every entity"
    ns = namespace(hidden.ALTERNATIVE_SOLUTIONS)
    for check in CHECKS.values():
        check(ns)


def test_there_are_at_least_two_more_sets_each_written_unlike_the_model_and_the_alternative():
    assert len(hidden.MORE_ALTERNATIVE_SOLUTIONS) >= 2
    answers = solution_cells()
    for alternatives in hidden.MORE_ALTERNATIVE_SOLUTIONS:
        for gid, text in alternatives.items():
            assert text.split() != answers[gid].split(), f"{gid} is the model answer"
            assert text.split() != hidden.ALTERNATIVE_SOLUTIONS.get(gid, "").split(), gid


@pytest.mark.parametrize("k", range(len(hidden.MORE_ALTERNATIVE_SOLUTIONS)),
                         ids=lambda k: f"alt{k + 2}")
def test_each_more_alternative_set_covers_every_cell_and_passes_every_check(k):
    alternatives = hidden.MORE_ALTERNATIVE_SOLUTIONS[k]
    assert set(alternatives) == set(solution_cells()), "a set answers every solution cell"
    ns = namespace(alternatives)
    for check in CHECKS.values():
        check(ns)
    ns = namespace(alternatives)  # the visible tests too, as the student runs them
    for cell in NOTEBOOK.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            exec(compile(cell.source, grade_id(cell), "exec"), ns)  # noqa: S102


@pytest.mark.parametrize("name", list(hidden.KNOWN_MISTAKES))
def test_each_known_mistake_is_caught_and_named(name):
    gid, right, wrong, words = hidden.KNOWN_MISTAKES[name]
    answer = solution_cells()[gid]
    assert answer.count(right) == 1, f"{name}: the model answer should contain {right!r} once"
    ns = namespace({gid: answer.replace(right, wrong)})
    expect_feedback(lambda: CHECKS[gid](ns), words)


@pytest.mark.parametrize("name", list(hidden.KNOWN_MISTAKES))
def test_a_mistake_does_not_cost_points_in_the_checks_that_isolate_it(name):
    gid, right, wrong, _ = hidden.KNOWN_MISTAKES[name]
    ns = namespace({gid: solution_cells()[gid].replace(right, wrong)})
    # check_value uses no other entity; topological_order and backward use reference graphs
    independent = {"value": ["topological_order", "backward"],
                   "topological_order": ["value"],
                   "backward": ["value", "topological_order"],
                   "seed_graph": ["value", "topological_order", "backward"]}[gid]
    for other in independent:
        CHECKS[other](ns)


def test_a_wrong_topological_order_is_named_in_the_backward_and_seed_feedback():
    answer = solution_cells()["topological_order"]
    ns = namespace({"topological_order": answer.replace("return order", "return order[::-1]")})
    expect_feedback(lambda: CHECKS["backward"](ns), "topological_order")
    expect_feedback(lambda: CHECKS["seed_graph"](ns), "fix topological_order first")


def test_a_wrong_value_is_named_in_the_seed_feedback():
    ns = namespace({"value": solution_cells()["value"].replace(
        "self.grad += s * (1.0 - s) * out.grad", "self.grad += s * out.grad")})
    expect_feedback(lambda: CHECKS["seed_graph"](ns), "fix Value first")


def test_an_operation_that_raises_gives_a_sentence():
    ns = namespace({"value": solution_cells()["value"].replace(
        "t = math.tanh(self.data)", "t = math.tanh(self.data[0])")})
    expect_feedback(lambda: CHECKS["value"](ns), "x.tanh()", "raised TypeError")


def test_an_unfinished_operation_says_not_implemented():
    ns = namespace({"value": solution_cells()["value"].replace(
        "        return Value(other) - self", "        raise NotImplementedError()")})
    expect_feedback(lambda: CHECKS["value"](ns), "not implemented", "__rsub__")


def test_a_backward_that_raises_gives_a_sentence():
    ns = namespace({"backward": "def backward(self):\n    raise KeyError('oops')\n\n"
                                "Value.backward = backward\n"})
    expect_feedback(lambda: CHECKS["backward"](ns), "raised KeyError")


def test_a_backward_not_attached_to_value_is_named():
    ns = namespace({"backward": solution_cells()["backward"].replace(
        "Value.backward = backward", "")})
    expect_feedback(lambda: CHECKS["backward"](ns), "Value.backward = backward")


def test_a_topological_order_that_returns_nothing_gives_a_sentence():
    ns = namespace({"topological_order": "def topological_order(root):\n    pass\n"})
    expect_feedback(lambda: CHECKS["topological_order"](ns), "should return a list")


def test_numbers_left_out_of_prev_are_named():
    ns = namespace({"value": solution_cells()["value"].replace(
        'out = Value(self.data * other.data, (self, other), "*")',
        'out = Value(self.data * other.data, (self, other.data), "*")')})
    expect_feedback(lambda: CHECKS["value"](ns), "_prev must contain Value nodes")


def test_seed_graph_from_the_closed_form_is_refused():
    ns = namespace({"seed_graph": "def seed_graph(w, b, x, y):\n"
                                  "    return seed_graph_closed_form(w, b, x, y)\n"})
    expect_feedback(lambda: CHECKS["seed_graph"](ns), "build the graph from Value")


def test_seed_graph_returning_values_is_named():
    ns = namespace({"seed_graph": solution_cells()["seed_graph"].replace(
        "return u9.data, w.grad, b.grad", "return u9, w.grad, b.grad")})
    expect_feedback(lambda: CHECKS["seed_graph"](ns), "not Value objects")


def test_the_checks_leave_the_students_class_as_it_was():
    ns = namespace()
    init, backward = ns["Value"].__init__, ns["Value"].backward
    for check in CHECKS.values():
        check(ns)
    assert ns["Value"].__init__ is init and ns["Value"].backward is backward


def test_a_value_with_one_wrong_operation_earns_the_other_operations_share():
    from grader.checks.common import PartialCredit

    ns = namespace({"value": solution_cells()["value"].replace(
        "other.grad += self.data * out.grad", "other.grad = self.data * out.grad")})
    with pytest.raises(PartialCredit) as info:
        CHECKS["value"](ns)
    parts = len({case.method for case in hidden._value_cases(np.random.default_rng(0))})
    # __mul__ fails; an operation built on it may too, depending on the order a set of inputs
    # is visited in (the sandbox fixes that order, so a re-grade gives the same share)
    assert info.value.fraction in ((parts - 1) / parts, (parts - 2) / parts)
    failing = str(info.value).split("; ", 1)[1].split(" not.")[0]
    assert "__mul__" in failing and "accumulate" in str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_topological_positions_put_every_reachable_node_after_its_inputs(data):
    """The order the check pushes gradients in (worked out from graph_state's input positions,
    the root at 0): each node reachable from the root once, after all of its inputs."""
    n = data.draw(st.integers(1, 30))
    inputs = [sorted(data.draw(st.sets(st.integers(k + 1, n - 1), max_size=3))) if k < n - 1
              else [] for k in range(n)]
    order = hidden._topological_positions(inputs)
    reachable, stack = {0}, [0]
    while stack:
        for i in inputs[stack.pop()]:
            if i not in reachable:
                reachable.add(i)
                stack.append(i)
    assert sorted(order) == sorted(reachable)
    position = {k: p for p, k in enumerate(order)}
    assert all(position[i] < position[k] for k in order for i in inputs[k])
    assert order[-1] == 0


@pytest.mark.parametrize("what, build", hidden._GRAPHS, ids=[w for w, _ in hidden._GRAPHS])
def test_a_standin_graph_knows_the_state_graph_state_reports(what, build):
    """The topological-order check compares graph_state after the student's call with the state
    the graph was built in, worked out in the grader: it must be what graph_state reports."""
    from grader import standins

    root, _named, nodes = hidden._standin_graph(None, build)
    assert nodes.state == standins.graph_state(tuple(nodes))
    assert nodes[-1] is root
