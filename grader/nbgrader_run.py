"""Running real nbgrader commands as subprocesses of this Python environment."""

import os
import subprocess
import sys
from pathlib import Path


def nbgrader_env():
    env = dict(os.environ)
    # nbgrader runs `alembic` to create gradebooks: it must find this environment's scripts.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def run_nbgrader(args, cwd, timeout=None, env=None):
    """Run `nbgrader ARGS` in cwd; returns the CompletedProcess (never raises on exit code)."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd, env=env or nbgrader_env(), capture_output=True, text=True, timeout=timeout,
        check=False,
    )
