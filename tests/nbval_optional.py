"""A pytest plugin for nbval: a lecture cell tagged `requires-MODULE` (e.g. `requires-torch`) is
skipped, with the reason, where MODULE is not installed.

PyTorch is the course's optional extra (pip install -e ".[torch]"): the cells that use it store
the outputs of a real run, and where it is installed nbval runs and compares them as usual.
Loaded with `-p nbval_optional` (pyproject.toml's addopts here; a student's copy too:
tests/test_student_lectures.py).
"""

import importlib.util

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
