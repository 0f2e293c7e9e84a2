"""Run a student's solution cells in a bubblewrap sandbox and call them from the grader.

The hidden checks run here, in the grading process; only the student's code runs in the
sandbox (grader/sandbox_runner.py). The sandbox is one `bwrap` command line (see
`sandbox_command`), nothing programmed by hand:

- an allow-list of read-only mounts: the system's /usr, the Python runtime (without its
  site-packages), numpy and the packages the setup cells import, the `course` package and the
  runner; nothing else of the checkout, the venv, /tmp or the home folder exists inside;
- a private 16 MiB tmpfs for /tmp (also home and the working folder), a private /dev;
- new user, PID, network, IPC and UTS namespaces; an unprivileged uid and gid inside *and*
  outside (when the grader runs as root, the sandbox first drops to a uid of its own);
  no capabilities; no further user namespaces; `--die-with-parent`, `--new-session`, so the
  whole process tree ends with the sandbox;
- rlimits (prlimit) on CPU time, memory, file size, processes and open files, and a deadline on
  every read and every write of the channel.

Only plain data crosses (see sandbox_runner): the grader sends numbers, strings, lists and
arrays, never an object with methods; the student's objects stay in the sandbox and are
reached through handles.
"""

import atexit
import fcntl
import functools
import os
import platform
import select
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

from . import sandbox_runner
from .i18n import N_
from .sandbox_runner import Endpoint

COURSE_PACKAGE = Path(__file__).resolve().parent.parent / "course"
STANDINS = Path(__file__).resolve().parent / "standins.py"
REQUEST_SECONDS = int(os.environ.get("BACKPROP_COURSE_CALL_TIMEOUT", "20"))  # one call
TOTAL_SECONDS = 120  # one sandbox's whole life (its CPU time limit too)
MEMORY_BYTES = 3 * 1024**3
FILE_BYTES = 8 * 1024**2
TMP_BYTES = 16 * 1024**2  # the only writable place inside
PROCESSES = 32
OPEN_FILES = 128
MESSAGE_BYTES = 256 * 1024**2  # one message on the channel; more is an attack, not an answer
# What the setup cells import (numpy, matplotlib for a2's plots): these packages, and the
# packages they import in turn, are mounted read-only; nothing else of site-packages is.
SETUP_IMPORTS = ("numpy", "matplotlib", "matplotlib.pyplot")
# The notebooks' plotting code runs in the sandbox as it is written, every matplotlib call made,
# but no pixel is drawn: nobody sees a figure there. Matplotlib's "template" backend draws
# nothing (Agg would rasterise each figure: 0.05 s of a4's four experiment plots each). Saving
# a figure as PNG still works (matplotlib switches to Agg for it); only canvas.buffer_rgba(),
# which no exercise uses, is missing.
PLOT_BACKEND = "template"
# When the grader runs as root, each sandbox runs as a uid of its own from this range (outside
# the sandbox too), so one sandbox's process limit or signals never reach another's.
FIRST_UID, UID_SLOTS = 990000, 256
INSIDE_UID = 65534  # "nobody", as the student's code sees itself

# Where things are inside the sandbox
SITE, LIB, TMP = "/sandbox/site", "/sandbox/lib", "/tmp"


class SandboxDied(Exception):
    """The sandboxed process ended or stopped answering (crash, os._exit, time limit). The
    message is a sentence for the student (N_: translated where it is shown, sentence())."""

    def __init__(self, message, **values):
        super().__init__(message.format(**values))
        self.message, self.values = message, values

    def sentence(self):
        """The sentence in the language the feedback is being written in (grader/i18n.py)."""
        from .i18n import _

        return _(self.message).format(**self.values)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine; the message says what to install or enable."""


@functools.cache
def _site_packages():
    return Path(sysconfig.get_paths()["purelib"])


# What the probe found: made once per process, or handed over by the process that started it
# (grader/autograde.py's workers), so that a worker does not probe again (~1 s).
_PROBED = {}


def allowed_packages():
    """The top-level packages of site-packages that SETUP_IMPORTS need, found by importing them
    in a fresh interpreter (trusted code, outside the sandbox), plus their shared libraries."""
    if "packages" not in _PROBED:
        _probe()
    return _PROBED["packages"]


def font_list():
    """The font list the probe's matplotlib wrote, for every sandbox to read (without it, each
    sandbox's pyplot would rebuild it in its /tmp, ~0.3 s); fonts under matplotlib's own data
    folder are listed relative to it, so the list is right inside the sandbox too. Or None."""
    if "packages" not in _PROBED:
        _probe()
    return Path(_PROBED["fonts"]) if _PROBED["fonts"] else None


def probe_results():
    """What the probe found, as plain data, for use_probe_results in another process."""
    allowed_packages()
    return dict(_PROBED)


def use_probe_results(found):
    _PROBED.update(found)


def _probe():
    site = _site_packages()
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); "
             + "".join(f"import {m}; " for m in SETUP_IMPORTS)
             + "print('\\n'.join(sorted({getattr(m, '__file__', None) or '' for m in "
               "list(sys.modules.values())})))\n"
             # the shared libraries they loaded (numpy.libs' OpenBLAS, pillow.libs, ...)
             + "print(open('/proc/self/maps').read())")
    fonts = Path(tempfile.mkdtemp(prefix="backprop-course-mpl-"))
    atexit.register(shutil.rmtree, fonts, ignore_errors=True)
    fonts.chmod(0o755)  # read by the sandbox's unprivileged uid
    env = {"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "MPLCONFIGDIR": str(fonts)}
    done = subprocess.run([_python(), "-I", "-S", "-c", probe, str(site)], env=env,
                          capture_output=True, text=True, check=True)
    tops = set()
    for line in done.stdout.splitlines():
        path = Path(line.split()[-1] if line.split() else "")
        if site in path.parents:
            tops.add(path.relative_to(site).parts[0])
    font_lists = sorted(fonts.glob("fontlist-*.json"))
    for path in font_lists:
        path.chmod(0o644)
    _PROBED.update(packages=sorted(tops), fonts=str(font_lists[-1]) if font_lists else "")


def _python():
    """The interpreter itself, not the venv's link to it (the venv is not mounted)."""
    return os.path.realpath(sys.executable)


def _runtime_binds():
    """The Python runtime: its prefix, with its own site-packages hidden."""
    prefix = Path(sys.base_prefix)
    args = []
    if not str(prefix).startswith("/usr/"):
        args += _parents_of(prefix) + ["--ro-bind", str(prefix), str(prefix)]
    base_site = Path(sysconfig.get_paths(vars={"base": sys.base_prefix,
                                                "platbase": sys.base_prefix})["purelib"])
    if base_site.is_dir():
        args += ["--tmpfs", str(base_site)]
    return args


def _parents_of(path):
    """Mount points' parent folders, made traversable (bwrap makes them 0700 otherwise)."""
    args = []
    for parent in reversed(Path(path).parents):
        if str(parent) != "/":
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _system_binds():
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def sandbox_command(runner_args, uid=None):
    """The bwrap command line that runs `python sandbox_runner.py ARGS` in the sandbox.

    Two nested bwraps: the outer one builds the file system and the PID, network, IPC and UTS
    namespaces; the inner one, started as an unprivileged user, adds a user namespace with
    no way to make more, the private /tmp and /dev, and the limits. When the grader runs as
    root the outer bwrap must run as root to read the runtime (e.g. under /root), so it drops
    to `uid` (setpriv) before the inner one starts; otherwise the outer bwrap is unprivileged
    and gets a user namespace of its own.
    """
    site = _site_packages()
    outer = ["bwrap", *_system_binds(), *_runtime_binds()]
    for folder in ("/sandbox", SITE, LIB):
        outer += ["--perms", "0755", "--dir", folder]
    for name in allowed_packages():
        outer += ["--ro-bind", str(site / name), f"{SITE}/{name}"]
    fonts = font_list()
    if fonts is not None:
        outer += ["--ro-bind", str(fonts), f"/sandbox/{fonts.name}"]
    outer += ["--ro-bind", str(COURSE_PACKAGE), f"{LIB}/course",
              "--ro-bind", sandbox_runner.__file__, f"{LIB}/sandbox_runner.py",
              "--ro-bind", str(STANDINS), f"{LIB}/standins.py",
              "--proc", "/proc", "--dev", "/dev", "--dir", TMP,
              "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
              "--unshare-cgroup-try", "--hostname", "sandbox",
              "--die-with-parent", "--new-session", "--clearenv",
              "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", TMP,
              "--setenv", "MPLBACKEND", PLOT_BACKEND, "--setenv", "MPLCONFIGDIR", TMP,
              "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1",
              "--setenv", "PYTHONHASHSEED", "0"]
    if uid is not None:  # the grader is root: drop to the sandbox's own uid outside too
        outer += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add",
                  "CAP_SETPCAP", "--", "setpriv", f"--reuid={uid}", f"--regid={uid}",
                  "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        outer += ["--unshare-user", "--"]
    inner = ["bwrap", "--unshare-user", "--disable-userns", "--uid", str(INSIDE_UID),
             "--gid", str(INSIDE_UID), "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", TMP,
             "--size", str(1024**2), "--tmpfs", "/dev/shm", "--chdir", TMP,
             # matplotlib's font list, prebuilt, in its (writable) config folder, /tmp
             *(["--ro-bind", f"/sandbox/{fonts.name}", f"{TMP}/{fonts.name}"] if fonts else []),
             "--die-with-parent", "--new-session", "--"]
    limits = ["prlimit", f"--cpu={TOTAL_SECONDS}:{TOTAL_SECONDS + 5}",
              f"--as={MEMORY_BYTES}", f"--fsize={FILE_BYTES}", f"--nproc={PROCESSES}",
              f"--nofile={OPEN_FILES}", "--core=0", "--",
              # no address randomisation: the student's sets iterate in the same order on every
              # run, so re-grading a submission whose result depends on that order gives the
              # same grade
              "setarch", platform.machine(), "--addr-no-randomize"]
    # -s -S -B rather than -I: the environment is bwrap's, set here, and PYTHONHASHSEED in it
    # (with no address randomisation) makes the student's sets iterate the same on every run
    python = [_python(), "-s", "-S", "-B", f"{LIB}/sandbox_runner.py", *runner_args, SITE, LIB]
    return outer + inner + limits + python


def unsafe_command(runner_args):
    """--unsafe-no-sandbox: the same runner, as the grader's own user, with no isolation."""
    return [_python(), "-I", "-S", "-B", sandbox_runner.__file__, *runner_args,
            str(_site_packages()), str(COURSE_PACKAGE.parent), str(STANDINS.parent)]


def _unsafe_limits():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TOTAL_SECONDS, TOTAL_SECONDS + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setsid()


UNSAFE = {"on": False}  # set by `autograde --unsafe-no-sandbox` (and nothing else)


def use_unsafe_no_sandbox(on=True):
    UNSAFE["on"] = on


class _UidSlot:
    """A uid from FIRST_UID.. held (flock) for one sandbox's life, when the grader is root."""

    def __init__(self):
        self.uid, self._fd = None, None
        if os.geteuid() != 0:
            return
        folder = Path(tempfile.gettempdir()) / "backprop-course-sandbox-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
        for k in range(UID_SLOTS):
            fd = os.open(folder / str(k), os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = FIRST_UID + k, fd
            return
        raise SandboxUnavailable(f"all {UID_SLOTS} sandbox uids are in use")

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def sandbox_problem():
    """None when the sandbox works here; else a sentence saying what to install or enable."""
    if UNSAFE["on"]:
        return None
    if not shutil.which("bwrap"):
        return ("bubblewrap is not installed: install it (Debian/Ubuntu: sudo apt install "
                "bubblewrap; Fedora: sudo dnf install bubblewrap) and run again.")
    for tool in ("setpriv", "prlimit", "setarch"):
        if not shutil.which(tool):
            return f"{tool} (util-linux) is not installed: install util-linux and run again."
    try:
        with Sandbox([{"id": "probe", "source": "import numpy"}]) as box:
            if box.cell_errors:
                return ("the sandbox starts but cannot import numpy: "
                        f"{box.cell_errors['probe']}")
    except (SandboxDied, OSError, subprocess.CalledProcessError) as exc:
        return (f"the bubblewrap sandbox does not start on this machine ({exc}). It needs "
                "Linux with unprivileged user namespaces enabled (Ubuntu 24.04: sudo sysctl "
                "kernel.apparmor_restrict_unprivileged_userns=0; Debian before 11: sudo sysctl "
                "kernel.unprivileged_userns_clone=1); inside a container, run it with "
                "--privileged or a seccomp profile that allows user namespaces.")
    return None


class Sandbox:
    def __init__(self, cells):
        """cells: [{"id": ..., "source": ...}] run in order (the instructor's setup first)."""
        self._slot = None if UNSAFE["on"] else _UidSlot()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        runner_args = [str(to_child_r), str(from_child_w), str(REQUEST_SECONDS)]
        # what bwrap prints when it cannot start; kept for the sandbox's life, closed in close()
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            if UNSAFE["on"]:
                self.dir = tempfile.mkdtemp(prefix="backprop-unsafe-")
                command, cwd, preexec = unsafe_command(runner_args), self.dir, _unsafe_limits
            else:
                self.dir = None
                command, cwd, preexec = sandbox_command(runner_args, self._slot.uid), "/", None
            self.process = subprocess.Popen(
                command, cwd=cwd, env={"PATH": "/usr/bin:/bin", "MPLBACKEND": PLOT_BACKEND},
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self._errors,
                preexec_fn=preexec)  # noqa: PLW1509  (no threads start sandboxes)
        except BaseException:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            self._release()
            raise
        os.close(to_child_r)
        os.close(from_child_w)
        self._out, self._in = to_child_w, from_child_r
        os.set_blocking(self._out, False)  # a write that would block waits with a deadline
        self._buffer = bytearray()
        self.deadline = time.monotonic() + TOTAL_SECONDS
        self.end = Endpoint(self._read_line, self._write_line, np, grader_side=True,
                            on_violation=self._violation)
        self.cell_errors = dict(self.end.request({"op": "exec", "cells": cells}))

    def get(self, name):
        """The student's object called name, as a proxy."""
        return self.end.request({"op": "get", "name": name})

    def standin(self, name, *args):
        """A stand-in object (grader/standins.py) made inside the sandbox from plain data."""
        return self.end.request({"op": "standin", "name": name,
                                 "args": [self.end.encode(a) for a in args]})

    def _violation(self, what):
        self.close()
        raise SandboxDied(N_("the student's code broke the grader's channel ({what}) and was "
                             "stopped"), what=what[:200])

    def _time_left(self):
        return max(min(self.deadline - time.monotonic(), REQUEST_SECONDS + 5), 0)

    def _write_line(self, text):
        data = memoryview((text + "\n").encode())
        while data:
            _, ready, _ = select.select([], [self._out], [], self._time_left())
            if not ready:
                self.close()
                raise SandboxDied(N_("the student's code stopped reading and was stopped"))
            try:
                data = data[os.write(self._out, data):]
            except (BrokenPipeError, OSError) as exc:
                self.close()
                raise SandboxDied(N_("the process running the student's code ended (it "
                                     "exited, crashed or ran out of memory)")) from exc

    def _read_line(self):
        searched = 0  # the buffer before this holds no newline (no quadratic rescans)
        while (end := self._buffer.find(b"\n", searched)) < 0:
            searched = len(self._buffer)
            ready, _, _ = select.select([self._in], [], [], self._time_left())
            if not ready:
                self.close()
                raise SandboxDied(N_("the student's code ran too long and was stopped"))
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                self.close()
                raise SandboxDied(N_("the process running the student's code ended (it "
                                     "exited, crashed or ran out of memory)"))
            self._buffer += chunk
            if len(self._buffer) > MESSAGE_BYTES:
                self.close()
                raise SandboxDied(N_("the student's code sent more data than any answer "
                                     "needs and was stopped"))
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        return line.decode("utf-8", errors="replace")

    def startup_errors(self):
        """What bwrap itself printed (why a sandbox did not start), for the instructor."""
        if self._errors.closed:
            return ""
        self._errors.seek(0)
        return self._errors.read(2000).decode(errors="replace").strip()

    def close(self):
        if self.process.poll() is None:
            if UNSAFE["on"]:  # its own session: the group is everything it started
                try:
                    os.killpg(self.process.pid, 9)
                except (ProcessLookupError, PermissionError):
                    pass
            self.process.kill()  # bwrap: --die-with-parent takes the whole sandbox with it
        self.process.wait()
        for fd in (self._out, self._in):
            try:
                os.close(fd)
            except OSError:
                pass
        self._out = self._in = -1
        self._errors.close()
        self._release()

    def _release(self):
        if self._slot is not None:
            self._slot.release()
        if getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
