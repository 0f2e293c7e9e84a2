"""The `backprop-course` command: lab for students; release, autograde, bundle, answers, demo for
instructors."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .paths import course_root

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
    lab = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}", *extra]
    return subprocess.call(lab, cwd=root)


def cmd_release(args):
    _instructor()
    from grader.release import release

    for aid in release(course_root()):
        print(f"released assignments/{aid}")
    return 0


def cmd_autograde(args):
    _instructor()
    from grader.autograde import ReportFolderError, autograde, format_table

    submissions = Path(args.submissions)
    if not submissions.is_dir():
        sys.exit(f"No folder {submissions}: give the folder that holds "
                 "<student_id>/<assignment_id>/*.ipynb (or zip files of such folders).")
    from grader.sandbox import SandboxUnavailable

    if args.unsafe_no_sandbox:
        print(UNSAFE_WARNING, file=sys.stderr)
    try:
        results = autograde(course_root(), submissions, args.out, jobs=args.jobs,
                            unsafe_no_sandbox=args.unsafe_no_sandbox)
    except (SandboxUnavailable, ReportFolderError) as problem:
        sys.exit(str(problem))
    print(format_table(results))
    print(f"\nWrote {Path(args.out) / 'grades.csv'}, cell_grades.csv and feedback/.")
    if args.unsafe_no_sandbox:
        print(UNSAFE_WARNING, file=sys.stderr)
    return 0


def cmd_bundle(args):
    from .bundle import write_bundle

    files = write_bundle(course_root(), args.out)
    print(f"Wrote the student's copy ({len(files)} files) to {args.out}; "
          f"students follow {Path(args.out) / 'INSTALL.md'}.")
    return 0


def cmd_answers(args):
    _instructor()
    from grader.answers import write_answers

    try:
        files = write_answers(course_root(), args.out, args.assignments)
    except ValueError as error:
        sys.exit(str(error))
    print(f"Wrote the answers pack ({len(files)} files) to {args.out}; students install it "
          f"next to their copy as {Path(args.out) / 'README.md'} says.")
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
    p.add_argument("submissions", help="folder with <student_id>/<assignment_id>/*.ipynb or zips")
    p.add_argument("--out", required=True, help="folder for grades.csv, cell_grades.csv, feedback/")
    p.add_argument("--jobs", type=int, default=None, help="parallel graders (default: all cores)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="DANGEROUS: run student code without the bubblewrap sandbox, as your "
                        "own user (only where every submission is trusted); every row of the "
                        "report says so")
    p.set_defaults(run=cmd_autograde)
    p = sub.add_parser("bundle", help="write the student's copy: lectures, assignments, course")
    p.add_argument("out", help="folder for the student's copy (made if missing)")
    p.set_defaults(run=cmd_bundle)
    p = sub.add_parser("answers", help="write the answers pack for assignments that are due: "
                                       "with it installed, the lectures that run them work")
    p.add_argument("out", help="folder for the answers pack (made if missing)")
    p.add_argument("assignments", nargs="+", metavar="ASSIGNMENT",
                   help="assignment ids, e.g. a1_scalar_backprop a2_vector_backprop")
    p.set_defaults(run=cmd_answers)
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
