"""Run a student's solution cells in an isolated process and call them from the grader.

The hidden checks run here, in the grading process; only the student's code runs in the
sandbox (grader/sandbox_runner.py), which is started

- as `python -I -S` (no environment variables, no user site, no site hooks: the editable install
  of `grader` is not on its path), in an empty scratch folder;
- where Linux namespaces are available, in its own mount and network namespace under an
  unprivileged user, with the reference code, the hidden tests, the source notebooks, the
  gradebooks and the submissions hidden behind empty tmpfs mounts, and no network;
- with limits on memory, CPU time, file size, and a time limit on every request.

The student's objects never leave the sandbox: the checks get proxies (sandbox_runner.Remote),
and results come back as plain numbers and arrays, so nothing the student writes (a patched
numpy, an object whose == is always true, an IPython hook) can touch the comparisons.
"""

import functools
import os
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
from .sandbox_runner import Endpoint

COURSE_PACKAGE = Path(__file__).resolve().parent.parent / "course"
REQUEST_SECONDS = int(os.environ.get("BACKPROP_COURSE_CALL_TIMEOUT", "20"))  # one call
TOTAL_SECONDS = 120  # one sandbox's whole life (CPU time limit too)
MEMORY_BYTES = 3 * 1024**3
FILE_BYTES = 64 * 1024**2


class SandboxDied(Exception):
    """The sandboxed process ended or stopped answering (crash, os._exit, time limit)."""


@functools.cache
def namespaces_available():
    """Can we make an unprivileged user + mount + network namespace here? (probed once)"""
    if not shutil.which("unshare"):
        return False
    try:
        done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "--net",
                               "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _limit_resources():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TOTAL_SECONDS, TOTAL_SECONDS + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setsid()  # its own process group: killing the group kills anything it started


# Inside a user namespace where we are "root": hide the secret folders behind empty tmpfs
# mounts, then drop into a nested user namespace (an unmapped, unprivileged user) so the
# student's code cannot unmount them: mounts made in a more privileged namespace are locked.
_HIDE_AND_DROP = r"""
for p in "$@"; do
  [ "$p" = "--" ] && break
  if [ -d "$p" ]; then mount -t tmpfs -o size=4k,mode=000 none "$p"
  elif [ -e "$p" ]; then mount --bind /dev/null "$p"; fi
  shift
done
shift
exec unshare --user --mount -- "$@"
"""


class Sandbox:
    def __init__(self, cells, hide=()):
        """cells: [{"id": ..., "source": ...}] run in order (the instructor's setup first)."""
        self.dir = Path(tempfile.mkdtemp(prefix="backprop-sandbox-"))
        os.chmod(self.dir, 0o755)  # readable by the unprivileged user inside the namespace
        shutil.copytree(COURSE_PACKAGE, self.dir / "course",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(sandbox_runner.__file__, self.dir / "sandbox_runner.py")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        command = [sys.executable, "-I", "-S", "sandbox_runner.py", str(to_child_r),
                   str(from_child_w), sysconfig.get_paths()["purelib"], str(REQUEST_SECONDS)]
        self.isolated = namespaces_available()
        if self.isolated:
            secrets = [str(p) for p in hide if Path(p).exists() and
                       self.dir not in Path(p).resolve().parents]
            command = ["unshare", "--user", "--map-root-user", "--mount", "--net", "--",
                       "sh", "-c", _HIDE_AND_DROP, "sh", *secrets, "--", *command]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.dir), "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(self.dir)}
        self.process = subprocess.Popen(
            command, cwd=self.dir, env=env, pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_limit_resources)  # noqa: PLW1509  (no threads start sandboxes)
        os.close(to_child_r)
        os.close(from_child_w)
        self._out = os.fdopen(to_child_w, "w")
        self._in = from_child_r
        self._buffer = b""
        self.deadline = time.monotonic() + TOTAL_SECONDS
        self.end = Endpoint(self._read_line, self._write_line, np, serve_private=False,
                            share_arrays=True)
        self.cell_errors = dict(self.end.request({"op": "exec", "cells": cells}))

    def get(self, name):
        """The student's object called name, as a proxy."""
        return self.end.request({"op": "get", "name": name})

    def _write_line(self, text):
        try:
            self._out.write(text + "\n")
            self._out.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise SandboxDied("the student's code stopped the process") from exc

    def _read_line(self):
        while b"\n" not in self._buffer:
            left = min(self.deadline - time.monotonic(), REQUEST_SECONDS + 5)
            ready, _, _ = select.select([self._in], [], [], max(left, 0))
            if not ready:
                self.close()
                raise SandboxDied("the student's code ran too long and was stopped")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                self.close()
                raise SandboxDied("the process running the student's code ended "
                                  "(it exited, crashed or ran out of memory)")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def close(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()
        for stream in (self._out,):
            try:
                stream.close()
            except OSError:
                pass
        try:
            os.close(self._in)
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

