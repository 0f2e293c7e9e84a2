"""grader/sanitize.py: a sanitised notebook, rendered by nbconvert with nbgrader's own feedback
and formgrader templates (as generate_feedback and the formgrader do, without nbconvert's
sanitize_html), carries no live payload, and still shows the student's answer."""

import re

import nbformat
import pytest
from bs4 import BeautifulSoup
from conftest import release_path
from hostile_content import (
    MARKDOWN_PAYLOADS,
    MARKER,
    PNG,
    SVG_WITH_SCRIPT,
    WRITTEN_ANSWER,
    hostile_outputs,
    make_hostile,
)
from nbconvert import HTMLExporter

from grader.autograde import Result, plain_feedback
from grader.sanitize import sanitize_file, sanitize_notebook

AID, ANSWER = "a4_vanishing_gradients", "answer_1"
TEMPLATES = ("feedback", "formgrade")
# elements that run or load something; none may come from the notebook
ACTIVE_TAGS = {"script", "style", "iframe", "frame", "object", "embed", "base", "form", "meta",
               "link", "svg", "math", "video", "audio", "source"}
SCRIPT_URL = re.compile(r"\s*(javascript|vbscript|data:text|data:image/svg)", re.IGNORECASE)


def render(nb, template):
    """NB as nbgrader's TEMPLATE shows it (GetGrades' scores stood in for)."""
    from nbgrader.server_extensions.formgrader import handlers

    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader["score"] = 0
    exporter = HTMLExporter(
        template_name=template, extra_template_basedirs=[handlers.template_path],
        extra_template_paths=[f"{handlers.static_path}/node_modules/bootstrap/dist/css"])
    resources = {"nbgrader": {"notebook": AID, "score": 0, "max_score": 100, "late_penalty": 0},
                 "assignment_id": AID, "notebook_id": AID, "submission_id": "s", "index": 0,
                 "total": 1, "base_url": "", "student": "mallory", "last_name": None,
                 "first_name": None, "notebook_path": "x.ipynb"}
    return exporter.from_notebook_node(nb, resources=resources)[0]


def live_payloads(page, marker=MARKER):
    """What in PAGE a browser would run or load from the notebook: MARKER in a script, a style
    or an attribute, an active element or an event handler in the notebook, a script URL."""
    soup = BeautifulSoup(page, "html.parser")
    notebook = soup.select_one("#notebook-container")
    found = []
    for element in soup.find_all(True):
        in_notebook = notebook in element.parents
        if element.name in ("script", "style") and marker in element.get_text():
            found.append(str(element))
        if in_notebook and element.name in ACTIVE_TAGS:
            found.append(str(element))
        for name, value in element.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            if marker in value or SCRIPT_URL.match(value) or (in_notebook and
                                                               name.startswith("on")):
                found.append(f"{element.name} {name}={value!r}")
    return found


def page_text(page):
    return BeautifulSoup(page, "html.parser").get_text()


def hostile_notebook():
    return make_hostile(nbformat.read(release_path(AID), as_version=4), ANSWER)


def one_cell_notebook(markdown):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(markdown)]
    return nb


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_check_finds_the_payloads_in_an_unsanitised_page(template):
    assert live_payloads(render(hostile_notebook(), template))


@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS)
def test_no_markdown_payload_survives(payload):
    nb = sanitize_notebook(one_cell_notebook(f"{WRITTEN_ANSWER}\n\n{payload}"))
    page = render(nb, "formgrade")
    assert live_payloads(page) == []
    assert WRITTEN_ANSWER in page_text(page)


@pytest.mark.parametrize("template", TEMPLATES)
def test_no_payload_survives_anywhere_in_a_hostile_submission(template):
    page = render(sanitize_notebook(hostile_notebook()), template)
    assert live_payloads(page) == []


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_written_answer_and_its_math_stay_readable(template):
    text = page_text(render(sanitize_notebook(hostile_notebook()), template))
    assert WRITTEN_ANSWER in text
    assert r"$\frac{\partial L}{\partial w}$" in text
    # what the student wrote as HTML shows as text, for the instructor to see
    assert "<script>window.__pwned=1</script>" in text


def test_markdown_formatting_and_math_survive():
    source = ("**bold**, `code < 1`, a [link](https://example.org) and\n\n> a quote\n\n"
              "$$\\sigma'(z) \\le \\frac{1}{4} < 1$$")
    page = render(sanitize_notebook(one_cell_notebook(source)), "formgrade")
    html = str(BeautifulSoup(page, "html.parser").select_one(".text_cell_render"))
    for kept in ("<strong>bold</strong>", "<code>code &lt; 1</code>",
                 '<a href="https://example.org">link</a>', "<blockquote>",
                 "$$\\sigma'(z) \\le \\frac{1}{4} &lt; 1$$"):
        assert kept in html


def test_outputs_keep_only_text_pictures_and_clean_html():
    cell = nbformat.v4.new_code_cell("x", outputs=hostile_outputs())
    cell.outputs.append(nbformat.v4.new_output("display_data", data={"image/jpeg": PNG}))
    nb = nbformat.v4.new_notebook(cells=[cell])
    outputs = sanitize_notebook(nb).cells[0].outputs
    kept = [sorted(o.get("data", {})) or o.output_type for o in outputs]
    assert kept == [["text/html", "text/plain"], ["text/plain"], ["text/plain"], ["image/png"],
                    ["text/html"], "stream", "error", ["image/jpeg"]]
    assert outputs[0].data["text/html"] == "<img><b>html output</b>"
    assert all(o.get("metadata", {}) == {} for o in outputs)
    stream, error = outputs[5], outputs[6]
    assert stream.name == "stdout" and "printed" in stream.text
    assert error.traceback == ["\x1b[31m<script>window.__pwned=1</script>\x1b[0m"]


def test_a_forged_execution_count_is_dropped():
    cell = nbformat.from_dict({  # invalid nbformat, which nbformat.read accepts with a warning
        "cell_type": "code", "source": "x", "metadata": {},
        "execution_count": "<img src=x onerror=alert(1)>",
        "outputs": [{"output_type": "execute_result", "data": {"text/plain": "1"},
                     "metadata": {}, "execution_count": "<script>"}]})
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    sanitize_notebook(nb)
    assert cell.execution_count is None and cell.outputs[0].execution_count is None


def test_attachments_show_only_png_and_jpeg():
    cell = nbformat.v4.new_markdown_cell("![a](attachment:a.svg) ![b](attachment:b.png)")
    cell.attachments = {"a.svg": {"image/svg+xml": SVG_WITH_SCRIPT}, "b.png": {"image/png": PNG}}
    sanitize_notebook(nbformat.v4.new_notebook(cells=[cell]))
    images = BeautifulSoup(cell.source, "html.parser").find_all("img")
    # the SVG's name is left with an empty PNG: a broken image rather than a failed page
    assert [img["src"] for img in images] == ["data:image/png;base64,",
                                              f"data:image/png;base64,{PNG}"]
    assert "attachments" not in cell


def test_a_cell_that_cannot_be_rendered_shows_as_text():
    nb = sanitize_notebook(one_cell_notebook("*see* ![c](attachment:missing.png) <b>"))
    assert nb.cells[0].source == (
        "<div><pre>*see* ![c](attachment:missing.png) &lt;b&gt;</pre></div>")


def test_metadata_keeps_only_nbgrader_kernelspec_and_language_info():
    nb = sanitize_notebook(hostile_notebook())
    assert set(nb.metadata) == {"kernelspec", "language_info"}
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == ANSWER)
    assert answer.metadata == {"nbgrader": {
        "cell_type": "markdown", "checksum": answer.metadata.nbgrader.checksum, "grade": True,
        "grade_id": ANSWER, "locked": False, "points": 7, "schema_version": 3,
        "solution": True, "task": False}}
    released = nbformat.read(release_path(AID), as_version=4)
    assert [c.metadata.nbgrader for c in released.cells if "nbgrader" in c.metadata] == [
        c.metadata.nbgrader for c in nb.cells if "nbgrader" in c.metadata]


def test_a_grade_id_that_is_not_an_identifier_is_dropped():
    cell = nbformat.v4.new_markdown_cell("hi", metadata={"nbgrader": {
        "grade_id": '"><img src=x onerror=alert(1)>', "grade": True, "points": 1}})
    sanitize_notebook(nbformat.v4.new_notebook(cells=[cell]))
    assert cell.metadata == {}


def test_raw_cells_are_cleaned():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_raw_cell(
        "<script>window.__pwned=1</script><b>raw</b>", metadata={"raw_mimetype": "text/html"})])
    sanitize_notebook(nb)
    assert nb.cells[0].source == "&lt;script&gt;window.__pwned=1&lt;/script&gt;<b>raw</b>"
    assert nb.cells[0].metadata == {}


def test_sanitising_twice_changes_nothing():
    once = sanitize_notebook(hostile_notebook())
    twice = sanitize_notebook(nbformat.from_dict(once))
    assert twice == once


def test_an_unreadable_notebook_is_deleted_not_left_raw(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": "<script>window.__pwned=1</script>"')
    sanitize_file(path)
    assert not path.exists()


def test_a_notebook_file_is_sanitised_in_place(tmp_path):
    path = tmp_path / f"{AID}.ipynb"
    nbformat.write(hostile_notebook(), path)
    sanitize_file(path)
    assert live_payloads(render(nbformat.read(path, as_version=4), "feedback")) == []


def test_the_plain_feedback_page_escapes_everything():
    result = Result("mallory", AID, status="not graded",
                    reason="<script>window.__pwned=1</script>",
                    cells=[{"grade_id": "<b>", "score": 0.0, "max_score": 1.0,
                            "feedback": "<img src=x onerror=window.__pwned=1>"}])
    page = plain_feedback(result)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
