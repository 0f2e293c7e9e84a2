"""A class on the course's JupyterHub (deploy/), end to end, in Chromium: the instructor
releases a1 through nbgrader's exchange; two students fetch it in the Assignment List, answer
(one right, one with a mistake), validate and submit; the instructor collects, grades with
`backprop-course autograde` and returns feedback; each student fetches their own. Unix
permissions keep each one's work to themselves."""

import csv
import json
import re
import subprocess

import nbformat
import pytest
from browser.lab_pages import editor_of_cell_containing, replace_cell_source
from playwright.sync_api import expect

from grader.simulate import catalogue, completed, model_answer

from .conftest import DEBIAN_PYTHON, ROOT, chown_tree
from .hub_pages import (
    fetch,
    fetch_feedback,
    log_in,
    nbgrader_menu,
    open_assignment_list,
    run_in_terminal,
    sign_in,
    submit,
)

pytestmark = [pytest.mark.hub, pytest.mark.slow]

AID = "a1_scalar_backprop"
TYPED_CELL = "add_gate"  # the solution cell each student types in the browser
MISTAKE = "add_drops_upstream"  # the catalogue's mistake there: the upstream gradient dropped
VALIDATE_TIMEOUT = 120_000  # ms: nbgrader runs the whole notebook in a new kernel
INSTRUCTOR_COMMAND = "cd ~/backprop-course && .venv/bin/backprop-course exchange {} " + AID


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def typed_answer(wrong):
    source = nbformat.read(ROOT / "solutions" / AID / f"{AID}.ipynb", as_version=4)
    text = model_answer(next(c for c in source.cells if grade_id(c) == TYPED_CELL))
    if wrong:
        _, right, mistake, _ = catalogue(AID).KNOWN_MISTAKES[MISTAKE]
        text = text.replace(right, mistake)
    return text


def answer_all_but_one_cell(server, student):
    """The fetched notebook with every other answer in, as if the student had written them
    before: TYPED_CELL keeps its stub. The test writes it as root, and gives it back to the
    student."""
    path = server.homes[student] / AID / f"{AID}.ipynb"
    notebook = completed(path, ROOT / "solutions" / AID / f"{AID}.ipynb")
    stub = next(c for c in nbformat.read(path, as_version=4).cells if grade_id(c) == TYPED_CELL)
    next(c for c in notebook.cells if grade_id(c) == TYPED_CELL).source = stub.source
    nbformat.write(notebook, path)
    chown_tree(path, student)


def hand_in(browser, server, student, wrong):
    """In the student's JupyterLab: fetch, answer, Validate, save, submit. The page, and the
    text of the Validate dialog."""
    page = log_in(browser, server, student)
    open_assignment_list(page)
    fetch(page, AID)
    answer_all_but_one_cell(server, student)
    notebook = page.context.new_page()
    notebook.goto(server.user_url(student, f"lab/workspaces/answer/tree/{AID}/{AID}.ipynb"))
    expect(notebook.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(
        1, timeout=60_000)
    editor = editor_of_cell_containing(notebook, "class AddGate")
    text = typed_answer(wrong)
    replace_cell_source(notebook, editor, text)
    expect(editor).to_contain_text(text.splitlines()[-1].strip())
    notebook.locator(".validate-button").click()
    dialog = notebook.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=VALIDATE_TIMEOUT)
    validation = dialog.inner_text()
    dialog.get_by_role("button").last.click()
    notebook.keyboard.press("Control+s")
    expect(notebook.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(0)
    notebook.close()
    submit(page, AID)
    return page, validation


def feedback_page(page, server, student):
    """The feedback page the student fetched, opened in their browser; its text."""
    pages = sorted((server.homes[student] / AID / "feedback").glob(f"*/{AID}.html"))
    assert len(pages) == 1, f"{student} has {len(pages)} feedback pages"
    relative = pages[0].relative_to(server.homes[student])
    view = page.context.new_page()
    view.goto(server.user_url(student, f"files/{relative}"))
    text = view.locator("body").inner_text()
    view.close()
    return text


def score_on(page_text):
    found = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)", page_text)
    assert found, f"no score on the feedback page:\n{page_text[:2000]}"
    return float(found[1]), float(found[2])


def as_user(name, code, *args, python=DEBIAN_PYTHON):
    """What CODE (Python, run by NAME with ARGS) prints."""
    done = subprocess.run(["runuser", "-u", name, "--", str(python), "-c", code,
                           *map(str, args)], cwd="/", capture_output=True, text=True, check=True)
    return done.stdout.strip()


CAN_READ = """
import os, sys
path = sys.argv[1]
try:
    os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)
    print("read")
except PermissionError:
    print("denied")
"""


def can_read(name, path):
    """'read' when NAME can list the folder or read the file at PATH, 'denied' when not."""
    return as_user(name, CAN_READ, path)


def test_each_role_gets_its_tools(class_server, browser):
    student, instructor = class_server.students[0], class_server.instructor
    page = log_in(browser, class_server, student)
    assert nbgrader_menu(page) == ["Assignment List"]
    # no Create Assignment sidebar either, and no formgrader behind the menu
    expect(page.get_by_text("Create Assignment", exact=True)).to_have_count(0)
    assert page.request.get(class_server.user_url(student, "formgrader")).status == 404
    page.context.close()

    page = log_in(browser, class_server, instructor)
    assert {"Assignment List", "Formgrader", "Create assignment"} <= set(nbgrader_menu(page))
    # JupyterHub >= 4.1 forbids showing a user's pages inside another page (nbgrader #1870),
    # so the formgrader opens in a browser tab of its own
    formgrader = page.context.new_page()
    response = formgrader.goto(class_server.user_url(instructor, "formgrader"))
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    expect(formgrader.get_by_role("heading", name="Manage Assignments")).to_be_visible()
    expect(formgrader.get_by_role("link", name=AID, exact=True)).to_be_visible()
    page.context.close()


def test_no_server_for_someone_in_neither_group(class_server, browser):
    page = sign_in(browser, class_server, class_server.outsider)
    expect(page.locator("body")).to_contain_text(
        f"{class_server.outsider} is in neither the {class_server.instructors_group} group nor "
        f"the {class_server.students_group} group", timeout=60_000)
    page.context.close()


def test_a_class_from_release_to_feedback(class_server, browser):
    server, instructor = class_server, class_server.instructor
    right, wrong = server.students
    teacher = log_in(browser, server, instructor)
    shown = run_in_terminal(teacher, instructor, INSTRUCTOR_COMMAND.format("release"))
    assert f"Released as: backprop-course {AID}" in shown

    pages, validations = {}, {}
    for student in (right, wrong):
        pages[student], validations[student] = hand_in(browser, server, student,
                                                       wrong=student == wrong)
    assert "Success! Your notebook passes all the tests." in validations[right]
    assert "The following cell failed:" in validations[wrong]
    assert "Success" not in validations[wrong]

    shown = run_in_terminal(teacher, instructor, INSTRUCTOR_COMMAND.format("collect"))
    assert f"Collecting submission: {right} {AID}" in shown
    assert f"Collecting submission: {wrong} {AID}" in shown
    run_in_terminal(teacher, instructor, INSTRUCTOR_COMMAND.format("grade"))
    with open(server.grading() / "reports" / "grades.csv", newline="") as report:
        grades = {row["student_id"]: row for row in csv.DictReader(report)}
    with open(server.grading() / "reports" / "cell_grades.csv", newline="") as report:
        lost = [row for row in csv.DictReader(report) if row["score"] != row["max_score"]]
    # shown in full when the test fails (pytest shortens assertion messages): what the checks
    # said of each cell the correct student lost
    for result in json.loads((server.grading() / "reports" / "summary.json").read_text()):
        for cell in result["cells"] if result["student_id"] == right else []:
            if cell["score"] != cell["max_score"]:
                print("lost:", result["reason"], cell)
    assert float(grades[right]["score"]) == float(grades[right]["max_score"]) > 0, \
        (grades[right], [row for row in lost if row["student_id"] == right])
    assert float(grades[wrong]["score"]) < float(grades[wrong]["max_score"])
    # the graded submissions, in the formgrader in a tab of its own
    formgrader = teacher.context.new_page()
    formgrader.goto(server.user_url(instructor, f"formgrader/manage_submissions/{AID}"))
    for student in (right, wrong):
        expect(formgrader.get_by_role("row").filter(has_text=student)).to_have_count(1)
    formgrader.close()
    run_in_terminal(teacher, instructor, INSTRUCTOR_COMMAND.format("feedback"))

    for student in (right, wrong):
        fetch_feedback(pages[student], AID)
        text = feedback_page(pages[student], server, student)
        assert score_on(text) == (float(grades[student]["score"]),
                                  float(grades[student]["max_score"]))
        assert "BEGIN HIDDEN TESTS" not in text
    assert score_on(feedback_page(pages[right], server, right)) != score_on(
        feedback_page(pages[wrong], server, wrong))

    check_privacy(server)


def check_privacy(server):
    """What each student cannot reach: another student's work and feedback, the instructor's
    course and grades; what keeps the exchange honest."""
    course = server.exchange / "backprop-course"
    ada, bob = server.students
    for student, other in [(ada, bob), (bob, ada)]:
        for path in [server.homes[other], server.homes[other] / AID / f"{AID}.ipynb",
                     course / "inbound", course / "feedback", server.homes[server.instructor],
                     server.checkout() / "solutions" / AID / f"{AID}.ipynb",
                     server.grading() / "collected" / other / AID / f"{AID}.ipynb",
                     server.grading() / "gradebook.db"]:
            assert can_read(student, path) == "denied", f"{student} can read {path}"
        assert can_read(student, course / "outbound" / AID) == "read"  # what everyone fetches
        # the released assignment cannot be replaced, nor the course's folder taken over
        assert as_user(student, f"""
import os
for attempt in (lambda: open({str(course / 'outbound' / AID / 'planted.ipynb')!r}, "w"),
                lambda: os.rename({str(course)!r}, {str(course) + '-taken'!r})):
    try:
        attempt()
        print("done")
    except PermissionError:
        print("denied")
""").split() == ["denied", "denied"]
        # the students' kernels run in the course environment, which has no grader
        assert as_user(student, "import importlib.util as u; print(u.find_spec('grader'))",
                       python=server.course_env / "bin" / "python") == "None"
    # a submission in inbound is found by its name only, which ends in a random string
    for submission in sorted(course.joinpath("inbound").iterdir()):
        student_id, aid, _timestamp, random_part = submission.name.split("+")
        assert student_id in server.students and aid == AID and len(random_part) >= 12
