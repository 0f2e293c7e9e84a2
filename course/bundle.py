"""`backprop-course bundle OUT`: the student's copy of the course.

OUT gets the lectures, the released assignments, the `course` package as an installable project
(pyproject.toml at OUT's top, so `pip install -e .` there makes `backprop-course lab` open
JupyterLab on OUT) and INSTALL.md. Nothing from grader/ or solutions/: files are copied from an
explicit list of places, never by excluding what must not go.

`bundle OUT --lang zh` takes the translated lectures and assignments (zh/lectures, zh/assignments),
writes INSTALL.md in that language and records it in the copy's course/language.txt, so the
course package speaks it (course/i18n.py).
"""

import shutil
import tomllib
from pathlib import Path

from .i18n import LANGUAGE_FILE, N_, _

DISTRIBUTION = "backprop-course-student"
BUNDLED_FOLDERS = ("lectures", "assignments", "course")
# What a student needs at run time: JupyterLab and a kernel, the libraries the lectures and
# widgets use, and nbgrader for the Validate button. Their version pins come from the course's
# own pyproject.toml so the two never disagree.
RUNTIME_DEPENDENCIES = ("jupyterlab", "ipykernel", "numpy", "matplotlib", "ipywidgets", "nbgrader")
# Build leftovers that must not be copied with the sources.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")

# translated in course/locale/<lang>/LC_MESSAGES/course.po, like every message of the package
INSTALL_MD = N_("""\
# Backpropagation: the student's copy

What is here:

- `lectures/`: the lecture notebooks. They are stored executed, so they read well before
  you run anything; run them to move the sliders.
- `assignments/`: one folder per assignment, each with the notebook you fill in.
- `course/`: the small library the notebooks import (gradient checking, toy data, widgets),
  installed by the steps below together with JupyterLab and nbgrader.

Every lecture runs from start to finish in this copy: read it first (it is stored with its
outputs), then run it, change its code and move its sliders. Lecture 5's PyTorch cells need
PyTorch, which is optional (see below); without it their stored outputs are there to read.

## Install (once)

With Python {python} (check with `python3 --version`), in this folder:

```bash
python3 -m venv .venv
.venv/bin/pip install -e .
.venv/bin/jupyter trust lectures/*.ipynb
```

The last line lets JupyterLab show the sliders and pictures saved in the lectures before you
run them (JupyterLab shows saved interactive output only for notebooks you trust).
For lecture 5's PyTorch cells, optionally: `.venv/bin/pip install -e ".[torch]"`.
On Windows, write `.venv\\Scripts\\` for `.venv/bin/`.

## Work

```bash
.venv/bin/backprop-course lab      # opens JupyterLab on this folder
```

1. Open `lectures/01_derivatives_and_chain_rule.ipynb` first.
2. In an assignment notebook, replace each `raise NotImplementedError()` under
   `YOUR CODE HERE` with your code and run the test cell below it.
3. Press **Validate** (in the notebook's toolbar) before you hand the notebook in: it runs
   every cell and tells you which tests fail.
""")


def course_project(root):
    """The [project] table of the course's pyproject.toml."""
    return tomllib.loads((Path(root) / "pyproject.toml").read_text())["project"]


def runtime_dependencies(project):
    """PROJECT's dependency specifiers for RUNTIME_DEPENDENCIES, with the course's pins; a name
    the course does not list is required without a pin."""
    pinned = {_name(spec): spec for spec in project["dependencies"]}
    return [pinned.get(name, name) for name in RUNTIME_DEPENDENCIES]


def _name(spec):
    for separator in "<>=!~;[ ":
        spec = spec.split(separator)[0]
    return spec.strip().lower()


def student_pyproject(project):
    """The student's pyproject.toml: only the course package, its console script, and what it
    needs at run time, at the version of the course PROJECT."""
    dependencies = "".join(f'    "{spec}",\n' for spec in runtime_dependencies(project))
    torch = ", ".join(f'"{spec}"' for spec in project["optional-dependencies"]["torch"])
    return f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{DISTRIBUTION}"
version = "{project["version"]}"
description = "The student's copy of the backpropagation course: lectures, assignments, course."
readme = "INSTALL.md"
requires-python = "{project["requires-python"]}"
dependencies = [
{dependencies}]

[project.optional-dependencies]
torch = [{torch}]

[project.scripts]
backprop-course = "course.cli:main"

[tool.setuptools]
packages = ["course"]

[tool.setuptools.package-data]
course = ["lab_settings/*.json", "locale/*/LC_MESSAGES/*.po", "language.txt"]
"""


class BundleError(ValueError):
    """The student's copy cannot be written; the message says what to do."""


def edition(root, lang="en"):
    """(lectures folder, assignments folder) of the course at ROOT in language LANG: the English
    ones at the top, a translation's under LANG/ (python -m grader.translate build LANG, then
    backprop-course release --lang LANG, make them)."""
    root = Path(root)
    if lang == "en":
        return root / "lectures", root / "assignments"
    lectures, assignments = root / lang / "lectures", root / lang / "assignments"
    if not any(lectures.glob("*.ipynb")) or not assignments.is_dir():
        raise BundleError(_("There is no '{lang}' edition in {root} ({lectures} or {assignments} "
                            "is missing): build it with `python -m grader.translate build {lang}`"
                            " and `backprop-course release --lang {lang}`, or leave out --lang.")
                          .format(lang=lang, root=root, lectures=lectures,
                                  assignments=assignments))
    return lectures, assignments


def write_bundle(root, out, lang="en"):
    """Write the student's copy of the course at ROOT into the folder OUT (made if missing;
    what it writes there is replaced), in language LANG. Returns the files written, relative to
    OUT, sorted."""
    root, out = Path(root).resolve(), Path(out).resolve()
    lectures, assignments = edition(root, lang)
    sources = [root / name for name in BUNDLED_FOLDERS] + [root / lang]
    if out == root or any(out == source or source in out.parents for source in sources):
        raise BundleError(_("{out} would overwrite the course itself: give a folder outside "
                            "{sources} and other than {root}.").format(
                                out=out, sources=", ".join(str(s) for s in sources), root=root))
    out.mkdir(parents=True, exist_ok=True)
    for name in BUNDLED_FOLDERS:
        shutil.rmtree(out / name, ignore_errors=True)
    (out / "lectures").mkdir()
    for lecture in sorted(lectures.glob("*.ipynb")):
        shutil.copy2(lecture, out / "lectures" / lecture.name)
    shutil.copytree(assignments, out / "assignments", ignore=IGNORED)
    shutil.copytree(root / "course", out / "course", ignore=IGNORED)
    language_file = out / "course" / LANGUAGE_FILE.name
    language_file.unlink(missing_ok=True)  # the checkout's own, if any, is not the copy's
    if lang != "en":
        language_file.write_text(lang + "\n")
    project = course_project(root)
    (out / "pyproject.toml").write_text(student_pyproject(project))
    python = project["requires-python"].replace(">=", "") + _(" or newer", lang)
    (out / "INSTALL.md").write_text(_(INSTALL_MD, lang).format(python=python))
    written = [p for name in BUNDLED_FOLDERS for p in (out / name).rglob("*") if p.is_file()]
    written += [out / "pyproject.toml", out / "INSTALL.md"]
    return sorted(p.relative_to(out) for p in written)
