"""The `backprop-course` command: lab for students; release, autograde, exchange, bundle, demo for
instructors."""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .i18n import N_, _, languages
from .jupyter_tools import write_student_copy_config
from .paths import course_root

LAB_SETTINGS = Path(__file__).resolve().parent / "lab_settings"
STUDENT_COMMANDS = ("lab", "bundle")
INSTRUCTOR_COMMANDS = ("release", "autograde", "finalize", "export", "exchange", "demo")
INSTRUCTOR_ONLY = N_("This command is for instructors: it needs the full course checkout "
                     "(grader/ and solutions/), which a student's copy does not include.")


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


def cmd_bundle(args):
    from .bundle import BundleError, write_bundle

    try:
        files = write_bundle(course_root(), args.out, args.lang)
    except BundleError as problem:
        sys.exit(str(problem))
    print(_("Wrote the student's copy ({count} files) to {out}; students follow {install}.")
          .format(count=len(files), out=args.out, install=Path(args.out) / "INSTALL.md"))
    return 0


def _add_instructor_commands(sub):
    """The instructor's commands come from grader/cli.py, registered by the instructor's install
    under the entry point group "backprop_course.commands": course never imports grader."""
    from importlib.metadata import entry_points

    for command in entry_points(group="backprop_course.commands"):
        try:
            add_commands = command.load()
        except ImportError:  # registered, but grader/ is not there (a copy without it)
            continue
        add_commands(sub)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="backprop-course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("lab", help=_("open JupyterLab on the course (other options go to "
                                     "jupyter lab)"))
    p.set_defaults(run=cmd_lab)
    p = sub.add_parser("bundle", help=_("write the student's copy: lectures, assignments, course"))
    p.add_argument("out", help=_("folder for the student's copy (made if missing)"))
    p.add_argument("--lang", default="en", choices=["en", *languages()],
                   help=_("the copy's language: en (default) or zh (the Chinese edition)"))
    p.set_defaults(run=cmd_bundle)
    if argv is None:
        argv = sys.argv[1:]
    if not argv or argv[0] not in STUDENT_COMMANDS:  # a student's lab never looks for grader
        _add_instructor_commands(sub)
    if argv and argv[0] in INSTRUCTOR_COMMANDS and argv[0] not in sub.choices:
        sys.exit(_(INSTRUCTOR_ONLY))
    args, extra = parser.parse_known_args(argv)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if args.command == "lab":
        return cmd_lab(args, extra)  # e.g. backprop-course lab --no-browser --port 8890
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
