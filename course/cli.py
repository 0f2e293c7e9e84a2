"""The `backprop-course` command: lab for students; release, autograde, exchange, bundle, demo for
instructors."""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .jupyter_tools import write_student_copy_config
from .paths import course_root

LAB_SETTINGS = Path(__file__).resolve().parent / "lab_settings"
INSTRUCTOR_ONLY = ("This command is for instructors: it needs the full course checkout "
                   "(grader/ and solutions/), which a student's copy does not include.")


UNSAFE_WARNING = (
    "WARNING: --unsafe-no-sandbox: the students' code runs as YOUR user with no isolation. It "
    "can read and change your files, other students' submissions and the gradebook. Every row "
    "of the report is marked UNSAFE. Use it only where every submission is trusted.")


def _instructor():
    try:
        import grader  # noqa: F401
    except ImportError:
        sys.exit(INSTRUCTOR_ONLY)


def cmd_lab(args, extra=()):
    root = course_root()
    # JupyterLab shows the widgets saved in a notebook only when the notebook is trusted
    lectures = sorted(str(p) for p in (root / "lectures").glob("*.ipynb"))
    if lectures:
        subprocess.call([sys.executable, "-m", "jupyter", "trust", *lectures],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The course's JupyterLab defaults (course/lab_settings/overrides.json): save the widgets'
    # state with the notebook, so that a lecture saved after a run still shows its explorers.
    lab = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}",
           f"--LabApp.app_settings_dir={LAB_SETTINGS}", *extra]
    if (root / "solutions").is_dir():  # an instructor's course folder: every nbgrader tool
        return subprocess.call(lab, cwd=root)
    with tempfile.TemporaryDirectory() as config:
        # a student's copy has no exchange and no gradebook: Validate only (course/jupyter_tools.py)
        paths = [write_student_copy_config(config), os.environ.get("JUPYTER_CONFIG_PATH")]
        env = {**os.environ, "JUPYTER_CONFIG_PATH": os.pathsep.join(filter(None, paths))}
        return subprocess.call(lab, cwd=root, env=env)


def cmd_release(args):
    _instructor()
    from grader.release import release

    for aid in release(course_root()):
        print(f"released assignments/{aid}")
    return 0


def cmd_autograde(args):
    _instructor()
    from grader.autograde import NothingToGrade, ReportFolderError, autograde, format_table

    submissions = Path(args.submissions)
    if not (submissions.is_dir() or (submissions.is_file() and submissions.suffix.lower() == ".zip")):
        sys.exit(f"No folder or zip file {submissions}: give the folder that holds "
                 "<student_id>/<assignment_id>/*.ipynb (or zip files of such folders), or the "
                 "zip that Canvas's \"Download Submissions\" or Moodle's \"Download all "
                 "submissions\" gave you.")
    from grader.late import CourseConfigError
    from grader.lms import LmsLayoutError
    from grader.sandbox import SandboxUnavailable

    if args.unsafe_no_sandbox:
        print(UNSAFE_WARNING, file=sys.stderr)
    try:
        results = autograde(course_root(), submissions, args.out, jobs=args.jobs,
                            unsafe_no_sandbox=args.unsafe_no_sandbox, student=args.student,
                            assignment=args.assignment)
    except (SandboxUnavailable, ReportFolderError, NothingToGrade, LmsLayoutError,
            CourseConfigError) as problem:
        sys.exit(str(problem))
    print(format_table(results))
    print(f"\nWrote {Path(args.out) / 'grades.csv'}, cell_grades.csv and feedback/. Written "
          "answers are graded by hand in the formgrader (`backprop-course lab`, Nbgrader > "
          f"Formgrader); then `backprop-course finalize --out {args.out}`.")
    if args.unsafe_no_sandbox:
        print(UNSAFE_WARNING, file=sys.stderr)
    return 0


def cmd_finalize(args):
    _instructor()
    from grader.autograde import ReportFolderError, finalize, format_table
    from grader.late import CourseConfigError

    try:
        results = finalize(course_root(), args.out)
    except (ReportFolderError, CourseConfigError) as problem:
        sys.exit(str(problem))
    print(format_table(results))
    print(f"\nRewrote {Path(args.out) / 'grades.csv'}, cell_grades.csv and feedback/ from the "
          "gradebook, hand-graded points and comments included.")
    return 0


def cmd_export(args):
    _instructor()
    from grader.export import ExportError, export
    from grader.late import CourseConfigError

    try:
        notes = export(course_root(), args.format, Path(args.out), args.assignment or ())
    except (ExportError, CourseConfigError) as problem:
        sys.exit(str(problem))
    for note in notes:
        print(f"Note: {note}", file=sys.stderr)
    print(f"Wrote {args.out} for {args.format}.")
    return 0


def cmd_bundle(args):
    from .bundle import write_bundle

    files = write_bundle(course_root(), args.out)
    print(f"Wrote the student's copy ({len(files)} files) to {args.out}; "
          f"students follow {Path(args.out) / 'INSTALL.md'}.")
    return 0


def cmd_exchange(args):
    _instructor()
    from grader import exchange

    root = course_root()
    try:
        if args.step == "release":
            exchange.release_assignments(root, args.assignments, force=args.force)
        elif args.step == "collect":
            exchange.collect(root, args.assignments)
        elif args.step == "grade":
            reports = exchange.grade(root, args.assignments)
            print(f"On the hub, the formgrader opens in a browser tab of its own, at "
                  f"{os.environ.get('JUPYTERHUB_SERVICE_PREFIX', '/')}formgrader. The report "
                  f"is in {reports}.")
        else:
            exchange.release_feedback(root, args.assignments)
    except exchange.ExchangeError as problem:
        sys.exit(str(problem))
    return 0


def cmd_demo(args):
    _instructor()
    from grader.demo import demo

    return demo(course_root(), Path(args.out) if args.out else None)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="backprop-course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("lab", help="open JupyterLab on the course (other options go to jupyter lab)")
    p.set_defaults(run=cmd_lab)
    p = sub.add_parser("release", help="regenerate assignments/ from solutions/ with nbgrader")
    p.set_defaults(run=cmd_release)
    p = sub.add_parser("autograde", help="grade every submission under SUBMISSIONS")
    p.add_argument("submissions", help="folder with <student_id>/<assignment_id>/*.ipynb or "
                                       "zips, or a Canvas or Moodle download zip")
    p.add_argument("--out", required=True, help="folder for grades.csv, cell_grades.csv, feedback/")
    p.add_argument("--jobs", type=int, default=None, help="parallel graders (default: all cores)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="DANGEROUS: run student code without the bubblewrap sandbox, as your "
                        "own user (only where every submission is trusted); every row of the "
                        "report says so")
    p.add_argument("--student", default=None,
                   help="grade only this student (other rows of --out stay as they were)")
    p.add_argument("--assignment", default=None,
                   help="grade only this assignment; for an LMS zip, the assignment it holds")
    p.set_defaults(run=cmd_autograde)
    p = sub.add_parser("finalize", help="after hand grading: rewrite grades.csv and the "
                                        "feedback pages of a report from the gradebook")
    p.add_argument("--out", required=True, help="the report folder autograde wrote")
    p.set_defaults(run=cmd_finalize)
    p = sub.add_parser("export", help="write the gradebook's grades as an LMS imports them")
    p.add_argument("--format", required=True, choices=["canvas", "moodle", "csv"],
                   help="canvas: Gradebook import CSV; moodle: an assignment's grading "
                        "worksheet; csv: nbgrader's export columns")
    p.add_argument("out", help="the CSV file to write")
    p.add_argument("--assignment", action="append", default=None,
                   help="only this assignment (repeatable; moodle needs exactly one)")
    p.set_defaults(run=cmd_export)
    p = sub.add_parser("bundle", help="write the student's copy: lectures, assignments, course")
    p.add_argument("out", help="folder for the student's copy (made if missing)")
    p.set_defaults(run=cmd_bundle)
    p = sub.add_parser("exchange", help="hand assignments out and work back through nbgrader's "
                                        "exchange (on the course's JupyterHub)")
    steps = p.add_subparsers(dest="step", required=True)
    for step, help_text in [
            ("release", "put released assignments where students fetch them"),
            ("collect", "copy each student's latest submission in"),
            ("grade", "grade what was collected with `backprop-course autograde`"),
            ("feedback", "make the feedback pages and return each to its student")]:
        steps.add_parser(step, help=help_text).add_argument(
            "assignments", nargs="+", metavar="ASSIGNMENT",
            help="assignment ids, e.g. a1_scalar_backprop")
    steps.choices["release"].add_argument("--force", action="store_true",
                                          help="replace an assignment released before")
    p.set_defaults(run=cmd_exchange)
    p = sub.add_parser("demo", help="release, simulate a class, autograde it, print the grades")
    p.add_argument("--out", default=None, help="keep the demo's reports here")
    p.set_defaults(run=cmd_demo)
    args, extra = parser.parse_known_args(argv)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if args.command == "lab":
        return cmd_lab(args, extra)  # e.g. backprop-course lab --no-browser --port 8890
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
