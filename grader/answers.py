"""`backprop-course answers OUT ASSIGNMENT...`: the answers pack, for students once assignments
are due.

The lectures run the reference implementations, which are the assignments' answers, so the
student's copy (`backprop-course bundle`) has none of them and its lectures 2-5 can only be
read. The answers pack is a small installable package, `course_answers`, holding the modules of
grader/reference/ that answer the given assignments, copied unchanged. Once a student has
installed it next to their copy (`pip install -e OUT`), course.reference finds the answers
there and those lectures run.
"""

import ast
import shutil
from pathlib import Path

from course.reference import MODULES

PACKAGE = "course_answers"
DISTRIBUTION = "backprop-course-answers"

README = """\
# Answers to {assignments}

The course's own answers to these assignments, released by your instructor now that they are
due. With them installed, the lectures that run these answers work in your copy of the course.
In your copy's folder (where `.venv` is), run once:

```bash
.venv/bin/pip install -e path/to/{folder}   # this folder
```

Then restart the kernel of any open lecture and run it again.
"""


def modules_used(path):
    """The sibling modules a grader/reference module imports (from .layers import ...)."""
    tree = ast.parse(Path(path).read_text())
    return {node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1}


def check_assignments(root, assignments):
    """The modules answering ASSIGNMENTS, once every one is known and has the answers it is
    built on among them; else a ValueError saying what to give instead."""
    assignment_of = {module: assignment for assignment, module in MODULES.items()}
    unknown = sorted(set(assignments) - set(MODULES))
    if not assignments or unknown:
        raise ValueError(f"No assignment called {', '.join(unknown) or '(none given)'}; "
                         f"the assignments are {', '.join(sorted(MODULES))}.")
    modules = {MODULES[a] for a in assignments}
    for assignment in sorted(assignments):
        used = modules_used(Path(root) / "grader" / "reference" / f"{MODULES[assignment]}.py")
        missing = sorted(assignment_of[m] for m in used - modules)
        if missing:
            raise ValueError(f"The answers to {assignment} are built on those to "
                             f"{', '.join(missing)}: release {', '.join(missing)} as well.")
    return sorted(modules)


def write_answers(root, out, assignments):
    """Write the answers pack for ASSIGNMENTS into the folder OUT (what it writes there is
    replaced). Returns the files written, relative to OUT, sorted."""
    modules = check_assignments(root, assignments)  # before anything is written
    assignment_of = {module: assignment for assignment, module in MODULES.items()}
    out = Path(out)
    package = out / PACKAGE
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for module in modules:
        shutil.copy2(Path(root) / "grader" / "reference" / f"{module}.py", package)
    released = sorted(assignment_of[m] for m in modules)
    (package / "__init__.py").write_text(
        f'"""The course\'s answers to {", ".join(released)}.\n\ncourse.reference hands them '
        f'to the lectures."""\n\nRELEASED = {released!r}\n')
    (out / "pyproject.toml").write_text(f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{DISTRIBUTION}"
version = "1.0"
description = "The backpropagation course's answers to {', '.join(released)}."
readme = "README.md"
requires-python = ">=3.11"

[tool.setuptools]
packages = ["{PACKAGE}"]
""")
    (out / "README.md").write_text(README.format(assignments=", ".join(released),
                                                 folder=out.name))
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
