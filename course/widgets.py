"""Interactive explorers for the lectures: sliders that drive one matplotlib figure each.

How they draw: an explorer owns one matplotlib Figure (drawn by Agg, no pyplot, no backend
switch) and shows it as a PNG in an ipywidgets.Image. Moving a slider changes the existing
artists (set_data, set_text, relim) and blits: the background (axes, curves, legend, circuit:
everything the sliders do not change) is drawn once and its pixels kept; each change puts them
back, draws only the artists the explorer lists as animated, and encodes the canvas as PNG into
the same Image. The picture has the pixels a full render of the figure would have (a test checks
it), at a fraction of the cost (benchmarks/widget_update.py). Because the picture lives in a
widget model, a notebook saved with its widget state shows the last picture and numbers even
before anything runs.

What they show: every number comes from a plain function of this module (sigmoid_state,
chain_state, vanishing_state) that tests call without a browser and compare with the course's
grading reference; `explorer.update()` returns it. Each computes a whole picture (the chain's
every node, a whole network's layers), never one of the assignments' functions.
"""

import html
import io

import ipywidgets as widgets
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .activations import sigmoid
from .i18n import _, setup_matplotlib
from .plotting import draw_circuit, fill_circuit

ACTIVATIONS = ("sigmoid", "tanh", "relu")
# Opened without a live kernel, a notebook shows the explorer saved with it, and ipywidgets marks
# every saved widget with a red "disconnected" icon that reads like an error. It is a picture of
# the last run, so the explorer says that instead. The readout carries this style and note: the
# HTML is saved with the widget, so it applies wherever the widget is shown.
SAVED_NOTE_STYLE = (
    "<style>.backprop-explorer.jupyter-widgets-disconnected::before,"
    " .backprop-explorer .jupyter-widgets-disconnected::before {content: none; display: none}"
    " .backprop-saved-note {display: none; font-style: italic; opacity: 0.7}"
    " .jupyter-widgets-disconnected .backprop-saved-note {display: block}</style>")


def saved_note():
    """SAVED_NOTE_STYLE and the note, in the student's language."""
    note = _("The picture and numbers of the last run, saved with the notebook: run the cell to "
             "use the controls.")
    return f'{SAVED_NOTE_STYLE}<div class="backprop-saved-note">{html.escape(note)}</div>'


def figure_png(fig):
    """The figure as PNG bytes, fully rendered; without the 'Software' tag equal figures give
    equal bytes. (The explorers render with Explorer.render instead: same pixels, faster.)"""
    buffer = io.BytesIO()
    # fast zlib level: the PNG is sent once per slider move and thrown away at the next
    fig.savefig(buffer, format="png", metadata={"Software": None},
                pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def canvas_png(canvas):
    """The pixels an Agg canvas holds now, as PNG bytes (RGBA, like savefig writes them)."""
    width, height = canvas.get_width_height(physical=True)
    buffer = io.BytesIO()
    # fast zlib level, as figure_png; PIL directly skips savefig's redraw of the whole figure
    PIL.Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1
                         ).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class Explorer:
    """Controls, one figure shown as an Image, and a readout of the numbers the figure shows.

    A subclass builds its figure and lists in self.animated the artists that change with the
    controls (lines, points, titles, texts); everything else is the background. It defines
    state() (the numbers, from a plain function), draw(state) (moves the animated artists) and
    lines(state) (the readout, one line each). The background is drawn once: whatever draw
    changes must be animated (or draw sets self.background = None to have it drawn again).
    """

    def __init__(self, controls, fig, control_box=None):
        self.controls, self.fig = list(controls), fig
        FigureCanvasAgg(fig)  # the figure's canvas from now on (Agg, no pyplot)
        # Animated artists are left out of a full draw; render() draws them over the background.
        for artist in self.animated:
            artist.set_animated(True)
        self.background = None
        self.image = widgets.Image(format="png")
        self.readout = widgets.HTML()
        self.widget = widgets.VBox([control_box or widgets.VBox(self.controls),
                                    self.image, self.readout])
        self.widget.add_class("backprop-explorer")  # saved_note()'s style applies inside it
        for control in self.controls:
            control.observe(self._on_change, names="value")
        self.update()
        # the layout is worked out once, at the first render; moving artists does not change it
        self.fig.set_layout_engine("none")

    def _on_change(self, change):
        self.update()

    def update(self):
        """Recompute from the controls, move the artists, re-render, refresh the readout."""
        state = self.state()
        self.draw(state)
        lines = self.lines(state)
        self.readout.value = saved_note() + "<br>".join(html.escape(line, quote=False)
                                                      for line in lines)
        self.image.value = self.render()
        self.last_state = state
        return state

    def render(self):
        """The figure as PNG, by blitting: a full draw of a figure costs 30-60 ms (tick labels,
        legend, mathtext), far more than the few artists a slider moves. So the background (all
        but the animated artists) is drawn once and its pixels kept; each render puts those
        pixels back and draws only the animated artists on them, in the order of self.animated.
        That gives the pixels of a full render if the list is in a full render's order (by
        zorder) and also holds the static artists a full render draws over moving ones."""
        canvas = self.fig.canvas
        if self.background is None:
            canvas.draw()  # lays out the figure (the first time), draws all but the animated
            self.background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self.background)
        for artist in self.animated:
            self.fig.draw_artist(artist)
        return canvas_png(canvas)

    def summary(self):
        return "\n".join(self.lines(self.last_state))

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        # The container's own repr would show the PNG bytes; the readout is a better plain view.
        bundle["text/plain"] = self.summary()
        return bundle


# ----------------------------------------------------------------------------- sigmoid

def sigmoid_state(z):
    """What the sigmoid explorer shows at z: sigma(z), sigma'(z) = sigma(1 - sigma), and the
    tangent line t -> slope * t + intercept that touches the curve at (z, sigma(z))."""
    z = float(z)
    s = float(sigmoid(z))
    ds = s * (1.0 - s)
    return {"z": z, "sigma": s, "dsigma": ds, "tangent": (ds, s - ds * z)}


class SigmoidExplorer(Explorer):
    Z_MAX = 8.0

    def __init__(self, z=0.0):
        self.slider = widgets.FloatSlider(value=z, min=-self.Z_MAX, max=self.Z_MAX, step=0.1,
                                          description="z")
        fig = Figure(figsize=(6.4, 3.8), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        grid = np.linspace(-self.Z_MAX, self.Z_MAX, 321)
        s = sigmoid(grid)
        ax.plot(grid, s, color="C0", label=r"$\sigma(z)$")
        ax.plot(grid, s * (1 - s), color="C1", label=r"$\sigma'(z) = \sigma(z)\,(1-\sigma(z))$")
        ax.axhline(0.25, color="0.6", linestyle=":")
        ax.plot([0.0], [0.25], "s", color="C1")
        note = ax.annotate(r"max $\sigma'(0) = 1/4$", xy=(0.0, 0.25), xytext=(1.0, 0.36),
                           fontsize=9, arrowprops={"arrowstyle": "->", "color": "0.4"})
        (self.tangent_line,) = ax.plot([], [], "--", color="C3", label=_("tangent at z"))
        (self.sigma_point,) = ax.plot([], [], "o", color="C0")
        (self.dsigma_point,) = ax.plot([], [], "o", color="C1", markerfacecolor="white")
        self.title = ax.set_title("")
        ax.set_xlim(-self.Z_MAX, self.Z_MAX)
        ax.set_ylim(-0.15, 1.15)
        ax.set_xlabel("z")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=9)
        # Drawn in this order, as a full render does (by zorder). The spines and the note do not
        # change, but a full render draws them over the points (at z = -8 and 8, near z = 0),
        # so they are drawn again after them.
        self.animated = [self.tangent_line, self.sigma_point, self.dsigma_point,
                         *ax.spines.values(), note, self.title]
        super().__init__([self.slider], fig)

    def state(self):
        return sigmoid_state(self.slider.value)

    def draw(self, state):
        z = state["z"]
        slope, intercept = state["tangent"]
        t = np.array([z - 2.5, z + 2.5])  # a short piece of the tangent: it is a local picture
        self.tangent_line.set_data(t, slope * t + intercept)
        self.sigma_point.set_data([z], [state["sigma"]])
        self.dsigma_point.set_data([z], [state["dsigma"]])
        self.title.set_text(f"z = {z:.2f}:   σ(z) = {state['sigma']:.4f},   "
                            f"σ'(z) = {state['dsigma']:.4f}")

    def lines(self, state):
        z, s, ds = state["z"], state["sigma"], state["dsigma"]
        return [f"z = {z:.2f}",
                f"σ(z) = {s:.4f}",
                _("σ'(z) = σ(z)(1 − σ(z)) = {ds}   (never above 1/4, reached at z = 0)").format(
                    ds=f"{ds:.4f}"),
                _("tangent at z: y = {s} + {ds}·(t − {z})").format(
                    s=f"{s:.4f}", ds=f"{ds:.4f}", z=f"{z:.2f}")]


def sigmoid_explorer(z=0.0):
    """A z slider over sigma(z), sigma'(z), the tangent line at z and the 1/4 maximum of sigma'."""
    setup_matplotlib()  # the language may have been set after course was imported
    return SigmoidExplorer(z)


# ----------------------------------------------------------------------------- scalar chain

def chain_state(x, w, b, dy=1.0):
    """Every node of the chain h_0 = x, z_k = w_k h_{k-1} + b_k, h_k = sigma(z_k), k = 1..K,
    with f = dy * h_K (so df/dh_K = dy): the forward values h, z and the gradients df/dh,
    df/dz, df/dw, df/db of every node (df/dh[0] is df/dx)."""
    w, b = [float(v) for v in w], [float(v) for v in b]
    h, z = [float(x)], []
    for w_k, b_k in zip(w, b):
        z.append(w_k * h[-1] + b_k)
        h.append(float(sigmoid(z[-1])))
    K = len(w)
    dh, dz = [0.0] * (K + 1), [0.0] * K
    dh[K] = float(dy)
    for k in range(K, 0, -1):  # from the output down: upstream times local
        dz[k - 1] = dh[k] * h[k] * (1.0 - h[k])  # sigma'(z_k) from the output h_k
        dh[k - 1] = dz[k - 1] * w[k - 1]
    dw = [dz[k] * h[k] for k in range(K)]  # dz_k/dw_k = h_{k-1}
    return {"h": h, "z": z, "y": h[-1], "dh": dh, "dz": dz, "dw": dw, "db": list(dz),
            "dx": dh[0]}


class ChainExplorer(Explorer):
    GAP = 1.6  # distance between nodes in the diagram

    def __init__(self, x=1.0, w=(2.0, -1.5, 3.0), b=(0.5, 1.0, -1.0)):
        if len(w) != len(b):
            raise ValueError(f"w and b must have the same length, got {len(w)} and {len(b)}.")
        self.K = K = len(w)
        width = widgets.Layout(width="300px")
        self.x_slider = widgets.FloatSlider(value=x, min=-3, max=3, step=0.1, description="x",
                                            layout=width)
        self.w_sliders = [widgets.FloatSlider(value=v, min=-6, max=6, step=0.1,
                                              description=f"w{k}", layout=width)
                          for k, v in enumerate(w, start=1)]
        self.b_sliders = [widgets.FloatSlider(value=v, min=-4, max=4, step=0.1,
                                              description=f"b{k}", layout=width)
                          for k, v in enumerate(b, start=1)]
        controls = [self.x_slider, *self.w_sliders, *self.b_sliders]
        box = widgets.VBox([self.x_slider, widgets.HBox(self.w_sliders),
                            widgets.HBox(self.b_sliders)])

        positions, edges, labels = {"x": (0.0, 0.0)}, [], {"x": "$x$"}
        previous = "x"
        for k in range(1, K + 1):
            zx, hx = (2 * k - 1) * self.GAP, 2 * k * self.GAP
            positions.update({f"z{k}": (zx, 0.0), f"h{k}": (hx, 0.0),
                              f"w{k}": (zx - 1.2, 1.5), f"b{k}": (zx + 1.2, 1.5)})
            labels.update({f"z{k}": f"$z_{k}$", f"h{k}": f"$h_{k}$",
                           f"w{k}": f"$w_{k}$", f"b{k}": f"$b_{k}$"})
            edges += [(previous, f"z{k}"), (f"w{k}", f"z{k}"), (f"b{k}", f"z{k}"),
                      (f"z{k}", f"h{k}")]
            previous = f"h{k}"
        fig = Figure(figsize=(1.1 + 1.45 * 2 * K, 3.4), dpi=100)
        ax = fig.add_axes((0.0, 0.0, 1.0, 0.86))
        self.texts = draw_circuit(ax, positions, edges, labels)
        self.title = fig.suptitle("")
        # the values and gradients change, the circuit does not
        self.animated = [text for pair in self.texts.values() for text in pair] + [self.title]
        super().__init__(controls, fig, box)

    def state(self):
        return chain_state(self.x_slider.value, [s.value for s in self.w_sliders],
                           [s.value for s in self.b_sliders])

    def node_values(self, state):
        """({node: forward value}, {node: df/dnode}) for every node of the diagram."""
        values, grads = {"x": state["h"][0]}, {"x": state["dx"]}
        for k in range(1, self.K + 1):
            values.update({f"z{k}": state["z"][k - 1], f"h{k}": state["h"][k],
                           f"w{k}": self.w_sliders[k - 1].value,
                           f"b{k}": self.b_sliders[k - 1].value})
            grads.update({f"z{k}": state["dz"][k - 1], f"h{k}": state["dh"][k],
                          f"w{k}": state["dw"][k - 1], f"b{k}": state["db"][k - 1]})
        return values, grads

    def draw(self, state):
        fill_circuit(self.texts, *self.node_values(state))
        self.title.set_text(f"f = ŷ = h_{self.K} = {state['y']:.4f}     "
                            + _("green: forward value     red: ∂f/∂(node)"))

    def lines(self, state):
        rows = [f"ŷ = h_{self.K} = {state['y']:.6f}   (f = ŷ, so ∂f/∂ŷ = 1)",
                f"∂f/∂x = {state['dx']:.6g}"]
        for k in range(1, self.K + 1):
            rows.append(_("layer {k}: ").format(k=k) +
                        f"z = {state['z'][k - 1]:.4f}, h = {state['h'][k]:.4f}, "
                        f"∂f/∂h = {state['dh'][k]:.6g}, ∂f/∂w = {state['dw'][k - 1]:.6g}, "
                        f"∂f/∂b = {state['db'][k - 1]:.6g}")
        return rows


def chain_explorer(x=1.0, w=(2.0, -1.5, 3.0), b=(0.5, 1.0, -1.0)):
    """Sliders for x, w_k and b_k of h_k = sigma(w_k h_{k-1} + b_k) (K = len(w)); the diagram
    shows the forward value and the gradient of f = h_K on every node."""
    setup_matplotlib()  # the language may have been set after course was imported
    return ChainExplorer(x, w, b)


# ----------------------------------------------------------------------------- deep MLP

def make_deep_mlp(depth, scale, width=32, n=64, seed=0):
    """A batch x (n, width) of N(0, 1) entries and `depth` square weight matrices with entries
    N(0, (scale / sqrt(width))^2). scale = 1 keeps the mean square of h @ W equal to that of h
    (Xavier, for square layers); He's ReLU init is scale = sqrt(2). A seed gives the same first
    layers at any depth."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, width))
    weights = [rng.standard_normal((width, width)) * (scale / np.sqrt(width))
               for _ in range(depth)]
    return x, weights


def vanishing_state(depth, scale, activation, width=32, n=64, seed=0):
    """The per-layer gradient norms the explorer plots, for the network of make_deep_mlp(...):
    h_k = act(h_{k-1} W_k) without biases, loss L = sum(h_K^2) / 2N, and ||dL/dW_k||_F for
    k = 1..depth (layer 1 next to the input)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}.")
    x, weights = make_deep_mlp(depth, scale, width, n, seed)
    act = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0)}[activation]
    activations = [x]  # h_0 .. h_K
    for weight in weights:
        activations.append(act(activations[-1] @ weight))
    grad = activations[-1] / n  # dL/dh_K
    norms = np.zeros(depth)
    for k in range(depth, 0, -1):
        out = activations[k]
        # the activation's derivative from its output h_k (relu: 1 where the output is > 0)
        local = {"sigmoid": out * (1.0 - out), "tanh": 1.0 - out**2, "relu": (out > 0.0) * 1.0}
        grad_z = grad * local[activation]
        norms[k - 1] = np.linalg.norm(activations[k - 1].T @ grad_z)
        grad = grad_z @ weights[k - 1].T
    return {"depth": int(depth), "scale": float(scale), "activation": activation,
            "layers": np.arange(1, depth + 1), "norms": norms,
            "first_over_last": float(norms[0] / norms[-1])}


class VanishingExplorer(Explorer):
    def __init__(self, depth=10, scale=1.0, activation="sigmoid", width=32, n=64, seed=0):
        self.width, self.n, self.seed = width, n, seed
        # continuous_update=False: recompute when the slider is released, not on every pixel
        self.depth_slider = widgets.IntSlider(value=depth, min=2, max=40, description=_("depth"),
                                              continuous_update=False)
        self.scale_slider = widgets.FloatSlider(value=scale, min=0.1, max=3.0, step=0.05,
                                                description=_("weight scale"),
                                                continuous_update=False,
                                                style={"description_width": "initial"})
        self.activation_buttons = widgets.ToggleButtons(options=ACTIVATIONS, value=activation,
                                                        description=_("activation"))
        fig = Figure(figsize=(6.4, 3.8), dpi=100, layout="constrained")
        self.ax = ax = fig.add_subplot()
        ax.set_yscale("log", nonpositive="mask")  # a zero norm (dead ReLUs) is left out
        (self.norm_line,) = ax.plot([], [], "o-", color="C3")
        ax.set_xlabel(_("layer k  (1 = next to the input)"))
        ax.set_ylabel(r"$\|\partial L/\partial W_k\|_F$")
        ax.grid(alpha=0.3, which="both")
        # x shows the depth slider's whole range, so a new depth only adds or removes points
        # and the x-axis stays in the background, drawn once.
        ax.set_xlim(0.5, self.depth_slider.max + 0.5)
        self.title = ax.set_title("")
        # The y-limits follow the norms (many decades apart from one setting to the next), so
        # the y-axis (ticks, labels, grid lines) is drawn at each render: it costs a few ms, a
        # new background ~30. In a full render's order (by zorder): the y-axis below the line,
        # the spines over both.
        self.animated = [ax.yaxis, self.norm_line, *ax.spines.values(), self.title]
        controls = [self.depth_slider, self.scale_slider, self.activation_buttons]
        super().__init__(controls, fig)

    def state(self):
        return vanishing_state(self.depth_slider.value, self.scale_slider.value,
                               self.activation_buttons.value, self.width, self.n, self.seed)

    def draw(self, state):
        self.norm_line.set_data(state["layers"], state["norms"])
        self.ax.relim()
        self.ax.autoscale_view(scalex=False)
        self.title.set_text(_("{activation}, scale {scale}, depth {depth}: first/last = {ratio}")
                            .format(activation=state["activation"], scale=f"{state['scale']:.2f}",
                                    depth=state["depth"],
                                    ratio=f"{state['first_over_last']:.3g}"))

    def lines(self, state):
        norms = state["norms"]
        return [_("{activation}, weight std = {scale}/√{width}, depth {depth}").format(
                    activation=state["activation"], scale=f"{state['scale']:.2f}",
                    width=self.width, depth=state["depth"]),
                f"‖∂L/∂W_1‖ = {norms[0]:.3g}   ‖∂L/∂W_{state['depth']}‖ = {norms[-1]:.3g}",
                _("first/last = {ratio}").format(ratio=f"{state['first_over_last']:.3g}")]


def vanishing_gradient_explorer(depth=10, scale=1.0, activation="sigmoid", width=32, n=64, seed=0):
    """Depth, weight-scale and activation controls over a plot (log scale) of the per-layer
    gradient norms ||dL/dW_k|| of the network of make_deep_mlp(...) (vanishing_state)."""
    setup_matplotlib()  # the language may have been set after course was imported
    return VanishingExplorer(depth, scale, activation, width, n, seed)
