"""`backprop-course export --format canvas|moodle|csv OUT`: the course gradebook's grades as an
LMS imports them, hand-graded points included and late penalties taken off. Each format is an
nbgrader ExportPlugin, so `nbgrader export --exporter grader.export.CanvasExport --to OUT` run
in the course folder writes the same file.

- canvas: the file Canvas's Gradebook imports (Grades > Import). Canvas reads the header
  `Student, ID, SIS User ID, SIS Login ID, Section` and then one column per assignment, matched
  by the Canvas assignment id in parentheses at the end of its title ("A1 (4711)") or else by
  its exact title, a new assignment being made otherwise; a second row starting "Points
  Possible" gives each column's points. Students are matched by ID (Canvas's user id, known
  for students graded from a Canvas download), else by SIS User ID, SIS Login ID (the student
  id here, for students graded from folders) or name. An empty cell changes nothing.
- moodle: the grading worksheet a Moodle assignment imports (Assignment > Submissions >
  "Upload grading worksheet", with the "Offline grading worksheet" feedback type on). Moodle
  needs the columns `Identifier` ("Participant <participant id>", as its download numbers the
  students), `Grade` and `Last modified (grade)`; one assignment per file.
- csv: nbgrader's own export columns (assignment, duedate, timestamp, student_id, last_name,
  first_name, email, raw_score, late_submission_penalty, score, max_score), one row per student
  and assignment, a missing submission scoring 0.
"""

import csv
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import MissingEntry
from nbgrader.plugins import ExportPlugin
from traitlets import Dict, List, Unicode

from .gradebook import course_gradebook, open_course, refresh_late_penalties

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)"]
NBGRADER_CSV_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name",
                        "first_name", "email", "raw_score", "late_submission_penalty", "score",
                        "max_score"]


class ExportError(ValueError):
    """The export cannot be written as asked; the message says what to do."""


class LmsExport(ExportPlugin):
    """What the three formats share: the assignments and students to export, and what the
    instructor should know about the file (notes)."""

    notes = List(Unicode())

    def assignments(self, gradebook, graded_only=True):
        """The assignments asked for, else those with a submission (graded_only; an LMS
        would make a new, empty column of any other) or all."""
        names = [a.name for a in gradebook.assignments]
        unknown = sorted(set(self.assignment) - set(names))
        if unknown:
            raise ExportError(f"The gradebook has no assignment {', '.join(unknown)}: give one "
                              f"of {', '.join(sorted(names))}")
        return sorted((a for a in gradebook.assignments if a.name in self.assignment
                       or (not self.assignment and (a.submissions or not graded_only))),
                      key=lambda a: a.name)

    def students(self, gradebook):
        return [s for s in gradebook.students if not self.student or s.id in self.student]

    def final_scores(self, gradebook, assignments):
        """{(student, assignment): score after the late penalty} of every submission, with a
        note for each one still waiting for a person."""
        scores = {}
        for assignment in assignments:
            for sub in assignment.submissions:
                if self.student and sub.student.id not in self.student:
                    continue
                penalty = sub.late_submission_penalty or 0
                scores[(sub.student.id, assignment.name)] = round(max(0.0, sub.score - penalty), 2)
                if sub.needs_manual_grade:
                    self.notes.append(f"{sub.student.id}'s {assignment.name} still has answers "
                                      "to grade by hand: its score counts them as 0")
        return scores

    def write(self, header, rows):
        write_csv(Path(self.to), header, rows)


class CanvasExport(LmsExport):
    """The CSV that Canvas's Gradebook imports."""

    assignment_columns = Dict(
        help="assignment id -> its Canvas column title, best with the Canvas assignment id in "
             "parentheses, e.g. {'a1_scalar_backprop': 'A1 Scalar backprop (4711)'}; default: "
             "the assignment id, which Canvas matches by title",
    ).tag(config=True)

    def export(self, gradebook):
        assignments = self.assignments(gradebook)
        scores = self.final_scores(gradebook, assignments)
        header = CANVAS_STUDENT_COLUMNS + [
            self.assignment_columns.get(a.name, a.name) for a in assignments]
        rows = [["Points Possible", "", "", "", ""] + [f"{a.max_score:g}" for a in assignments]]
        for student in self.students(gradebook):
            graded = [scores.get((student.id, a.name)) for a in assignments]
            if all(g is None for g in graded):
                continue
            if student.id.startswith("canvas-anon-"):
                self.notes.append(f"{student.id} was graded anonymously, so Canvas cannot match "
                                  "the row: it is left out; enter that grade in SpeedGrader")
                continue
            canvas_id = student.lms_user_id if student.id.startswith("canvas-") else ""
            name = ", ".join(filter(None, [student.last_name, student.first_name])) or student.id
            login = "" if canvas_id else student.id  # students graded from folders
            rows.append([name, canvas_id, "", login, ""]
                        + ["" if g is None else f"{g:g}" for g in graded])
        self.write(header, rows)


class MoodleExport(LmsExport):
    """A Moodle assignment's grading worksheet."""

    def export(self, gradebook):
        assignments = self.assignments(gradebook)
        if len(assignments) != 1:
            raise ExportError(
                "A Moodle grading worksheet holds one assignment: say which with --assignment "
                f"(one of {', '.join(a.name for a in assignments) or 'none graded yet'})")
        (assignment,) = assignments
        scores = self.final_scores(gradebook, assignments)
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        rows = []
        for student in self.students(gradebook):
            score = scores.get((student.id, assignment.name))
            if score is None:
                continue
            if not student.id.startswith("moodle-"):
                self.notes.append(f"{student.id} was not graded from a Moodle download, so "
                                  "Moodle cannot match the row: it is left out")
                continue
            name = " ".join(filter(None, [student.first_name, student.last_name]))
            rows.append([f"Participant {student.lms_user_id}", name, f"{score:g}",
                         f"{assignment.max_score:g}", now])
        self.write(MOODLE_COLUMNS, rows)


class CsvExport(LmsExport):
    """nbgrader's CsvExportPlugin's columns, written by the csv module, so that a name with a
    comma stays in its column."""

    def export(self, gradebook):
        rows = []
        for assignment in self.assignments(gradebook, graded_only=False):
            for student in self.students(gradebook):
                row = {"assignment": assignment.name, "duedate": assignment.duedate,
                       "student_id": student.id, "last_name": student.last_name,
                       "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score, "timestamp": None, "raw_score": 0.0,
                       "late_submission_penalty": 0.0, "score": 0.0}
                try:
                    sub = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    pass
                else:
                    penalty = sub.late_submission_penalty or 0.0
                    row.update(timestamp=sub.timestamp, raw_score=sub.score,
                               late_submission_penalty=penalty,
                               score=max(0.0, sub.score - penalty))
                    if sub.needs_manual_grade:
                        self.notes.append(f"{student.id}'s {assignment.name} still has answers "
                                          "to grade by hand: its score counts them as 0")
                rows.append(["" if row[k] is None else row[k] for k in NBGRADER_CSV_COLUMNS])
        self.write(NBGRADER_CSV_COLUMNS, rows)


FORMATS = {"canvas": CanvasExport, "moodle": MoodleExport, "csv": CsvExport}


def write_csv(path, header, rows):
    """Write the file next to its place, then move it there: a link at path is replaced, never
    written through, and a half-written file is never left under the name."""
    if path.is_dir() and not path.is_symlink():
        raise ExportError(f"{path} is a folder: give the name of the file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def export(root, fmt, out, assignments=()):
    """Write the course gradebook's grades to OUT in an LMS's format; the notes to show."""
    course = open_course(root)
    refresh_late_penalties(course)  # scores may have changed by hand since autograde
    plugin = FORMATS[fmt](config=course.config, to=str(out), assignment=list(assignments))
    with course_gradebook(course) as gb:
        plugin.export(gb)
    return plugin.notes
