"""Late work: due dates and extensions from the course configuration, penalties by nbgrader.

nbgrader_config.py says when each assignment is due (`LateWork.due_dates`), which students have
an extension (`LateWork.extensions`) and how much a late day costs (`PercentPerDayLate`, the
plugin of nbgrader's `AssignLatePenalties`). A submission's time is nbgrader's `timestamp.txt`
in SUBMISSIONS/<student>/<assignment>/, as `nbgrader collect` writes it.

The penalty is always worked out again from the course gradebook's current score (auto and
hand-graded points), with nbgrader's own AssignLatePenalties preprocessor, so grading a written
answer by hand after autograde changes it as it should.
"""

import logging
import math

import nbformat
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc
from traitlets import Dict, Float
from traitlets.config import Configurable

TIMESTAMP_MAX_BYTES = 200  # "2026-03-06 23:59:00.000000 UTC" and some room
EXTENSION_UNITS = ("minutes", "hours", "days", "weeks")  # nbgrader's grant_extension takes these
QUIET = logging.getLogger("backprop-course.late")
QUIET.setLevel(logging.ERROR)


class CourseConfigError(ValueError):
    """The course configuration cannot be used; the message says what to change."""


class LateWork(Configurable):
    """When each assignment is due, and the students who have longer."""

    due_dates = Dict(
        help="assignment id -> when it is due, as nbgrader reads times, e.g. "
             "'2026-03-06 23:59:00 Europe/Berlin' or '2026-03-06 22:59:00 UTC'",
    ).tag(config=True)
    extensions = Dict(
        help="assignment id -> {student id -> extension}, an extension being the keyword "
             "arguments of nbgrader's Gradebook.grant_extension, e.g. {'days': 2}",
    ).tag(config=True)


class PercentPerDayLate(LateSubmissionPlugin):
    """A late submission loses percent_per_day of its score for each day or part of a day
    after the due date (and extension), at most all of it."""

    percent_per_day = Float(10.0, help="percent of the score lost per day late").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        days = math.ceil(total_seconds_late / 86400)
        return score * min(100.0, days * self.percent_per_day) / 100.0


def late_work(config, assignment_ids):
    """The course's LateWork, checked: every assignment known, every time and extension one
    that nbgrader can use. Raises CourseConfigError with a sentence saying what to fix."""
    late = LateWork(config=config)
    where = "nbgrader_config.py, c.LateWork"
    for aid in [*late.due_dates, *late.extensions]:
        if aid not in assignment_ids:
            raise CourseConfigError(f"{where}: '{aid}' is not an assignment of this course "
                                    f"(one of {', '.join(sorted(assignment_ids))}): fix the name")
    for aid, when in late.due_dates.items():
        try:
            parse_utc(when)
        except (ValueError, OverflowError, TypeError):
            raise CourseConfigError(
                f"{where}.due_dates['{aid}'] = {when!r} is not a time nbgrader can read: write "
                "it like '2026-03-06 23:59:00 Europe/Berlin' or '2026-03-06 22:59:00 UTC'"
            ) from None
    for aid, students in late.extensions.items():
        for student, extension in students.items():
            if not (isinstance(extension, dict) and extension
                    and set(extension) <= set(EXTENSION_UNITS)
                    and all(isinstance(v, (int, float)) for v in extension.values())):
                raise CourseConfigError(
                    f"{where}.extensions['{aid}']['{student}'] = {extension!r}: write it like "
                    f"{{'days': 2}}, with any of {', '.join(EXTENSION_UNITS)}")
    return late


def read_timestamp(folder):
    """(the submission time as nbgrader stores it, a note) from folder/timestamp.txt: (None,
    "") when there is none; a time nbgrader cannot read is not used, and the note says so."""
    path = folder / "timestamp.txt"
    if path.is_symlink() or not path.is_file():
        return None, ""
    if path.stat().st_size > TIMESTAMP_MAX_BYTES:
        return None, "timestamp.txt is too long to be a time: graded as on time"
    text = path.read_text(errors="replace").strip()
    try:
        return parse_utc(text), ""
    except (ValueError, OverflowError):
        return None, (f"timestamp.txt does not hold a time nbgrader can read "
                      f"({text[:40]!r}): graded as on time")


def apply_late_policy(gb, course, assignment_id, student_id):
    """Set the assignment's due date and the student's extension in the course gradebook,
    then let nbgrader's AssignLatePenalties (with the plugin of nbgrader_config.py) work out
    each notebook's penalty from the gradebook's current scores."""
    due = course.late.due_dates.get(assignment_id)
    if due:  # else the gradebook's, as the formgrader's Manage Assignments may have set it
        gb.update_or_create_assignment(assignment_id, duedate=parse_utc(due))
    extension = course.late.extensions.get(assignment_id, {}).get(student_id, {})
    gb.grant_extension(assignment_id, student_id, **extension)
    submission = gb.find_submission(assignment_id, student_id)
    if submission.total_seconds_late == 0 and all(
            notebook.late_submission_penalty is None for notebook in submission.notebooks):
        return  # on time, and no penalty stands: AssignLatePenalties would change nothing
    for notebook in gb.find_assignment(assignment_id).notebooks:
        resources = {"nbgrader": {"notebook": notebook.name, "assignment": assignment_id,
                                  "student": student_id, "db_url": course.db_url}}
        # it reads and writes only the gradebook, never the notebook's cells; its log lines
        # ("... is 3600 seconds late") would repeat what the report says
        penalties = AssignLatePenalties(config=course.config, log=QUIET)
        penalties.preprocess(nbformat.v4.new_notebook(), resources)
    gb.db.expire_all()  # the preprocessor wrote through its own connection


def describe_lateness(submission):
    """'submitted 1 day 2 h late (penalty 9.5 points)' for a late submission, else ''."""
    seconds = submission.total_seconds_late
    if seconds <= 0:
        return ""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "",
             f"{hours} h" if hours else "", f"{rest // 60} min" if not days and not hours else ""]
    return (f"submitted {' '.join(p for p in parts if p)} late "
            f"(penalty {submission.late_submission_penalty or 0:g} points)")
