"""Which of nbgrader's JupyterLab tools a student's copy of the course offers.

nbgrader installs them all: the Assignment List and Course List (which talk to an exchange
on a shared server), the formgrader and Create Assignment (for instructors) and Validate. A
student's copy runs alone, with no exchange: only Validate makes sense, and the others would
show errors ("The exchange directory does not exist"). `backprop-course lab` turns them off
with a Jupyter configuration folder, the way `jupyter labextension disable` and
`jupyter server extension disable` do (deploy/jupyter/ does the same for the hub's roles).
"""

import json
from pathlib import Path

LAB_PLUGINS_OFF = ["@jupyter/nbgrader:menu", "@jupyter/nbgrader:assignment-list",
                   "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:formgrader",
                   "@jupyter/nbgrader:create-assignment"]
SERVER_EXTENSIONS_OFF = ["nbgrader.server_extensions.assignment_list",
                         "nbgrader.server_extensions.course_list",
                         "nbgrader.server_extensions.formgrader"]


def write_student_copy_config(folder):
    """Write the Jupyter configuration into FOLDER; returns FOLDER, for JUPYTER_CONFIG_PATH."""
    folder = Path(folder)
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {name: True for name in LAB_PLUGINS_OFF}}, indent=1))
    (folder / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: False for name in SERVER_EXTENSIONS_OFF}}},
        indent=1))
    return str(folder)
