"""Lecture 05 (computation graphs): the notebook's form, and every number it states, recomputed
here with the grading reference (grader.reference) and found in the outputs stored in the
notebook, so the lecture's own engine and the reference cannot drift."""

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
    seed_graph_nodes,
)

from course.gradcheck import numerical_derivative, rel_error
from grader.reference import seed_graph, topological_order

NOTEBOOK = Path(__file__).resolve().parent.parent / "lectures" / "05_computation_graphs.ipynb"
W, B, X, Y = 0.5, -0.3, 1.5, 1.0  # the point the lecture evaluates f at


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


def seed_nodes():
    """The lecture's build_seed_graph: u1..u9 on Value nodes, after backward()."""
    return seed_graph_nodes(W, B, X, Y)


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
    topics = ["elementary steps", "Consumer sets", "topological order", "Local derivatives",
              "grad_table", "autodiff engine", "value and gradient of every node",
              "range of $w$", "Reverse mode and forward mode", "PyTorch", "Summary"]
    assert len(headings) == len(topics)
    for heading, topic in zip(headings, topics):
        assert topic in heading


def test_runs_in_a_students_copy_and_speaks_to_students(nb):
    assert_imports_only_the_course_package(nb)
    assert_speaks_to_students(nb)
    assert_self_checks(nb)


def test_the_engine_is_built_here_with_a_few_operations(nb):
    engine = "\n".join(c.source for c in code_cells(nb) if c.id.startswith("engine-"))
    assert "class Value:" in engine and "Value.__mul__ = mul" in engine
    assert "Value.backward = backward" in engine and "Value.sigmoid = value_sigmoid" in engine
    # a minimal engine: the full one (exp, log, relu, tanh, /) is assignment 3's
    for missing in ("def exp", "def log", "def relu", "def tanh", "__truediv__"):
        assert missing not in engine
    # what the prose quotes of the engine is the engine's own code
    assert "self.grad += other.data * out.grad" in cell(nb, "engine-mul").source
    assert "`-` and `/` their own" in prose(nb)


def test_torch_cells_are_tagged_and_hold_outputs_of_a_real_run(nb):
    torch_cells = [c for c in code_cells(nb) if "torch" in c.source]
    assert [c.id for c in torch_cells] == [
        "torch-import", "torch-seed-graph", "torch-accumulate", "torch-order", "torch-sum",
        "torch-mse", "torch-square-function"]
    for c in torch_cells:
        assert c.metadata.get("tags") == ["requires-torch"], c.id
        assert c.outputs and "not installed" not in output(nb, c.id), c.id
    assert output(nb, "torch-import").startswith("PyTorch 2.")
    printed = output(nb, "torch-seed-graph")
    n = seed_nodes()
    assert (f"PyTorch: df/dw = {n['w'].grad:.6f}, df/db = {n['b'].grad:.6f}") in printed
    assert "AddBackward0 from ['MulBackward0', 'MulBackward0']" in printed
    assert "after two:          tensor([ 4.,  8., 12.])" in output(nb, "torch-accumulate")
    assert "after zero_():      tensor([0., 0., 0.])" in output(nb, "torch-accumulate")
    assert "grad_fn of y: None\nRuntimeError:" in output(nb, "torch-order")
    assert output(nb, "torch-sum").count("tensor([2., 4., 6.])") == 2
    assert output(nb, "torch-mse").count(": True") == 2
    assert "x.grad: tensor([4.])" in output(nb, "torch-square-function")
    source = "\n".join(c.source for c in torch_cells)
    for needed in ("ctx.save_for_backward", "torch.autograd.Function", ".grad.zero_()",
                   ".sum().backward()", "requires_grad", "nn.MSELoss"):
        assert needed in source, needed


def test_draws_the_graph_as_an_image(nb):
    assert "draw_graph(nodes[\"u9\"], names=name_of)" in cell(nb, "draw").source
    assert any("image/png" in out.get("data", {}) for out in cell(nb, "draw").outputs)


def test_ends_with_summary_and_points_to_assignment_a3(nb):
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "## Summary" in last.source
    assert "../assignments/a3_computation_graph/a3_computation_graph.ipynb" in last.source


def test_every_long_decimal_in_the_prose_is_printed_by_a_cell(nb):
    printed = "".join(output(nb, c.id) for c in code_cells(nb))
    for number in re.findall(r"\d+\.\d{3,}", prose(nb)):
        assert number in printed, number


def test_prose_corrects_the_seed_errors(nb):
    text = prose(nb)
    for corrected in [
        r"\frac{\partial f}{\partial u_9}\frac{\partial u_9}{\partial u_5} = 1",  # quoted ...
        r"\frac{\partial f}{\partial u_9}\frac{\partial u_9}{\partial u_8} = 1",  # ... and fixed
        r"\frac{\partial f}{\partial u_8}\frac{\partial u_8}{\partial u_7} = \frac12",
        "is numerical differentiation, not symbolic differentiation",
        "It is **neither**",
        "reverse-mode automatic differentiation",
        "the graph was never recorded",
        "**consumers**", "**inputs**",  # one word for each direction of an edge
    ]:
        assert corrected in text, corrected


# ------------------------------------------------------------------ numbers


def test_forward_values(nb):
    f, _, _ = seed_graph(W, B, X, Y)
    printed = output(nb, "forward-table")
    assert f" u9 =  {f:.6f}" in printed and f"{f:.6f}" == "0.200801"
    assert "w = 0.5$, $b = -0.3$, $x = 1.5$, $y = 1$" in prose(nb)


def test_consumer_sets(nb):
    printed = output(nb, "inputs-and-consumers")
    for line in ["S(w) = {u1, u7}", "S(x) = {u1}", "S(b) = {u2}", "S(y) = {u4}", "S(u6) = {u9}",
                 "S(u8) = {u9}", "S(u9) = {}"]:
        assert line in printed
    assert r"$S(w) = \{u_1, u_7\}$" in prose(nb)


def test_creation_order_is_topological_and_has_13_nodes(nb):
    lines = output(nb, "check-order").splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["True", "True", "False"]
    creation_order = eval(lines[0].rsplit(" ", 1)[0])  # the printed list
    assert creation_order == ["w", "x", "b", "y"] + [f"u{k}" for k in range(1, 10)]
    assert len(creation_order) == 13 and "here $n = 13$" in prose(nb)


def test_grad_table_closed_form_and_central_differences_match_the_reference(nb):
    f, dw, db = seed_graph(W, B, X, Y)
    dw_central = numerical_derivative(lambda w: seed_graph(w, B, X, Y)[0], W)
    assert rel_error(dw, dw_central) < 1e-8
    printed = output(nb, "compare-closed-form")
    for row in ("grad_table", "closed form", "central differences"):
        assert f"{row:20} {dw:10.6f} {db:10.6f}" in printed
    table = output(nb, "grad-table")
    assert f"df/dw   =  {dw:.6f}" in table and f"df/db   = {db:.6f}" in table
    assert f" u9 =  {f:.6f}" in output(nb, "forward-table")


def test_the_corrected_steps_of_the_slides_derivation(nb):
    n = seed_nodes()
    assert (n["u8"].grad, n["u7"].grad, n["u6"].grad, n["u5"].grad) == (1.0, 0.5, 1.0, 0.5)
    assert output(nb, "slides-slip-check") == (
        "df/du8 = 1.0\ndf/du7 = 0.5\ndf/du6 = 1.0\ndf/du5 = 0.5\n")


def test_engine_pieces(nb):
    assert output(nb, "engine-node") == "Value(data=2, grad=0) set() ''\n"
    assert "a.grad = -3.0  c.grad = 2.0" in output(nb, "engine-mul")
    assert "d(a*a)/da = 6.0 = 2a; with = instead of += it would be 3.0" in (
        output(nb, "engine-accumulate"))


def test_engine_graph_has_17_nodes_4_made_by_the_engine(nb):
    n = seed_nodes()
    order = topological_order(n["u9"])
    assert len(order) == 17
    printed = output(nb, "engine-order")
    assert "nodes in the graph: 17" in printed and printed.count("True") == 2
    extra = sorted((node._op, node.data) for node in set(order) - set(n.values()))
    assert extra == [("", -1.0), ("", 0.5), ("", 0.5), ("*", -1.0)]
    assert printed.count("made by the engine") == 4
    assert "17 nodes. Each `0.5`" in prose(nb)


def test_engine_fills_in_the_grad_table(nb):
    n = seed_nodes()
    printed = output(nb, "build-graph")
    for name, node in n.items():
        assert f"{name:>3}: engine {node.grad: .6f}   grad_table {node.grad: .6f}" in printed
    assert f"second backward(): {round(n['w'].grad, 6)}" in output(nb, "engine-backward-twice")


def test_forward_mode_gives_the_same_gradient_one_input_per_pass(nb):
    _, dw, db = seed_graph(W, B, X, Y)
    printed = output(nb, "forward-mode")
    assert f"one pass for w: df/dw = {dw: .6f}   reverse mode: {dw: .6f}" in printed
    assert f"one pass for b: df/db = {db: .6f}   reverse mode: {db: .6f}" in printed


def test_memory_of_cached_activations(nb):
    printed = output(nb, "memory-cost")
    for N, K, D in [(64, 20, 32), (256, 50, 1024), (256, 100, 4096)]:
        assert f"{N * K * D:>12,} cached activations = {N * K * D * 8 / 2**20:9.1f} MiB" in printed


def test_w_collects_two_paths(nb):
    n = seed_nodes()
    two_paths = X * n["u1"].grad + 2 * W * n["u7"].grad
    assert two_paths == pytest.approx(n["w"].grad, rel=1e-14)
    assert (f"{n['u1'].grad:.5f}", f"{two_paths:.4f}") == ("-0.09257", "0.3611")
    assert r"1.5 \times (-0.09257) + 2 \times 0.5 \times 0.5 = 0.3611" in prose(nb)
    assert "= 0.3611 = df/dw 0.3611" in output(nb, "draw-reading-check")


def test_sweep_engine_exact_central_differences_about_1e_10(nb):
    ws = np.linspace(-2.0, 2.0, 41)
    engine = np.array([seed_graph(w, B, X, Y)[1] for w in ws])
    central = np.array([numerical_derivative(lambda v: seed_graph(v, B, X, Y)[0], w) for w in ws])
    assert 1e-11 < rel_error(engine, central) < 1e-9  # "agree only to about 10^{-10}"
    assert r"only to about $10^{-10}$" in prose(nb)
    assert output(nb, "sweep").count("-> OK") == 2
    assert output(nb, "sweep-errors").count(": True") == 2
