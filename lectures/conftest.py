"""pytest hooks for the lecture notebooks (run by nbval): cells that need an optional extra are
skipped where it is not installed. The hook lives in tests/nbval_optional.py, which a student's
copy loads with `-p nbval_optional` (tests/test_student_lectures.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from nbval_optional import pytest_collection_modifyitems  # noqa: E402,F401
