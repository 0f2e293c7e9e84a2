"""The answers pack (`backprop-course answers OUT ASSIGNMENT...`) and course.reference, through
which the lectures run the reference answers: grader's in the checkout, the answers pack's in a
student's copy, else a sentence naming the assignment."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from student_env import make_student_env

import course.reference
from grader import reference
from grader.answers import write_answers
from grader.release import assignment_ids

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted(p.name for p in (ROOT / "lectures").glob("*.ipynb"))


def defined_names(module):
    """The public functions and classes a grader/reference module defines itself."""
    return sorted(name for name, obj in vars(module).items() if not name.startswith("_")
                  and getattr(obj, "__module__", None) == module.__name__)


def test_course_reference_names_every_answer_of_every_assignment():
    assert sorted(course.reference.MODULES) == assignment_ids(ROOT)
    answered = {name: assignment for assignment, module in course.reference.MODULES.items()
                for name in defined_names(importlib.import_module(f"grader.reference.{module}"))}
    assert course.reference.ANSWERED_BY == answered


def test_in_the_checkout_course_reference_is_graders_reference():
    for name in course.reference.ANSWERED_BY:
        assert getattr(course.reference, name) is getattr(reference, name), name
    with pytest.raises(AttributeError):
        course.reference.no_such_thing  # noqa: B018


def test_the_pack_is_the_reference_modules_unchanged(tmp_path):
    written = write_answers(ROOT, tmp_path, ["a1_scalar_backprop", "a2_vector_backprop"])
    assert written == sorted(Path(p) for p in [
        "README.md", "pyproject.toml", "course_answers/__init__.py",
        "course_answers/layers.py", "course_answers/scalar.py"])
    for name in ("layers.py", "scalar.py"):
        assert (tmp_path / "course_answers" / name).read_bytes() == (
            ROOT / "grader" / "reference" / name).read_bytes()
    assert "pip install -e" in (tmp_path / "README.md").read_text()


@pytest.mark.parametrize(("assignments", "complaint"), [
    (["a4_vanishing_gradients"], ("built on those to a2_vector_backprop: release "
                                 "a2_vector_backprop as well.")),
    (["a9_nothing"], "No assignment called a9_nothing; the assignments are a1_scalar_backprop"),
])
def test_assignments_that_cannot_be_released_are_refused_before_writing(
        tmp_path, assignments, complaint):
    with pytest.raises(ValueError, match=re.escape(complaint)):
        write_answers(ROOT, tmp_path / "pack", assignments)
    assert not (tmp_path / "pack").exists()


def test_the_answers_command_says_what_is_wrong(tmp_path):
    done = subprocess.run([sys.executable, "-m", "course.cli", "answers", str(tmp_path / "pack"),
                           "a4_vanishing_gradients"], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == ("The answers to a4_vanishing_gradients are built on those to "
                                   "a2_vector_backprop: release a2_vector_backprop as well.")


# ----------------------------------------------------------------------------- student's venv

def run_lectures(env, lectures):
    """nbval on LECTURES of the student's copy, with the student's python and kernel: each
    lecture runs and gives the outputs stored in it."""
    return subprocess.run(
        [env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull,
         "--rootdir", env.copy, "--nbval",
         "--nbval-sanitize-with", ROOT / "lectures" / "sanitize.cfg",
         *[env.copy / "lectures" / name for name in lectures]],
        cwd=env.copy, env=env.environ(), capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_a_copy_without_answers_runs_lecture_1_and_says_what_the_others_wait_for(tmp_path):
    env = make_student_env(tmp_path)
    lecture_1 = run_lectures(env, ["01_derivatives_and_chain_rule.ipynb"])
    assert lecture_1.returncode == 0, lecture_1.stdout[-3000:]
    lecture_3 = subprocess.run(
        [env.python, "-c", "from course.reference import Sequential, Affine"],
        cwd=tmp_path, env=env.environ(), capture_output=True, text=True, check=False)
    assert lecture_3.returncode == 1
    last = lecture_3.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: This lecture runs `Sequential`, the course's answer "
                           "to assignment a2_vector_backprop, and your copy")
    assert "saved outputs" in last and "grader" not in last


@pytest.mark.slow
def test_with_every_answers_pack_installed_every_lecture_runs_to_its_stored_outputs(tmp_path):
    env = make_student_env(tmp_path, answers=assignment_ids(ROOT))
    done = run_lectures(env, LECTURES)
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout[-500:]
