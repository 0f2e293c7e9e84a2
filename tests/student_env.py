"""A student's environment, the way INSTALL.md makes one: the copy written by
`backprop-course bundle`, pip-installed (editable) into its own venv.

The venv shares the main venv's third-party packages through a .pth file, so nothing big is
installed for it; the checkout's editable install (course and grader from the repository) is
not visible there, so grader cannot be imported and `course` comes from the copy.
"""

import os
import subprocess
import sys
import sysconfig
from importlib.metadata import entry_points
from pathlib import Path

from course.bundle import write_bundle

ROOT = Path(__file__).resolve().parent.parent


class StudentEnv:
    def __init__(self, venv, copy):
        self.venv, self.copy = Path(venv), Path(copy)
        self.python = self.venv / "bin" / "python"

    def environ(self):
        """os.environ with this venv first on PATH: `python` (the kernel spec's command)
        and `jupyter` are the student's."""
        env = {**os.environ, "VIRTUAL_ENV": str(self.venv),
               "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        env.pop("BACKPROP_COURSE_ROOT", None)  # the student's copy must find itself
        return env


def make_student_env(base, lang="en"):
    """A StudentEnv in the folder BASE: the bundle (in LANG: `bundle --lang`) in BASE/course,
    its venv in BASE/venv."""
    base = Path(base)
    copy, venv = base / "course", base / "venv"
    write_bundle(ROOT, copy, lang)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # a plain path line: the main venv's own .pth files (the checkout's editable finder, which
    # would make grader importable) are not run for it
    (site / "shared_main_venv_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    for kind in ("share", "etc"):  # labextensions, kernel spec, server extensions' config
        (venv / kind).mkdir(exist_ok=True)
        (venv / kind / "jupyter").symlink_to(Path(sys.prefix) / kind / "jupyter")
    write_console_scripts(python, prefix="jupyter")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "-e", str(copy)], check=True)
    no_grader = subprocess.run([python, "-c", "import grader"], cwd=base, capture_output=True,
                               check=False)
    assert no_grader.returncode != 0, "the student's venv must not see the checkout's grader"
    return StudentEnv(venv, copy)


def write_console_scripts(python, prefix):
    """The shared packages' console scripts named PREFIX* (jupyter-lab, ...), for PYTHON:
    `jupyter lab` looks for jupyter-lab next to the interpreter."""
    for entry in entry_points(group="console_scripts"):
        if entry.name.startswith(prefix):
            script = Path(python).parent / entry.name
            script.write_text(f"#!{python}\nimport sys\n"
                              f"from {entry.module} import {entry.attr.split('.')[0]}\n"
                              f"sys.exit({entry.attr}())\n")
            script.chmod(0o755)
