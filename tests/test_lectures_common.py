"""What every lecture keeps: it runs in a student's copy (imports only course/ and libraries),
speaks to students (sources named, no testing markers), has its predict-then-run self-checks, and
keeps the one notation of lecture 1's table."""

import re
from pathlib import Path

import nbformat
import pytest
from lecture_text import (
    assert_imports_only_the_course_package,
    assert_self_checks,
    assert_speaks_to_students,
    markdown_text,
)

LECTURES = sorted((Path(__file__).resolve().parent.parent / "lectures").glob("*.ipynb"))


@pytest.fixture(scope="module", params=LECTURES, ids=lambda p: p.stem)
def nb(request):
    return nbformat.read(request.param, as_version=4)


def test_runs_in_a_students_copy(nb):
    assert_imports_only_the_course_package(nb)


def test_speaks_to_students(nb):
    assert_speaks_to_students(nb)
    assert "**Sources.**" in nb.cells[-1].source


def test_has_three_predict_then_run_self_checks(nb):
    assert_self_checks(nb, at_least=3)


def test_keeps_the_notation_of_lecture_1(nb):
    text = markdown_text(nb)
    # the loss is L, the number of layers K; the output y-hat and the target y
    assert not re.search(r"\$[^$]*\b[hzbW]_L\b", text), "layer L: the course writes K layers"
    # the loss is L: E and C appear only where a source's own formula is quoted (in a "> " box)
    own_words = "\n".join(line for line in text.splitlines() if not line.startswith(">"))
    assert not re.search(r"\$[EC] = ", own_words)


def test_widget_cells_have_no_testing_markers(nb):
    for c in nb.cells:
        assert "NBVAL" not in c.source
        assert set(c.metadata.get("tags", [])) <= {"nbval-ignore-output", "requires-torch"}
