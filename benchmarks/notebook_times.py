"""How long each notebook takes to execute: lectures (target < 30 s) and assignment sources
with their solutions (target < 60 s), on this machine.

    .venv/bin/python benchmarks/notebook_times.py
"""

import shutil
import tempfile
import time
from pathlib import Path

from grader.notebooks import execute_in_place

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"lectures": 30, "solutions": 60}


def main():
    print(f"{'notebook':60}{'seconds':>9}{'target':>8}")
    for folder, target in TARGETS.items():
        for path in sorted((ROOT / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / path.name  # run a copy: the stored notebook stays as it is
                shutil.copy(path, copy)
                start = time.perf_counter()
                execute_in_place(copy)
                seconds = time.perf_counter() - start
            print(f"{path.relative_to(ROOT)!s:60}{seconds:9.1f}{target:8d}")


if __name__ == "__main__":
    main()
