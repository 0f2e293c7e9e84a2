"""Plain serial `nbgrader autograde` against `backprop-course autograde` on the same class.

    .venv/bin/python benchmarks/autograde_speed.py [--students 40] [--assignment a1_scalar_backprop]

Both grade the same simulated submissions (correct ones and ones with known mistakes, made from
the release as a student would): nbgrader as the course's nbgrader_config.py sets it up, one
notebook after another in one process; backprop-course with its worker processes (one per
core), its sandboxed checks and its feedback pages.
Prints wall times, the ratio and the cost per submission. A figure, not a pass/fail test.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader.autograde import autograde
from grader.nbgrader_run import nbgrader_env
from grader.simulate import catalogue, completed, with_mistakes

ROOT = Path(__file__).resolve().parent.parent


def simulated_class(aid, students, folder):
    """students notebooks: every third one with one known mistake, the rest correct."""
    release = ROOT / "assignments" / aid / f"{aid}.ipynb"
    source = ROOT / "solutions" / aid / f"{aid}.ipynb"
    mistakes = list(catalogue(aid).KNOWN_MISTAKES)
    for i in range(students):
        if i % 3 == 2:
            nb = with_mistakes(release, source, aid, [mistakes[i % len(mistakes)]])
        else:
            nb = completed(release, source)
        path = folder / f"student{i:03d}" / aid / f"{aid}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)


def plain_nbgrader(aid, submissions, scratch):
    """`nbgrader generate_assignment` once, then one serial `nbgrader autograde` for everyone."""
    env = {**nbgrader_env(), "BACKPROP_COURSE_SCRATCH": str(scratch)}
    shutil.copytree(submissions, scratch / "submitted")
    run = [sys.executable, "-m", "nbgrader"]
    release = scratch / "release"
    subprocess.run([*run, "generate_assignment", aid, "--force",
                    f"--CourseDirectory.release_directory={release}"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    start = time.perf_counter()
    done = subprocess.run([*run, "autograde", aid, "--force"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr[-2000:])
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--assignment", default="a1_scalar_backprop")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="backprop-bench-"))
    try:
        simulated_class(args.assignment, args.students, work / "class")
        serial = plain_nbgrader(args.assignment, work / "class", work / "nbgrader")
        start = time.perf_counter()
        results = autograde(ROOT, work / "class", work / "report", progress=False)
        ours = time.perf_counter() - start
        assert len(results) == args.students
        n, cores = args.students, os.cpu_count()
        print(f"{n} submissions of {args.assignment} on {cores} cores")
        print(f"{'':34}{'wall s':>9}{'s/submission':>14}")
        print(f"{'plain nbgrader autograde (serial)':34}{serial:9.1f}{serial / n:14.2f}")
        print(f"{'backprop-course autograde':34}{ours:9.1f}{ours / n:14.2f}")
        print(f"speed-up: {serial / ours:.2f}x")
        print("(plain nbgrader runs each notebook, hidden tests included, in a kernel, one after "
              "another; backprop-course runs the solution cells in a sandbox for the isolated "
              "checks, in parallel, and also writes every feedback page)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
