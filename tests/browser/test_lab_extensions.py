"""The JupyterLab front-end extensions the course needs are installed and enabled."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

JUPYTER = Path(sys.executable).parent / "jupyter"


@pytest.mark.parametrize("extension", ["@jupyter-widgets/jupyterlab-manager",  # the sliders
                                       "@jupyter/nbgrader"])  # Validate, the formgrader
def test_labextension_is_enabled(extension):
    listing = subprocess.run([str(JUPYTER), "labextension", "list"], capture_output=True,
                             text=True, check=True)
    # it prints to stderr, with colours
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    line = next((ln for ln in text.splitlines() if ln.split()[:1] == [extension]), None)
    assert line is not None, f"{extension} is not installed:\n{text}"
    assert "enabled" in line.split() and "OK" in line.split(), line
