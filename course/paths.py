"""Where the course lives on disk."""

import os
from pathlib import Path


def course_root():
    """The folder holding lectures/ and assignments/: $BACKPROP_COURSE_ROOT, else the checkout
    this package was installed from (editable install), else the current directory."""
    if os.environ.get("BACKPROP_COURSE_ROOT"):
        return Path(os.environ["BACKPROP_COURSE_ROOT"]).resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "lectures").is_dir() or (checkout / "assignments").is_dir():
        return checkout
    return Path.cwd()
