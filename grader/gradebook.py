"""The course gradebook (nbgrader_config.py): where autograde records every graded submission,
where the instructor grades written answers in the formgrader, and what the reports, the
feedback pages and the LMS exports are made from.

Re-grading never loses what a person entered: a submission is updated in place, never removed
and added again, so manual scores, extra credit, comments and flags stay; a new auto score
replaces only the auto score. A score set by hand is flagged for a second look when the work
under it changed (a different auto score, or a different written answer).
"""

import copy
import os
import re
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from .late import LateWork, apply_late_policy, describe_lateness, late_work
from .nbgrader_run import nbgrader_env
from .release import assignment_ids, course_config, release

NEEDS_MANUAL = "needs manual grading"
GRADED_BY_HAND = "graded by hand"
IN_GRADEBOOK = ("graded", "review")  # the statuses whose submissions the gradebook records


@dataclass
class Course:
    """A course folder's nbgrader configuration and where its gradebook keeps things."""

    root: Path
    config: object  # traitlets Config of nbgrader_config.py
    coursedir: object  # nbgrader's CourseDirectory: its paths, as nbgrader builds them
    late: LateWork

    @property
    def db_url(self):
        return self.coursedir.db_url

    def folder(self, step, student_id, assignment_id):
        """nbgrader's folder of a step ("submitted", "autograded", "feedback")."""
        return Path(self.coursedir.format_path(getattr(self.coursedir, f"{step}_directory"),
                                               student_id, assignment_id))


def open_course(root):
    """The course at root; raises CourseConfigError when nbgrader_config.py cannot be used."""
    from nbgrader.coursedir import CourseDirectory

    os.environ.update(nbgrader_env())  # nbgrader runs `alembic` to make a new gradebook
    config = course_config(root)
    return Course(Path(root), config, CourseDirectory(config=config),
                  late_work(config, set(assignment_ids(root))))


@contextmanager
def course_gradebook(course):
    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        yield gb


@contextmanager
def recorder(course, autograded, students, scratch, assignments):
    """record(result): records a graded result in the course gradebook and puts its autograded
    notebook where the formgrader shows it, one at a time as results come. autograded: the
    folder holding <student>/<assignment>/ of this run; students: {student id: {"first_name",
    "last_name", "lms_user_id"}} known from an LMS; assignments: the ids of the batch's."""
    with course_gradebook(course) as gb:
        known = {a.name for a in gb.assignments}
    if (set(assignments) & set(assignment_ids(course.root))) - known:
        # the course gradebook has not seen these assignments yet: record their cells
        release(course.root, release_dir=Path(scratch) / "course-release", db_url=course.db_url)
    with course_gradebook(course) as gb:
        for student_id, details in students.items():
            gb.update_or_create_student(student_id, **details)

        def record(result):
            if result.status in IN_GRADEBOOK:
                _record(gb, course, result,
                        Path(autograded) / result.student_id / result.assignment_id)
        yield record


def _record(gb, course, result, autograded):
    """Update (never replace) one submission: auto scores and auto comments from this run;
    manual scores, extra credit, comments and flags as the graders left them."""
    aid, sid = result.assignment_id, result.student_id
    gb.update_or_create_student(sid)
    course_copy = course.folder("autograded", sid, aid)
    changed = _changed_answers(course_copy, autograded)
    with warnings.catch_warnings():
        # nbgrader 0.9's add_submission builds the submission's rows before adding them to
        # the session, and SQLAlchemy 2 warns at each autoflush in between; the rows are added
        # right after, so the instructor's terminal is spared it
        warnings.simplefilter("ignore", SAWarning)
        submission = gb.update_or_create_submission(aid, sid, timestamp=result.timestamp)
    cells = {c["grade_id"]: c for c in result.cells}
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.name in cells:
                _merge_grade(grade, cells[grade.name]["auto_score"], grade.name in changed)
        for comment in notebook.comments:
            comment.auto_comment = result.comments.get(comment.name)
    gb.db.commit()
    if autograded.is_dir():
        shutil.rmtree(course_copy, ignore_errors=True)
        shutil.copytree(autograded, course_copy)
    _mark_submitted(course.folder("submitted", sid, aid), result.timestamp)
    apply_late_policy(gb, course, aid, sid)


def _merge_grade(grade, auto_score, answer_changed):
    """A new auto score replaces only the auto score. Who needs to look: nobody for a cell the
    checks scored; a person for a written answer (auto score None); a person again where a
    score set by hand sits on work that changed."""
    auto_changed = grade.auto_score != auto_score
    grade.auto_score = auto_score
    if grade.manual_score is None:
        grade.needs_manual_grade = auto_score is None
    elif auto_changed or answer_changed:
        grade.needs_manual_grade = True


def _changed_answers(before, after):
    """grade ids of written answers whose text differs between two autograded folders (none
    when there was no earlier one)."""
    old, new = _written_answers(before), _written_answers(after)
    return {gid for gid, text in new.items() if gid in old and old[gid] != text}


def _written_answers(folder):
    answers = {}
    for path in sorted(Path(folder).glob("*.ipynb")) if Path(folder).is_dir() else []:
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("grade"):
                answers[meta.get("grade_id")] = cell.source
    return answers


def _mark_submitted(folder, timestamp):
    """nbgrader's submitted/<student>/<assignment>/, which the formgrader counts, with the
    submission time in nbgrader's timestamp.txt. No notebook is put there: the formgrader's
    Autograde button would run it with nbgrader, outside the sandbox; with none, the button
    finds nothing to run."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "timestamp.txt"
    stamp.unlink(missing_ok=True)
    if timestamp is not None:
        stamp.write_text(f"{timestamp.isoformat(sep=' ')} UTC")


def refresh_late_penalties(course, results=None):
    """Work out the late penalties again from the gradebook's current scores (hand-graded
    points included) and the due dates and extensions of nbgrader_config.py: for the graded
    results given, or every submission in the gradebook."""
    with course_gradebook(course) as gb:
        if results is None:
            keys = [(s.assignment.name, s.student.id) for a in gb.assignments
                    for s in a.submissions]
        else:
            keys = [(r.assignment_id, r.student_id) for r in results
                    if r.status in IN_GRADEBOOK and _find(gb, r) is not None]
        for aid, sid in keys:
            apply_late_policy(gb, course, aid, sid)


def read_back(course, results):
    """Give each graded result the gradebook's view: scores with hand-graded points, who still
    needs to look at what, the late penalty. Returns the graded results the gradebook does not
    have, which are left as they are."""
    missing = []
    with course_gradebook(course) as gb:
        for r in results:
            submission = _find(gb, r) if r.status in IN_GRADEBOOK else None
            if submission is None:
                missing += [r] if r.status in IN_GRADEBOOK else []
                continue
            grades = {g.name: g for nb in submission.notebooks for g in nb.grades}
            for cell in r.cells:
                grade = grades.get(cell["grade_id"])
                if grade is not None:
                    cell["score"] = float(grade.score)
                    cell["manual"] = _manual_state(grade)
            r.late_penalty = float(submission.late_submission_penalty or 0)
            r.score = max(0.0, float(submission.score) - r.late_penalty)
            r.max_score = float(submission.max_score)
            r.lateness = describe_lateness(submission)
    return missing


def _manual_state(grade):
    if grade.needs_manual_grade:
        return NEEDS_MANUAL
    if grade.manual_score is not None:
        return GRADED_BY_HAND
    return ""


def _find(gb, result):
    try:
        return gb.find_submission(result.assignment_id, result.student_id)
    except MissingEntry:
        return None


def feedback_pages(root, keys, page_config=None):
    """({(student, assignment): {file name: path of the page}}, problem): the feedback
    page of each (student, assignment) of keys that the gradebook of the course at root has
    graded, made by nbgrader's GenerateFeedback from the gradebook (hand-graded points, comments
    and the late penalty included); one it cannot make is left out. page_config: settings added
    to nbgrader_config.py's (the page's template); where a page cannot be made with them,
    nbgrader's own page is made, and problem says why. It takes the course folder, not a
    Course, so that worker processes can share the pages out."""
    course = open_course(root)
    configured, plain = _feedback_api(course, page_config), None
    pages, problem = {}, ""
    wanted = {}  # assignment -> its students of keys that have an autograded notebook
    for student_id, assignment_id in keys:
        if course.folder("autograded", student_id, assignment_id).is_dir():
            wanted.setdefault(assignment_id, []).append(student_id)
    for assignment_id, students in wanted.items():
        for student_id in students:  # no page from an earlier run can pass for this one's
            shutil.rmtree(course.folder("feedback", student_id, assignment_id),
                          ignore_errors=True)
        # one GenerateFeedback for all of them: its exporter and compiled templates are made
        # once, not once a page (~0.3 s each)
        done = _generate_feedback(configured, students, assignment_id)
        for student_id in students:
            folder = course.folder("feedback", student_id, assignment_id)
            made = sorted(folder.glob("*.html"))
            if not made and page_config:  # nbgrader removed what it could not make
                problem = problem or _exception_line(done.get("log", "") + done.get("error", ""))
                plain = plain or _feedback_api(course, None)
                made = sorted(folder.glob("*.html")) if _generate_feedback(
                    plain, [student_id], assignment_id)["success"] else []
            if made:  # (paths, not pages: a class's pages are never all in memory at once)
                pages[(student_id, assignment_id)] = {p.name: str(p) for p in made}
    return pages, problem


def _feedback_api(course, page_config):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = copy.deepcopy(course.config)
    config.merge(page_config or {})
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _generate_feedback(api, student_ids, assignment_id):
    """nbgrader's GenerateFeedback for these students (ids are checked names: no commas, no
    glob characters) of one assignment."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.utils import capture_log, temp_attrs

    graded = Path(api.coursedir.format_path(api.coursedir.autograded_directory, "-", "-"))
    everyone = {p.parent.name for p in graded.parent.parent.glob(f"*/{assignment_id}")}
    others = ",".join(sorted(everyone - set(student_ids)))
    pattern = student_ids[0] if len(student_ids) == 1 else "*"
    with temp_attrs(api.coursedir, assignment_id=assignment_id, student_id=pattern,
                    student_id_exclude=others):
        # nbgrader's converter itself: NbGraderAPI.generate_feedback would put nbgrader's own
        # page template in place of the one configured
        app = GenerateFeedback(coursedir=api.coursedir, parent=api)
        app.force = True
        return capture_log(app)


def _exception_line(log):
    """The line of a captured nbgrader log that names the exception ("jinja2.exceptions.
    TemplateNotFound: feedback/index.html.j2"), not nbgrader's "Please see the above"."""
    lines = [ln.strip() for ln in log.splitlines()
             if re.match(r"[\w.]*(Error|Exception|NotFound)\w*: ", ln.strip())
             and "Please see" not in ln]
    return lines[-1][:300] if lines else "no reason given"
