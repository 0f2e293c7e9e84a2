"""A student types an answer into a released assignment and presses nbgrader's Validate."""

import nbformat
import pytest
from playwright.sync_api import expect

from grader.simulate import catalogue, completed, model_answer

from .conftest import ROOT
from .lab_pages import editor_of_cell_containing, open_notebook, replace_cell_source

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AID = "a1_scalar_backprop"
TYPED_CELL = "add_gate"  # the grade_id of the solution cell the test types into
VALIDATE_TIMEOUT = 90_000  # ms: nbgrader runs the whole notebook in a new kernel


def nbgrader_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def notebook_with_one_cell_left(lab):
    """Put into the student's copy the assignment with every answer filled in but TYPED_CELL's,
    which keeps its released stub, as if the student had done the rest. Returns its path."""
    release = ROOT / "assignments" / AID / f"{AID}.ipynb"
    source = ROOT / "solutions" / AID / f"{AID}.ipynb"
    notebook = completed(release, source)
    stub = next(c for c in nbformat.read(release, as_version=4).cells
                if nbgrader_id(c) == TYPED_CELL)
    next(c for c in notebook.cells if nbgrader_id(c) == TYPED_CELL).source = stub.source
    path = f"assignments/{AID}/{AID}.ipynb"
    nbformat.write(notebook, lab.root_dir / path)
    return path


def answer(wrong=False):
    source = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", as_version=4)
    text = model_answer(next(c for c in source.cells if nbgrader_id(c) == TYPED_CELL))
    if wrong:  # the catalogue's mistake for this cell: returning the local gradients only
        _, right, mistake, _ = catalogue(AID).KNOWN_MISTAKES["add_drops_upstream"]
        text = text.replace(right, mistake)
    return text


def type_answer_and_validate(context, lab, text):
    page = open_notebook(context, lab, notebook_with_one_cell_left(lab))
    editor = editor_of_cell_containing(page, "class AddGate")
    replace_cell_source(page, editor, text)
    expect(editor).to_contain_text(text.splitlines()[-1].strip())
    page.locator(".validate-button").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=VALIDATE_TIMEOUT)
    return page, dialog


def test_validate_passes_with_a_correct_answer(student_lab, browser_context, screenshot_dir):
    page, dialog = type_answer_and_validate(browser_context, student_lab, answer())
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.")
    page.screenshot(path=screenshot_dir / "assignment_validate.png")
    page.close()


def test_validate_names_the_failing_test_with_a_wrong_answer(student_lab, browser_context):
    page, dialog = type_answer_and_validate(browser_context, student_lab, answer(wrong=True))
    expect(dialog).to_contain_text("The following cell failed:")
    expect(dialog).to_contain_text("gate = AddGate()")  # the visible test that failed
    expect(dialog).to_contain_text("dx should be (local gradient 1) x dout")
    expect(dialog).not_to_contain_text("Success")
    page.close()
