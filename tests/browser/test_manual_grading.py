"""The instructor grades a written answer by hand in nbgrader's formgrader: a student's a4,
autograded with the real command, gets 5 of answer_1's 7 points and a comment, and the
gradebook's total for the submission then counts them; grading the batch again loses neither.
The formgrader tells the truth: it counts the submissions, and only written answers wait for a
person (a1 is all code; in a4 only the written answers are marked)."""

import csv
import re
import subprocess
import sys

import nbformat
import pytest
from playwright.sync_api import expect

from grader.release import course_config
from grader.simulate import completed

from .conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STUDENT, AID = "grace", "a4_vanishing_gradients"  # a student no other test grades
ANSWER, POINTS = "answer_1", 5  # the written answer graded by hand, and the points given
COMMENT = "Right idea; say why the product of many small derivatives shrinks."


@pytest.fixture(scope="module")
def autograded(grading_run, instructor_lab, tmp_path_factory):
    """STUDENT's AID, every code answer right and the written ones left as released, graded by
    `autograde`, which records it in the course gradebook that the formgrader reads. Returns
    the points autograde gave and the folder of the submissions and report. It runs once ada's grading run is over and after instructor_lab
    released into the gradebook, so that only one process writes to the gradebook at a time."""
    grading_run.process.wait(timeout=120)
    folder = tmp_path_factory.mktemp("manual-grading")
    submission = folder / "submissions" / STUDENT / AID / f"{AID}.ipynb"
    submission.parent.mkdir(parents=True)
    nbformat.write(completed(ROOT / "assignments" / AID / f"{AID}.ipynb",
                             ROOT / "solutions" / AID / f"{AID}.ipynb"), submission)
    return autograde(folder), folder


def autograde(folder):
    """`backprop-course autograde` on folder/submissions; the points of STUDENT's row."""
    subprocess.run([sys.executable, "-m", "course.cli", "autograde", str(folder / "submissions"),
                    "--out", str(folder / "report"), "--jobs", "1"],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    with open(folder / "report" / "grades.csv", newline="") as f:
        (row,) = csv.DictReader(f)
    return float(row["score"])


def open_formgrader(context, lab):
    """A new page on the instructor's JupyterLab showing Nbgrader → Formgrader; the frame
    inside it, where the formgrader's own pages load."""
    page = context.new_page()
    page.goto(lab.url("lab"))
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Formgrader", exact=True).click()
    return page, page.locator("iframe[src*='formgrader']").element_handle().content_frame()


def follow(frame, link, url_pattern, nth=0):
    """Click the link named LINK (the NTH of that name) and wait until the formgrader's page at
    URL_PATTERN has loaded: the next click must not land on the page being left."""
    frame.get_by_role("link", name=link, exact=True).nth(nth).click()
    frame.wait_for_url(url_pattern)


def open_submission_list(frame):
    """From the formgrader's first page: Manual Grading → the assignment → its notebook, with
    the students' names shown (the formgrader hides them by default)."""
    follow(frame, "Manual Grading", re.compile(r"/formgrader/gradebook/?$"))
    follow(frame, AID, re.compile(f"/formgrader/gradebook/{AID}/?$"))
    follow(frame, AID, re.compile(f"/formgrader/gradebook/{AID}/{AID}/?$"))
    show_names(frame)


def show_names(frame):
    """Show All Names, once the list has loaded: the button acts on the rows already there."""
    expect(frame.get_by_role("link", name=re.compile(r"^Submission #\d+$")).first).to_be_visible()
    frame.get_by_role("button", name="Show All Names").click()


def type_and_tab_out(page, field, text, kind):
    """Type TEXT into FIELD and press Tab: leaving the field saves it (a PUT to the
    formgrader's api/KIND/<id>); wait until the server has answered. Tab, not the formgrader's
    Escape shortcut: the page sets its shortcuts up after MathJax, which it fetches from a
    CDN; offline, that set-up stops with "MathJax is not defined" and Escape does nothing."""
    with page.expect_response(lambda r: f"/formgrader/api/{kind}/" in r.url
                              and r.request.method == "PUT") as saved:
        field.fill(text)
        field.press("Tab")
    assert saved.value.ok, saved.value.status


def grade_by_hand(page, frame):
    """On STUDENT's submission: POINTS in ANSWER's score box, then COMMENT under it."""
    score = frame.locator(f"#{ANSWER}")
    comment = frame.locator(f"#{ANSWER}-comment")
    # the boxes save only once the page has loaded the grades and comments and bound them:
    # then the score box is marked as waiting for a grade and the comment box has its prompt,
    # nbgrader's own comment on an answer left as released ("No response.")
    expect(score).to_have_class(re.compile(r"\bneeds_manual_grade\b"))
    expect(comment).to_have_attribute("placeholder", "No response.")
    type_and_tab_out(page, score, str(POINTS), "grade")
    expect(score).not_to_have_class(re.compile(r"\bneeds_manual_grade\b"))
    type_and_tab_out(page, comment, COMMENT, "comment")


def test_a_written_answer_graded_by_hand_counts_in_the_total_and_survives_regrading(
        autograded, instructor_lab, browser_context, screenshot_dir):
    autograded_points, folder = autograded
    page, frame = open_formgrader(browser_context, instructor_lab)
    open_submission_list(frame)
    follow(frame, STUDENT, re.compile(r"/formgrader/submissions/\w+/?$"))
    grade_by_hand(page, frame)
    page.screenshot(path=screenshot_dir / "manual_grading.png")

    from nbgrader.api import Gradebook

    with Gradebook(course_config(ROOT).CourseDirectory.db_url) as gb:
        grade = gb.find_grade(ANSWER, AID, AID, STUDENT)
        assert (grade.manual_score, grade.needs_manual_grade) == (POINTS, False)
        assert gb.find_comment(ANSWER, AID, AID, STUDENT).manual_comment == COMMENT
        submission = gb.find_submission(AID, STUDENT)
        # autograde gave every code point, the hand-graded ones come on top
        assert autograded_points == submission.code_score == submission.max_code_score
        assert submission.written_score == POINTS
        assert submission.score == autograded_points + POINTS
        total = f"{submission.score:g} / {submission.max_score:g}"

    # back to the list of submissions (the breadcrumb's last link: the notebook, named like
    # the assignment), where the new total shows in STUDENT's row
    follow(frame, AID, re.compile(f"/formgrader/gradebook/{AID}/{AID}/?$"), nth=1)
    show_names(frame)
    name = frame.get_by_role("link", name=STUDENT, exact=True)
    row = frame.locator("#main-table tr").filter(has=name)
    expect(row.locator(".score")).to_have_text(total)

    # the whole batch graded again: the hand-graded points and the comment are still there
    assert autograde(folder) == autograded_points + POINTS  # the report counts them too
    follow(frame, STUDENT, re.compile(r"/formgrader/submissions/\w+/?$"))
    expect(frame.locator(f"#{ANSWER}")).to_have_value(str(POINTS))
    expect(frame.locator(f"#{ANSWER}")).not_to_have_class(re.compile(r"\bneeds_manual_grade\b"))
    expect(frame.locator(f"#{ANSWER}-comment")).to_have_value(COMMENT)
    with Gradebook(course_config(ROOT).CourseDirectory.db_url) as gb:
        assert f"{gb.find_submission(AID, STUDENT).score:g} / 100" == total
    page.close()


def test_the_formgrader_shows_only_written_answers_as_needing_a_person(
        autograded, grading_run, instructor_lab, browser_context):
    """ada's a1 (all code, one mistake) and STUDENT's a4 are in the gradebook: the formgrader
    counts them, marks no a1 submission and, in the a4 submission, only written answers."""
    from nbgrader.api import Gradebook

    A1 = "a1_scalar_backprop"
    with Gradebook(course_config(ROOT).CourseDirectory.db_url) as gb:
        counts = {a.name: len(a.submissions) for a in gb.assignments}
        grades = {g.name: g for nb in gb.find_submission(AID, STUDENT).notebooks
                  for g in nb.grades}
        waiting = {name for name, g in grades.items() if g.needs_manual_grade}
        written = {name for name, g in grades.items() if g.cell_type == "markdown"}
        code = set(grades) - written
    assert waiting and waiting <= written
    page, frame = open_formgrader(browser_context, instructor_lab)
    for aid in (A1, AID):  # Manage Assignments: the number of submissions
        row = frame.locator("tr").filter(has=frame.locator("td.name", has_text=aid))
        expect(row.locator("td.num-submissions")).to_have_text(str(counts[aid]))
    follow(frame, "Manual Grading", re.compile(r"/formgrader/gradebook/?$"))
    follow(frame, A1, re.compile(f"/formgrader/gradebook/{A1}/?$"))
    follow(frame, A1, re.compile(f"/formgrader/gradebook/{A1}/{A1}/?$"))
    show_names(frame)
    ada = frame.locator("#main-table tr").filter(
        has=frame.get_by_role("link", name="ada", exact=True))
    expect(ada).to_have_count(1)
    expect(ada.locator(".needs-manual-grade .glyphicon-ok")).to_have_count(0)
    page.close()
    page, frame = open_formgrader(browser_context, instructor_lab)
    open_submission_list(frame)
    mine = frame.locator("#main-table tr").filter(
        has=frame.get_by_role("link", name=STUDENT, exact=True))
    expect(mine.locator(".needs-manual-grade .glyphicon-ok")).to_have_count(1)
    follow(frame, STUDENT, re.compile(r"/formgrader/submissions/\w+/?$"))
    expect(frame.locator("input.score")).to_have_count(len(grades))
    for name in code:
        expect(frame.locator(f"#{name}")).not_to_have_class(re.compile(r"\bneeds_manual_grade\b"))
    for name in written:
        marked = expect(frame.locator(f"#{name}"))
        if name in waiting:
            marked.to_have_class(re.compile(r"\bneeds_manual_grade\b"))
        else:  # graded by hand already (the test above)
            marked.not_to_have_class(re.compile(r"\bneeds_manual_grade\b"))
    page.close()

