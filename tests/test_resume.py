"""An interrupted `backprop-course autograde` resumes where it stopped: the same command run again
grades only the submissions whose results were not written down yet, and the report is the one
an uninterrupted run writes."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import release_path, source_path

from grader.simulate import catalogue, completed, with_mistakes

pytestmark = pytest.mark.slow
AID = "a1_scalar_backprop"
STUDENTS = 6


def _class(folder):
    mistakes = list(catalogue(AID).KNOWN_MISTAKES)
    for k in range(STUDENTS):
        nb = (with_mistakes(release_path(AID), source_path(AID), AID, [mistakes[k]]) if k % 2
              else completed(release_path(AID), source_path(AID)))
        path = folder / f"student{k}" / AID / f"{AID}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    return folder


def _autograde(subs, out):
    return [sys.executable, "-m", "course.cli", "autograde", str(subs), "--out", str(out),
            "--jobs", "1"]


def _rows(path):
    with open(path, newline="") as f:
        return sorted(tuple(row.items()) for row in csv.DictReader(f))


def _written_down(scratch):
    return list(Path(scratch).glob("unfinished-runs/*/results/*.json"))


def _course_env(tmp_path):
    """A gradebook folder of this test's own (where unfinished runs are written down)."""
    scratch = tmp_path / "grading"
    return scratch, {**os.environ, "BACKPROP_COURSE_SCRATCH": str(scratch)}


def test_an_interrupted_run_resumes_and_writes_the_same_report(tmp_path):
    subs = _class(tmp_path / "class")
    out = tmp_path / "report"
    private_scratch, env = _course_env(tmp_path)
    # the first run is killed (the whole process group, workers too) once two results are in
    first = subprocess.Popen(_autograde(subs, out), env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(_written_down(private_scratch)) < 2 and first.poll() is None:
        assert time.monotonic() < deadline, "no result was written down in 300 s"
        time.sleep(0.2)
    assert first.poll() is None, "the first run finished before it could be interrupted"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    done_before = len(_written_down(private_scratch))
    assert 2 <= done_before < STUDENTS
    assert not (out / "grades.csv").exists()

    again = subprocess.run(_autograde(subs, out), env=env, capture_output=True, text=True,
                           check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{done_before} of {STUDENTS} submissions were graded already" in again.stderr
    assert not list(Path(private_scratch).glob("unfinished-runs/*")), \
        "a finished run leaves its written-down results behind"

    clean = subprocess.run(_autograde(subs, tmp_path / "clean"), env=env, capture_output=True,
                           text=True, check=False)
    assert clean.returncode == 0, clean.stderr[-3000:]
    assert "Resuming" not in clean.stderr
    for name in ("grades.csv", "cell_grades.csv"):
        assert _rows(out / name) == _rows(tmp_path / "clean" / name), name
    for k in range(STUDENTS):
        page = Path("feedback") / f"student{k}" / AID / f"{AID}.html"
        assert (out / page).is_file() and (tmp_path / "clean" / page).is_file()


def test_a_changed_submission_is_graded_again(tmp_path):
    """A result written down is reused only for the very same notebook."""
    subs = _class(tmp_path / "class")
    out = tmp_path / "report"
    private_scratch, env = _course_env(tmp_path)
    unfinished = private_scratch / "unfinished-runs"
    first = subprocess.Popen(_autograde(subs, out), env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(_written_down(private_scratch)) < 1 and first.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert unfinished.is_dir()
    # every student hands in again meanwhile: nothing written down matches any more
    for k in range(STUDENTS):
        path = subs / f"student{k}" / AID / f"{AID}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell(f"handed in again ({k})"))
        nbformat.write(nb, path)
    again = subprocess.run(_autograde(subs, out), env=env, capture_output=True, text=True,
                           check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Resuming" not in again.stderr
