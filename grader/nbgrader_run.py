"""The environment nbgrader needs when it runs inside this Python environment."""

import os
import sys
from pathlib import Path


def nbgrader_env():
    env = dict(os.environ)
    # nbgrader runs `alembic` to create gradebooks: it must find this environment's scripts.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env
