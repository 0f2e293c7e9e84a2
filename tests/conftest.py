"""Shared fixtures: the course root, and ONE real autograding run of a simulated class per session."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    """Build a class of simulated submissions and grade it once with the real CLI.

    Students: src_<aid> (the source notebook itself), untouched_<aid>, alt_<aid> (every
    alternative correct answer), mistakes<k>_<aid> (round k of the known mistakes), plus the
    demo's class (correct, partly wrong, untouched, broken file, dying kernel, zipped).
    """
    from grader.demo import simulate_class
    from grader.simulate import with_alternatives, with_mistakes

    base = tmp_path_factory.mktemp("class")
    subs = base / "submissions"
    simulate_class(ROOT, subs)
    for aid in assignment_ids():
        def put(student, nb, aid=aid):
            path = subs / student / aid / f"{aid}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)

        put(f"src_{aid}", nbformat.read(source_path(aid), as_version=4))
        put(f"alt_{aid}", with_alternatives(release_path(aid), source_path(aid), aid))
        for k, round_ in enumerate(mistake_rounds(aid)):
            put(f"mistakes{k}_{aid}",
                with_mistakes(release_path(aid), source_path(aid), aid, list(round_.values())))
    out = base / "out"
    done = subprocess.run([sys.executable, "-m", "course.cli", "autograde", str(subs),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "out": out, "grades": _rows(out / "grades.csv"),
            "cells": _rows(out / "cell_grades.csv")}


def _rows(path):
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
