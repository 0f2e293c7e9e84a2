"""nbgrader configuration for the course, read by every nbgrader command run from this folder.

solutions/ is the source (full solutions + hidden tests), assignments/ the release. Everything
a grading run writes (submissions, autograded copies, feedback, the gradebook) lives in a
scratch folder outside the repository: $BACKPROP_COURSE_SCRATCH, or a folder under the
system's temporary directory.
"""

import os
import tempfile
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

root = Path(__file__).resolve().parent
scratch = Path(
    os.environ.get("BACKPROP_COURSE_SCRATCH") or Path(tempfile.gettempdir()) / "backprop-course"
)
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
]
# Pages showing student work (feedback, the formgrader): outputs' HTML cleaned, no scripts run.
# Defence in depth: `backprop-course autograde` has sanitised the notebooks (grader/sanitize.py).
c.HTMLExporter.sanitize_html = True
