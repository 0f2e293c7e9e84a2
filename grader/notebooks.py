"""Executing notebooks in place with outputs and widget state stored (lectures are kept executed)."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute_in_place(path, timeout=120, kernel_name="python3"):
    """Run every cell of the notebook at path from its own folder and save it with its outputs.

    store_widget_state keeps the ipywidgets models in the notebook metadata, so JupyterLab shows
    the widgets (static) before the notebook is run instead of "Error displaying widget".
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    ).execute()
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return nb


if __name__ == "__main__":
    import sys

    for arg in sys.argv[1:]:
        execute_in_place(arg)
        print(f"executed {arg}")
