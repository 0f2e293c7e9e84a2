"""A pytest plugin for nbval: a lecture cell tagged `requires-MODULE` (e.g. `requires-torch`) is
skipped, with the reason, where MODULE is not installed.

PyTorch is the course's optional extra (pip install -e ".[torch]"): the cells that use it store
the outputs of a real run, and where it is installed nbval runs and compares them as usual.
Loaded with `-p nbval_optional` (pyproject.toml's addopts here; a student's copy too:
tests/test_student_lectures.py).

It also starts each notebook's kernel in the notebook's language: a translated lecture
(metadata.backprop_course.lang, e.g. zh/lectures/) runs with BACKPROP_COURSE_LANG set, as
`python -m grader.translate build` executed it, so the course package's labels match the
stored outputs; an English one without it.
"""

import importlib.util
import os

import pytest

HOW_TO_INSTALL = {"torch": 'PyTorch is an optional extra: pip install -e ".[torch]"'}


def pytest_collection_modifyitems(config, items):
    for item in items:
        cell = getattr(item, "cell", None)  # nbval's items carry their notebook cell
        if cell is None:
            continue
        for tag in cell.metadata.get("tags", []):
            module = tag.removeprefix("requires-")
            if tag.startswith("requires-") and importlib.util.find_spec(module) is None:
                reason = HOW_TO_INSTALL.get(module, f"needs {module}, which is not installed")
                item.add_marker(pytest.mark.skip(reason=reason))


LANG_ENV = "BACKPROP_COURSE_LANG"
_ENGLISH = os.environ.get(LANG_ENV)  # what the run was started with, for English notebooks


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before nbval starts a notebook's kernel (at the setup of its first cell), which inherits
    this process's environment: the notebook's language in BACKPROP_COURSE_LANG."""
    nb = getattr(item.parent, "nb", None)
    if getattr(item, "cell", None) is None or nb is None:
        return
    meta = nb.metadata.get("backprop_course")
    lang = meta.get("lang") if isinstance(meta, dict) else None
    if lang:
        os.environ[LANG_ENV] = lang
    elif _ENGLISH is None:
        os.environ.pop(LANG_ENV, None)
    else:
        os.environ[LANG_ENV] = _ENGLISH
