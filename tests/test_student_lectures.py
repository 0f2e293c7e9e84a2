"""A student's copy, installed from `backprop-course bundle` alone (tests/student_env.py), runs
every lecture from start to finish and gets the outputs stored in it: nothing of grader/, no
answers to install first."""

import os
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from student_env import make_student_env

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted(p.name for p in (ROOT / "lectures").glob("*.ipynb"))

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_lecture_runs_in_a_copy_installed_from_the_bundle_alone(tmp_path, lang):
    """English, and the Chinese edition (`bundle --lang zh`: its course package speaks Chinese
    because the copy says so, as the stored outputs do)."""
    env = make_student_env(tmp_path, lang)
    lectures = ROOT / "lectures" if lang == "en" else ROOT / lang / "lectures"
    assert sorted(p.name for p in (env.copy / "lectures").glob("*.ipynb")) == LECTURES
    done = subprocess.run(
        [env.python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-c", os.devnull,
         "--rootdir", env.copy, "--nbval", "--nbval-sanitize-with",
         ROOT / "lectures" / "sanitize.cfg",
         # cells tagged requires-torch are skipped where PyTorch is missing (the plugin only)
         "-p", "nbval_optional",
         *[env.copy / "lectures" / name for name in LECTURES]],
        cwd=env.copy, env={k: v for k, v in {**env.environ(), "PYTHONPATH": str(ROOT / "tests")}
                           .items() if k != "BACKPROP_COURSE_LANG"},
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-4000:]
    # every code cell of the five lectures ran and matched, or (torch cells only) was skipped
    code_cells = [c for name in LECTURES
                  for c in nbformat.read(lectures / name, as_version=4).cells
                  if c.cell_type == "code"]
    optional = sum("requires-torch" in c.metadata.get("tags", []) for c in code_cells)
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped)", done.stdout)}
    assert counts.get("passed", 0) + counts.get("skipped", 0) == len(code_cells), done.stdout[-500:]
    assert counts.get("skipped", 0) in (0, optional), done.stdout[-500:]
