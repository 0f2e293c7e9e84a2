"""The instructor's commands of `backprop-course` (release, autograde, finalize, export,
exchange, demo). course/cli.py, the student's command, never imports grader: this module adds
its commands through the entry point "backprop_course.commands" (pyproject.toml), which only
the instructor's install of the checkout has."""

import os
import sys
from pathlib import Path

from course.paths import course_root

UNSAFE_WARNING = (
    "WARNING: --unsafe-no-sandbox: the students' code runs as YOUR user with no isolation. It "
    "can read and change your files, other students' submissions and the gradebook. Every row "
    "of the report is marked UNSAFE. Use it only where every submission is trusted.")


def cmd_release(args):
    from grader.release import edition_dirs, release

    root = course_root()
    try:
        released = release(root, lang=args.lang)
    except FileNotFoundError as problem:
        sys.exit(str(problem))
    folder = edition_dirs(root, args.lang)[1].relative_to(root)
    for aid in released:
        print(f"released {folder / aid}")
    return 0


def cmd_autograde(args):
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

    refusals = (SandboxUnavailable, ReportFolderError, NothingToGrade, LmsLayoutError,
                CourseConfigError)
    if args.scheduler:  # (grader.cluster imports Dask: only when a cluster is asked for)
        from grader.cluster import ClusterUnavailable

        refusals += (ClusterUnavailable,)
    if args.unsafe_no_sandbox:
        print(UNSAFE_WARNING, file=sys.stderr)
    try:
        results = autograde(course_root(), submissions, args.out, jobs=args.jobs,
                            unsafe_no_sandbox=args.unsafe_no_sandbox, student=args.student,
                            assignment=args.assignment, scheduler=args.scheduler)
    except refusals as problem:
        sys.exit(str(problem))
    print(format_table(results))
    print(f"\nWrote {Path(args.out) / 'grades.csv'}, cell_grades.csv and feedback/. Written "
          "answers are graded by hand in the formgrader (`backprop-course lab`, Nbgrader > "
          f"Formgrader); then `backprop-course finalize --out {args.out}`.")
    if args.unsafe_no_sandbox:
        print(UNSAFE_WARNING, file=sys.stderr)
    return 0


def cmd_finalize(args):
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


def cmd_exchange(args):
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
    from grader.demo import demo

    return demo(course_root(), Path(args.out) if args.out else None)


def add_commands(sub):
    """Add the instructor's commands to `backprop-course`'s subparsers."""
    from grader.release import languages

    p = sub.add_parser("release", help="regenerate assignments/ from solutions/ with nbgrader")
    p.add_argument("--lang", default="en", choices=languages(),
                   help="zh: the Chinese edition, zh/assignments/ from zh/solutions/ (built by "
                        "`python -m grader.translate build zh`)")
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
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="grade on the Dask cluster of this scheduler, e.g. tcp://host:8786 "
                        "(needs .[cluster]; see the README's \"Grading on a cluster\")")
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
