"""The instructor's side in the browser: the formgrader lists the assignments, and the feedback
a student gets back reads well."""

import pytest
from playwright.sync_api import expect

from .conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if any(p.glob("*.ipynb")))


def test_the_formgrader_lists_every_assignment(instructor_lab, browser_context):
    page = browser_context.new_page()
    page.goto(instructor_lab.url("lab"))
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Formgrader", exact=True).click()
    formgrader = page.frame_locator("iframe[src*='formgrader']")
    expect(formgrader.get_by_text("Manage Assignments").first).to_be_visible()
    for aid in ASSIGNMENTS:
        expect(formgrader.get_by_role("link", name=aid, exact=True)).to_be_visible()
    page.close()


def test_the_feedback_report_explains_the_mistake(grading_run, browser_context, screenshot_dir):
    html = grading_run.feedback_html()
    page = browser_context.new_page()
    # a page written to be mailed: nothing it links to outside is needed, nor fetched
    page.route("http*://**", lambda route: route.abort())
    page.goto(html.as_uri(), wait_until="domcontentloaded")
    # the sentence's *emphasis* is markup, not asterisks
    expect(page.locator("body")).to_contain_text(
        "the local gradient of one input is the other input: swap them")
    expect(page.locator("em", has_text="other").first).to_be_visible()
    # formulas are MathML, drawn offline (no MathJax from the web)
    expect(page.locator("math").first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("BEGIN HIDDEN TESTS")
    # the picture: the student's wrong MultiplyGate, the test that failed, the check's sentence
    page.set_viewport_size({"width": 1280, "height": 1200})
    page.locator("a[name='comment-multiply_gate']").evaluate("anchor => anchor.scrollIntoView()")
    page.screenshot(path=screenshot_dir / "feedback_report.png")
    page.close()
