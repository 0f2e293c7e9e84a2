"""`backprop-course release`: regenerate assignments/ from solutions/ with nbgrader."""

import os
import shutil
from pathlib import Path

from .nbgrader_run import nbgrader_env, run_nbgrader


def assignment_ids(root):
    """Every assignment of the course: the folders of solutions/ that hold a notebook."""
    source = Path(root) / "solutions"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def release(root, release_dir=None, db_url=None, scratch=None):
    """Run `nbgrader generate_assignment` for every assignment.

    release_dir (default: ROOT/assignments) receives the student versions; db_url is the
    gradebook that records the source cells the autograder restores (default: the scratch one).
    """
    root = Path(root)
    release_dir = Path(release_dir) if release_dir else root / "assignments"
    env = nbgrader_env()
    if scratch:
        env["BACKPROP_COURSE_SCRATCH"] = str(scratch)
    flags = [f"--CourseDirectory.release_directory={release_dir}"]
    if db_url:
        flags.append(f"--CourseDirectory.db_url={db_url}")
    released = []
    for aid in assignment_ids(root):
        # start clean so a file deleted from solutions/ disappears from the release too
        shutil.rmtree(release_dir / aid, ignore_errors=True)
        done = run_nbgrader(["generate_assignment", aid, "--force", *flags], cwd=root, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {aid} failed:\n{done.stdout}"
                               f"{done.stderr[-4000:]}")
        for path in (release_dir / aid).rglob("*"):
            os.chmod(path, 0o644 if path.is_file() else 0o755)
        released.append(aid)
    return released
