"""The feedback page's own words (its headings, the summary's words, the "Hidden checks:" line
under a test cell) in the submission's language.

The checks' sentences are grader/i18n.py's; these are the page's, kept in their own gettext
catalogue next to the page's template: grader/templates/feedback/<lang>.po (read with Babel at
run time, like grader/i18n.py's). The template calls the filter `page_text` (registered by
feedback_page_config in grader/autograde.py and by nbgrader_config.py) with the language the
autograded notebook carries in metadata.backprop_course.lang (set from the submission's own
metadata when it was graded; grader/sanitize.py keeps it).
"""

import functools
import gettext
import re
from pathlib import Path

from course.i18n import N_, po_translations

TEMPLATES = Path(__file__).resolve().parent / "templates" / "feedback"
DEFAULT = "en"
LANGUAGE = re.compile(r"^[a-z]{2}(_[A-Z]{2})?$")  # what a notebook's language may look like


# The page's words, marked for extraction (the template uses them through page_text)
WORDS = [N_("Score"), N_("written answer"), N_("partly right"), N_("Comment"), N_("Comments:"),
         N_("Late submission penalty"), N_("Student's answer"), N_("Student's task"),
         N_("Grade cell:"), N_("Task:"), N_("Top"), N_("Hidden checks:"),
         N_("Hidden checks: passed.")]


def catalogue_path(lang):
    return TEMPLATES / f"{lang}.po"


def languages():
    return sorted(p.stem for p in TEMPLATES.glob("*.po"))


def known(lang):
    """lang when the page has a catalogue for it, else English."""
    return lang if isinstance(lang, str) and lang in languages() else DEFAULT


def notebook_language(nb):
    """The language a notebook says it is in (metadata.backprop_course.lang, which
    grader.translate writes), or English; only a well-formed language code is taken."""
    meta = nb.get("metadata", {}).get("backprop_course")
    lang = meta.get("lang") if isinstance(meta, dict) else None
    return lang if isinstance(lang, str) and LANGUAGE.match(lang) else DEFAULT


@functools.cache
def _translations(lang):
    if lang == DEFAULT:
        return gettext.NullTranslations()
    return po_translations(catalogue_path(lang), lang)


def page_text(text, lang=DEFAULT):
    """text in lang (a Jinja filter: {{ "Score" | page_text(lang) }})."""
    return _translations(known(lang)).gettext(text)
