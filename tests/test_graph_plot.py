"""course.graph_plot.draw_graph: every node is drawn once, labelled with its data and grad, and
every edge is an arrow pointing forwards (input left of the node computed from it)."""

import ast
import inspect
import math

import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lecture_text import seed_graph_nodes
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from course import graph_plot
from course.graph_plot import draw_graph, node_label
from grader.reference import Value, topological_order


@pytest.fixture(autouse=True)
def headless():
    plt.switch_backend("Agg")  # no display needed
    yield
    plt.close("all")


def node_boxes(fig):
    """The node labels drawn on the figure's axes (arrows are Annotations with empty text)."""
    return [t for t in fig.axes[0].texts if not isinstance(t, Annotation)]


def arrows(fig):
    return [t for t in fig.axes[0].texts if isinstance(t, Annotation)]


def parse_label(text):
    """(title, data, grad) from a label "title\\ndata = D\\ngrad = G"."""
    title, data_line, grad_line = text.split("\n")
    assert data_line.startswith("data = ") and grad_line.startswith("grad = "), text
    return title, float(data_line[len("data = "):]), float(grad_line[len("grad = "):])


def edges(root):
    return [(p, node) for node in topological_order(root) for p in node._prev]


def assert_drawn_correctly(root, names):
    """Every node once with its data and grad (4 significant digits), arrows pointing forwards."""
    fig = draw_graph(root, names=names)
    assert isinstance(fig, Figure)
    nodes = topological_order(root)
    boxes = node_boxes(fig)
    assert len(boxes) == len(nodes)
    by_title = {}
    for box in boxes:
        title, data, grad = parse_label(box.get_text())
        by_title[title.split(" ")[0]] = (box.get_position(), data, grad)
    assert len(by_title) == len(nodes), "every node must have its own box"
    for node in nodes:
        (_, _), data, grad = by_title[names[node]]
        assert math.isclose(data, node.data, rel_tol=1e-3, abs_tol=1e-12)
        assert math.isclose(grad, node.grad, rel_tol=1e-3, abs_tol=1e-12)
    for source, target in edges(root):
        assert by_title[names[source]][0][0] < by_title[names[target]][0][0]
    assert len(arrows(fig)) == len(edges(root))
    return fig


def test_seed_graph_every_node_labelled_with_its_data_and_grad():
    n = seed_graph_nodes()
    fig = draw_graph(n["u9"], names={node: name for name, node in n.items()})
    labels = [parse_label(box.get_text()) for box in node_boxes(fig)]
    assert len(labels) == len(topological_order(n["u9"])) == 17  # 13 named + 4 made by the engine
    shown = {title: (data, grad) for title, data, grad in labels}
    assert shown["w"] == (0.5, pytest.approx(0.3611, abs=1e-4))
    assert shown["b"] == (-0.3, pytest.approx(-0.09257, abs=1e-5))
    assert shown["u9 (+)"] == (pytest.approx(0.2008, abs=1e-4), 1.0)
    assert shown["u3 (sigmoid)"][0] == pytest.approx(0.6106, abs=1e-4)
    # The constants the engine adds (0.5 twice, -1) are drawn as unnamed leaves.
    assert sorted(data for title, data, _ in labels if title == "leaf") == [-1.0, 0.5, 0.5]


def test_seed_graph_with_every_node_named():
    n = seed_graph_nodes()
    names = {node: f"n{k}" for k, node in enumerate(topological_order(n["u9"]))}
    assert_drawn_correctly(n["u9"], names)


def test_label_format():
    node = Value(2.0) * Value(-3.0)
    node.grad = 0.123456
    assert node_label(node) == "(*)\ndata = -6\ngrad = 0.1235"
    assert node_label(node, "q") == "q (*)\ndata = -6\ngrad = 0.1235"
    assert node_label(Value(1.5)) == "leaf\ndata = 1.5\ngrad = 0"


def test_a_node_used_twice_is_drawn_once():
    a = Value(3.0)
    square = a * a
    square.backward()
    fig = draw_graph(square, names={a: "a", square: "square"})
    assert sorted(box.get_text() for box in node_boxes(fig)) == [
        "a\ndata = 3\ngrad = 6", "square (*)\ndata = 9\ngrad = 1"]


def test_a_single_leaf():
    fig = draw_graph(Value(4.0))
    assert [box.get_text() for box in node_boxes(fig)] == ["leaf\ndata = 4\ngrad = 0"]
    fig.canvas.draw()


def test_draws_into_a_given_axes():
    fig, ax = plt.subplots()
    n = seed_graph_nodes()
    assert draw_graph(n["u9"], ax=ax) is fig
    assert len(node_boxes(fig)) == 17


def test_a_chain_longer_than_the_recursion_limit():
    node = Value(0.0)
    for _ in range(1100):
        node = node + 1.0
    fig = draw_graph(node)
    assert len(node_boxes(fig)) == 2 * 1100 + 1  # each + adds a constant leaf and a node


def test_uses_matplotlib_only():
    tree = ast.parse(inspect.getsource(graph_plot))
    imported = {alias.name for stmt in ast.walk(tree) if isinstance(stmt, ast.Import)
                for alias in stmt.names}
    # (the course's own modules aside: its labels are translated by course.i18n)
    imported |= {stmt.module for stmt in ast.walk(tree)
                 if isinstance(stmt, ast.ImportFrom) and stmt.level == 0}
    assert imported == {"matplotlib.pyplot"}


OPS = {  # each takes two nodes; the unary ones ignore the second
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sub": lambda a, b: a - b,
    "sigmoid": lambda a, b: a.sigmoid(),
    "tanh": lambda a, b: a.tanh(),
    "square": lambda a, b: a**2,
}


@st.composite
def expressions(draw):
    """A random expression over a few leaves, reusing earlier nodes (so nodes share inputs)."""
    nodes = [Value(draw(st.floats(-2, 2))) for _ in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(0, 12))):
        op = OPS[draw(st.sampled_from(sorted(OPS)))]
        nodes.append(op(draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes))))
    return nodes[-1]


@settings(max_examples=40, deadline=None)
@given(expressions())
def test_random_graphs_every_node_labelled_and_arrows_forward(root):
    root.backward()
    names = {node: f"n{k}" for k, node in enumerate(topological_order(root))}
    fig = assert_drawn_correctly(root, names)
    fig.canvas.draw()  # the arrows anchored to the boxes resolve at draw time
    plt.close(fig)
