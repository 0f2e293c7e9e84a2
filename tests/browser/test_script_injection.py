"""Nothing a student puts in a submission runs in a browser: an a4 whose written answer, another
markdown cell, a raw cell, a code cell's outputs, attachments and metadata carry classic XSS
payloads (tests/hostile_content.py) is graded by the real `autograde`; neither the feedback page
nor the formgrader's page for grading it by hand runs any of them, and both show the answer."""

import re
import subprocess
import sys

import nbformat
import pytest
from hostile_content import MARKER, WRITTEN_ANSWER, make_hostile
from playwright.sync_api import expect

from .conftest import ROOT
from .test_manual_grading import AID, follow, open_submission_list

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STUDENT, ANSWER = "mallory", "answer_1"  # a student no other test grades
# the answer's words without its math, which MathJax typesets where it can load
ANSWER_WORDS = WRITTEN_ANSWER.split(", so")[0]
NOT_LOCAL = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")  # anything but the test's own servers
RAN = f"() => [window.{MARKER}, document.title.includes('{MARKER}')]"


@pytest.fixture(scope="module")
def hostile_feedback(grading_run, instructor_lab, tmp_path_factory):
    """STUDENT's hostile AID graded by `autograde` into the course gradebook, as
    test_manual_grading's submission is (after ada's grading run, after instructor_lab's
    release: one process writes to the gradebook at a time). Returns the feedback page."""
    grading_run.process.wait(timeout=120)
    folder = tmp_path_factory.mktemp("script-injection")
    submission = folder / "submissions" / STUDENT / AID / f"{AID}.ipynb"
    submission.parent.mkdir(parents=True)
    released = nbformat.read(ROOT / "assignments" / AID / f"{AID}.ipynb", as_version=4)
    nbformat.write(make_hostile(released, ANSWER), submission)
    subprocess.run([sys.executable, "-m", "course.cli", "autograde", str(folder / "submissions"),
                    "--out", str(folder / "report"), "--jobs", "1"],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    return folder / "report" / "feedback" / STUDENT / AID / f"{AID}.html"


def watched_page(context):
    """A new page that fetches nothing from outside (a payload could load a script from
    there), and the list of the dialogs (alert, confirm, prompt) opened in it or its frames."""
    page, dialogs = context.new_page(), []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.route(NOT_LOCAL, lambda route: route.abort())
    return page, dialogs


def assert_nothing_ran(page, frame, dialogs):
    # events a payload would wait for (an image's error, a toggle, a focus) come right after
    # the page has loaded: give them their turn first
    frame.wait_for_load_state("load")
    page.wait_for_timeout(500)
    assert frame.evaluate(RAN) == [None, False]
    assert page.evaluate(RAN) == [None, False]
    assert dialogs == []


def test_the_feedback_page_runs_none_of_the_students_html(hostile_feedback, browser_context):
    page, dialogs = watched_page(browser_context)
    page.goto(hostile_feedback.as_uri())
    assert_nothing_ran(page, page.main_frame, dialogs)
    expect(page.locator("body")).to_contain_text(ANSWER_WORDS)
    # what the student wrote as HTML is shown as text
    expect(page.locator("body")).to_contain_text("<script>window.__pwned=1</script>")
    page.close()


def test_the_formgrader_runs_none_of_the_students_html(
        hostile_feedback, instructor_lab, browser_context):
    page, dialogs = watched_page(browser_context)
    page.goto(instructor_lab.url("lab"))
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Formgrader", exact=True).click()
    frame = page.locator("iframe[src*='formgrader']").element_handle().content_frame()
    open_submission_list(frame)
    follow(frame, STUDENT, re.compile(r"/formgrader/submissions/\w+/?$"))
    # the written answer, in the box the instructor grades
    answer = frame.locator(".nbgrader_cell").filter(has=frame.locator(f"#{ANSWER}"))
    expect(answer).to_contain_text(ANSWER_WORDS)
    expect(answer).to_contain_text("<script>window.__pwned=1</script>")
    assert_nothing_ran(page, frame, dialogs)
    page.close()
