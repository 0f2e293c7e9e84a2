"""`autograde --scheduler ADDRESS` (grader/cluster.py): grading on a Dask cluster, here a real
LocalCluster of two worker processes, gives the same reports as grading in local processes; a
submission whose grading kills its worker is that submission's failure; a local run imports no
Dask; an unreachable scheduler or a missing dask.distributed is said in a sentence."""

import os
import subprocess
import sys

import dask
import nbformat
import pytest
from conftest import ROOT, release_path, source_path
from distributed import Client, LocalCluster

from grader import cluster as grader_cluster
from grader.autograde import autograde
from grader.demo import simulate_class
from grader.simulate import completed

pytestmark = pytest.mark.slow

A1 = "a1_scalar_backprop"
# The nanny restarts a worker whose process goes over 95 % of this. A worker grading a1 stays
# near 160 MB; HOG below takes it well past 400 MB.
WORKER_MEMORY = "400MB"
# A student's AddGate whose forward returns 22 million floats: 176 MB, a message just under the
# sandbox channel's 256 MB cap, so the sandbox (its own 3 GB limit) sends it, and the grading
# process that receives and decodes it exceeds its worker's memory limit: a real crash of the
# grading process, not of the sandbox.
HOG = ("class AddGate:\n"
       "    def forward(self, x, y):\n"
       "        import numpy\n"
       "        return numpy.ones(22_000_000)\n"
       "    def backward(self, dout):\n"
       "        return 1.0, 1.0\n")


@pytest.fixture(scope="module")
def cluster():
    # allowed-failures 1: a task is tried on a second worker after its first dies, then it is
    # KilledWorker (Dask's default, 3, would only make the test take twice as long)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit=WORKER_MEMORY,
            dashboard_address=None) as local_cluster:
        yield local_cluster


def put(subs, student, nb):
    path = subs / student / A1 / f"{A1}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def grade(monkeypatch, tmp_path, name, subs, **options):
    """autograde into OUT tmp_path/name with a course gradebook of that run's own."""
    monkeypatch.setenv("BACKPROP_COURSE_SCRATCH", str(tmp_path / f"{name}-gradebook"))
    out = tmp_path / name
    results = autograde(ROOT, subs, out, progress=False, assignment=A1, **options)
    return results, out


def report_files(out):
    """{path in OUT: text} of grades.csv, cell_grades.csv and every feedback page."""
    files = [out / "grades.csv", out / "cell_grades.csv", *(out / "feedback").rglob("*.html")]
    return {str(p.relative_to(out)): p.read_text() for p in sorted(files)}


def test_a_class_graded_on_the_cluster_gets_the_same_reports_as_locally(
        cluster, monkeypatch, tmp_path):
    # correct, two mistakes, untouched, an unreadable file, a sandbox that exits, a zip
    subs = simulate_class(ROOT, tmp_path / "submissions")
    local, local_out = grade(monkeypatch, tmp_path, "local", subs, jobs=2)
    on_dask, dask_out = grade(monkeypatch, tmp_path, "dask", subs,
                              scheduler=cluster.scheduler_address)
    assert len(local) == 6
    # (feedback names each page's file in its own course folder: the pages themselves are
    # compared below, as the report has them)
    assert [{**vars(r), "feedback": sorted(r.feedback)} for r in on_dask] == \
        [{**vars(r), "feedback": sorted(r.feedback)} for r in local]
    assert report_files(dask_out) == report_files(local_out)
    assert len(report_files(local_out)) == 2 + 6  # the two CSVs and a page per student


def test_a_submission_that_kills_its_worker_is_that_submissions_failure(
        cluster, monkeypatch, tmp_path):
    subs = tmp_path / "submissions"
    put(subs, "ada", completed(release_path(A1), source_path(A1)))
    put(subs, "hog", completed(release_path(A1), source_path(A1),
                               {"add_gate": lambda _: HOG}))
    results, out = grade(monkeypatch, tmp_path, "dask", subs,
                         scheduler=cluster.scheduler_address)
    rows = {r.student_id: r for r in results}
    assert (rows["ada"].status, rows["ada"].score) == ("graded", 100)
    assert (rows["hog"].status, rows["hog"].score) == ("error", 0)
    assert rows["hog"].reason == "the grading process crashed on this submission"
    assert "crashed on this submission" in (out / "grades.csv").read_text()
    # the cause was real: the nanny restarted a worker for its memory, twice (two tries)
    with Client(cluster) as client:
        restarts = client.get_events("worker-restart-memory")
    assert len(restarts) >= 2


def test_a_local_run_imports_no_dask(tmp_path):
    subs = tmp_path / "submissions"
    put(subs, "ada", completed(release_path(A1), source_path(A1)))
    script = (
        "import sys\n"
        "from course.cli import main\n"
        f"code = main(['autograde', {str(subs)!r}, '--out', {str(tmp_path / 'out')!r}, "
        "'--jobs', '1'])\n"
        "print('DASK:', sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed')))\n"
        "sys.exit(code)\n")
    env = {**os.environ, "BACKPROP_COURSE_SCRATCH": str(tmp_path / "gradebook")}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ada" in done.stdout
    assert "DASK: []" in done.stdout


def test_an_unreachable_scheduler_is_said_in_a_sentence(monkeypatch, tmp_path):
    monkeypatch.setattr(grader_cluster, "CONNECT_SECONDS", 2)
    with pytest.raises(grader_cluster.ClusterUnavailable, match="No Dask scheduler answered "
                       "at tcp://127.0.0.1:9.*--scheduler tcp://host:8786"):
        grader_cluster.grade_on_dask([], "tcp://127.0.0.1:9", done=None)


def test_without_distributed_the_sentence_says_what_to_install():
    # as if dask.distributed were not installed: its import fails
    script = ("import sys\nsys.modules['distributed'] = None\n"
              "from grader.cluster import grade_on_dask\n"
              "grade_on_dask([], 'tcp://127.0.0.1:8786', None)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert "ClusterUnavailable" in done.stderr
    assert "pip install -e '.[cluster]'" in done.stderr


def test_a_worker_that_cannot_see_the_scratch_folder_is_told_why(tmp_path):
    problem = grader_cluster._worker_problem(str(tmp_path / "elsewhere"), [], None, False)
    assert problem == ("it cannot see or write to autograde's scratch folder "
                       f"{tmp_path / 'elsewhere'}")


def test_the_cli_passes_the_scheduler_on(monkeypatch, tmp_path):
    # grading itself is the tests above; this is only that the option reaches autograde
    import grader.autograde
    from course.cli import main

    seen = {}
    monkeypatch.setattr(grader.autograde, "autograde", lambda *a, **k: seen.update(k) or [])
    main(["autograde", str(tmp_path), "--out", str(tmp_path / "out"), "--scheduler",
          "tcp://somewhere:8786"])
    assert seen["scheduler"] == "tcp://somewhere:8786"
