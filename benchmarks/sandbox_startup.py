"""Start-up cost of the grading sandbox: a sandboxed Python that imports numpy and runs nothing
(the floor of every submission's grading), against the same runner with no isolation
(`--unsafe-no-sandbox`), measured in one run on this machine. Prints figures, asserts nothing.

    .venv/bin/python benchmarks/sandbox_startup.py [REPEATS]
"""

import statistics
import sys
import time

from grader import sandbox

SETUP = [{"id": "setup", "source": "import numpy as np"}]
WITH_PLOTS = [{"id": "setup", "source": "import numpy as np\nimport matplotlib.pyplot as plt"}]


def start_times(cells, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with sandbox.Sandbox(cells) as box:
            assert not box.cell_errors, box.cell_errors
        times.append(time.perf_counter() - start)
    return times


def main(repeats=20):
    problem = sandbox.sandbox_problem()
    if problem:
        sys.exit(problem)
    rows = []
    for label, cells in (("numpy", SETUP), ("numpy + matplotlib.pyplot", WITH_PLOTS)):
        sandbox.use_unsafe_no_sandbox(True)
        plain = start_times(cells, repeats)
        sandbox.use_unsafe_no_sandbox(False)
        boxed = start_times(cells, repeats)
        rows.append((label, statistics.median(plain), statistics.median(boxed)))
    print(f"sandbox start-up, median of {repeats} (seconds)")
    for label, plain, boxed in rows:
        print(f"  {label:28s} no isolation {plain:.3f}   bubblewrap {boxed:.3f}   "
              f"ratio {boxed / plain:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
