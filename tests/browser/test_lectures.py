"""The lectures in JupyterLab: the explorers answer their sliders after a run, and the widgets
saved in each lecture show before anything runs."""

import json
import math
import re
import shutil
import time
import urllib.request

import nbformat
import pytest
from playwright.sync_api import expect

from course.widgets import vanishing_state

from .conftest import ROOT
from .lab_pages import (
    drag_slider,
    notebook_url,
    open_notebook,
    run_all_until_widget,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LECTURE_1 = "lectures/01_derivatives_and_chain_rule.ipynb"
LECTURE_4 = "lectures/04_vanishing_exploding_gradients.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
RESTORE_TIMEOUT = 60_000  # ms: five lectures start their kernels at once on two cores


def plain(text):
    """Text with runs of white space as one space: HTML shows them so."""
    return re.sub(r"\s+", " ", text).strip()


# On the student's server: the student's copy of the course, installed from the bundle alone
# (tests/student_env.py), without grader.

def test_moving_the_sigmoid_slider_shows_the_new_sigma_and_slope(student_lab, browser_context,
                                                                  screenshot_dir):
    saved = (student_lab.root_dir / LECTURE_1).read_bytes()
    page = open_notebook(browser_context, student_lab, LECTURE_1)
    explorer = run_all_until_widget(page, "z")
    picture = explorer.locator("img.widget-image")
    picture_before = picture.get_attribute("src")

    z = drag_slider(page, explorer.locator(".widget-slider"), -25)  # left of z = 1, about -2

    assert z != 1.0, "the drag did not move the slider off its start, z = 1"
    s = 1.0 / (1.0 + math.exp(-z))
    readout = explorer.locator(".widget-html-content")
    expect(readout).to_contain_text(f"z = {z:.2f}")
    expect(readout).to_contain_text(f"σ(z) = {s:.4f}")
    expect(readout).to_contain_text(f"σ'(z) = σ(z)(1 − σ(z)) = {s * (1 - s):.4f}")
    expect(picture).not_to_have_attribute("src", picture_before)  # a new picture was drawn
    expect(explorer.locator(".backprop-saved-note")).to_be_hidden()  # live: no "saved" note
    explorer.screenshot(path=screenshot_dir / "lecture_widget.png")
    page.close()
    assert (student_lab.root_dir / LECTURE_1).read_bytes() == saved, "the test must not save it"


def test_moving_the_depth_slider_plots_the_new_gradient_norms(student_lab, browser_context):
    page = open_notebook(browser_context, student_lab, LECTURE_4)
    explorer = run_all_until_widget(page, "depth")

    depth = int(drag_slider(page, explorer.locator(".widget-slider").first, 60))

    assert depth != 10, "the drag did not move the slider off its start, depth = 10"
    want = vanishing_state(depth, 1.0, "sigmoid")["norms"]
    readout = explorer.locator(".widget-html-content")
    expect(readout).to_contain_text(f"sigmoid, weight std = 1.00/√32, depth {depth}")
    expect(readout).to_contain_text(f"‖∂L/∂W_1‖ = {want[0]:.3g}")
    expect(readout).to_contain_text(f"‖∂L/∂W_{depth}‖ = {want[-1]:.3g}")
    page.close()


def kernel_sessions(lab, path):
    """The running sessions (notebook and kernel) of the notebook at PATH, from the server."""
    with urllib.request.urlopen(lab.url("api/sessions")) as answer:
        return [session for session in json.load(answer) if session["path"] == path]


def shut_down_kernels(lab, path):
    """End the notebook's sessions, as closing it and shutting its kernel down does."""
    for session in kernel_sessions(lab, path):
        request = urllib.request.Request(lab.url(f"api/sessions/{session['id']}"), method="DELETE")
        urllib.request.urlopen(request).close()
    assert not kernel_sessions(lab, path)


def test_a_lecture_saved_after_a_run_shows_its_widget_when_reopened(student_lab, browser_context):
    # a copy of lecture 1, so that saving leaves the lectures the other tests read as they are
    path = "saved_lecture_1.ipynb"
    shutil.copy(student_lab.root_dir / LECTURE_1, student_lab.root_dir / path)
    page = open_notebook(browser_context, student_lab, path)
    explorer = run_all_until_widget(page, "z")
    z = drag_slider(page, explorer.locator(".widget-slider"), -25)
    assert z != 1.0, "the drag did not move the slider off its start, z = 1"
    expect(explorer.locator(".widget-html-content")).to_contain_text(f"z = {z:.2f}")

    before = (student_lab.root_dir / path).stat().st_mtime_ns
    page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").first.click()
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while (student_lab.root_dir / path).stat().st_mtime_ns == before:
        assert time.monotonic() < deadline, "the notebook was not saved"
        time.sleep(0.2)
    page.close()
    shut_down_kernels(student_lab, path)

    # what was saved: every widget on the page with its model, and the moved slider's numbers
    saved = nbformat.read(student_lab.root_dir / path, as_version=4)
    models = saved.metadata["widgets"][WIDGET_STATE]["state"]
    views = [output["data"][WIDGET_VIEW]["model_id"] for cell in saved.cells
             for output in cell.get("outputs", []) if WIDGET_VIEW in output.get("data", {})]
    assert views and all(view in models for view in views), "a widget was saved without its model"

    reopened = browser_context.new_page()
    reopened.goto(notebook_url(student_lab, path))
    output = reopened.locator(".jp-OutputArea-output").filter(
        has=reopened.locator("img.widget-image"))
    expect(output).to_have_count(1, timeout=RESTORE_TIMEOUT)
    output.scroll_into_view_if_needed()
    expect(output.locator("img.widget-image")).to_have_attribute("src", re.compile("."))
    expect(output.locator(".widget-html-content")).to_contain_text(f"z = {z:.2f}")
    expect(reopened.get_by_text("Error displaying widget")).to_have_count(0)
    # a saved widget is a picture of the last run, not an error: no red "disconnected" mark
    marks = output.evaluate("""node => [...node.querySelectorAll('.jupyter-widgets-disconnected')]
        .map(el => getComputedStyle(el, '::before').content)
        .filter(content => content && content !== 'none' && content !== 'normal')""")
    assert marks == [], f"disconnected marks shown: {marks}"
    expect(output.locator(".backprop-saved-note")).to_be_visible()  # what it is, said plainly
    reopened.close()
    shut_down_kernels(student_lab, path)


def saved_widgets(path):
    """(number of cells, {cell index: readout}) for the notebook at PATH: the cells that saved
    a widget, each with the text/plain twin of its widget, the explorer's readout, which the
    widget itself shows too."""
    cells = nbformat.read(path, as_version=4).cells
    return len(cells), {index: output["data"]["text/plain"]
                        for index, cell in enumerate(cells) for output in cell.get("outputs", [])
                        if WIDGET_VIEW in output.get("data", {})}


LECTURES = sorted(p.name for p in (ROOT / "lectures").glob("*.ipynb"))


@pytest.fixture(scope="module")
def student_lecture_pages(student_lab, browser_context):
    """{lecture: page showing it} in the student's JupyterLab, nothing run. All are opened
    at once: the browser loads them side by side, which saves most of the waiting."""
    pages = {}
    for lecture in LECTURES:
        pages[lecture] = browser_context.new_page()
        pages[lecture].goto(notebook_url(student_lab, f"lectures/{lecture}"), wait_until="commit")
    yield pages
    for page in pages.values():
        page.close()


@pytest.mark.parametrize("lecture", LECTURES)
def test_a_student_sees_the_saved_widgets_before_running_anything(student_lab,
                                                                  student_lecture_pages, lecture):
    cell_count, readouts = saved_widgets(student_lab.root_dir / "lectures" / lecture)
    page = student_lecture_pages[lecture]
    page.bring_to_front()
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(cell_count, timeout=RESTORE_TIMEOUT)
    for index, readout in readouts.items():
        output = cells.nth(index).locator(".jp-OutputArea")
        output.scroll_into_view_if_needed()
        # "Loading widget..." until the kernel is up: the saved state is restored then
        expect(output.locator("img.widget-image")).to_have_attribute("src", re.compile("."),
                                                                     timeout=RESTORE_TIMEOUT)
        for line in readout.splitlines():
            expect(output.locator(".widget-html-content")).to_contain_text(plain(line))
    expect(page.get_by_text("Error displaying widget")).to_have_count(0)
    expect(page.get_by_text("Loading widget")).to_have_count(0)
