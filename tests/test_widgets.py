"""The lecture explorers, headless: the numbers each one shows, and that moving a control updates
the existing figure, the readout and the picture. Also the saved widget state of the lectures."""

import base64
import io
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from course.gradcheck import numerical_derivative
from course.widgets import (
    chain_explorer,
    chain_state,
    figure_png,
    make_deep_mlp,
    sigmoid,
    sigmoid_explorer,
    sigmoid_state,
    vanishing_gradient_explorer,
    vanishing_state,
)
from grader import reference as ref

ROOT = Path(__file__).resolve().parent.parent
WIDGET_LECTURES = ["01_derivatives_and_chain_rule.ipynb", "02_scalar_backprop.ipynb",
                   "04_vanishing_exploding_gradients.ipynb"]
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- sigmoid

def test_sigmoid_is_one_half_at_zero_with_slope_one_quarter():
    state = sigmoid_state(0.0)
    assert state["sigma"] == 0.5
    assert state["dsigma"] == 0.25
    assert state["tangent"] == (0.25, 0.5)


def test_the_slope_one_quarter_at_zero_is_the_maximum():
    zs = np.linspace(-10, 10, 2001)
    slopes = np.array([sigmoid_state(z)["dsigma"] for z in zs])
    assert slopes.max() == 0.25
    assert zs[slopes.argmax()] == 0.0
    assert np.all(slopes[zs != 0] < 0.25)


def test_sigmoid_is_the_logistic_function_and_does_not_overflow_far_out():
    zs = np.array([-50.0, -3.0, -1e-9, 0.0, 2.5, 50.0])
    np.testing.assert_allclose(sigmoid(zs), 1.0 / (1.0 + np.exp(-zs)), rtol=1e-14, atol=0)
    with np.errstate(over="raise"):
        far = sigmoid(np.array([-800.0, 800.0]))
    assert far.tolist() == [0.0, 1.0]
    assert sigmoid(2.0) + sigmoid(-2.0) == pytest.approx(1.0, abs=1e-15)


@given(st.floats(min_value=-30, max_value=30, allow_nan=False))
def test_tangent_touches_the_curve_with_the_derivative_as_slope(z):
    state = sigmoid_state(z)
    slope, intercept = state["tangent"]
    assert slope * z + intercept == pytest.approx(state["sigma"], abs=1e-12)
    assert slope == pytest.approx(numerical_derivative(ref.sigmoid, z), abs=1e-9)
    assert slope == pytest.approx(state["sigma"] * (1 - state["sigma"]), abs=1e-15)


def test_moving_the_z_slider_updates_the_same_figure_and_the_readout():
    explorer = sigmoid_explorer(z=0.0)
    fig, line, picture_at_zero = explorer.fig, explorer.tangent_line, bytes(explorer.image.value)
    assert "σ'(z) = σ(z)(1 − σ(z)) = 0.2500" in explorer.readout.value

    explorer.slider.value = 1.0

    assert explorer.fig is fig and explorer.tangent_line is line  # updated, not re-created
    t, y = line.get_data()
    slope, intercept = sigmoid_state(1.0)["tangent"]
    np.testing.assert_allclose(y, slope * np.asarray(t) + intercept)
    assert explorer.sigma_point.get_data() == ([1.0], [ref.sigmoid(1.0)])
    assert "σ(z) = 0.7311" in explorer.readout.value
    assert "0.1966" in explorer.readout.value
    assert "σ(z) = 0.7311" in explorer.title.get_text()
    assert bytes(explorer.image.value).startswith(PNG_MAGIC)
    assert bytes(explorer.image.value) != picture_at_zero


def test_plain_text_view_is_the_readout_and_the_widget_view_is_the_container():
    explorer = sigmoid_explorer(z=-2.0)
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"] == explorer.summary()
    assert "σ(z) = 0.1192" in bundle["text/plain"]
    assert bundle[VIEW]["model_id"] == explorer.widget.model_id


# ----------------------------------------------------------------------------- chain

CHAINS = [(0.3, [1.7], [-0.2]), (1.0, [2.0, -1.5, 3.0], [0.5, 1.0, -1.0]),
          (-2.0, [0.5, 4.0, -3.0, 1.0, 2.5], [0.1, -0.4, 2.0, 0.0, -1.0])]


@pytest.mark.parametrize("x, w, b", CHAINS)
@pytest.mark.parametrize("dy", [1.0, -0.7])
def test_chain_state_is_the_reference_forward_and_backward(x, w, b, dy):
    state = chain_state(x, w, b, dy=dy)
    y, cache = ref.chain_forward(x, w, b)
    dw, db, dx = ref.chain_backward(dy, cache)
    assert state["y"] == pytest.approx(y, rel=1e-14) and state["h"][-1] == state["y"]
    assert state["dw"] == pytest.approx(dw, rel=1e-12) and state["db"] == pytest.approx(db, rel=1e-12)
    assert state["dx"] == pytest.approx(dx, rel=1e-12)
    assert state["dz"] == state["db"]
    for k in range(1, len(w) + 1):
        assert state["h"][k] == pytest.approx(ref.chain_forward(x, w[:k], b[:k])[0], rel=1e-14)
        assert state["z"][k - 1] == pytest.approx(w[k - 1] * state["h"][k - 1] + b[k - 1])


@pytest.mark.parametrize("x, w, b", CHAINS)
def test_chain_state_node_gradients_match_central_differences(x, w, b):
    state = chain_state(x, w, b, dy=1.0)
    for k in range(len(w) + 1):
        # f as a function of h_k alone: run the rest of the chain from h_k
        def rest(h_k, k=k):
            return ref.chain_forward(h_k, w[k:], b[k:])[0] if k < len(w) else h_k

        assert state["dh"][k] == pytest.approx(numerical_derivative(rest, state["h"][k]), abs=1e-8)


def test_chain_explorer_shows_the_reference_values_after_a_slider_move():
    explorer = chain_explorer()
    fig, texts = explorer.fig, explorer.texts
    explorer.x_slider.value = 0.5
    explorer.w_sliders[1].value = -3.0
    explorer.b_sliders[2].value = 2.0

    w, b = [2.0, -3.0, 3.0], [0.5, 1.0, 2.0]
    y, cache = ref.chain_forward(0.5, w, b)
    dw, db, dx = ref.chain_backward(1.0, cache)
    assert explorer.fig is fig and explorer.texts is texts
    assert texts["x"][1].get_text() == f"{dx:.3g}"
    assert texts["h3"][0].get_text() == f"{y:.3g}"
    for k in range(3):
        assert texts[f"w{k + 1}"][0].get_text() == f"{w[k]:.3g}"
        assert texts[f"w{k + 1}"][1].get_text() == f"{dw[k]:.3g}"
        assert texts[f"b{k + 1}"][1].get_text() == f"{db[k]:.3g}"
    assert f"ŷ = h_3 = {y:.6f}" in explorer.readout.value
    assert f"∂f/∂x = {dx:.6g}" in explorer.readout.value


def test_course_widgets_does_not_import_grader():
    # course/ ships to students without grader/: importing the widgets must not need it
    code = "import sys, course.widgets; sys.exit('grader' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT).returncode == 0


# ----------------------------------------------------------------------------- vanishing

@pytest.mark.parametrize("depth, scale, activation", [
    (10, 1.0, "sigmoid"), (5, 0.5, "tanh"), (25, 2.0, "relu"), (2, 3.0, "tanh"), (40, 1.4, "relu")])
def test_vanishing_explorer_plots_exactly_layer_grad_norms(depth, scale, activation):
    explorer = vanishing_gradient_explorer()
    line = explorer.norm_line
    explorer.depth_slider.value = depth
    explorer.scale_slider.value = scale
    explorer.activation_buttons.value = activation

    expected = ref.layer_grad_norms(*make_deep_mlp(depth, scale), activation)
    layers, norms = line.get_data()
    assert explorer.norm_line is line
    np.testing.assert_array_equal(layers, np.arange(1, depth + 1))
    np.testing.assert_allclose(norms, expected, rtol=1e-12)
    assert explorer.ax.get_yscale() == "log"
    low, high = explorer.ax.get_ylim()
    assert low <= expected.min() and expected.max() <= high  # the axes followed the data
    assert f"‖∂L/∂W_1‖ = {expected[0]:.3g}" in explorer.readout.value
    assert f"first/last = {expected[0] / expected[-1]:.3g}" in explorer.readout.value


def test_vanishing_state_refuses_an_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of sigmoid, tanh, relu"):
        vanishing_state(3, 1.0, "softplus")


def test_make_deep_mlp_is_seeded_and_scaled():
    x, weights = make_deep_mlp(3, 2.0, width=16, n=4, seed=7)
    x2, weights2 = make_deep_mlp(5, 1.0, width=16, n=4, seed=7)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_allclose(weights[2], 2.0 * weights2[2])  # same draws, another scale
    assert [W.shape for W in weights] == [(16, 16)] * 3


# ----------------------------------------------------------------------------- rendering

def decoded(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.int16)


def full_render(explorer):
    """The explorer's figure rendered whole, as if nothing were animated (no kept background)."""
    for artist in explorer.animated:
        artist.set_animated(False)
    try:
        return decoded(figure_png(explorer.fig))
    finally:
        for artist in explorer.animated:
            artist.set_animated(True)


def sigmoid_moves():
    explorer = sigmoid_explorer(z=0.0)
    # the ends of the range (points on the spines), under the note's arrow near z = 0
    return explorer, [(explorer.slider, z) for z in (1.0, -8.0, 8.0, 0.2, -2.5)]


def chain_moves():
    explorer = chain_explorer()
    return explorer, [(explorer.x_slider, 0.5), (explorer.w_sliders[1], -3.0),
                      (explorer.b_sliders[2], 2.0), (explorer.x_slider, -3.0)]


def vanishing_moves():
    explorer = vanishing_gradient_explorer()
    # y-limits many decades apart, from 1e-36 to 1e27
    return explorer, [(explorer.depth_slider, 40), (explorer.scale_slider, 3.0),
                      (explorer.activation_buttons, "relu"), (explorer.depth_slider, 2),
                      (explorer.scale_slider, 0.1), (explorer.activation_buttons, "tanh")]


@pytest.mark.parametrize("explorer_and_moves", [sigmoid_moves, chain_moves, vanishing_moves])
def test_the_blitted_picture_is_the_full_render_of_the_figure(explorer_and_moves):
    # The page's PNG is the kept background with the animated artists drawn on it: an artist
    # that changes but is not animated (stale), a background that should have been redrawn, or
    # animated artists drawn in another order than a full render would, all show up here.
    explorer, moves = explorer_and_moves()
    for control, value in moves:
        control.value = value
        shown, full = decoded(bytes(explorer.image.value)), full_render(explorer)
        assert shown.shape == full.shape
        difference = np.abs(shown - full)
        # equal up to faint antialiasing: no pixel off by more than 16 of 255 in any channel
        assert difference.max() <= 16, (control.description, value,
                                        int((difference.max(axis=-1) > 16).sum()), "pixels")
        assert difference.mean() < 0.01


# ----------------------------------------------------------------------------- saved state

def widget_views(nb):
    """The model ids of every stored widget output of a notebook."""
    return [output["data"][VIEW]["model_id"]
            for cell in nb.cells if cell.cell_type == "code"
            for output in cell.get("outputs", [])
            if VIEW in output.get("data", {})]


def saved_models(nb):
    return nb.metadata.get("widgets", {}).get(STATE, {}).get("state", {})


def missing_widget_models(nb):
    """Stored widget outputs whose model is not in the notebook's saved widget state (these show
    "Error displaying widget" when the notebook is opened without running it)."""
    models = saved_models(nb)
    return [model_id for model_id in widget_views(nb) if model_id not in models]


def test_missing_widget_models_rejects_an_output_without_saved_state():
    cell = nbformat.v4.new_code_cell("explorer")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": "x", VIEW: {"model_id": "f" * 32, "version_major": 2, "version_minor": 0}})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert missing_widget_models(nb) == ["f" * 32]
    nb.metadata["widgets"] = {STATE: {"state": {"f" * 32: {}}, "version_major": 2,
                                      "version_minor": 0}}
    assert missing_widget_models(nb) == []


@pytest.mark.parametrize("name", WIDGET_LECTURES)
def test_every_stored_widget_has_its_model_in_the_saved_state(name):
    nb = nbformat.read(ROOT / "lectures" / name, as_version=4)
    assert widget_views(nb), f"{name} should show its explorer"
    assert missing_widget_models(nb) == []


def descendants(models, model_id):
    """Every model reachable from model_id through children references ("IPY_MODEL_<id>")."""
    found, stack = [], [model_id]
    while stack:
        current = stack.pop()
        found.append(current)
        for child in models[current]["state"].get("children", []):
            stack.append(child.removeprefix("IPY_MODEL_"))
    return found


@pytest.mark.parametrize("name", WIDGET_LECTURES)
def test_saved_state_holds_the_picture_and_the_readout(name):
    # a notebook opened without a kernel shows the saved state: it must hold the figure itself
    nb = nbformat.read(ROOT / "lectures" / name, as_version=4)
    models = saved_models(nb)
    for view in widget_views(nb):
        parts = [models[m] for m in descendants(models, view)]
        images = [p for p in parts if p["model_name"] == "ImageModel"]
        readouts = [p for p in parts if p["model_name"] == "HTMLModel"]
        assert len(images) == 1 and len(readouts) == 1
        buffers = {tuple(b["path"]): b for b in images[0].get("buffers", [])}
        png = base64.b64decode(buffers[("value",)]["data"])
        assert png.startswith(PNG_MAGIC) and len(png) > 10_000
        assert readouts[0]["state"]["value"]  # the numbers, as text


def test_a_saved_explorer_says_it_is_a_picture_instead_of_a_red_disconnected_mark():
    explorer = sigmoid_explorer(z=0.5)
    assert "backprop-explorer" in explorer.widget._dom_classes
    note = explorer.readout.value.split("</div>")[0]
    assert "jupyter-widgets-disconnected::before {content: none" in note
    assert "run the cell to use the controls" in note
    assert explorer.readout.value.endswith("(t − 0.50)")  # the numbers follow the note
