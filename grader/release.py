"""`backprop-course release`: regenerate assignments/ from solutions/ with nbgrader."""

import os
import shutil
from pathlib import Path

from .nbgrader_run import nbgrader_env


def assignment_ids(root):
    """Every assignment of the course: the folders of solutions/ that hold a notebook."""
    source = Path(root) / "solutions"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def course_config(root, **overrides):
    """The course's nbgrader_config.py as a traitlets Config, with CourseDirectory overrides."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    for name, value in overrides.items():
        setattr(config.CourseDirectory, name, value)
    return config


def release(root, release_dir=None, db_url=None, source_dir=None):
    """Run nbgrader's generate_assignment (its Python API) for every assignment.

    release_dir (default: ROOT/assignments) receives the student versions; db_url is the
    gradebook that records the source cells the autograder restores (default: the scratch one
    of nbgrader_config.py).
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    os.environ.update(nbgrader_env())  # nbgrader runs `alembic` from this environment
    root = Path(root)
    release_dir = Path(release_dir) if release_dir else root / "assignments"
    overrides = {"release_directory": str(release_dir)}
    if source_dir:
        overrides["source_directory"] = str(source_dir)
    if db_url:
        overrides["db_url"] = db_url
    config = course_config(root, **overrides)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    released = []
    for aid in assignment_ids(root):
        # start clean so a file deleted from solutions/ disappears from the release too
        shutil.rmtree(release_dir / aid, ignore_errors=True)
        done = api.generate_assignment(aid, force=True, create=True)
        if not done["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {aid} failed:\n"
                               f"{done.get('log', '')}{done.get('error', '')}"[-4000:])
        for path in (release_dir / aid).rglob("*"):
            os.chmod(path, 0o644 if path.is_file() else 0o755)
        released.append(aid)
    return released
