"""The release (assignments/) is exactly what nbgrader makes from solutions/ and leaks nothing."""

import re

import nbformat
import pytest
from conftest import ROOT, assignment_ids, release_path, source_path
from nbclient import NotebookClient

from grader.release import release

pytestmark = pytest.mark.slow
AIDS = assignment_ids()


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    release(ROOT, release_dir=tmp / "release", db_url=f"sqlite:///{tmp / 'gradebook.db'}")
    return tmp / "release"


def files_under(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_assignments_folder_is_exactly_what_release_produces(fresh_release):
    committed = ROOT / "assignments"
    assert files_under(fresh_release) == files_under(committed), \
        "assignments/ and a fresh release list different files: run `backprop-course release`"
    for rel in files_under(fresh_release):
        assert (fresh_release / rel).read_bytes() == (committed / rel).read_bytes(), \
            f"assignments/{rel} is out of date: run `backprop-course release` and commit it"


def test_every_assignment_is_released():
    assert AIDS and all(release_path(aid).exists() for aid in AIDS)


@pytest.mark.parametrize("aid", AIDS)
def test_release_leaks_no_solution_hidden_test_or_reference(aid):
    folder = ROOT / "assignments" / aid
    assert [p.name for p in folder.iterdir()] == [f"{aid}.ipynb"], "only the notebook is released"
    text = release_path(aid).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME"):
        assert marker not in text
    assert not re.search(r"(from|import)\s+grader\b", text), "the release imports grader"
    release_nb = nbformat.read(release_path(aid), as_version=4)
    # the stubs that replaced the answers must not contain them (tests may share a line by chance)
    released_code = "\n".join(c.source for c in release_nb.cells
                              if c.metadata.get("nbgrader", {}).get("solution"))
    for cell in nbformat.read(source_path(aid), as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            answer = [ln.strip() for ln in solution_region_lines(cell.source)
                      if _is_answer_line(ln)]
            leaked = [ln for ln in answer if ln in released_code]
            assert not leaked, f"{cell.metadata['nbgrader']['grade_id']} leaks {leaked[:3]}"


def solution_region_lines(source):
    """The lines between ### BEGIN SOLUTION and ### END SOLUTION (what the stub replaces)."""
    lines, inside = [], False
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _is_answer_line(line):
    s = line.strip()
    # signatures and comments are part of the stub the student gets; bodies are the answer
    return (len(s) > 12 and not s.startswith(("def ", "class ", "#", '"""', "@"))
            and "YOUR" not in s)


@pytest.mark.parametrize("aid", AIDS)
def test_the_release_runs_and_only_stubs_raise_in_solution_cells(aid):
    nb = nbformat.read(release_path(aid), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(release_path(aid).parent)}}).execute()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if meta.get("solution") and cell.cell_type == "code":
            assert all(e.ename == "NotImplementedError" for e in errors), \
                f"{meta['grade_id']}: {[e.ename for e in errors]}"
        elif not meta.get("grade"):
            # setup and explanation cells must run cleanly for the student
            assert not errors, f"{meta.get('grade_id')}: {[e.ename for e in errors]}"


# ---------------------------------------------------------------------------- the Chinese edition

@pytest.fixture(scope="module")
def fresh_zh_release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release-zh")
    release(ROOT, release_dir=tmp / "release", lang="zh")
    return tmp / "release"


def test_zh_assignments_folder_is_exactly_what_release_lang_zh_produces(fresh_zh_release):
    committed = ROOT / "zh" / "assignments"
    assert files_under(fresh_zh_release) == files_under(committed), \
        "zh/assignments/ and a fresh release differ: run `backprop-course release --lang zh`"
    for rel in files_under(fresh_zh_release):
        assert (fresh_zh_release / rel).read_bytes() == (committed / rel).read_bytes(), \
            f"zh/assignments/{rel} is out of date: run `backprop-course release --lang zh`"


def graded_cells(path):
    return [(m["grade_id"], m.get("points"), m.get("solution", False), c.cell_type)
            for c in nbformat.read(path, as_version=4).cells
            if (m := c.metadata.get("nbgrader", {})).get("grade_id")]


@pytest.mark.parametrize("aid", AIDS)
def test_zh_release_has_the_english_grade_ids_points_and_chinese_stubs(aid):
    zh = ROOT / "zh" / "assignments" / aid / f"{aid}.ipynb"
    assert graded_cells(zh) == graded_cells(release_path(aid))
    text = zh.read_text()
    assert "在此处编写你的代码" in text and "YOUR CODE HERE" not in text
    assert "YOUR ANSWER HERE" not in text
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME"):
        assert marker not in text
