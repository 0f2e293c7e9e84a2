"""Cells tagged requires-MODULE are skipped by nbval where MODULE is missing, and run where it is."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat

TESTS = Path(__file__).resolve().parent


def run_nbval(tmp_path, tag):
    first = nbformat.v4.new_code_cell("x = 2\nprint(x)")
    first.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    first.execution_count = 1
    optional = nbformat.v4.new_code_cell("import math\nprint(math.floor(x * 1.5))")
    optional.outputs = [nbformat.v4.new_output("stream", name="stdout", text="3\n")]
    optional.metadata["tags"] = [tag]
    optional.execution_count = 2
    nb = nbformat.v4.new_notebook(cells=[first, optional])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "lecture.ipynb")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-c", os.devnull,
         "--rootdir", tmp_path, "--nbval", "-p", "nbval_optional", tmp_path / "lecture.ipynb"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(TESTS)}, capture_output=True,
        text=True, check=False)


def test_a_cell_needing_a_missing_module_is_skipped_with_the_reason(tmp_path):
    done = run_nbval(tmp_path, "requires-no_such_module_here")
    assert done.returncode == 0, done.stdout
    assert "1 passed, 1 skipped" in done.stdout
    assert "needs no_such_module_here, which is not installed" in done.stdout


def test_a_cell_whose_module_is_installed_runs_and_is_compared(tmp_path):
    done = run_nbval(tmp_path, "requires-math")
    assert "2 passed" in done.stdout, done.stdout
