"""`backprop-course release`: regenerate assignments/ from solutions/ with nbgrader.

`release --lang zh` makes the Chinese edition's zh/assignments/ from zh/solutions/ (which
`python -m grader.translate build zh` writes): the same assignment ids, grade ids and points,
with nbgrader's stubs in Chinese (ClearSolutions' code_stub and text_stub). The course gradebook
is left alone: it keeps the English source cells, and grading a Chinese submission restores the
instructor's cells from a gradebook of its own (grader/autograde.py).
"""

import os
import shutil
import tempfile
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


# What replaces a solution in a translation's release (nbgrader's own are English: "# YOUR CODE
# HERE", "YOUR ANSWER HERE"); the translators' catalogues refer to these texts.
STUBS = {
    "zh": {"code_stub": {"python": "# 在此处编写你的代码\nraise NotImplementedError()"},
           "text_stub": "在此处写下你的答案"},
}


def languages():
    """The languages release can make: English and those with stubs."""
    return ["en", *STUBS]


def edition_dirs(root, lang):
    """(source, release) folders of LANG's edition: solutions/, assignments/ for English,
    LANG/solutions/, LANG/assignments/ for a translation."""
    root = Path(root)
    if lang == "en":
        return root / "solutions", root / "assignments"
    return root / lang / "solutions", root / lang / "assignments"


def release(root, release_dir=None, db_url=None, source_dir=None, lang="en"):
    """Run nbgrader's generate_assignment (its Python API) for every assignment.

    release_dir (default: ROOT/assignments, ROOT/LANG/assignments) receives the student versions
    made from source_dir (default: ROOT/solutions, ROOT/LANG/solutions); db_url is the gradebook
    that records the source cells the autograder restores (default: the scratch one of
    nbgrader_config.py for English; a throwaway one for a translation, so the course gradebook
    keeps the English cells).
    """
    if lang not in languages():
        raise ValueError(f"No release language '{lang}': give one of {', '.join(languages())}")
    if lang != "en" and db_url is None:
        with tempfile.TemporaryDirectory() as scratch:
            return release(root, release_dir, f"sqlite:///{Path(scratch) / 'gradebook.db'}",
                           source_dir, lang)
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    os.environ.update(nbgrader_env())  # nbgrader runs `alembic` from this environment
    root = Path(root)
    default_source, default_release = edition_dirs(root, lang)
    release_dir = Path(release_dir) if release_dir else default_release
    source_dir = source_dir or (default_source if lang != "en" else None)
    if source_dir and not all((Path(source_dir) / aid).is_dir() for aid in assignment_ids(root)):
        raise FileNotFoundError(
            f"{source_dir} lacks some of the assignments {', '.join(assignment_ids(root))}: "
            f"build them first with `python -m grader.translate build {lang}`")
    overrides = {"release_directory": str(release_dir)}
    if source_dir:
        overrides["source_directory"] = str(source_dir)
    if db_url:
        overrides["db_url"] = db_url
    config = course_config(root, **overrides)
    for name, value in STUBS.get(lang, {}).items():
        setattr(config.ClearSolutions, name, value)
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
