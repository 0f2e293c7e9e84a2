"""In a student's copy, `backprop-course lab` offers nbgrader's Validate and nothing that needs
an exchange or an instructor: no Assignment List to show "Error fetching courses!", no
formgrader, no Create Assignment (course/jupyter_tools.py). On the course's JupyterHub the
Assignment List is there (tests/hub)."""

import pytest
from playwright.sync_api import expect

from .lab_pages import open_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AID = "a1_scalar_backprop"


def test_a_students_copy_offers_validate_and_no_exchange_or_instructor_tools(
        student_lab, browser_context):
    page = open_notebook(browser_context, student_lab, f"assignments/{AID}/{AID}.ipynb")
    expect(page.locator(".validate-button")).to_be_visible()
    expect(page.get_by_role("menuitem", name="File", exact=True)).to_be_visible()
    expect(page.get_by_role("menuitem", name="Nbgrader", exact=True)).to_have_count(0)
    expect(page.get_by_text("Create Assignment", exact=True)).to_have_count(0)
    # their server parts are off too: the Assignment List's, the Course List's, the formgrader
    for path in ("assignments", "formgraders", "formgrader"):
        assert page.request.get(student_lab.url(path)).status == 404, path
    page.close()
