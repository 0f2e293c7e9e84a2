"""`backprop-course demo`: release the assignments, simulate a class, autograde it, print grades,
all in a course folder of its own."""

import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from .autograde import autograde, format_table
from .release import release
from .simulate import catalogue, completed, first_solution_ids, with_mistakes


def simulate_class(root, folder):
    """Write a small class's submissions: correct, partly wrong, untouched, broken, zipped."""
    root, folder = Path(root), Path(folder)
    for aid in sorted(p.name for p in (root / "assignments").iterdir() if p.is_dir()):
        rel = root / "assignments" / aid / f"{aid}.ipynb"
        src = root / "solutions" / aid / f"{aid}.ipynb"
        mistakes = list(catalogue(aid).KNOWN_MISTAKES)

        def put(student, nb, aid=aid):
            path = folder / student / aid / f"{aid}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
            return path

        put("ada_correct", completed(rel, src))
        put("bo_two_mistakes", with_mistakes(rel, src, aid, mistakes[:2]))
        put("cy_untouched", nbformat.read(rel, as_version=4))
        broken = folder / "dee_broken_file" / aid / f"{aid}.ipynb"
        broken.parent.mkdir(parents=True, exist_ok=True)
        broken.write_text('{"cells": [ this is not json')
        crash = completed(rel, src, {c: (lambda t: t + "\nimport os\nos._exit(1)")
                                     for c in first_solution_ids(rel)})
        put("eli_kernel_dies", crash)
        zipped = put("fay_zipped", completed(rel, src))
        with zipfile.ZipFile(folder / "fay_zipped.zip", "a") as zf:
            zf.write(zipped, f"{aid}/{aid}.ipynb")
    shutil.rmtree(folder / "fay_zipped")
    return folder


def make_demo_course(root, folder):
    """A course folder of its own for the demo: the course's nbgrader_config.py and solutions/,
    so that its gradebook, release and reports are the demo's (nbgrader_config.py puts the
    gradebook in the folder it is in)."""
    folder = Path(folder)
    folder.mkdir(parents=True)
    shutil.copy(Path(root) / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(Path(root) / "solutions", folder / "solutions")
    return folder


def demo(root, out=None):
    work = Path(tempfile.mkdtemp(prefix="backprop-demo-"))
    course = make_demo_course(root, work / "course")
    # the demo grades into its own course folder's gradebook, never the instructor's
    elsewhere = os.environ.pop("BACKPROP_COURSE_SCRATCH", None)
    print(f"1. Releasing the assignments with nbgrader into the demo's course {course} ...")
    for aid in release(course):
        print(f"   assignments/{aid}")
    out = Path(out) if out else course / "report"
    print("2. Simulating a class: correct, partly wrong, untouched, broken, dying, zipped ...")
    subs = simulate_class(course, work / "submissions")
    print(f"3. Autograding {subs} ...")
    results = autograde(course, subs, out)
    print()
    print(format_table(results))
    print(f"\nReports: {out}/grades.csv, cell_grades.csv and feedback/")
    command = Path(sys.executable).parent / "backprop-course"
    print(f"The demo's gradebook is its own: {course / 'grading'}. To grade its written answers "
          "by hand, open its formgrader (Nbgrader > Formgrader in JupyterLab) with\n"
          f"    BACKPROP_COURSE_ROOT={course} {command} lab\n"
          "and then put the hand-graded points into its reports with\n"
          f"    BACKPROP_COURSE_ROOT={course} {command} finalize --out {out}")
    if elsewhere:
        print("(Unset BACKPROP_COURSE_SCRATCH in that shell first: it would point both at "
              f"{elsewhere} instead.)")
    return 0
