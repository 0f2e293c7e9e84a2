"""`backprop-course exchange ...`: hand assignments out and work back through nbgrader's exchange.

Each step is nbgrader's own command, run in the course folder on the course's configuration
(release_assignment, collect, release_feedback), or the course's own grading commands on what
nbgrader collected (`backprop-course autograde`, then `finalize` for the feedback pages). The
exchange's location comes from nbgrader's configuration: on the course's JupyterHub, run these
in a terminal of the instructor's JupyterLab, which the hub configures (deploy/README.md).
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .nbgrader_run import nbgrader_env
from .release import assignment_ids, course_config, release

# What nbgrader's submit writes beside a submission's notebooks. release_feedback names each
# feedback page after the submission's secret, so that only its author, who keeps the
# secret, finds the page; it reads both files beside the page.
SUBMISSION_FILES = ("timestamp.txt", "submission_secret.txt")


class ExchangeError(RuntimeError):
    """A step could not be done; the message says why."""


def grading_folders(root):
    """Where collected submissions and the grading report go: beside nbgrader's folders.
    Not nbgrader's submitted/ itself, where `backprop-course autograde` keeps no notebook, so
    that the formgrader's Autograde button finds nothing to run outside the sandbox."""
    directories = course_config(root).CourseDirectory
    grading = (Path(root) / directories.submitted_directory).parent
    return grading / "collected", grading / "reports", Path(root) / directories.feedback_directory


def run(root, command, *args):
    """Run COMMAND (nbgrader or the course's own) in the course folder, where it reads
    nbgrader_config.py; its messages go to the terminal."""
    module = {"nbgrader": "nbgrader", "backprop-course": "course.cli"}[command]
    done = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=root,
                          env=nbgrader_env(), check=False)
    if done.returncode:
        raise ExchangeError(f"`{command} {' '.join(map(str, args))}` failed: its messages "
                            "are above.")


def check_assignments(root, aids):
    unknown = sorted(set(aids) - set(assignment_ids(root)))
    if unknown:
        raise ExchangeError(f"No assignment {', '.join(unknown)} in this course: its "
                            f"assignments are {', '.join(assignment_ids(root))}.")


def release_assignments(root, aids, force=False):
    """Put the released assignments (assignments/<id>/) where students fetch them."""
    check_assignments(root, aids)
    # The gradebook learns every assignment's cells, which the formgrader and autograde use;
    # the student versions made on the way are not needed (assignments/ holds them).
    with tempfile.TemporaryDirectory() as scratch:
        release(root, release_dir=Path(scratch) / "release")
    for aid in aids:
        run(root, "nbgrader", "release_assignment", aid, *(["--force"] if force else []))


def collect(root, aids):
    """Copy each student's latest submission in, to the collected folder."""
    check_assignments(root, aids)
    collected, _, _ = grading_folders(root)
    for aid in aids:
        run(root, "nbgrader", "collect", aid, "--update",
            f"--CourseDirectory.submitted_directory={collected}")


def grade(root, aids):
    """`backprop-course autograde` on the collected submissions; returns the report folder."""
    check_assignments(root, aids)
    collected, reports, _ = grading_folders(root)
    for aid in aids:
        if not any(collected.glob(f"*/{aid}")):
            raise ExchangeError(f"Nothing of {aid} has been collected (in {collected}): run "
                                f"`backprop-course exchange collect {aid}` first.")
        run(root, "backprop-course", "autograde", collected, "--out", reports,
            "--assignment", aid)
    return reports


def release_feedback(root, aids):
    """Make the feedback pages again from the gradebook (hand-graded points included) and put
    each where its student, and only that student, fetches it."""
    check_assignments(root, aids)
    collected, reports, feedback = grading_folders(root)
    run(root, "backprop-course", "finalize", "--out", reports)
    for aid in aids:
        elsewhere = []  # graded from somewhere else than the exchange (an LMS download)
        for pages in sorted(feedback.glob(f"*/{aid}")):
            submitted = collected / pages.parent.name / aid
            if all((submitted / name).is_file() for name in SUBMISSION_FILES):
                for name in SUBMISSION_FILES:
                    shutil.copy(submitted / name, pages / name)
            else:
                elsewhere.append(pages.parent.name)
        if elsewhere:
            print(f"Not collected from the exchange, so not returned through it: "
                  f"{', '.join(elsewhere)} ({aid}); their pages are in {reports / 'feedback'}.")
        run(root, "nbgrader", "release_feedback", aid,
            f"--CourseDirectory.student_id_exclude={','.join(elsewhere)}")
