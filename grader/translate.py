"""Translated notebooks, built from the English ones and a gettext catalogue (one .po per notebook).

i18n/<lang>/<kind>/<name>.po holds one message per cell a reader reads: its context is the cell
id, its msgid the English source, its msgstr the translated source. A markdown cell is
translated whole; a code cell only in its comments and string literals (the code itself must
stay token for token the English code). Because a translation is keyed on the English text, an
English cell that changes has no translation any more: `build` refuses until the catalogue is
updated (`extract` marks the changed entry fuzzy) and translated again. So the translated
notebooks have, by construction, exactly the English code cells, graded cells and cell ids.

    python -m grader.translate extract zh   # add new or changed English cells to i18n/zh/
    python -m grader.translate build zh     # write zh/ and execute its lectures (stored executed)

The lectures run with BACKPROP_COURSE_LANG=zh, so the course package's widget and plot labels are
Chinese too (course/i18n.py). `build --allow-missing` keeps the English cell where a translation
is missing, for trying things out while translating; it must never be committed (the sync test,
tests/test_chinese_edition.py, builds without it and fails).
"""

import argparse
import copy
import io
import os
import re
import sys
import tokenize
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
# an English word in a comment or a string: the cell has something a reader reads
WORDS = re.compile(r"[A-Za-z]{3,}")
# nbgrader's markers are comments, but nbgrader reads them: a translation keeps them verbatim
NBGRADER_MARKERS = re.compile(r"^\s*#+\s*(?:BEGIN|END) (?:SOLUTION|HIDDEN TESTS)\b.*$",
                              re.MULTILINE)


def sources(root=ROOT):
    """(kind, English notebook) for every notebook a translation covers."""
    root = Path(root)
    found = [("lectures", p) for p in sorted((root / "lectures").glob("*.ipynb"))]
    found += [("solutions", p) for p in sorted((root / "solutions").glob("*/*.ipynb"))]
    return found


def catalogue_path(root, lang, kind, notebook):
    return Path(root) / "i18n" / lang / kind / f"{notebook.stem}.po"


def translated_path(root, lang, notebook):
    """zh/lectures/NAME.ipynb, zh/solutions/ID/NAME.ipynb: the English layout under zh/."""
    return Path(root) / lang / Path(notebook).relative_to(Path(root))


def code_words(source):
    """The comments and string literals of Python source that hold words, in order."""
    return [text for kind, text in _text_tokens(source) if WORDS.search(text)]


def _text_tokens(source):
    text_types = {tokenize.COMMENT, tokenize.STRING}
    text_types |= {getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [("code", source)]  # IPython magics and the like: translate the cell whole
    return [(tok.type, tok.string) for tok in tokens if tok.type in text_types]


def code_skeleton(source):
    """The code of a cell with comments dropped and string literals emptied: two cells with the
    same skeleton differ only in what a translation may change."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    middle = getattr(tokenize, "FSTRING_MIDDLE", None)
    kept = []
    for tok in tokens:
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                        tokenize.DEDENT, tokenize.ENDMARKER) or tok.type == middle:
            continue
        if tok.type == tokenize.STRING:
            prefix = re.match(r"[A-Za-z]*", tok.string).group(0).lower()
            kept.append(prefix + "''")
        else:
            kept.append(tok.string)
    return " ".join(kept)


def needs_translation(cell):
    if cell.cell_type == "markdown":
        return bool(cell.source.strip())
    return cell.cell_type == "code" and bool(code_words(cell.source))


def template(notebook, lang):
    """The catalogue of one English notebook, with no translations."""
    nb = nbformat.read(notebook, as_version=4)
    catalog = Catalog(locale=lang, domain=notebook.stem, project="backprop-course",
                      version="0.1.0", copyright_holder="the backprop-course authors",
                      msgid_bugs_address="", language_team=f"backprop-course {lang}",
                      header_comment=f"# {notebook.name}, translated: one message per cell "
                      "(context: the cell id).", fuzzy=False)
    for cell in nb.cells:
        if needs_translation(cell):
            catalog.add(cell.source, context=cell.id, auto_comments=[cell.cell_type])
    return catalog


def extract(lang, root=ROOT):
    """Create or update i18n/LANG/: new cells are added untranslated, changed cells are marked
    fuzzy (their old translation kept for reference), removed cells become obsolete."""
    written = []
    for kind, notebook in sources(root):
        path = catalogue_path(root, lang, kind, notebook)
        fresh = template(notebook, lang)
        if path.exists():
            with open(path, "rb") as f:
                catalog = read_po(f, locale=lang)
            catalog.update(fresh, update_header_comment=False)
        else:
            catalog = fresh
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            write_po(f, catalog, width=0, omit_header=False, ignore_obsolete=False)
        written.append(path)
    return written


class TranslationMissing(Exception):
    """A catalogue lacks a cell's translation, or translates code it must leave alone."""


def translate_notebook(notebook, catalog, allow_missing=False):
    """The translated notebook: every cell of the English one, with the same ids and metadata,
    the readable ones replaced by their translation. Raises TranslationMissing for each cell a
    translation is missing for, is fuzzy for, or whose translated code is not the English code.
    allow_missing (for development only): a missing or fuzzy translation keeps the English cell."""
    nb = nbformat.read(notebook, as_version=4)
    out = copy.deepcopy(nb)
    problems = []
    for cell in out.cells:
        if not needs_translation(cell):
            continue
        message = catalog.get(cell.source, context=cell.id)
        if message is None or not message.string or message.fuzzy:
            state = "is fuzzy (the English changed)" if message is not None and message.fuzzy \
                else "has no translation"
            if allow_missing:
                continue
            problems.append(f"{notebook.name}: cell {cell.id} {state}")
            continue
        if cell.cell_type == "code" and code_skeleton(message.string) != \
                code_skeleton(cell.source):
            problems.append(f"{notebook.name}: cell {cell.id}'s translation changes the code, "
                            "not only its comments and strings")
            continue
        if NBGRADER_MARKERS.findall(message.string) != NBGRADER_MARKERS.findall(cell.source):
            problems.append(f"{notebook.name}: cell {cell.id}'s translation changes nbgrader's "
                            "### BEGIN/END markers: keep them as they are")
            continue
        cell.source = message.string
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None  # the translated run makes its own
    if problems:
        raise TranslationMissing("\n".join(problems))
    return out


def read_catalogue(path, lang):
    with open(path, "rb") as f:
        return read_po(f, locale=lang)


def build(lang, root=ROOT, allow_missing=False, execute=True):
    """Write LANG/'s notebooks from the English ones and i18n/LANG/, and (execute) run LANG's
    lectures so they are stored executed, as the English ones are. Returns their paths."""
    written, problems = [], []
    for kind, notebook in sources(root):
        catalog = read_catalogue(catalogue_path(root, lang, kind, notebook), lang)
        try:
            nb = translate_notebook(notebook, catalog, allow_missing)
        except TranslationMissing as missing:
            problems.append(str(missing))
            continue
        nb.metadata.setdefault("backprop_course", {})["lang"] = lang
        path = translated_path(root, lang, notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        written.append(path)
    if problems:
        raise TranslationMissing("\n".join(problems))
    if execute:
        execute_lectures([p for p in written if p.parent == Path(root) / lang / "lectures"], lang)
    return written


def execute_lectures(paths, lang):
    """Run each lecture in place, storing outputs and widget state (grader/notebooks.py), with the
    course package in LANG: the kernel inherits BACKPROP_COURSE_LANG."""
    from .notebooks import execute_in_place

    before = os.environ.get("BACKPROP_COURSE_LANG")
    os.environ["BACKPROP_COURSE_LANG"] = lang
    try:
        for path in paths:
            print(f"executing {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}",
                  flush=True)
            execute_in_place(path)
    finally:
        if before is None:
            os.environ.pop("BACKPROP_COURSE_LANG")
        else:
            os.environ["BACKPROP_COURSE_LANG"] = before


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grader.translate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["extract", "build"])
    parser.add_argument("lang", help="language code, e.g. zh")
    parser.add_argument("--allow-missing", action="store_true",
                        help="build: keep the English cell where a translation is missing "
                             "(while translating only: never commit what it builds)")
    parser.add_argument("--no-execute", action="store_true",
                        help="build: do not run the lectures (their outputs stay empty)")
    args = parser.parse_args(argv)
    try:
        paths = extract(args.lang) if args.action == "extract" else build(
            args.lang, allow_missing=args.allow_missing, execute=not args.no_execute)
    except TranslationMissing as missing:
        sys.exit(f"Not built: translate these cells in i18n/{args.lang}/ first:\n{missing}")
    for path in paths:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
