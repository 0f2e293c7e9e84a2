"""`backprop-course autograde --scheduler ADDRESS`: grade the submissions on a Dask cluster.

The same contract as autograde's local pool (`_grade_all`): each task is `_grade_task` run on a
worker, results come back in task order, and everything the gradebook and the reports need is
done afterwards in this (the coordinating) process. Dask is imported only here, and this module
only when --scheduler is given: a local run starts and imports nothing of it.

Nothing is shipped to the workers but the Task (paths): the course checkout (and its grading
folder, where master gradebooks may be kept), SUBMISSIONS and autograde's scratch folder (made
under $TMPDIR) must be on a file system every worker sees at the same paths. That is checked
on every worker before anything is graded.
"""

import hashlib
import hmac
import os

try:
    from distributed import Client, KilledWorker, WorkerPlugin, as_completed
except ImportError:  # said when --scheduler is used (grade_on_dask), not when this is imported
    Client = None
    WorkerPlugin = object

from .autograde import _grade_task, _worker_init, crashed_result

CONNECT_SECONDS = 20
WORKERS_SECONDS = 60  # how long to wait for the scheduler's first worker


class ClusterUnavailable(RuntimeError):
    """The cluster cannot grade this batch; the message says what to do."""


class GradingSetup(WorkerPlugin):
    """What the local pool's initializer does (limits, nbgrader's environment, its imports),
    once per worker process, and again on each worker that starts later (a restarted one)."""

    def setup(self, worker):
        _worker_init()


def grade_on_dask(tasks, address, done):
    """Grade tasks on the Dask cluster whose scheduler is at address; results in task order,
    and done(result) called with each as it comes. A task whose worker dies (more than the scheduler's allowed-failures times, Dask's retry of
    a task whose worker was lost) is reported as that submission's failure."""
    if Client is None:
        raise ClusterUnavailable(
            "--scheduler grades on a Dask cluster, and dask.distributed is not installed here: "
            "pip install -e '.[cluster]' in the course checkout (and on every worker).")
    try:
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(
            f"No Dask scheduler answered at {address} ({exc}). Start one (`dask scheduler`, or "
            "a deployer such as `dask ssh`; see the README's \"Grading on a cluster\") and give "
            "the address it prints, e.g. --scheduler tcp://host:8786, or grade on this machine "
            "without --scheduler.") from None
    with client:
        _check_workers(client, tasks, address)
        client.register_plugin(GradingSetup(), name="backprop-course-grading")
        results = [None] * len(tasks)
        # pure=False: a re-run must grade again, never reuse a result the cluster still holds
        futures = {client.submit(_grade_task, task, pure=False): i
                   for i, task in enumerate(tasks)}
        for future in as_completed(futures, loop=client.loop):
            i = futures[future]
            try:
                results[i] = future.result()
            except KilledWorker:
                results[i] = crashed_result(tasks[i])
            future.release()  # the result is here now: the cluster need not keep it
            done(results[i])
    return results


def _check_workers(client, tasks, address):
    """Refuse, saying what to do, when a worker cannot grade these tasks as this machine would:
    no worker at all, several threads in one worker, files it cannot see, another secret."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_SECONDS)
    except TimeoutError:
        raise ClusterUnavailable(
            f"The Dask scheduler at {address} has no worker: start some (`dask worker {address} "
            "--nthreads 1`, or a deployer; see the README's \"Grading on a cluster\").") from None
    # one submission at a time per worker process: the checks keep whose submission they grade
    # in a process global (grader.course_secret), so two threads would mix students' inputs
    crowded = sorted(w for w, n in client.nthreads().items() if n > 1)
    if crowded:
        raise ClusterUnavailable(
            f"Dask worker {crowded[0]} runs {client.nthreads()[crowded[0]]} threads, and "
            "grading needs one thread per worker process: start the workers with --nthreads 1 "
            "(and --nworkers N for N at once on a machine).")
    if not tasks:
        return
    scratch = tasks[0].workdir.parent.parent
    # what _grade_task reads: the course, the master gradebook (which may be kept in the
    # course's grading folder), the release, the submitted notebooks
    paths = sorted({str(p) for t in tasks
                    for p in [t.root / "solutions", t.master_db, t.release_dir, *t.sub.notebooks]})
    try:
        problems = client.run(_worker_problem, str(scratch), paths,
                              _secret_fingerprint(make=True), tasks[0].unsafe_no_sandbox)
    except Exception as exc:  # noqa: BLE001  (e.g. no grader to import there, another Python)
        raise ClusterUnavailable(
            f"The Dask workers of {address} cannot run the course's code ({type(exc).__name__}: "
            f"{str(exc)[:200]}): install the course checkout on every worker with pip install "
            "-e '.[cluster]', with the same Python as here.") from None
    for worker, problem in sorted(problems.items()):
        if problem:
            raise ClusterUnavailable(
                f"Dask worker {worker} cannot grade: {problem}. Every worker needs the course "
                "checkout (with its grading folder, or $BACKPROP_COURSE_SCRATCH), SUBMISSIONS "
                "and autograde's scratch folder at the same paths as this machine (a shared file system; the scratch folder is made under $TMPDIR, here "
                f"{scratch.parent}: set TMPDIR to a shared folder), bubblewrap, and the course's "
                "secret (see the README's \"Grading on a cluster\").")


def _worker_problem(scratch, paths, fingerprint, unsafe_no_sandbox):
    """On a worker: None when it can grade, else what stands in the way."""
    from .sandbox import sandbox_problem, use_unsafe_no_sandbox

    if not os.access(scratch, os.W_OK):  # the workers write each submission's work there
        return f"it cannot see or write to autograde's scratch folder {scratch}"
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        return (f"it cannot see {missing[0]}"
                + (f" (nor {len(missing) - 1} other path(s))" if len(missing) > 1 else ""))
    if _secret_fingerprint() != fingerprint:
        return ("its course secret is missing or another than this machine's (the hidden "
                "inputs come from it): give every worker the same BACKPROP_COURSE_SECRET_FILE, "
                "or the same ~/.config/backprop-course/secret")
    use_unsafe_no_sandbox(unsafe_no_sandbox)
    return sandbox_problem()


def _secret_fingerprint(make=False):
    """A digest telling whether two machines have the same course secret, without sending it.
    None: there is none, and a worker makes none just to compare (this machine does, as a local
    run would)."""
    from .course_secret import course_secret, secret_file

    if not (make or os.environ.get("BACKPROP_COURSE_SECRET") or secret_file().exists()):
        return None
    return hmac.new(course_secret(), b"the same course secret?", hashlib.sha256).hexdigest()
