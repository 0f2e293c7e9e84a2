"""nbgrader configuration for the course, read by every nbgrader command run from this folder.

solutions/ is the source (full solutions + hidden tests), assignments/ the release. What grading
keeps (the gradebook with every hand grade, nbgrader's submitted/, autograded/ and feedback/
folders) lives in this course's own folder grading/ (ignored by git), so two checkouts never
share a gradebook; $BACKPROP_COURSE_SCRATCH names another folder instead.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

root = Path(__file__).resolve().parent
scratch = Path(os.environ.get("BACKPROP_COURSE_SCRATCH") or root / "grading")
scratch.mkdir(parents=True, exist_ok=True)

c.CourseDirectory.course_id = "backprop-course"
c.CourseDirectory.root = str(root)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = str(scratch / "submitted")
c.CourseDirectory.autograded_directory = str(scratch / "autograded")
c.CourseDirectory.feedback_directory = str(scratch / "feedback")
c.CourseDirectory.solution_directory = str(scratch / "solution")
c.CourseDirectory.db_url = f"sqlite:///{scratch / 'gradebook.db'}"
c.ExecutePreprocessor.kernel_name = "python3"
c.ExecutePreprocessor.timeout = 60
# Feedback goes to students: strip the hidden tests from it as the release does (nbgrader #917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "grader.sanitize.FormulasAsMathML",  # formulas drawn by the browser: the page reads offline
]
# Pages showing student work (feedback, the formgrader): outputs' HTML cleaned, no scripts run.
# Defence in depth: `backprop-course autograde` has sanitised the notebooks (grader/sanitize.py).
c.HTMLExporter.sanitize_html = True
# The course's feedback page for students (grader/templates/feedback/backprop_feedback.html.j2,
# built on nbgrader's): formulas as MathML, so it reads offline; sentences that wrap; a summary
# naming each graded cell. Set for GenerateFeedback only: the formgrader keeps its own pages.
import nbgrader

c.GenerateFeedback.HTMLExporter.template_file = "backprop_feedback.html.j2"
# the page's own words in the submission's language (grader/feedback_page.py)
c.GenerateFeedback.HTMLExporter.filters = {"page_text": "grader.feedback_page.page_text"}
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [
    str(root / "grader" / "templates"),
    str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"),
]

# Late work (grader/late.py). When each assignment is due, as nbgrader reads times, e.g.
#   c.LateWork.due_dates = {"a1_scalar_backprop": "2026-03-06 23:59:00 Europe/Berlin"}
# and who has longer (the keyword arguments of nbgrader's Gradebook.grant_extension), e.g.
#   c.LateWork.extensions = {"a1_scalar_backprop": {"ada": {"days": 2}}}
# A submission's time is nbgrader's timestamp.txt in SUBMISSIONS/<student>/<assignment>/.
c.LateWork.due_dates = {}
c.LateWork.extensions = {}
# nbgrader's AssignLatePenalties with this plugin: 10 % of the score per day (or part of one)
# late, at most all of it.
c.AssignLatePenalties.plugin_class = "grader.late.PercentPerDayLate"
c.PercentPerDayLate.percent_per_day = 10.0
