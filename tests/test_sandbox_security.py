"""Student code is hostile: attacks on the bubblewrap sandbox, checked from outside it.

First the sandbox itself (grader.sandbox.Sandbox, as the checks use it): what student code can
see, write, signal, start and send. Then the whole command: one batch through the real
`backprop-course autograde` with attackers next to a correct student.
"""

import os
import socket
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest
from conftest import ROOT, release_path, source_path

from grader import sandbox
from grader.sandbox import Sandbox, SandboxDied

pytestmark = pytest.mark.skipif(sandbox.sandbox_problem() is not None,
                                reason=f"no sandbox here: {sandbox.sandbox_problem()}")


def run(code, **names):
    """Run student code in a fresh sandbox; return the names it defined (plain data)."""
    with Sandbox([{"id": "student", "source": code}]) as box:
        assert not box.cell_errors, box.cell_errors
        return {name: box.get(name) for name in names}


def test_student_code_sees_only_the_allow_list():
    got = run("import os, sys\n"
              "top = sorted(os.listdir('/'))\n"
              f"checkout = os.path.exists({str(ROOT)!r})\n"
              f"venv = os.path.exists({sys.prefix!r})\n"
              "site = sorted(os.listdir('/sandbox/site'))\n"
              "lib = sorted(os.listdir('/sandbox/lib'))\n"
              "home = os.path.exists(os.path.expanduser('~root/.config'))\n",
              top=1, checkout=1, venv=1, site=1, lib=1, home=1)
    assert not got["checkout"] and not got["venv"] and not got["home"]
    assert set(got["top"]) <= {"bin", "dev", "lib", "lib32", "lib64", "proc", "root", "sandbox",
                               "sbin", "tmp", "usr"}
    assert got["lib"] == ["course", "sandbox_runner.py", "standins.py"]
    assert "numpy" in got["site"] and not {"grader", "nbgrader", "jupyter_core"} & set(
        got["site"])


def test_student_code_cannot_write_outside_its_private_tmp(tmp_path):
    marker = tmp_path / "planted"
    got = run("import os\nresults = []\n"
              "for path in ['/sandbox/lib/course/planted.py', '/sandbox/site/numpy/x.pth', "
              f"'/usr/planted', {str(marker)!r}, '/tmp/ok']:\n"
              "    try:\n"
              "        open(path, 'w').write('import os')\n"
              "        results.append(path)\n"
              "    except OSError:\n"
              "        pass\n", results=1)
    assert got["results"] == ["/tmp/ok"]
    assert not marker.exists() and not (ROOT / "course" / "planted.py").exists()


def test_an_unprivileged_user_inside_and_outside():
    with Sandbox([{"id": "s", "source": "import os, time\nids = (os.getuid(), os.getgid())\n"
                   "def caps():\n    return open('/proc/self/status').read()\n"}]) as box:
        assert box.get("ids") == (65534, 65534)
        status = box.get("caps")()
        assert "CapEff:\t0000000000000000" in status and "NoNewPrivs:\t1" in status
        outside = _sandbox_processes(box.process.pid)
        assert outside, "the sandboxed python is visible from outside"
        for pid in outside:
            assert _uid_outside(pid) not in (0, os.getuid()) or os.getuid() != 0


def test_no_network_and_no_signals_outside():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    with server, Sandbox([{"id": "s", "source": "import os, socket\n" + _REACH_AND_KILL}]) as box:
        assert box.get("reach")(port) is False
        assert box.get("kill")(os.getpid()) is False  # the grader's pid means nothing inside
    assert os.getpid()  # the grader is still here to say so


_REACH_AND_KILL = """
def reach(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=2)
        return True
    except OSError:
        return False

def kill(pid):
    try:
        os.kill(pid, 9)
        return True
    except OSError:
        return False
"""


def test_every_process_a_submission_starts_ends_with_it():
    marker = f"outlive-{os.getpid()}-{time.time_ns()}"
    code = ("import os, subprocess\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            f"    os.execv('/bin/sleep', [{marker!r}, '1000'])\n"  # argv[0]: the marker
            f"subprocess.Popen([{marker!r}, '1001'], executable='/bin/sleep', "
            "start_new_session=True)\n")
    with Sandbox([{"id": "s", "source": code}]) as box:
        assert not box.cell_errors, box.cell_errors
        for _ in range(50):
            if len(_processes_with(marker)) == 2:
                break
            time.sleep(0.1)
        assert len(_processes_with(marker)) == 2, "the children run while the sandbox does"
        box.close()
    time.sleep(0.3)
    assert not _processes_with(marker)


def test_a_fork_bomb_hits_the_process_limit():
    got = run("import os\nmade = 0\n"
              "for _ in range(200):\n"
              "    try:\n"
              "        if os.fork() == 0:\n"
              "            import time\n"
              "            time.sleep(30)\n"
              "            os._exit(0)\n"
              "        made += 1\n"
              "    except OSError:\n"
              "        break\n", made=1)
    assert got["made"] < sandbox.PROCESSES


def test_the_channel_has_deadlines_both_ways(monkeypatch):
    monkeypatch.setattr(sandbox, "REQUEST_SECONDS", 2)
    # the student's code stops reading (it stops itself a moment after returning): the
    # grader's write of a large request gives up instead of blocking forever
    stop = ("import os, signal, threading\n"
            "def stop_later():\n"
            "    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGSTOP)).start()\n"
            "def take(x):\n    return 0\n")
    with Sandbox([{"id": "s", "source": stop}]) as box:
        box.get("stop_later")()
        take = box.get("take")
        time.sleep(1)
        start = time.monotonic()
        with pytest.raises(SandboxDied):
            take(np.zeros(20_000_000))  # 160 MB: far more than a pipe holds
        assert time.monotonic() - start < 20
    # the student's code floods the channel: the grader stops it
    flood = ("import os\ndef flood():\n"
             "    for fd in range(3, 1024):\n"
             "        try:\n"
             "            while True:\n"
             "                os.write(fd, b'x' * (1 << 20))\n"
             "        except OSError:\n"
             "            pass\n")
    with Sandbox([{"id": "s", "source": flood}]) as box, pytest.raises(SandboxDied):
        box.get("flood")()


def test_only_plain_data_goes_to_the_student():
    with Sandbox([{"id": "s", "source": "def take(x):\n    return type(x).__name__\n"}]) as box:
        take = box.get("take")
        assert take([1, 2.5, "a", None, (3,), {4}]) == "list"
        with pytest.raises(TypeError):
            take(np.random.default_rng(0))  # a grader object with methods never crosses
        with pytest.raises(TypeError):
            take(lambda: 1)


def test_mutation_and_identity_are_seen_across_the_wire():
    code = ("def same(x):\n    return x\n"
            "def copy(x):\n    return x.copy()\n"
            "def empty(items):\n    items.clear()\n"
            "def scale(x):\n    x *= 2\n")
    with Sandbox([{"id": "s", "source": code}]) as box:
        x = np.arange(3.0)
        assert box.get("same")(x) is x
        assert box.get("copy")(x) is not x
        items = [1.0, 2.0]
        box.get("empty")(items)
        assert items == []
        box.get("scale")(x)
        assert list(x) == [0.0, 2.0, 4.0]


def test_a_wire_message_from_student_code_stops_only_that_sandbox():
    forge = ("import os\ndef forge():\n"
             "    for fd in range(3, 1024):\n"
             "        try:\n"
             "            os.write(fd, b'{\"op\": \"getattr\", \"target\": 1, \"name\": \"x\"}\\n')\n"
             "        except OSError:\n"
             "            pass\n"
             "    import time\n    time.sleep(5)\n")
    with Sandbox([{"id": "s", "source": forge}]) as box, pytest.raises(SandboxDied):
        box.get("forge")()


def _children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _sandbox_processes(pid):
    found, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        found += kids
        todo += kids
    # the sandboxed python itself (bwrap's own command lines name the runner too)
    return [p for p in found if _cmdline(p).startswith(sandbox._python() + "\0")]


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read()
    except OSError:
        return ""


def _uid_outside(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Uid:"))


def _processes_with(marker):
    return [p for p in os.listdir("/proc") if p.isdigit() and marker in _cmdline(p)]


# --------------------------------------------------------------------------------------------
# The whole command: attackers and a correct student in one batch

AID = "a1_scalar_backprop"
ATTACKS = {
    # code planted where a later run would import it, and files written next to the checkout
    "attack_plants_code": ("import os, sys\n"
                           "for folder in sys.path + ['/tmp', os.getcwd()]:\n"
                           "    try:\n"
                           "        open(os.path.join(folder, 'zz_hook.pth'), 'w').write(\n"
                           "            'import os; os._exit(3)')\n"
                           "    except OSError:\n"
                           "        pass\n"),
    # the reference and the solutions, by absolute and relative paths
    "attack_reads_reference": (
        "import glob\n"
        "found = [p for pat in ['/sandbox/**/*.py', '../../**/solutions/**/*.ipynb', "
        f"{str(ROOT / 'grader/reference/scalar.py')!r}, '/*/grader/reference/*.py'] "
        "for p in glob.glob(pat, recursive=True)]\n"
        "src = ''.join(open(p).read() for p in found)\n"
        "exec(src[src.index('class AddGate'):src.index('class MultiplyGate')])\n"),
    # signals everything it can, and leaves a daemon behind
    "attack_signals_and_outlives": ("import os, signal\n"
                                    "if os.fork() == 0:\n"
                                    "    os.setsid()\n"
                                    "    os.execv('/bin/sleep', ['/bin/sleep', '1000'])\n"
                                    "for pid in range(1, 400):\n"
                                    "    try:\n"
                                    "        os.kill(pid, signal.SIGSTOP)\n"
                                    "    except OSError:\n"
                                    "        pass\n"),
}
# backward by finite differences: a nonlinear gate (sigmoid), with a careful step
FINITE_DIFFERENCES = """
class SigmoidGate:
    def forward(self, x):
        self.x = x
        return 1.0 / (1.0 + math.exp(-x))

    def backward(self, dout):
        h = 1e-5
        f = lambda v: 1.0 / (1.0 + math.exp(-v))
        return (f(self.x + h) - f(self.x - h)) / (2 * h) * dout
"""


@pytest.mark.slow
def test_attacks_through_the_real_command_change_no_grade(tmp_path):
    from grader.simulate import completed

    subs = tmp_path / "subs"

    def put(student, notebook):
        path = subs / student / AID / f"{AID}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)

    correct = completed(release_path(AID), source_path(AID))
    put("correct_student", correct)
    for student, code in ATTACKS.items():
        put(student, completed(release_path(AID), source_path(AID), {
            "add_gate": lambda _, code=code: code + "\nclass AddGate:\n    pass\n"}))
    put("finite_differences", completed(release_path(AID), source_path(AID), {
        "sigmoid_gate": lambda _: FINITE_DIFFERENCES}))

    def grade(out):
        done = subprocess.run([sys.executable, "-m", "course.cli", "autograde", str(subs),
                               "--out", str(out), "--jobs", "2"], cwd=ROOT, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        import csv

        with open(out / "cell_grades.csv", newline="") as f:
            cells = {(r["student_id"], r["grade_id"]): r for r in csv.DictReader(f)}
        with open(out / "grades.csv", newline="") as f:
            grades = {r["student_id"]: r for r in csv.DictReader(f)}
        return cells, grades

    cells, grades = grade(tmp_path / "out1")
    assert float(grades["correct_student"]["score"]) == 100
    for student in ATTACKS:
        assert float(cells[(student, "test_add_gate")]["score"]) == 0, student
        assert float(grades[student]["score"]) == 95, grades[student]  # the rest is theirs
        assert grades[student]["status"] == "review", grades[student]  # the instructor sees it
    fd = cells[("finite_differences", "test_sigmoid_gate")]
    assert float(fd["score"]) == 0 and "finite-difference" in fd["flag"]
    assert grades["finite_differences"]["status"] == "review"
    assert not list(ROOT.rglob("zz_hook.pth")) and not list(
        (ROOT / ".venv").rglob("zz_hook.pth") if (ROOT / ".venv").exists() else [])
    # a later run is not changed by anything the attackers did
    for student in [*ATTACKS, "finite_differences"]:
        for path in (subs / student).rglob("*"):
            if path.is_file():
                path.unlink()
    _, grades = grade(tmp_path / "out2")
    assert float(grades["correct_student"]["score"]) == 100


@pytest.mark.slow
def test_without_the_sandbox_autograde_refuses_unless_told_it_is_unsafe(tmp_path):
    from grader.simulate import completed

    subs = tmp_path / "subs"
    path = subs / "ada" / AID / f"{AID}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(completed(release_path(AID), source_path(AID)), path)
    no_bwrap = tmp_path / "bin"  # a PATH with the tools but without bwrap
    no_bwrap.mkdir()
    for tool in ("setpriv", "prlimit", "sh"):
        (no_bwrap / tool).symlink_to(f"/usr/bin/{tool}")
    env = {**os.environ, "PATH": str(no_bwrap)}
    command = [sys.executable, "-m", "course.cli", "autograde", str(subs), "--out"]
    refused = subprocess.run([*command, str(tmp_path / "out1")], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "bubblewrap is not installed" in refused.stderr
    assert not (tmp_path / "out1" / "grades.csv").exists()
    unsafe = subprocess.run([*command, str(tmp_path / "out2"), "--unsafe-no-sandbox"], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=False)
    assert unsafe.returncode == 0, unsafe.stderr[-2000:]
    assert "WARNING: --unsafe-no-sandbox" in unsafe.stderr
    grades = (tmp_path / "out2" / "grades.csv").read_text()
    assert "UNSAFE" in grades and ",100,100," in grades


def test_a_submission_whose_result_depends_on_set_order_gets_the_same_grade_every_time():
    """The student's sets iterate in the same order on every run (no address randomisation, a
    fixed hash seed in the sandbox; the grader keeps the order it is sent): re-grading a
    submission with an order-dependent bug gives the same partial credit and sentence."""
    from grader.isolated import isolated_verdicts

    aid = "a3_computation_graph"
    source = nbformat.read(source_path(aid), as_version=4)
    wrong = nbformat.from_dict(source)
    for cell in wrong.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "value":
            cell.source = cell.source.replace("other.grad += self.data * out.grad",
                                              "other.grad = self.data * out.grad")
    runs = [isolated_verdicts(source, wrong, "ada")[0]["test_value"] for _ in range(3)]
    assert 0 < runs[0].fraction < 1
    assert all((r.fraction, r.message) == (runs[0].fraction, runs[0].message) for r in runs)
