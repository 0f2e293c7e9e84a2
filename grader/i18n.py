"""The feedback sentences in the submission's language: stdlib gettext, catalogues kept with Babel.

Every sentence a student reads from the hidden checks (grader/checks/) and from grader/isolated.py
goes through _() (or ngettext), with named placeholders: _("{what} is wrong: {sentence}").format(
what=..., sentence=...). English is the msgid itself; the other languages are in
grader/locale/<lang>/LC_MESSAGES/grader.po (domain "grader"), the source of truth. The .po is read
at run time (compiled in memory, once per language), so there is no .mo to go stale.

    with use_language("zh"):  # "en" by default; a language without a catalogue gives English
        verdicts, notes = isolated_verdicts(...)

After changing a sentence, one command re-extracts grader/locale/grader.pot with Babel and merges
it into every catalogue (a changed sentence becomes fuzzy, a new one empty: translate them):

    .venv/bin/python -m grader.i18n

Sentences kept in module constants are marked with N_() (extracted, not translated at import:
the language is only known when a check runs) and translated where they are used: _(UPSTREAM).
"""

import contextlib
import functools
import gettext
import io
import re
from contextvars import ContextVar
from pathlib import Path

from course import i18n as course_i18n
from course.i18n import N_, best_language, po_translations  # noqa: F401  (N_: grader's too)

DOMAIN = "grader"
LOCALE = Path(__file__).resolve().parent / "locale"
TEMPLATE = LOCALE / f"{DOMAIN}.pot"
DEFAULT = "en"
# where the student-facing sentences are (relative to grader/)
SOURCES = [("checks/**.py", "python"), ("isolated.py", "python"), ("sandbox.py", "python")]

_language = ContextVar("grader_language", default=DEFAULT)


def catalogue_path(lang):
    return course_i18n.catalogue_path(lang, LOCALE, DOMAIN)


def languages():
    """The languages with a catalogue (English needs none)."""
    return course_i18n.languages(LOCALE, DOMAIN)


def _known(lang):
    """'zh', 'zh_CN', 'zh-Hans' -> 'zh' when only zh has a catalogue; unknown -> English."""
    return best_language(lang, languages())


@contextlib.contextmanager
def use_language(lang):
    """Feedback in lang inside the block. A ContextVar: each thread and task keeps its own, and a
    new thread or worker process starts in English, so set it where the checks run."""
    token = _language.set(_known(lang))
    try:
        yield
    finally:
        _language.reset(token)


def current_language():
    return _language.get()


@functools.cache
def _translations(lang):
    if lang == DEFAULT:
        return gettext.NullTranslations()
    # Babel is imported only there: grading in English does not pay for importing it
    return po_translations(catalogue_path(lang), lang, DOMAIN)


def _(message):
    return _translations(_language.get()).gettext(message)


def ngettext(singular, plural, n):
    return _translations(_language.get()).ngettext(singular, plural, n)


# Chinese typography for sentences assembled from pieces (a quantity, then what is wrong with it):
# a space between Chinese and Latin letters or digits, none between two Chinese characters or
# punctuation marks, whichever way the pieces were written. Code holds no Chinese characters, so
# it is never touched.
_HAN, _FULL_WIDTH = "\u4e00-\u9fff", "\u3000-\u303f\uff00-\uffef"
_CHINESE_SPACING = [
    (re.compile(f"(?<=[{_HAN}{_FULL_WIDTH}]) +(?=[{_HAN}{_FULL_WIDTH}])"), ""),
    (re.compile(f"(?<=[{_HAN}])(?=[A-Za-z0-9(\\[])|(?<=[A-Za-z0-9)\\]])(?=[{_HAN}])"), " "),
]


def tidy(sentence):
    """The sentence with the current language's typography (see above; only Chinese has rules)."""
    if _language.get() == "zh":
        for pattern, replacement in _CHINESE_SPACING:
            sentence = pattern.sub(replacement, sentence)
    return sentence


def extract():
    """The template: every _(), N_() and ngettext() message of SOURCES, as a Babel Catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="backprop-course", domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
            LOCALE.parent, SOURCES, comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
        template.add(message, None, [(f"grader/{filename}", lineno)], auto_comments=comments,
                     context=context)
    return template


def _write_if_changed(path, catalog):
    """Write a catalogue unless only its dates would change (no churn in the repository)."""
    from babel.messages.pofile import write_po

    out = io.BytesIO()
    write_po(out, catalog, include_lineno=False, width=100, ignore_obsolete=True)

    def undated(data):
        return [line for line in data.splitlines() if not line.startswith(b'"POT-Creation-Date')]
    if not path.exists() or undated(path.read_bytes()) != undated(out.getvalue()):
        path.write_bytes(out.getvalue())


def main():
    from babel.messages.pofile import read_po

    _write_if_changed(TEMPLATE, extract())
    with open(TEMPLATE, "rb") as f:
        template = read_po(f)
    for lang in languages():
        with open(catalogue_path(lang), "rb") as f:
            catalog = read_po(f, locale=lang, domain=DOMAIN)
        catalog.update(template)  # a changed sentence becomes fuzzy, a new one empty
        _write_if_changed(catalogue_path(lang), catalog)
    print(f"{TEMPLATE}: {len(template)} messages; catalogues: {', '.join(languages()) or 'none'}")


if __name__ == "__main__":
    main()
