"""How long a lecture explorer takes from a slider change to its new picture (target < 50 ms),
against the naive way measured in the same run: an ipywidgets.interact-style function that
builds a new figure and renders it on every change.

    .venv/bin/python benchmarks/widget_update.py [--updates 100]

"update" sets the slider's value, which runs the explorer's own handler: new numbers, the
existing artists moved, the kept background restored and only the animated artists drawn on
it (blitting), the canvas encoded to the PNG the page shows. "re-plot" computes
the same numbers and draws everything again in a new pyplot figure, rendered as the inline
backend renders a figure shown by interact (PNG, tight bounding box).
"""

import argparse
import io
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from course.plotting import draw_circuit, fill_circuit
from course.widgets import (
    chain_explorer,
    chain_state,
    sigmoid,
    sigmoid_explorer,
    sigmoid_state,
    vanishing_gradient_explorer,
    vanishing_state,
)

TARGET_MS = 50
W, B = (2.0, -1.5, 3.0), (0.5, 1.0, -1.0)  # the chain explorer's start in lecture 2


def show_inline(fig):
    """What the inline backend does with a figure shown by interact: a tight PNG, then close."""
    fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
    plt.close(fig)


def replot_sigmoid(z):
    state = sigmoid_state(z)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    grid = np.linspace(-8, 8, 321)
    s = sigmoid(grid)
    ax.plot(grid, s, label=r"$\sigma(z)$")
    ax.plot(grid, s * (1 - s), label=r"$\sigma'(z)$")
    ax.axhline(0.25, color="0.6", linestyle=":")
    slope, intercept = state["tangent"]
    t = np.array([z - 2.5, z + 2.5])
    ax.plot(t, slope * t + intercept, "--", label="tangent at z")
    ax.plot([z], [state["sigma"]], "o")
    ax.plot([z], [state["dsigma"]], "o", markerfacecolor="white")
    ax.set_title(f"z = {z:.2f}: σ(z) = {state['sigma']:.4f}, σ'(z) = {state['dsigma']:.4f}")
    ax.legend(loc="upper left", fontsize=9)
    show_inline(fig)


def replot_chain(x):
    state = chain_state(x, W, B)
    positions, edges, values, grads = {"x": (0.0, 0.0)}, [], {"x": x}, {"x": state["dx"]}
    previous = "x"
    for k in range(1, len(W) + 1):
        zx, hx = (2 * k - 1) * 1.6, 2 * k * 1.6
        positions.update({f"z{k}": (zx, 0.0), f"h{k}": (hx, 0.0),
                          f"w{k}": (zx - 1.2, 1.5), f"b{k}": (zx + 1.2, 1.5)})
        edges += [(previous, f"z{k}"), (f"w{k}", f"z{k}"), (f"b{k}", f"z{k}"), (f"z{k}", f"h{k}")]
        values.update({f"z{k}": state["z"][k - 1], f"h{k}": state["h"][k],
                       f"w{k}": W[k - 1], f"b{k}": B[k - 1]})
        grads.update({f"z{k}": state["dz"][k - 1], f"h{k}": state["dh"][k],
                      f"w{k}": state["dw"][k - 1], f"b{k}": state["db"][k - 1]})
        previous = f"h{k}"
    fig, ax = plt.subplots(figsize=(1.1 + 1.45 * 2 * len(W), 3.4))
    fill_circuit(draw_circuit(ax, positions, edges), values, grads)
    fig.suptitle(f"f = y = {state['y']:.4f}")
    show_inline(fig)


def replot_vanishing(depth):
    state = vanishing_state(depth, 1.0, "sigmoid")
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    ax.semilogy(state["layers"], state["norms"], "o-")
    ax.set_xlabel("layer k")
    ax.set_title(f"sigmoid, depth {depth}: first/last = {state['first_over_last']:.3g}")
    show_inline(fig)


def slider_values(low, high, step, count):
    """COUNT values sweeping the slider's range back and forth, each different from the one
    before (an unchanged value would not fire the slider's handler)."""
    grid = np.round(np.arange(low, high + step / 2, step), 6)
    sweep = np.concatenate([grid, grid[-2:0:-1]])
    return [float(v) for v in np.resize(sweep, count)]


def milliseconds(action, values):
    action(values[0])  # warm-up: fonts, caches
    times = []
    for value in values[1:]:
        start = time.perf_counter()
        action(value)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 95))


def cases():
    """(explorer, control, its slider, values to set, the re-plot-everything function)."""
    sigmoid_widget = sigmoid_explorer(z=1.0)
    chain_widget = chain_explorer(x=1.0, w=W, b=B)
    vanishing_widget = vanishing_gradient_explorer(depth=10)
    return [
        ("sigmoid (lecture 1)", "z", sigmoid_widget.slider, (-8, 8, 0.1), replot_sigmoid),
        ("chain (lecture 2)", "x", chain_widget.x_slider, (-3, 3, 0.1), replot_chain),
        ("vanishing (lecture 4)", "depth", vanishing_widget.depth_slider, (2, 40, 1),
         lambda depth: replot_vanishing(int(depth))),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100, help="slider changes per widget")
    args = parser.parse_args()
    print(f"{args.updates} slider changes per widget; milliseconds per change, median / p95\n")
    print(f"{'widget':24}{'control':>8}{'update':>16}{'re-plot':>16}{'speed-up':>10}"
          f"{'< ' + str(TARGET_MS) + ' ms':>9}")
    for name, control, slider, (low, high, step), replot in cases():
        values = slider_values(low, high, step, args.updates + 1)

        def set_slider(value, slider=slider):
            slider.value = value
        update = milliseconds(set_slider, values)
        naive = milliseconds(replot, values)
        verdict = "yes" if update[1] < TARGET_MS else ("median" if update[0] < TARGET_MS else "no")
        print(f"{name:24}{control:>8}{update[0]:9.1f} /{update[1]:5.1f}"
              f"{naive[0]:9.1f} /{naive[1]:5.1f}{naive[0] / update[0]:9.1f}x{verdict:>9}")


if __name__ == "__main__":
    main()
