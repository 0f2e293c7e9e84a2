"""Make a submitted notebook safe to render: nothing a student put in it runs in a browser.

The autograded notebook is rendered by nbconvert twice: as the feedback page the student gets,
and by nbgrader's formgrader inside the instructor's Jupyter session, where any script could
use that session (write files, run code). nbconvert puts a markdown cell's HTML, a text/html
output and an application/javascript output on the page as they are, and nbgrader's templates
render markdown without its `sanitize_html` option. So the notebook itself is made harmless:

- a markdown cell is rendered here and cleaned with bleach's allow-list (no scripts, event
  handlers, frames, styles, forms; links only to http(s)/mailto/#, images only inline PNG or
  JPEG); the cleaned HTML becomes the cell's source, which nbconvert passes through as is. Math
  stays `$...$` text for MathJax; HTML outside the allow-list shows as text.
- a code cell keeps only text/plain, PNG, JPEG and cleaned text/html outputs, streams and
  errors (plain text, escaped by nbconvert); JavaScript, widget views, SVG, markdown, LaTeX
  and anything unknown are dropped, and so are outputs' metadata (image sizes, file names).
- raw cells are cleaned like HTML; attachments are kept only as the PNG/JPEG images they show.
- cell metadata keeps only nbgrader's (grading depends on it), notebook metadata only the
  kernelspec, language_info and the notebook's language (backprop_course.lang, a plain language
  code: the feedback page's language): no widget state, no trust flags, no tags.

Sanitising a notebook twice gives the same notebook.
"""

import functools
import html
import re
from pathlib import Path

import bleach
import nbformat
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .feedback_page import DEFAULT as DEFAULT_LANGUAGE
from .feedback_page import notebook_language

# What a written answer may use: text formatting, lists, tables, links, images.
ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
# Attributes that carry no behaviour; href and src are checked on their own. No class, id or
# style: a student's element must not pass for one of the formgrader's own (a score box).
PLAIN_ATTRIBUTES = {("a", "title"), ("img", "alt"), ("img", "title"), ("ol", "start"),
                    ("td", "colspan"), ("td", "rowspan"), ("th", "colspan"), ("th", "rowspan")}
IMAGE_TYPES = ("image/png", "image/jpeg")
SAFE_OUTPUT_TYPES = ("text/plain", *IMAGE_TYPES, "text/html")
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
INLINE_IMAGE = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]*")
WEB_LINK = re.compile(r"(https?://|mailto:|#)", re.IGNORECASE)
CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
GRADE_ID = re.compile(r"[A-Za-z0-9_.-]+")
PRE = re.compile(r"(<pre>.*?</pre>)", re.DOTALL)
# what Python, if not CommonMark, also takes for the end of a line (see as_html_block)
OTHER_LINE_BREAKS = re.compile(r"[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def sanitize_folder(folder):
    """Sanitise every notebook in FOLDER in place."""
    for path in sorted(Path(folder).glob("*.ipynb")):
        sanitize_file(path)


def sanitize_file(path):
    """Sanitise the notebook at PATH in place. A notebook that cannot be sanitised is deleted:
    better no page than one with the student's HTML in it."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001  (whatever the content, it must not be shown raw)
        Path(path).unlink(missing_ok=True)
        return
    write_sanitized(nb, path)


def write_sanitized(nb, path):
    """Write NB made safe to PATH; when it cannot be sanitised, delete PATH instead."""
    try:
        nbformat.write(sanitize_notebook(nb), path)
    except Exception:  # noqa: BLE001  (whatever the content, it must not be shown raw)
        Path(path).unlink(missing_ok=True)


def sanitize_notebook(nb):
    """NB made safe to render, in place (and returned)."""
    lang = notebook_language(nb)
    nb.metadata = {key: nb.metadata[key] for key in ("kernelspec", "language_info")
                   if isinstance(nb.metadata.get(key), dict)}
    if lang != DEFAULT_LANGUAGE:  # the feedback page's language: a plain language code only
        nb.metadata["backprop_course"] = {"lang": lang}
    for cell in nb.cells:
        sanitize_cell(cell)
    return nb


def sanitize_cell(cell):
    cell.metadata = safe_cell_metadata(cell.metadata)
    if "id" in cell and not CELL_ID.fullmatch(str(cell.id)):
        cell.id = nbformat.v4.nbbase.random_cell_id()  # the templates print it in an id="..."
    if cell.cell_type == "markdown":
        cell.source = safe_markdown(cell.source, cell.pop("attachments", {}))
    elif cell.cell_type == "code":
        cell.execution_count = safe_count(cell.get("execution_count"))
        cell.outputs = [safe for out in cell.get("outputs", []) if (safe := safe_output(out))]
    else:  # raw: nbconvert's HTML export puts a raw cell's source on the page as it is
        cell.pop("attachments", None)
        cell.source = clean_html(cell.source)


def safe_cell_metadata(metadata):
    """Only nbgrader's metadata, which nbgrader restored from the instructor's gradebook. A
    grade_id that nbgrader's templates could not print in an id="..." as it is was not the
    instructor's: the cell is not a graded one. The feedback's own keys (comment, score) come
    from the gradebook when the feedback is made, never from the notebook."""
    nbgrader = metadata.get("nbgrader")
    if not isinstance(nbgrader, dict) or not GRADE_ID.fullmatch(str(nbgrader.get("grade_id", "x"))):
        return {}
    return {"nbgrader": {k: v for k, v in nbgrader.items() if k not in ("comment", "score")}}


def remembered_for_short_text(function):
    """function(text), remembered for texts of up to 10,000 characters: the instructor's cells,
    the same in every submission of a batch, are worked out once per process. A longer text is
    worked out each time, so no submission can fill a worker's memory. For pure functions only."""
    remembered = functools.lru_cache(maxsize=2048)(function)

    @functools.wraps(function)
    def text_function(text):
        return remembered(text) if len(text) <= 10_000 else function(text)
    return text_function


def safe_markdown(source, attachments):
    """The markdown SOURCE rendered and cleaned, as an HTML block that nbconvert's markdown
    renderer passes through unchanged. Its attachments' PNG and JPEG images are inlined."""
    if not attachments:
        return _safe_markdown_without_attachments(source)
    return _safe_markdown(source, attachments)


@remembered_for_short_text
def _safe_markdown_without_attachments(source):
    return _safe_markdown(source, {})


def _safe_markdown(source, attachments):
    try:
        rendered = MarkdownWithMath(renderer=IPythonRenderer(
            escape=False, allow_harmful_protocols=False, exclude_anchor_links=True,
            attachments=safe_attachments(attachments))).render(source)
    except Exception:  # noqa: BLE001  (e.g. a missing attachment: show the answer as text)
        rendered = f"<pre>{html.escape(source)}</pre>"
    return as_html_block(clean_html(rendered.strip()))


def as_html_block(cleaned):
    """CLEANED html on one line inside a <div>: to CommonMark, one HTML block, passed through
    as it is (a blank line would end the block and what follows would be markdown again).
    A line break is a space to the browser, except in a <pre>, where it is written &#10;."""
    cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n")
    parts = PRE.split(cleaned)  # the <pre> elements at the odd places
    cleaned = "".join(part.replace("\n", "&#10;") if i % 2 else part.replace("\n", " ")
                      for i, part in enumerate(parts))
    cleaned = OTHER_LINE_BREAKS.sub(lambda m: f"&#{ord(m.group())};", cleaned)
    return cleaned if cleaned.startswith("<div>") else f"<div>{cleaned}</div>"


# On the feedback page, formulas become MathML, which browsers draw themselves: the page needs no
# MathJax from the web (students read it offline). Only there: the notebook itself keeps its
# $...$ (the formgrader typesets them), and MathML made here is cleaned with its own allow-list.
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.DOTALL)
CODE = re.compile(r"(<pre>.*?</pre>|<code>.*?</code>)", re.DOTALL)
MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
    "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "mfenced",
}
MATHML_ATTRIBUTES = {"display", "xmlns", "mathvariant", "stretchy", "fence", "separator",
                     "accent", "accentunder", "linethickness", "columnalign", "displaystyle",
                     "scriptlevel", "width", "lspace", "rspace", "notation"}


class FormulasAsMathML(Preprocessor):
    """A GenerateFeedback preprocessor (nbgrader_config.py): every markdown cell's formulas as
    MathML. It runs on a notebook sanitize_notebook has made safe."""

    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            cell.source = math_as_mathml(cell.source)
        return cell, resources


def math_as_mathml(cleaned):
    """CLEANED html with its $...$ and $$...$$ formulas (outside code) drawn as MathML; a formula
    the converter cannot read stays as its text."""
    parts = CODE.split(cleaned)  # code at the odd places: its dollars are not math
    return "".join(part if i % 2 else MATH.sub(_formula, part) for i, part in enumerate(parts))


def _formula(match):
    formula = _block_formula(match.group(1)) if match.group(1) is not None else \
        _inline_formula(match.group(2))
    return match.group(0) if formula is None else formula


@remembered_for_short_text
def _block_formula(latex):
    return _mathml(latex, "block")


@remembered_for_short_text
def _inline_formula(latex):
    return _mathml(latex, "inline")


def _mathml(latex, display):
    """LATEX as cleaned MathML, or None when the converter does not know it."""
    try:
        mathml = latex_to_mathml(html.unescape(latex), display=display)
    except Exception:  # noqa: BLE001  (LaTeX the converter does not know: keep the text)
        return None
    return bleach.clean(mathml, tags=MATHML_TAGS, strip=True, strip_comments=True,
                        attributes=lambda tag, name, value: name in MATHML_ATTRIBUTES)


@remembered_for_short_text
def clean_html(text):
    """TEXT with only the allowed tags and attributes; any other tag is shown as text."""
    return bleach.clean(text, tags=ALLOWED_TAGS, attributes=allowed_attribute,
                        protocols={"http", "https", "mailto", "data"}, strip_comments=True)


def allowed_attribute(tag, name, value):
    if (tag, name) == ("a", "href"):
        return bool(WEB_LINK.match(value))
    if (tag, name) == ("img", "src"):  # nothing fetched from elsewhere, no SVG
        return bool(INLINE_IMAGE.fullmatch(value))
    return (tag, name) in PLAIN_ATTRIBUTES


def safe_attachments(attachments):
    """{name: {PNG/JPEG type: base64}}; the other types dropped. A name left without an image
    keeps an empty PNG, so that a link to it renders (as a broken image) instead of failing."""
    safe = {}
    for name, bundle in (attachments or {}).items():
        images = {k: v for k, v in (bundle or {}).items() if is_image(k, v)}
        safe[name] = images or {"image/png": ""}
    return safe


def is_image(mime_type, data):
    return mime_type in IMAGE_TYPES and isinstance(data, str) and bool(BASE64.fullmatch(data))


def safe_output(output):
    """OUTPUT with only what renders as text or a picture; None when nothing is left."""
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return nbformat.v4.new_output("stream", name=name, text=as_text(output.get("text")))
    if kind == "error":  # the traceback is ANSI text, escaped by nbconvert's ansi2html
        return nbformat.v4.new_output(
            "error", ename=as_text(output.get("ename")), evalue=as_text(output.get("evalue")),
            traceback=[line for line in output.get("traceback", []) if isinstance(line, str)])
    if kind not in ("execute_result", "display_data"):
        return None
    data = {k: v for k, v in as_dict(output.get("data")).items()
            if k in SAFE_OUTPUT_TYPES and isinstance(v, str)
            and (k not in IMAGE_TYPES or BASE64.fullmatch(v))}
    if "text/html" in data:
        data["text/html"] = clean_html(data["text/html"])
    if not data:
        return None
    if kind == "execute_result":
        return nbformat.v4.new_output(kind, data=data,
                                      execution_count=safe_count(output.get("execution_count")))
    return nbformat.v4.new_output(kind, data=data)


def safe_count(count):
    """An execution count is a number (the template prints it into the page as it is)."""
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def as_dict(value):
    return value if isinstance(value, dict) else {}


def as_text(value):
    return value if isinstance(value, str) else ""
