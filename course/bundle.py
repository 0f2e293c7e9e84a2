"""`backprop-course bundle OUT`: the student's copy of the course.

OUT gets the lectures, the released assignments, the `course` package as an installable project
(pyproject.toml at OUT's top, so `pip install -e .` there makes `backprop-course lab` open
JupyterLab on OUT) and INSTALL.md. Nothing from grader/ or solutions/: files are copied from an
explicit list of places, never by excluding what must not go. The one exception is asked for
by name: `--answers a1_scalar_backprop ...` copies those assignments' reference answers (the
modules of grader/reference/) into course/released/, for when they are due, so that the
lectures running them work in the student's copy too (course/reference.py).
"""

import ast
import shutil
import tomllib
from pathlib import Path

DISTRIBUTION = "backprop-course-student"
BUNDLED_FOLDERS = ("lectures", "assignments", "course")
# What a student needs at run time: JupyterLab and a kernel, the libraries the lectures and
# widgets use, and nbgrader for the Validate button. Their version pins come from the course's
# own pyproject.toml so the two never disagree.
RUNTIME_DEPENDENCIES = ("jupyterlab", "ipykernel", "numpy", "matplotlib", "ipywidgets", "nbgrader")
# Build leftovers that must not be copied with the sources.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")

INSTALL_MD = """\
# Backpropagation: the student's copy

What is here:

- `lectures/`: the lecture notebooks. They are stored executed, so they read well before
  you run anything; run them to move the sliders.
- `assignments/`: one folder per assignment, each with the notebook you fill in.
- `course/`: the small library the notebooks import (gradient checking, toy data, widgets),
  installed by the steps below together with JupyterLab and nbgrader.

The lectures run the course's own answers to the assignments. Your copy includes the answers
your instructor has released (usually once an assignment is due): a lecture that needs one
that is not released yet stops with a message naming the assignment. Its saved outputs, every
plot and number, are there to read all the same.

## Install (once)

With Python {python} (check with `python3 --version`), in this folder:

```bash
python3 -m venv .venv
.venv/bin/pip install -e .
.venv/bin/jupyter trust lectures/*.ipynb
```

The last line lets JupyterLab show the sliders and pictures saved in the lectures before you
run them (JupyterLab shows saved interactive output only for notebooks you trust).
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
"""


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

[project.scripts]
backprop-course = "course.cli:main"

[tool.setuptools]
packages = ["course", "course.released"]
"""


def reference_answers(root):
    """{assignment id: (module, [public names it defines], {modules it imports})} for the
    modules of grader/reference/, read as text (course/ never imports grader): its ANSWERS
    table, each module's functions and classes, and its relative imports."""
    folder = Path(root) / "grader" / "reference"
    init = ast.parse((folder / "__init__.py").read_text())
    table = next(node.value for node in init.body if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", None) == "ANSWERS" for t in node.targets))
    answers = {}
    for module, assignment in ast.literal_eval(table).items():
        tree = ast.parse((folder / f"{module}.py").read_text())
        names = [node.name for node in tree.body if isinstance(
            node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")]
        uses = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level == 1}
        answers[assignment] = (module, names, uses)
    return answers


def checked_answers(root, released):
    """reference_answers(ROOT), once RELEASED is known to name assignments whose answers stand
    on their own or on others released with them."""
    answers = reference_answers(root)
    unknown = sorted(set(released) - set(answers))
    if unknown:
        raise ValueError(f"--answers: no assignment called {', '.join(unknown)}; the "
                         f"assignments are {', '.join(sorted(answers))}.")
    module_of = {module: assignment for assignment, (module, _, _) in answers.items()}
    for assignment in sorted(released):
        missing = sorted(module_of[use] for use in answers[assignment][2]
                         if module_of[use] not in released)
        if missing:
            raise ValueError(f"--answers: the answers to {assignment} are built on those to "
                             f"{', '.join(missing)}; release {', '.join(missing)} as well.")
    return answers


def write_released_answers(root, package, answers, released):
    """course/released/ in the student's copy: the reference modules of the RELEASED
    assignments, copied unchanged, and an __init__ exporting their names and listing the
    others' names (never their code) as WITHHELD, so a lecture can say which assignment it
    needs."""
    package.mkdir()
    lines = ['"""Written by `backprop-course bundle`: the course\'s answers released in this copy',
             '(course/reference.py hands them to the lectures)."""', ""]
    withheld = {}
    for assignment, (module, names, _) in sorted(answers.items()):
        if assignment in released:
            shutil.copy2(Path(root) / "grader" / "reference" / f"{module}.py", package)
            lines.append(f"from .{module} import {', '.join(sorted(names))}  # noqa: F401")
        else:
            withheld.update(dict.fromkeys(names, assignment))
    lines += ["", f"RELEASED = {sorted(released)!r}",
              "# name -> the assignment it answers, for the lectures' message; no code",
              f"WITHHELD = {dict(sorted(withheld.items()))!r}", ""]
    (package / "__init__.py").write_text("\n".join(lines))


def write_bundle(root, out, answers=()):
    """Write the student's copy of the course at ROOT into the folder OUT (made if missing;
    what it writes there is replaced), with the reference answers to the assignments ANSWERS.
    Returns the files written, relative to OUT, sorted."""
    root, out = Path(root).resolve(), Path(out).resolve()
    sources = [root / name for name in BUNDLED_FOLDERS]
    if out == root or any(out == source or source in out.parents for source in sources):
        raise ValueError(f"{out} would overwrite the course itself: give a folder outside "
                         f"{', '.join(str(s) for s in sources)} and other than {root}.")
    released = set(answers)
    checked = checked_answers(root, released)  # before anything is written
    out.mkdir(parents=True, exist_ok=True)
    for name in BUNDLED_FOLDERS:
        shutil.rmtree(out / name, ignore_errors=True)
    (out / "lectures").mkdir()
    for lecture in sorted((root / "lectures").glob("*.ipynb")):
        shutil.copy2(lecture, out / "lectures" / lecture.name)
    shutil.copytree(root / "assignments", out / "assignments", ignore=IGNORED)
    shutil.copytree(root / "course", out / "course", ignore=IGNORED)
    write_released_answers(root, out / "course" / "released", checked, released)
    project = course_project(root)
    (out / "pyproject.toml").write_text(student_pyproject(project))
    python = project["requires-python"].replace(">=", "") + " or newer"
    (out / "INSTALL.md").write_text(INSTALL_MD.format(python=python))
    written = [p for name in BUNDLED_FOLDERS for p in (out / name).rglob("*") if p.is_file()]
    written += [out / "pyproject.toml", out / "INSTALL.md"]
    return sorted(p.relative_to(out) for p in written)
