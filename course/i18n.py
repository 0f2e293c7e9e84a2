"""The course package in the student's language: widget and plot labels, `backprop-course lab`'s
and `bundle`'s messages.

English is the msgid itself; other languages are in course/locale/<lang>/LC_MESSAGES/course.po,
read at run time with Babel (a dependency of JupyterLab, so in every student's install) and
compiled in memory, so there is no .mo to go stale. Babel is imported only for a language other
than English: the grading sandbox, which runs the course in English, does not need it.

The language: $BACKPROP_COURSE_LANG, else the one `backprop-course bundle --lang` recorded in the
student's copy (course/language.txt), else English. The translated lectures run the very same
code cells as the English ones, so the course functions pick the language themselves.
"""

import functools
import gettext
import io
import os
from pathlib import Path

DOMAIN = "course"
HERE = Path(__file__).resolve().parent
LOCALE = HERE / "locale"
LANGUAGE_FILE = HERE / "language.txt"  # written by `backprop-course bundle --lang`
LANG_ENV = "BACKPROP_COURSE_LANG"
DEFAULT = "en"
# Chinese text in plots: Debian's fonts-noto-cjk (or another CJK font the system has).
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC"]


def catalogue_path(lang, locale=LOCALE, domain=DOMAIN):
    """Where gettext keeps lang's catalogue of domain under locale (grader/i18n.py's too)."""
    return Path(locale) / lang / "LC_MESSAGES" / f"{domain}.po"


def languages(locale=LOCALE, domain=DOMAIN):
    """The languages with a catalogue of domain under locale (English needs none)."""
    return sorted(p.parent.parent.name for p in Path(locale).glob(f"*/LC_MESSAGES/{domain}.po"))


def _known(lang):
    """'zh', 'zh_CN', 'zh-Hans' -> 'zh'; a language without a catalogue -> English."""
    return best_language(lang, languages())


def best_language(lang, available, default=DEFAULT):
    """The language of available that lang names: 'zh', 'zh_CN', 'zh-Hans' -> 'zh' when 'zh' is
    available; default when none is. (grader/i18n.py matches the feedback's language with it.)"""
    lang = (lang or default).strip().replace("-", "_")
    for candidate in (lang, lang.split("_")[0].lower()):
        if candidate in available:
            return candidate
    return default


def language():
    """The student's language (see the module docstring); read at each call, so a notebook
    kernel started with BACKPROP_COURSE_LANG gets it without restarting anything."""
    if os.environ.get(LANG_ENV):
        return _known(os.environ[LANG_ENV])
    try:
        return _known(LANGUAGE_FILE.read_text())
    except OSError:
        return DEFAULT


@functools.cache
def _translations(lang):
    if lang == DEFAULT:
        return gettext.NullTranslations()
    return po_translations(catalogue_path(lang), lang, DOMAIN)


def po_translations(path, lang, domain=None):
    """gettext translations from the .po at path, compiled in memory with Babel (no .mo to go
    stale; fuzzy entries are left out, so they fall back to English). The one reader of the
    course's catalogues: grader/i18n.py and grader/feedback_page.py use it too."""
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:  # (JupyterLab brings Babel; a bare Python without it speaks English)
        return gettext.NullTranslations()

    with open(path, "rb") as f:
        catalog = read_po(f, locale=lang, domain=domain)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


def _(message, lang=None):
    """message in lang (default: the student's language)."""
    return _translations(_known(lang) if lang else language()).gettext(message)


def N_(message):
    """Marks a message for extraction without translating it (translated where it is used)."""
    return message


def use_cjk_font():
    """Let matplotlib draw Chinese text: a CJK font after its default one. A font installed after
    matplotlib built its font cache is not in it, so the system's CJK fonts are added first."""
    import matplotlib
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    if not known.intersection(CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if "CJK" in Path(path).name or "wqy" in Path(path).name.lower():
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        known = {f.name for f in font_manager.fontManager.ttflist}
    available = [name for name in CJK_FONTS if name in known]
    if not available:
        return False  # the text shows as boxes; the lectures' numbers are still right
    # The CJK font first: a label mixing text and $math$ is drawn by mathtext, which writes the
    # text in the first family only. Elsewhere matplotlib falls back glyph by glyph between the
    # families named in font.family (a generic "sans-serif" stands for one font): DejaVu Sans,
    # matplotlib's own, for a symbol the CJK font lacks.
    matplotlib.rcParams["font.family"] = [available[0], "DejaVu Sans"]
    return True


def setup_matplotlib():
    """The course's matplotlib setup for the student's language (run when course is imported)."""
    if language() == "zh":
        use_cjk_font()


def extract():
    """Every _() and N_() message of the course package, as a Babel Catalog (the template)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="backprop-course", domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
            HERE, [("*.py", "python")], keywords={"_": None, "N_": None},
            comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
        template.add(message, None, [(f"course/{filename}", lineno)], auto_comments=comments,
                     context=context)
    return template


def main():
    """After changing a message: merge the new template into every catalogue (a changed message
    becomes fuzzy, a new one empty: translate them), `python -m course.i18n`."""
    from babel.messages.pofile import read_po, write_po

    template = extract()
    for lang in languages():
        with open(catalogue_path(lang), "rb") as f:
            catalog = read_po(f, locale=lang, domain=DOMAIN)
        catalog.update(template)
        with open(catalogue_path(lang), "wb") as f:
            write_po(f, catalog, include_lineno=False, width=100, ignore_obsolete=True)
    print(f"{len(template)} messages; updated: {', '.join(languages()) or 'none'}")


if __name__ == "__main__":
    main()
