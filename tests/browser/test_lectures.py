"""The lectures in JupyterLab: the explorers answer their sliders after a run, and the widgets
saved in each lecture show before anything runs."""

import math
import re

import nbformat
import pytest
from playwright.sync_api import expect

from course.widgets import vanishing_state
from grader.reference import layer_grad_norms

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
RESTORE_TIMEOUT = 60_000  # ms: five lectures start their kernels at once on two cores


def plain(text):
    """Text with runs of white space as one space: HTML shows them so."""
    return re.sub(r"\s+", " ", text).strip()


# On the student's server: a copy of the course with the answers packs installed
# (tests/student_env.py), where course.reference finds the answers in course_answers, without grader.

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
    explorer.screenshot(path=screenshot_dir / "lecture_widget.png")
    page.close()
    assert (student_lab.root_dir / LECTURE_1).read_bytes() == saved, "the test must not save it"


def test_moving_the_depth_slider_plots_the_new_gradient_norms(student_lab, browser_context):
    page = open_notebook(browser_context, student_lab, LECTURE_4)
    explorer = run_all_until_widget(page, "depth")

    depth = int(drag_slider(page, explorer.locator(".widget-slider").first, 60))

    assert depth != 10, "the drag did not move the slider off its start, depth = 10"
    want = vanishing_state(depth, 1.0, "sigmoid", layer_grad_norms)["norms"]
    readout = explorer.locator(".widget-html-content")
    expect(readout).to_contain_text(f"sigmoid, weight std = 1.00/√32, depth {depth}")
    expect(readout).to_contain_text(f"‖∂loss/∂W_1‖ = {want[0]:.3g}")
    expect(readout).to_contain_text(f"‖∂loss/∂W_{depth}‖ = {want[-1]:.3g}")
    page.close()


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
