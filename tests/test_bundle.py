"""`backprop-course bundle OUT`: the student's copy holds what a student needs and nothing of
the instructor's (grader/, solutions/, hidden tests, model answers)."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from course.bundle import DISTRIBUTION, write_bundle

ROOT = Path(__file__).resolve().parent.parent
INSTRUCTOR_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "MARK SCHEME")
IMPORTS_GRADER = re.compile(r"^\s*(from|import)\s+grader\b", re.MULTILINE)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("student-copy")
    return out, write_bundle(ROOT, out)


def repo_files(folder, pattern="*"):
    """Files under ROOT/folder, relative to ROOT, without caches and checkpoints."""
    return {p.relative_to(ROOT) for p in (ROOT / folder).rglob(pattern) if p.is_file()
            and not {"__pycache__", ".ipynb_checkpoints"} & set(p.parts) and p.suffix != ".pyc"}


def text_of(path):
    """What a reader of the file sees: a notebook's cell sources, any other file's text."""
    if path.suffix == ".ipynb":
        return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    return path.read_text()


def test_the_bundle_is_lectures_assignments_course_and_install_notes(bundle):
    out, written = bundle
    expected = (repo_files("lectures", "*.ipynb") | repo_files("assignments")
                | repo_files("course") | {Path("pyproject.toml"), Path("INSTALL.md")})
    assert set(written) == expected
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == sorted(expected)
    for rel in expected - {Path("pyproject.toml"), Path("INSTALL.md")}:
        assert (out / rel).read_bytes() == (ROOT / rel).read_bytes(), f"{rel} differs"


def test_nothing_comes_from_grader_or_solutions(bundle):
    out, written = bundle
    assert not [p for p in written if {"grader", "solutions"} & set(p.parts)]
    instructor = {p.read_bytes() for folder in ("grader", "solutions")
                  for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix != ".pyc"}
    assert not [p for p in written if (out / p).read_bytes() in instructor]


def test_no_solution_hidden_test_or_mark_scheme(bundle):
    out, written = bundle
    for rel in written:
        raw = (out / rel).read_text()  # notebooks whole: metadata and outputs too
        found = [marker for marker in INSTRUCTOR_MARKERS if marker in raw]
        assert not found, f"{rel} contains {found}"


def test_the_course_package_never_imports_grader(bundle):
    out, _ = bundle
    importers = [p.name for p in (out / "course").glob("*.py")
                 if IMPORTS_GRADER.search(p.read_text()) and p.name != "cli.py"]
    assert not importers
    # cli.py imports grader only inside the instructor commands, which say so without it
    # (checked below): `backprop-course lab` and `bundle` work from the student's copy.


# Run in a fresh interpreter with the bundle first on sys.path and grader made unimportable,
# as in a student's venv.
STUDENT_PYTHON = """
import importlib, json, pkgutil, subprocess, sys
sys.path.insert(0, sys.argv[1])
attempts = []

class NoGrader:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "grader":
            attempts.append(name)
            raise ImportError("a student's copy has no grader")

sys.meta_path.insert(0, NoGrader())
import course
modules = [importlib.import_module(f"course.{m.name}").__name__
           for m in pkgutil.iter_modules(course.__path__)]
from course import cli
launched = []
subprocess.call = lambda command, cwd=None, **_: launched.append([command, str(cwd)]) or 0
cli.main(["lab"])
attempts_before_release = list(attempts)  # release must try, and fail, to import grader
try:
    cli.main(["release"])
    release = "ran"
except SystemExit as stop:
    release = str(stop.code)
print(json.dumps({"course": course.__file__, "modules": modules, "attempts": attempts_before_release,
                  "lab": launched, "release": release}))
"""


def test_import_course_and_backprop_course_lab_work_without_grader(bundle):
    out, _ = bundle
    done = subprocess.run([sys.executable, "-I", "-c", STUDENT_PYTHON, str(out)], cwd=out,
                          capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout.splitlines()[-1])
    assert Path(seen["course"]).parent == out / "course"
    assert sorted(seen["modules"]) == sorted(f"course.{p.stem}" for p in (out / "course").glob(
        "*.py") if p.stem != "__init__")
    assert seen["attempts"] == [], "importing course or running `lab` tried to import grader"
    trust, [command, cwd] = seen["lab"]  # trust the lectures (saved widgets show), then lab
    assert trust[0][1:4] == ["-m", "jupyter", "trust"] and len(trust[0]) == 4 + 5
    assert command[1:4] == ["-m", "jupyter", "lab"] and cwd == str(out)
    assert f"--ServerApp.root_dir={out}" in command
    assert "instructors" in seen["release"]


def test_the_package_is_the_course_package_with_the_student_dependencies(bundle):
    out, _ = bundle
    project = tomllib.loads((out / "pyproject.toml").read_text())
    assert project["project"]["name"] == DISTRIBUTION
    assert project["tool"]["setuptools"]["packages"] == ["course"]
    assert project["project"]["scripts"] == {"backprop-course": "course.cli:main"}
    assert project["project"]["optional-dependencies"] == {
        "torch": tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"]["torch"]}
    assert project["tool"]["setuptools"]["package-data"] == {"course": [
        "lab_settings/*.json", "locale/*/LC_MESSAGES/*.po", "language.txt"]}
    names = {re.split(r"[<>=!~ ;\[]", spec)[0] for spec in project["project"]["dependencies"]}
    assert {"jupyterlab", "numpy", "matplotlib", "ipywidgets", "nbgrader"} <= names
    assert not names & {"pytest", "nbval", "hypothesis", "ruff"}


def test_install_notes_give_the_students_commands(bundle):
    out, _ = bundle
    notes = (out / "INSTALL.md").read_text()
    for command in ("python3 -m venv .venv", ".venv/bin/pip install -e .",
                    ".venv/bin/jupyter trust lectures/*.ipynb",
                    ".venv/bin/backprop-course lab"):
        assert command in notes
    assert "Every lecture runs from start to finish in this copy" in notes
    assert '.venv/bin/pip install -e ".[torch]"' in notes  # the optional extra, named


def test_bundling_into_the_course_itself_is_refused():
    with pytest.raises(ValueError, match="overwrite the course"):
        write_bundle(ROOT, ROOT)
    with pytest.raises(ValueError, match="overwrite the course"):
        write_bundle(ROOT, ROOT / "course" / "student")


def solution_lines():
    """The lines of every model answer (between the solution markers), long enough to be an
    answer rather than a common phrase, without the signatures the stubs show anyway."""
    lines = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                    inside = "BEGIN" in line
                elif inside and len(line.strip()) > 12 and not line.strip().startswith(
                        ("def ", "class ", "#", '"""', "@")):
                    lines.add(line.strip())
    return lines


def test_no_lecture_imports_grader(bundle):
    # they teach with their own code (tests/test_student_lectures.py runs them in a copy)
    out, _ = bundle
    importers = [p.name for p in (out / "lectures").glob("*.ipynb")
                 if IMPORTS_GRADER.search(text_of(p))]
    assert not importers, f"these lectures import grader: {importers}"


def test_no_model_answer_in_the_course_package(bundle):
    out, written = bundle
    answers = solution_lines()
    leaks = {}
    for rel in written:
        if rel.parts[0] == "course":
            shared = answers & {line.strip() for line in (out / rel).read_text().splitlines()}
            if shared:
                leaks[str(rel)] = sorted(shared)
    assert not leaks, leaks


# ---------------------------------------------------------------------------- the Chinese edition

@pytest.fixture(scope="module")
def zh_bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("student-copy-zh")
    return out, write_bundle(ROOT, out, lang="zh")


def test_the_chinese_copy_has_the_chinese_lectures_and_assignments(zh_bundle):
    out, written = zh_bundle
    for folder in ("lectures", "assignments"):
        committed = {p.relative_to(ROOT / "zh") for p in (ROOT / "zh" / folder).rglob("*")
                     if p.is_file()}
        assert {p for p in written if p.parts[0] == folder} == committed
        for rel in committed:
            assert (out / rel).read_bytes() == (ROOT / "zh" / rel).read_bytes()
    assert (out / "course" / "language.txt").read_text().strip() == "zh"
    assert not [p for p in written if {"grader", "solutions"} & set(p.parts)]


def test_the_chinese_install_notes_are_in_chinese(zh_bundle):
    out, _ = zh_bundle
    notes = (out / "INSTALL.md").read_text()
    assert "安装" in notes and "Install (once)" not in notes
    for command in ("python3 -m venv .venv", ".venv/bin/pip install -e .",
                    ".venv/bin/jupyter trust lectures/*.ipynb", ".venv/bin/backprop-course lab"):
        assert command in notes


def test_the_chinese_copy_speaks_chinese_without_being_told(zh_bundle):
    out, _ = zh_bundle
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import course.i18n, course.widgets; "
            "print(course.i18n.language(), course.widgets.vanishing_gradient_explorer()"
            ".depth_slider.description)")
    env = {k: v for k, v in os.environ.items() if k != "BACKPROP_COURSE_LANG"}
    done = subprocess.run([sys.executable, "-I", "-c", code, str(out)], cwd=out, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["zh", "深度"]


def test_an_edition_not_built_is_refused_with_what_to_run(tmp_path):
    with pytest.raises(ValueError, match="grader.translate build xx"):
        write_bundle(ROOT, tmp_path / "copy", lang="xx")
