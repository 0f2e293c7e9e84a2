"""Draw a computation graph of scalar autodiff nodes with matplotlib only (no system graphviz).

A node is anything with ``.data``, ``.grad``, ``._prev`` (the set of its inputs) and ``._op``
(the operation that made it, "" for a leaf), such as the course's ``Value``. Every node is
drawn as a box showing its name or operation, its value and its gradient; an arrow goes from
each input to the node computed from it, so the forward pass reads left to right and the
backward pass right to left.

Layout: nodes are placed in columns by their depth seen from the output: the output is in the
last column and every other node one column left of its leftmost consumer, so a constant such
as the 0.5 in 0.5 * u is drawn next to where it is used.
"""

import matplotlib.pyplot as plt

from .i18n import _

NUMBER_FORMAT = "{:.4g}"  # the labels show 4 significant digits


def node_label(node, name=None):
    """Three lines: the node's name and/or operation ("leaf" if neither), its data and grad."""
    title = " ".join(part for part in (name, f"({node._op})" if node._op else "") if part)
    title = title or _("leaf")
    data = NUMBER_FORMAT.format(node.data)
    grad = NUMBER_FORMAT.format(node.grad)
    return f"{title}\ndata = {data}\ngrad = {grad}"


def _all_nodes(root):
    """Every node reachable from root through ._prev (an explicit stack: no recursion limit)."""
    seen, stack = {root}, [root]
    while stack:
        for node in stack.pop()._prev:
            if node not in seen:
                seen.add(node)
                stack.append(node)
    return seen


def _consumers(nodes):
    """node -> the nodes computed from it (the reverse of ._prev)."""
    consumers = {node: [] for node in nodes}
    for node in nodes:
        for p in node._prev:
            consumers[p].append(node)
    return consumers


def _columns(root, consumers):
    """Column of every node: minus the length of its longest path to root (root in column 0).

    So every node sits one column left of its leftmost consumer ("as late as possible"), and
    every arrow points to the right.
    """
    steps = {root: 0}  # longest path length to root
    stack = list(consumers)
    while stack:  # explicit stack, not recursion: long chains must not hit the recursion limit
        node = stack[-1]
        pending = [c for c in consumers[node] if c not in steps]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        if node not in steps:
            steps[node] = 1 + max(steps[c] for c in consumers[node])
    return {node: -n for node, n in steps.items()}


def _rows(column, consumers, labels):
    """Order the nodes of each column; the row index is the vertical position.

    Columns are filled from the output leftwards and each node goes near the mean row of the
    nodes it feeds, which keeps edges short; labels break ties so the picture is reproducible.
    """
    by_column = {}
    for node, col in column.items():
        by_column.setdefault(col, []).append(node)
    row = {}

    def key(node):
        used_by = [row[c] for c in consumers[node]]  # all in columns further right: placed
        return (sum(used_by) / len(used_by) if used_by else 0.0, labels[node])

    for col in sorted(by_column, reverse=True):
        for i, node in enumerate(sorted(by_column[col], key=key)):
            row[node] = i - (len(by_column[col]) - 1) / 2  # centre each column on 0
    return row


def draw_graph(root, names=None, ax=None):
    """Draw the graph that computes root; returns the matplotlib Figure.

    names: optional dict node -> name (e.g. {w: "w", u1: "u1"}); unnamed nodes show their
    operation. ax: optional Axes to draw into (a new figure is made otherwise).
    """
    names = names or {}
    nodes = _all_nodes(root)
    labels = {node: node_label(node, names.get(node)) for node in nodes}
    consumers = _consumers(nodes)
    column = _columns(root, consumers)
    row = _rows(column, consumers, labels)
    position = {node: (column[node], -row[node]) for node in nodes}  # y grows upwards
    n_columns = max(column.values()) - min(column.values()) + 1
    tallest = max(list(column.values()).count(c) for c in set(column.values()))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * n_columns + 0.5, 1.2 * tallest + 0.6))
    boxes = {}
    for node in sorted(nodes, key=labels.get):
        boxes[node] = ax.text(
            *position[node], labels[node], ha="center", va="center", fontsize=8, zorder=2,
            bbox={"boxstyle": "round", "facecolor": "lightyellow" if node._prev else "lightblue"},
        )
    bottom = {}  # column -> the y of its lowest box
    for x, y in position.values():
        bottom[x] = min(y, bottom.get(x, y))
    lowest = min(bottom.values())
    for node in nodes:
        for p in node._prev:
            lowest = min(lowest, _draw_edge(ax, p, node, position, boxes, bottom))
    xs = [x for x, _ in position.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(lowest - 0.6, max(y for _, y in position.values()) + 0.6)
    ax.axis("off")
    return ax.figure


def _draw_edge(ax, source, target, position, boxes, bottom):
    """An arrow from source's box to target's box; returns the lowest y the edge uses.

    The arrow ends are anchored to the boxes themselves (matplotlib resolves them when it
    draws), so they meet the box edges whatever size the text turns out to be. An edge that
    skips columns is routed below the nodes of the columns it skips instead of through them.
    """
    arrow = {"arrowstyle": "->", "color": "gray"}
    (x0, y0), (x1, y1) = position[source], position[target]
    skipped = [bottom[x] for x in range(x0 + 1, x1) if x in bottom]  # columns in between
    if not skipped:
        ax.annotate("", xy=(0, 0.5), xycoords=boxes[target], xytext=(1, 0.5),
                    textcoords=boxes[source], arrowprops=arrow)
        return min(y0, y1)
    below = min(skipped) - 0.7
    # zorder 1: the first piece starts at the source's centre, hidden under its box (zorder 2).
    ax.plot([x0, x0 + 0.5, x1 - 0.5], [y0, below, below], color="gray", lw=1, zorder=1)
    ax.annotate("", xy=(0, 0.5), xycoords=boxes[target], xytext=(x1 - 0.5, below),
                textcoords="data", arrowprops=arrow)
    return below
