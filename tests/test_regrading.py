"""The instructor's grades, from hand-in to the LMS, with the real commands on a course folder
of their own (its nbgrader_config.py with due dates and an extension, its own gradebook):

1. `autograde` a small class (ada's a4 with written answers, bob's a1 a day and a half late,
   cy's a1 as late but with a 3-day extension);
2. written answers graded and a code cell's score overridden by hand, written to the gradebook
   exactly as nbgrader's formgrader writes them (its GradeHandler.put and CommentHandler.put);
3. `autograde` again: nothing lost;
4. ada hands in again (a written answer rewritten, a code cell broken): `autograde --student`;
5. `finalize`; 6. a Canvas and a Moodle download graded into the same report; 7. `export`.

The steps run once (the `course` fixture); each test checks what one of them left.
"""

import csv
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, release_path, source_path
from nbgrader.api import Gradebook

from grader.demo import make_demo_course
from grader.release import course_config
from grader.simulate import completed, with_mistakes

A1, A4 = "a1_scalar_backprop", "a4_vanishing_gradients"
DUE = "2026-03-06 23:59:00 UTC"
LATE = "2026-03-08 12:00:00 UTC"  # 1 day 12 h 1 min after DUE: two started days, 20 %
ANSWER, POINTS, COMMENT = "answer_1", 6, "Right idea; say why the product shrinks."
OVERRIDE = "test_clip_grad_norm"  # a code cell whose score the instructor sets by hand
OVERRIDE_POINTS = 12


def with_written_answers(nb, text="The derivatives multiply, and each is below one."):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            cell.source = f"{text} ({meta['grade_id']})"
    return nb


def put(subs, student, aid, nb, timestamp=None):
    folder = subs / student / aid
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{aid}.ipynb")
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def grades_of(db_url, aid, student):
    """{grade id: (auto, manual, needs manual)} and {grade id: manual comment}."""
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(aid, student)
        grades = {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                  for nb in sub.notebooks for g in nb.grades}
        comments = {c.name: c.manual_comment for nb in sub.notebooks for c in nb.comments}
    return grades, comments


def grade_by_hand(db_url, student, aid, grade_id, points, comment=None):
    """What nbgrader's formgrader does when a score box, then a comment box, is left
    (nbgrader/server_extensions/formgrader/apihandlers.py, GradeHandler.put and
    CommentHandler.put), through the same gradebook API."""
    with Gradebook(db_url) as gb:
        grade = gb.find_grade(grade_id, aid, aid, student)
        grade.manual_score = points
        grade.extra_credit = None
        if grade.manual_score is None and grade.auto_score is None:
            grade.needs_manual_grade = True
        else:
            grade.needs_manual_grade = False
        gb.db.commit()
        if comment is not None:
            found = gb.find_comment(grade_id, aid, aid, student)
            found.manual_comment = comment
            gb.db.commit()


def canvas_download(path):
    """A Canvas "Download Submissions" zip of a1: two students, one marked late."""
    correct = nbformat.writes(completed(release_path(A1), source_path(A1)))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"lovelaceada_1001_5001_{A1}.ipynb", correct)
        zf.writestr("lovelaceada_1001_5002_notes.txt", "my notes")
        zf.writestr(f"hopper_grace_LATE_1002_5003_{A1}-1.ipynb", correct)
    return path


def moodle_download(path):
    """A Moodle "Download all submissions" zip of a1 (in folders, Moodle's default)."""
    correct = nbformat.writes(completed(release_path(A1), source_path(A1)))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"Alan Turing_2000002_assignsubmission_file/{A1}.ipynb", correct)
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("regrading")
    folder = make_demo_course(ROOT, base / "course")
    with open(folder / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.LateWork.due_dates = {{{A1!r}: {DUE!r}}}\n"
                f"c.LateWork.extensions = {{{A1!r}: {{'cy': {{'days': 3}}}}}}\n")
    # the course folder's own gradebook: not the test session's scratch folder
    env = {k: v for k, v in os.environ.items() if k != "BACKPROP_COURSE_SCRATCH"}
    env.update(BACKPROP_COURSE_ROOT=str(folder), BACKPROP_COURSE_CELL_TIMEOUT="20")

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "course.cli", *map(str, args)],
                              capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    subs, report = base / "submissions", base / "report"
    a4_answered = with_written_answers(completed(release_path(A4), source_path(A4)))
    put(subs, "ada", A4, a4_answered, "2026-03-01 10:00:00 UTC")
    put(subs, "bob", A1, completed(release_path(A1), source_path(A1)), LATE)
    put(subs, "cy", A1, completed(release_path(A1), source_path(A1)), LATE)
    old = os.environ.pop("BACKPROP_COURSE_SCRATCH", None)
    try:
        db_url = course_config(folder).CourseDirectory.db_url
    finally:
        if old is not None:
            os.environ["BACKPROP_COURSE_SCRATCH"] = old
    state = {"folder": folder, "db_url": db_url, "report": report, "run": run}

    run("autograde", subs, "--out", report, "--jobs", "2")  # 1.
    state["first"] = {r["student_id"]: r for r in rows(report / "grades.csv")}
    state["first_grades"] = grades_of(db_url, A4, "ada")
    grade_by_hand(db_url, "ada", A4, ANSWER, POINTS, COMMENT)  # 2.
    grade_by_hand(db_url, "ada", A4, OVERRIDE, OVERRIDE_POINTS)
    state["bob_grades"] = grades_of(db_url, A1, "bob")
    run("autograde", subs, "--out", report, "--jobs", "2")  # 3.
    state["regraded"] = grades_of(db_url, A4, "ada")
    others = {p: p.read_bytes() for p in (report / "feedback").rglob("*.html")
              if p.parent.parent.name != "ada"}
    others_rows = [r for r in rows(report / "grades.csv") if r["student_id"] != "ada"]
    resubmitted = with_written_answers(
        with_mistakes(release_path(A4), source_path(A4), A4, ["clip_returns_given"]),
        "Rewritten: each layer scales the gradient by its derivative.")
    put(subs, "ada", A4, resubmitted)  # 4.
    state["one"] = run("autograde", subs, "--out", report, "--student", "ada", "--jobs", "1")
    state["resubmitted"] = grades_of(db_url, A4, "ada")
    state["others_pages_after"] = {p: p.read_bytes() == text for p, text in others.items()}
    state["others_rows"] = (others_rows,
                            [r for r in rows(report / "grades.csv") if r["student_id"] != "ada"])
    state["bob_grades_after"] = grades_of(db_url, A1, "bob")
    run("finalize", "--out", report)  # 5.
    state["final"] = {r["student_id"]: r for r in rows(report / "grades.csv")}
    state["final_cells"] = rows(report / "cell_grades.csv")
    run("autograde", canvas_download(base / "canvas.zip"), "--out", report)  # 6.
    run("autograde", moodle_download(base / "moodle.zip"), "--out", report)
    state["with_lms"] = {r["student_id"]: r for r in rows(report / "grades.csv")}
    for fmt in ("canvas", "csv"):  # 7.
        state[fmt] = run("export", "--format", fmt, base / f"{fmt}.csv")
    state["moodle"] = run("export", "--format", "moodle", base / "moodle.csv",
                          "--assignment", A1)
    state["exports"] = base
    return state


pytestmark = pytest.mark.slow


def test_regrading_keeps_hand_grades_and_comments(course):
    grades, comments = course["regraded"]
    assert grades[ANSWER] == (None, POINTS, False)
    assert comments[ANSWER] == COMMENT
    auto, manual, needs_person = grades[OVERRIDE]
    assert (manual, needs_person) == (OVERRIDE_POINTS, False)  # same work: no second look
    assert auto == course["first_grades"][0][OVERRIDE][0]


def test_a_changed_auto_score_replaces_only_the_auto_score(course):
    before, _ = course["regraded"]
    grades, comments = course["resubmitted"]
    auto, manual, needs_person = grades[OVERRIDE]
    assert auto < before[OVERRIDE][0], "the broken clip_grad_norm kept its auto score"
    assert manual == OVERRIDE_POINTS and needs_person, "the override is kept, and looked at again"
    # the rewritten written answer keeps its grade and comment until a person looks again
    assert grades[ANSWER] == (None, POINTS, True) and comments[ANSWER] == COMMENT


def test_the_gradebook_flags_only_written_answers_for_a_person(course):
    grades, _ = course["first_grades"]
    assert {g for g, (_, _, needs) in grades.items() if needs} == {
        "answer_1", "answer_2", "answer_3"}
    bob, _ = course["bob_grades"]
    assert not any(needs for _, _, needs in bob.values())


def test_the_formgrader_counts_and_flags_what_the_gradebook_holds(course):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    old = os.environ.pop("BACKPROP_COURSE_SCRATCH", None)
    try:
        config = course_config(course["folder"])
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        with Gradebook(course["db_url"]) as gb:
            in_gradebook = {a.name: len(a.submissions) for a in gb.assignments}
        for aid in (A1, A4):
            assert api.get_assignment(aid)["num_submissions"] == in_gradebook[aid] > 0
            listed = api.get_submissions(aid)
            assert len(listed) == in_gradebook[aid] and all(s["autograded"] for s in listed)
        a1 = api.get_submissions(A1)
        assert not any(s["needs_manual_grade"] for s in a1), "a1 is all code"
    finally:
        if old is not None:
            os.environ["BACKPROP_COURSE_SCRATCH"] = old


def test_regrading_one_student_touches_no_one_else(course):
    assert "ada" in course["one"].stdout and "bob" not in course["one"].stdout
    assert course["others_pages_after"] and all(course["others_pages_after"].values())
    before, after = course["others_rows"]
    assert before == after and {r["student_id"] for r in after} == {"bob", "cy"}
    assert course["bob_grades_after"] == course["bob_grades"]


def test_late_work_loses_the_configured_penalty_in_grades_csv_and_feedback(course):
    first = course["first"]
    assert (first["bob"]["score"], first["bob"]["late_penalty"]) == ("80", "20")
    assert "submitted 1 day 12 h late (penalty 20 points)" in first["bob"]["reason"]
    assert (first["cy"]["score"], first["cy"]["late_penalty"]) == ("100", "0")  # extension
    page = (course["report"] / "feedback" / "bob" / A1 / f"{A1}.html").read_text()
    assert "Late submission penalty" in re.sub(r"<[^>]+>", " ", page)


def test_finalize_brings_hand_graded_points_to_the_report_and_the_feedback(course):
    ada = course["final"]["ada"]
    grades, _ = course["resubmitted"]
    code = sum(auto for g, (auto, _, _) in grades.items() if g.startswith("test_")
               and g != OVERRIDE)
    assert float(ada["score"]) == pytest.approx(code + OVERRIDE_POINTS + POINTS)
    # answers 2 and 3 (20 points in all), and the two to look at again: the rewritten answer 1
    # and the overridden clip_grad_norm (15 points) under which the code changed
    assert "35 points await manual grading" in ada["reason"]
    cells = {c["grade_id"]: c for c in course["final_cells"] if c["student_id"] == "ada"}
    assert cells[ANSWER]["score"] == str(POINTS)
    assert cells[ANSWER]["flag"] == "needs manual grading"  # rewritten: look again
    page = (course["report"] / "feedback" / "ada" / A4 / f"{A4}.html").read_text()
    assert COMMENT in page
    # the written answer's own heading shows the hand-graded points
    assert f"Score: {POINTS:.1f} / 7.0" in page


def test_lms_downloads_are_graded_into_the_same_report(course):
    graded = course["with_lms"]
    assert {"ada", "bob", "cy", "canvas-1001", "canvas-1002", "moodle-2000002"} <= set(graded)
    assert graded["canvas-1001"]["score"] == "100"
    assert "Canvas marked this submission late" in graded["canvas-1002"]["reason"]
    assert graded["moodle-2000002"]["score"] == "100"
    with Gradebook(course["db_url"]) as gb:
        assert gb.find_student("canvas-1001").lms_user_id == "1001"
        alan = gb.find_student("moodle-2000002")
        assert (alan.first_name, alan.last_name, alan.lms_user_id) == ("Alan", "Turing",
                                                                       "2000002")


def test_the_canvas_export_is_a_gradebook_import(course):
    with open(course["exports"] / "canvas.csv", newline="") as f:
        table = list(csv.reader(f))
    header, points, *students = table
    # what Canvas's GradebookImporter requires of the header (app/models/gradebook_importer.rb)
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert header[5:] == [A1, A4]
    assert points[0] == "Points Possible" and points[5:] == ["100", "100"]
    by_id = {row[1] or row[3]: row for row in students}
    assert by_id["1001"][:2] == ["lovelaceada", "1001"] and by_id["1001"][5] == "100"
    assert by_id["bob"][5] == "80"  # the late penalty taken off; matched by SIS Login ID
    ada = float(course["final"]["ada"]["score"])
    assert float(by_id["ada"][6]) == ada, "the hand-graded points are in the export"
    assert "2000002" not in by_id  # a Moodle participant is no Canvas user
    assert "still has answers to grade by hand" in course["canvas"].stderr


def test_the_moodle_export_is_a_grading_worksheet(course):
    rows_ = rows(course["exports"] / "moodle.csv")
    assert list(rows_[0]) == ["Identifier", "Full name", "Grade", "Maximum Grade",
                              "Last modified (grade)"]
    assert [(r["Identifier"], r["Full name"], r["Grade"]) for r in rows_] == [
        ("Participant 2000002", "Alan Turing", "100")]
    assert "left out" in course["moodle"].stderr  # bob, cy and the Canvas students


def test_the_csv_export_has_nbgraders_columns(course):
    exported = rows(course["exports"] / "csv.csv")
    assert list(exported[0]) == ["assignment", "duedate", "timestamp", "student_id",
                                 "last_name", "first_name", "email", "raw_score",
                                 "late_submission_penalty", "score", "max_score"]
    bob = next(r for r in exported if r["student_id"] == "bob" and r["assignment"] == A1)
    assert (float(bob["raw_score"]), float(bob["late_submission_penalty"]),
            float(bob["score"])) == (100, 20, 80)


def test_the_course_keeps_its_own_gradebook(course):
    own = course["folder"] / "grading" / "gradebook.db"
    assert course["db_url"] == f"sqlite:///{own}" and own.is_file()
    session = Path(os.environ["BACKPROP_COURSE_SCRATCH"]) / "gradebook.db"  # tests/conftest.py
    if session.exists():  # other tests' grading: none of this course's students reached it
        with Gradebook(f"sqlite:///{session}") as gb:
            assert "canvas-1001" not in {s.id for s in gb.students}
