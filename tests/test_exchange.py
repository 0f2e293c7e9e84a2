"""`backprop-course exchange`'s refusals, which need no exchange (the steps themselves run on a
real JupyterHub in tests/hub)."""

import subprocess
import sys

import pytest
from conftest import ROOT

from grader import exchange


def test_an_unknown_assignment_is_refused_naming_the_course_s_assignments():
    with pytest.raises(exchange.ExchangeError,
                       match="No assignment a9_unknown in this course: its assignments are "
                             "a1_scalar_backprop, "):
        exchange.collect(ROOT, ["a9_unknown"])


def test_grading_before_collecting_says_to_collect_first():
    done = subprocess.run([sys.executable, "-m", "course.cli", "exchange", "grade",
                           "a1_scalar_backprop"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1
    assert "Nothing of a1_scalar_backprop has been collected" in done.stderr
    assert "run `backprop-course exchange collect a1_scalar_backprop` first." in done.stderr
