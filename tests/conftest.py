"""Shared fixtures: the course root, and ONE real autograding run of a simulated class per session."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
# The hidden checks' inputs derive from the course secret (grader.course_secret): tests use a
# fixed one, so a test run never makes or reads the instructor's own secret file.
os.environ.setdefault("BACKPROP_COURSE_SECRET", "secret-of-the-test-suite-not-of-a-course")


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def private_scratch(tmp_path_factory):
    """nbgrader's scratch folder (gradebook, submissions) for this test session only."""
    scratch = tmp_path_factory.mktemp("nbgrader-scratch")
    os.environ["BACKPROP_COURSE_SCRATCH"] = str(scratch)
    return scratch


def assignment_ids():
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def source_path(aid):
    return ROOT / "solutions" / aid / f"{aid}.ipynb"


def release_path(aid):
    return ROOT / "assignments" / aid / f"{aid}.ipynb"


def mistake_rounds(aid):
    """KNOWN_MISTAKES split into rounds with at most one mistake per graded cell, so that one
    submission per round shows every mistake's effect on its own cell."""
    from grader.simulate import catalogue

    rounds = []
    for name, (grade_id, *_rest) in catalogue(aid).KNOWN_MISTAKES.items():
        for r in rounds:
            if grade_id not in r:
                r[grade_id] = name
                break
        else:
            rounds.append({grade_id: name})
    return rounds


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """Build a class of simulated submissions (write_graded_class) and grade it once with the
    real CLI."""
    base = tmp_path_factory.mktemp("class")
    subs = write_graded_class(base / "submissions")
    out = base / "out"
    done = grade_class(subs, out)
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "out": out, "grades": _rows(out / "grades.csv"),
            "cells": _rows(out / "cell_grades.csv")}


WRONG_ADD_GATE = """
class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return 1.0, 1.0
"""

# Student code that tries to get points it did not earn (cheats) on a1's AddGate cell
# (5 points); each must score 0 there and, where the notebook's own run was fooled, be flagged.
CHEATS = {
    # every later cell becomes `pass` in the kernel, so the notebook's own tests all "pass"
    "cheat_input_transformer": WRONG_ADD_GATE + (
        "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"),
    # assertions that can never fail, in numpy.testing and in builtins
    "cheat_patches_numpy": WRONG_ADD_GATE + (
        "import numpy, numpy.testing, builtins\n"
        "numpy.testing.assert_allclose = lambda *a, **k: None\n"
        "numpy.isclose = lambda *a, **k: True\nnumpy.allclose = lambda *a, **k: True\n"),
    # numbers that equal anything
    "cheat_always_equal": (
        "class Anything(float):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __sub__(self, other):\n        return Anything(0.0)\n"
        "    __rsub__ = __sub__\n"
        "    def __abs__(self):\n        return Anything(0.0)\n"
        "class AddGate:\n"
        "    def forward(self, x, y):\n        return Anything(0.0)\n"
        "    def backward(self, dout):\n        return Anything(0.0), Anything(0.0)\n"),
    # the instructor's reference, imported or read from disk
    "cheat_imports_grader": "from grader.reference import AddGate\n",
    # the lectures' way to the answers: in the grader's sandbox neither source is there
    "cheat_imports_course_reference": "from course.reference import AddGate\n",
    "cheat_reads_solutions": (
        "import json\n"
        f"cells = json.load(open({str(ROOT / 'solutions/a1_scalar_backprop/a1_scalar_backprop.ipynb')!r}))['cells']\n"
        "exec(''.join(next(c['source'] for c in cells if 'class AddGate' in ''.join(c['source']))))\n"),
    # prints the success message without doing the work
    "cheat_prints_success": WRONG_ADD_GATE + "print('AddGate: visible tests passed.')\n",
}


def tampering_submissions():
    """{student: notebook}: the cheats, plus test cells deleted, duplicated and edited."""
    from grader.simulate import completed

    aid = "a1_scalar_backprop"
    subs = {}
    for student, code in CHEATS.items():
        subs[student] = completed(release_path(aid), source_path(aid),
                                  {"add_gate": lambda _, code=code: code})
    nb = completed(release_path(aid), source_path(aid))
    test_cell = next(c for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") == "test_add_gate")
    deleted = nbformat.from_dict(nb)
    deleted.cells = [c for c in nb.cells if c is not test_cell]
    subs["tamper_deletes_test"] = deleted
    duplicated = nbformat.from_dict(nb)
    i = nb.cells.index(test_cell)
    copy = nbformat.from_dict(test_cell)
    copy["id"] = "copied-test"
    duplicated.cells = [*nb.cells[: i + 1], copy, *nb.cells[i + 1:]]
    subs["tamper_duplicates_test"] = duplicated
    edited = nbformat.from_dict(nb)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_add_gate":
            cell.source = "print('all good')"
            cell.metadata["nbgrader"]["grade_id"] = "renamed_test"
    subs["tamper_edits_and_renames_test"] = edited
    return subs


# a1 submissions that break in one way each: (student, what is expected in grades.csv)
BROKEN = {
    "broken_empty_file": "not a readable notebook",
    "broken_future_nbformat": "not a readable notebook",
    "broken_missing_notebook": "missing notebook",
    "broken_syntax_error": "",
    "broken_exception": "",
    "broken_infinite_loop": "",
    "broken_memory_hog": "",
    "broken_extra_files": "",
    "broken_nbformat3": "",
    "odd_layout": "",
    "zip_flat": "",
}
# the AddGate cell replaced by code that fails in its own way (the other cells are correct)
BROKEN_ADD_GATE = {
    "broken_syntax_error": "class AddGate:\n    def forward(self, x, y)\n        return x + y\n",
    "broken_exception": "raise RuntimeError('boom')\n",
    "broken_infinite_loop": "while True:\n    pass\n",
    "broken_memory_hog": "hog = bytearray(64 * 1024**3)\n",
}


def grade_class(subs, out, code=ROOT, **env):
    """`backprop-course autograde SUBS --out OUT` with the CLI of the checkout at `code`, as
    graded_class runs it (env: more environment variables); the finished process."""
    # short limits keep the infinite loop cheap: 10 s per notebook cell, 5 s per sandbox call
    env = {**os.environ, "BACKPROP_COURSE_CELL_TIMEOUT": "10",
           "BACKPROP_COURSE_CALL_TIMEOUT": "5", **env}
    return subprocess.run([sys.executable, "-m", "course.cli", "autograde", str(subs),
                           "--out", str(out)], cwd=code, capture_output=True, text=True,
                          check=False, env=env)


def write_graded_class(subs):
    """The simulated class graded_class grades (tests/test_grading_unchanged.py compares its
    grades with those of the code before the speed work):

    Students: src_<aid> (the source notebook itself), untouched_<aid>, alt_<aid> (every
    alternative correct answer), alt2_<aid>, alt3_<aid>, ... (one per set of
    MORE_ALTERNATIVE_SOLUTIONS), mistakes<k>_<aid> (round k of the known mistakes), plus the
    demo's class (correct, partly wrong, untouched, broken file, dying kernel, zipped), the
    tampering and the broken submissions.
    """
    from grader.demo import simulate_class
    from grader.simulate import catalogue, completed, with_alternatives, with_mistakes

    simulate_class(ROOT, subs)
    for aid in assignment_ids():
        def put(student, nb, aid=aid):
            path = subs / student / aid / f"{aid}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)

        put(f"src_{aid}", nbformat.read(source_path(aid), as_version=4))
        put(f"alt_{aid}", with_alternatives(release_path(aid), source_path(aid), aid))
        for k, answers in enumerate(catalogue(aid).MORE_ALTERNATIVE_SOLUTIONS, start=2):
            put(f"alt{k}_{aid}", completed(release_path(aid), source_path(aid), {
                gid: (lambda _, text=text: text) for gid, text in answers.items()}))
        for k, round_ in enumerate(mistake_rounds(aid)):
            put(f"mistakes{k}_{aid}",
                with_mistakes(release_path(aid), source_path(aid), aid, list(round_.values())))
    for student, nb in tampering_submissions().items():
        path = subs / student / "a1_scalar_backprop" / "a1_scalar_backprop.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    write_broken_submissions(subs)
    return subs


def write_broken_submissions(subs):
    import zipfile

    from grader.simulate import completed

    aid = "a1_scalar_backprop"
    correct = completed(release_path(aid), source_path(aid))

    def folder(student):
        path = subs / student / aid
        path.mkdir(parents=True)
        return path

    (folder("broken_empty_file") / f"{aid}.ipynb").write_text("")
    (folder("broken_future_nbformat") / f"{aid}.ipynb").write_text(
        '{"nbformat": 9, "nbformat_minor": 0, "metadata": {}, "cells": []}')
    (folder("broken_missing_notebook") / "README.txt").write_text("I forgot the notebook")
    for student, code in BROKEN_ADD_GATE.items():
        nb = completed(release_path(aid), source_path(aid), {"add_gate": lambda _, c=code: c})
        nbformat.write(nb, folder(student) / f"{aid}.ipynb")
    extra = folder("broken_extra_files")
    nbformat.write(correct, extra / f"{aid}.ipynb")
    nbformat.write(correct, extra / "scratch work.ipynb")
    (extra / "data.csv").write_text("1,2,3\n")
    nbformat.write(nbformat.convert(correct, 3), folder("broken_nbformat3") / f"{aid}.ipynb")
    # zips: a nested layout with a non-ASCII student folder, and a flat <student>.zip
    with zipfile.ZipFile(subs / "odd_layout.zip", "w") as zf:
        zf.writestr(f"export/2026/zip_学生_nested/{aid}/{aid} (copy).ipynb",
                    nbformat.writes(correct))
    with zipfile.ZipFile(subs / "zip_flat.zip", "w") as zf:
        zf.writestr(f"{aid}.ipynb", nbformat.writes(correct))


def _rows(path):
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
