"""Which language edition a submission belongs to (the English one, or a translation such as
the Chinese edition under zh/). Grading is the same for all (same checks, grade ids and
points); the language decides which instructor's cells nbgrader restores (the matching
edition's source notebooks) and the language of the feedback.
"""

from pathlib import Path

import nbformat

from .feedback_page import DEFAULT, notebook_language
from .release import assignment_ids, edition_dirs, languages


def available_languages(root):
    """English, and every translation whose source notebooks are all built (LANG/solutions/)."""
    found = [DEFAULT]
    for lang in languages():
        source = edition_dirs(root, lang)[0]
        if lang != DEFAULT and all(any((source / aid).glob("*.ipynb"))
                                   for aid in assignment_ids(root)):
            found.append(lang)
    return found


def submission_language(paths, available):
    """The language the submitted notebooks say they are in (metadata.backprop_course.lang, which
    the translated release carries), if it is one of AVAILABLE; else English. A student who
    edits it changes only their own feedback's language: the code cells are the same."""
    for path in paths:
        try:
            lang = notebook_language(nbformat.read(Path(path), as_version=4))
        except Exception:  # noqa: BLE001, S112  (an unreadable notebook is reported when placed)
            continue
        return lang if lang in available else DEFAULT
    return DEFAULT
