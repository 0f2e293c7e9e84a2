"""Small matplotlib helpers for the lectures: circuit diagrams in the CS231n style.

A circuit is drawn once; its texts are returned so a caller (a lecture cell or a widget) can
write new forward values (green, above a node) and gradients (red, below it) with set_text.
"""

from matplotlib.patches import Circle

VALUE_COLOR = "tab:green"
GRAD_COLOR = "tab:red"


def draw_circuit(ax, positions, edges, labels=None, radius=0.28):
    """Draw nodes at positions {name: (x, y)} and an arrow for each edge (src, dst).

    labels maps a node to the text written inside its circle (default: its name).
    Returns {name: (value_text, grad_text)}, empty texts to fill with fill_circuit.
    """
    labels = labels or {}
    for src, dst in edges:
        (x0, y0), (x1, y1) = positions[src], positions[dst]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.4", "shrinkA": 18, "shrinkB": 18})
    texts = {}
    for name, (x, y) in positions.items():
        ax.add_patch(Circle((x, y), radius, facecolor="white", edgecolor="0.2", zorder=2))
        label = labels.get(name, name)
        shown_length = len(label.replace("$", "").replace("_", ""))
        ax.text(x, y, label, ha="center", va="center", zorder=3,
                fontsize=10 if shown_length <= 3 else 8)  # longer labels must fit the circle
        value_text = ax.text(x, y + radius + 0.08, "", ha="center", va="bottom",
                             color=VALUE_COLOR, fontsize=9)
        grad_text = ax.text(x, y - radius - 0.08, "", ha="center", va="top",
                            color=GRAD_COLOR, fontsize=9)
        texts[name] = (value_text, grad_text)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    return texts


def fill_circuit(texts, values, grads, fmt="{:.3g}"):
    """Write values[name] above and grads[name] below every node that has them."""
    for name, (value_text, grad_text) in texts.items():
        value_text.set_text(fmt.format(values[name]) if name in values else "")
        grad_text.set_text(fmt.format(grads[name]) if name in grads else "")
