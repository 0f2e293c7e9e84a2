"""Plain serial `nbgrader autograde` against `backprop-course autograde` on the same class.

    .venv/bin/python benchmarks/autograde_speed.py [--students 40] [--assignment all]
    .venv/bin/python benchmarks/autograde_speed.py --scale   # 100, then 1,000 submissions

Both grade the same simulated submissions (correct ones and ones with known mistakes, made from
the release as a student would): nbgrader as the course's nbgrader_config.py sets it up, one
notebook after another in one process; backprop-course with its worker processes (one per
core), its sandboxed checks and its feedback pages.
Prints wall times, the ratio and the cost per submission. A figure, not a pass/fail test.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader.autograde import autograde
from grader.nbgrader_run import nbgrader_env
from grader.simulate import catalogue, completed, first_solution_ids, with_mistakes

ROOT = Path(__file__).resolve().parent.parent


def simulated_class(aid, students, folder):
    """students notebooks: every third one with one known mistake, every tenth one broken (the
    untouched release, or a solution cell that does not compile), the rest correct."""
    release = ROOT / "assignments" / aid / f"{aid}.ipynb"
    source = ROOT / "solutions" / aid / f"{aid}.ipynb"
    mistakes = list(catalogue(aid).KNOWN_MISTAKES)
    for i in range(students):
        if i % 10 == 9:
            nb = nbformat.read(release, as_version=4) if i % 20 == 9 else completed(
                release, source, {gid: (lambda text: text + "\n    this is not Python(")
                                  for gid in first_solution_ids(source)})
        elif i % 3 == 2:
            nb = with_mistakes(release, source, aid, [mistakes[i % len(mistakes)]])
        else:
            nb = completed(release, source)
        path = folder / f"student{i:03d}" / aid / f"{aid}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)


def machine_cpu():
    """CPU seconds the whole machine has been busy (/proc/stat): the only count that includes
    the sandboxes, whose processes are reaped inside their own PID namespaces and so never
    reach this process's getrusage. The benchmark needs an otherwise idle machine."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_peak_mb():
    """The largest resident set of any child process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def plain_nbgrader(aid, submissions, scratch):
    """`nbgrader generate_assignment` once, then one serial `nbgrader autograde` for everyone:
    (wall seconds, CPU seconds)."""
    env = {**nbgrader_env(), "BACKPROP_COURSE_SCRATCH": str(scratch)}
    shutil.copytree(submissions, scratch / "submitted")
    run = [sys.executable, "-m", "nbgrader"]
    release = scratch / "release"
    subprocess.run([*run, "generate_assignment", aid, "--force",
                    f"--CourseDirectory.release_directory={release}"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    start, cpu = time.perf_counter(), machine_cpu()
    done = subprocess.run([*run, "autograde", aid, "--force"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr[-2000:])
    return seconds, machine_cpu() - cpu


def ours(submissions, report):
    """backprop-course autograde in its worker processes: (wall seconds, CPU seconds of this
    process, its workers and their sandboxes)."""
    start, cpu = time.perf_counter(), machine_cpu()
    results = autograde(ROOT, submissions, report, progress=False)
    return time.perf_counter() - start, machine_cpu() - cpu, len(results)


def scale_point(n, aid="a1_scalar_backprop"):
    """Grade n simulated submissions (in this process, started for this alone) and print the
    wall time and the peak memory of this process and of its largest worker or sandbox."""
    work = Path(tempfile.mkdtemp(prefix="backprop-bench-"))
    try:
        simulated_class(aid, n, work / "class")
        wall, cpu, graded = ours(work / "class", work / "report")
        assert graded == n
        own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>6} submissions of {aid}: {wall:7.1f} s wall, {wall / n:.3f} s and "
              f"{cpu / n:.2f} CPU s per submission; peak RSS: grading process {own_peak:.0f} MB,"
              f" largest worker or sandbox {children_peak_mb():.0f} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scale(sizes=(100, 1000)):
    """Memory stays flat as the class grows: each size graded in a fresh process."""
    for n in sizes:
        subprocess.run([sys.executable, __file__, "--scale-point", str(n)], check=True)


def floor_seconds(repeats=10):
    """The least any submission costs: one sandboxed Python with numpy that runs nothing."""
    from sandbox_startup import SETUP, start_times

    return statistics.median(start_times(SETUP, repeats))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--assignment", default="all",
                        help="one assignment id, or all (the default)")
    parser.add_argument("--scale", action="store_true",
                        help="instead: grade 100, then 1,000 submissions (ours only) and print "
                             "the peak memory of each run")
    parser.add_argument("--scale-point", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_point:
        return scale_point(args.scale_point)
    if args.scale:
        return scale()
    aids = (sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
            if args.assignment == "all" else [args.assignment])
    n, cores = args.students, os.cpu_count()
    floor = floor_seconds()
    print(f"{n} submissions per assignment (1 in 3 with a known mistake, 1 in 10 broken, the "
          "rest correct), "
          f"{cores} cores; the floor (a sandboxed Python with numpy, running nothing): "
          f"{floor:.2f} s")
    print(f"{'assignment':26}{'side':11}{'wall s':>8}{'CPU s/sub':>11}{'x floor':>9}"
          f"{'peak MB':>9}{'ratio':>8}")
    for aid in aids:
        work = Path(tempfile.mkdtemp(prefix="backprop-bench-"))
        try:
            simulated_class(aid, n, work / "class")
            serial, serial_cpu = plain_nbgrader(aid, work / "class", work / "nbgrader")
            peak_plain = children_peak_mb()
            wall, cpu, graded = ours(work / "class", work / "report")
            assert graded == n
            print(f"{aid:26}{'nbgrader':11}{serial:8.1f}{serial_cpu / n:11.2f}"
                  f"{serial_cpu / n / floor:9.1f}{peak_plain:9.0f}")
            print(f"{'':26}{'ours':11}{wall:8.1f}{cpu / n:11.2f}{cpu / n / floor:9.1f}"
                  f"{children_peak_mb():9.0f}{'':2}ratio {serial / wall:.2f}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("(plain nbgrader runs each notebook, hidden tests included, in a kernel, one after "
          "another; backprop-course runs the solution cells in the bubblewrap sandbox for the "
          "isolated checks, in parallel, and also writes every feedback page. CPU is the machine's "
          "busy time during a side's run (its sandboxes included), so run it on an idle machine. "
          "Peak MB is the largest child process so far in this run, so it only grows "
          "down the table.)")


if __name__ == "__main__":
    main()
