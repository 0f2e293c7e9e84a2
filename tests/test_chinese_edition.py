"""The Chinese edition (zh/) is the English course translated, and only translated: built from
the catalogues of i18n/zh/ (grader/translate.py), with the English code cells, cell ids and
graded cells, the English formulas and numbers; no English sentence left where a student reads;
graded exactly as the English submissions are, with Chinese feedback."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from babel.messages.pofile import read_po

from grader.translate import (
    TranslationMissing,
    catalogue_path,
    code_skeleton,
    code_words,
    read_catalogue,
    sources,
    translate_notebook,
    translated_path,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = [pytest.param(kind, nb, id=f"{kind}/{nb.stem}") for kind, nb in sources(ROOT)]
CJK = re.compile(r"[\u4e00-\u9fff]")
FORMULA = re.compile(r"\$\$.+?\$\$|\$[^$]+\$", re.DOTALL)  # display, then inline (may wrap)
# a number in prose; "2-D" is a word (二维), and Chinese text puts no space before a number
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:\.\d+)?(?!-D\b)")


def cells(path):
    return nbformat.read(path, as_version=4).cells


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


# ---------------------------------------------------------------------------- sync

@pytest.mark.parametrize(("kind", "english"), NOTEBOOKS)
def test_the_committed_notebook_is_what_the_catalogue_builds(kind, english):
    """A stale zh/ (English or catalogue changed since the build) or a missing translation
    fails here: rebuild with `python -m grader.translate build zh`."""
    catalog = read_catalogue(catalogue_path(ROOT, "zh", kind, english), "zh")
    try:
        built = translate_notebook(english, catalog)
    except TranslationMissing as missing:
        pytest.fail(f"translate these cells in i18n/zh/{kind}/{english.stem}.po:\n{missing}")
    committed = translated_path(ROOT, "zh", english)
    assert committed.exists(), f"{committed} is missing: python -m grader.translate build zh"
    got = [(c.id, c.cell_type, c.source) for c in cells(committed)]
    want = [(c.id, c.cell_type, c.source) for c in built.cells]
    assert got == want, f"{committed.relative_to(ROOT)} is stale: python -m grader.translate " \
                        "build zh (then backprop-course release --lang zh)"


@pytest.mark.parametrize(("kind", "english"), NOTEBOOKS)
def test_code_cells_ids_and_graded_cells_are_the_english_ones(kind, english):
    translated = translated_path(ROOT, "zh", english)
    en, zh = cells(english), cells(translated)
    assert [c.id for c in zh] == [c.id for c in en]
    assert [c.cell_type for c in zh] == [c.cell_type for c in en]
    for a, b in zip(en, zh):
        assert nbgrader_meta(b) == nbgrader_meta(a), f"cell {a.id}'s nbgrader metadata differ"
        assert b.metadata.get("tags") == a.metadata.get("tags"), f"cell {a.id}'s tags differ"
        if a.cell_type == "code":
            assert code_skeleton(b.source) == code_skeleton(a.source), f"cell {a.id}'s code"
    assert nbformat.read(translated, as_version=4).metadata["backprop_course"]["lang"] == "zh"


@pytest.mark.parametrize("english", sorted((ROOT / "lectures").glob("*.ipynb")),
                         ids=lambda p: p.stem)
def test_the_chinese_lectures_are_stored_executed_like_the_english_ones(english):
    """`python -m grader.translate build zh` runs them; a build with --no-execute fails here."""
    zh = cells(ROOT / "zh" / "lectures" / english.name)
    for a, b in zip(cells(english), zh):
        if a.cell_type == "code" and a.outputs:
            assert b.outputs, f"cell {a.id} has no stored output: python -m grader.translate " \
                              "build zh (it executes the lectures)"
    if nbformat.read(english, as_version=4).metadata.get("widgets"):
        assert nbformat.read(ROOT / "zh" / "lectures" / english.name, as_version=4).metadata.get(
            "widgets"), "the widgets' state is not stored"


def translated_entries():
    for kind, english in sources(ROOT):
        path = catalogue_path(ROOT, "zh", kind, english)
        with open(path, "rb") as f:
            for message in read_po(f, locale="zh"):
                if message.id and message.string and not message.fuzzy:
                    yield pytest.param(message, id=f"{english.stem}:{message.context}")


@pytest.mark.parametrize("message", list(translated_entries()))
def test_a_translation_keeps_the_formulas_and_numbers(message):
    english, chinese = message.id, message.string
    assert sorted(set(FORMULA.findall(english))) == sorted(set(FORMULA.findall(chinese))), \
        "the translation must keep every $...$ formula of the English cell as it is"
    english_numbers = set(NUMBER.findall(FORMULA.sub(" ", english)))
    missing = english_numbers - set(NUMBER.findall(FORMULA.sub(" ", chinese)))
    assert not missing, f"the translation lost the numbers {sorted(missing)}"


def test_a_changed_english_cell_without_its_translation_is_refused(tmp_path):
    kind, english = sources(ROOT)[0]
    nb = nbformat.read(english, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown")
    cell.source += "\n\nA sentence added to the English."
    changed = tmp_path / english.name
    nbformat.write(nb, changed)
    catalog = read_catalogue(catalogue_path(ROOT, "zh", kind, english), "zh")
    with pytest.raises(TranslationMissing, match=cell.id):
        translate_notebook(changed, catalog)


# ---------------------------------------------------------------------------- no English left

# Proper names and words that stay as they are in Chinese text (tools, sources, buttons).
KEPT = re.compile(r"\b(?:Stanford|CS231n|Nankai University|Andrej Karpathy|micrograd|PyTorch|"
                  r"JupyterLab|Jupyter|nbgrader|NumPy|numpy|Python|Validate|Xavier|He|"
                  r"Glorot|Bengio|Hochreiter|Kaiming|Convolutional Neural Networks for Visual "
                  r"Recognition)\b")
# four English words in a row (code, identifiers and formulas removed first): a sentence
ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z']+(?:[ ,;:-]+[A-Za-z][a-z']+){3,}\b")


def prose(text):
    """text without what may stay English: code spans and blocks, formulas, links' targets,
    HTML tags, URLs, proper names."""
    text = re.sub(r"```.*?```", " ", text, flags=re.DOTALL)
    text = re.sub(r"`[^`]*`", " ", text)
    text = FORMULA.sub(" ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"“[^”]*”|《[^》]*》", " ", text)  # quoted titles of the sources
    return KEPT.sub(" ", text)


def english_sentences(text):
    return [m.group(0) for m in ENGLISH_RUN.finditer(prose(text))]


def student_texts():
    """(where, text) of everything a student of the Chinese edition reads as prose."""
    folders = [ROOT / "zh" / "lectures", ROOT / "zh" / "assignments"]
    for path in sorted(p for folder in folders for p in folder.rglob("*.ipynb")):
        for cell in cells(path):
            if cell.cell_type == "markdown":
                yield f"{path.relative_to(ROOT)}:{cell.id}", cell.source
            elif cell.cell_type == "code":
                for text in code_words(cell.source):
                    if text.startswith("#") or len(text) > 12:  # comments and sentences
                        yield f"{path.relative_to(ROOT)}:{cell.id}", text
    from course.bundle import INSTALL_MD
    from course.i18n import _

    yield "INSTALL.md", _(INSTALL_MD, "zh")
    for po in [ROOT / "course" / "locale" / "zh" / "LC_MESSAGES" / "course.po",
               ROOT / "grader" / "templates" / "feedback" / "zh.po"]:
        with open(po, "rb") as f:
            for message in read_po(f, locale="zh"):
                if message.id:
                    yield f"{po.relative_to(ROOT)}:{message.id[:30]}", message.string


def test_no_english_sentence_is_left_in_what_a_chinese_student_reads():
    left = {where: found for where, text in student_texts()
            if (found := english_sentences(text))}
    assert not left, "English left in the Chinese edition (translate it, or, for a proper " \
                     f"name, add it to KEPT): {dict(list(left.items())[:15])}"


def test_the_scan_finds_english_sentences():
    assert english_sentences("这里 the gradient of the loss is wrong 了")
    assert not english_sentences("用 `numerical_gradient(f, x)` 检验 $\\frac{dL}{dx}$，见 CS231n。")


# ---------------------------------------------------------------------------- course package

def test_every_course_message_is_translated_and_none_is_stale():
    from course.i18n import catalogue_path as course_catalogue
    from course.i18n import extract

    with open(course_catalogue("zh"), "rb") as f:
        catalog = read_po(f, locale="zh")
    wanted = {m.id for m in extract() if m.id}
    have = {m.id: m for m in catalog if m.id}
    assert wanted == set(have), "course.po is out of date: python -m course.i18n, then translate"
    untranslated = [i for i in wanted if not have[i].string or have[i].fuzzy]
    assert not untranslated, untranslated


def test_babel_comes_with_a_students_install():
    """course/i18n.py reads its catalogue with Babel, which the student's copy does not list:
    JupyterLab brings it (jupyterlab -> jupyterlab-server -> babel)."""
    from importlib.metadata import requires

    from course.bundle import RUNTIME_DEPENDENCIES

    def names(distribution):
        return {re.split(r"[<>=!~ ;\[]", spec)[0].lower().replace("_", "-")
                for spec in requires(distribution) or [] if "extra ==" not in spec}

    assert "jupyterlab" in RUNTIME_DEPENDENCIES
    assert "jupyterlab-server" in names("jupyterlab") and "babel" in names("jupyterlab-server")


def test_the_course_package_speaks_the_language_it_is_given(monkeypatch):
    from course import widgets
    from course.i18n import language

    monkeypatch.setenv("BACKPROP_COURSE_LANG", "zh")
    assert language() == "zh"
    explorer = widgets.vanishing_gradient_explorer(depth=4)
    assert explorer.depth_slider.description == "深度"
    assert "第一层/最后一层" in explorer.summary()
    monkeypatch.setenv("BACKPROP_COURSE_LANG", "en")
    assert widgets.vanishing_gradient_explorer(depth=4).depth_slider.description == "depth"


def test_chinese_plots_draw_their_text_with_a_cjk_font():
    code = ("import warnings, matplotlib; matplotlib.use('Agg'); import course, "
            "matplotlib.pyplot as plt\nwarnings.simplefilter('error')\n"
            "fig, ax = plt.subplots(); ax.set_title('梯度消失')\n"
            # text and math in one label: mathtext draws the text, in the first family only
            "ax.set_xlabel(r'方向 $\\alpha$（度）'); fig.canvas.draw()\n"
            "print(matplotlib.rcParams['font.family'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"BACKPROP_COURSE_LANG": "zh", "PATH": "/usr/bin:/bin"},
                          check=False)
    # a glyph missing from the font is a warning for text, a log message for mathtext
    assert done.returncode == 0 and "glyph" not in done.stderr, \
        "no CJK font (Debian: apt-get install fonts-noto-cjk): " + done.stderr[-800:]
    assert "CJK" in done.stdout or "Hei" in done.stdout


def test_the_feedback_page_words_are_translated():
    from grader.feedback_page import WORDS, page_text

    assert all(CJK.search(page_text(word, "zh")) for word in WORDS)
    assert [page_text(word, "en") for word in WORDS] == WORDS


# ---------------------------------------------------------------------------- grading

def _rows(path):
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_a_chinese_submission_is_graded_as_the_english_one_with_chinese_feedback(tmp_path):
    """Correct and with a mistake, in English and in Chinese, through the real pipeline: the same
    points cell by cell, and the Chinese pages in Chinese."""
    from conftest import mistake_rounds

    from grader.autograde import autograde
    from grader.simulate import completed, with_mistakes

    aid = "a1_scalar_backprop"
    mistakes = list(mistake_rounds(aid)[0].values())
    subs = tmp_path / "submissions"
    for lang, top in [("en", ROOT), ("zh", ROOT / "zh")]:
        release = top / "assignments" / aid / f"{aid}.ipynb"
        source = top / "solutions" / aid / f"{aid}.ipynb"
        for student, nb in [(f"{lang}_ok", completed(release, source)),
                            (f"{lang}_bad", with_mistakes(release, source, aid, mistakes))]:
            path = subs / student / aid / f"{aid}.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(nb, path)
    out = tmp_path / "out"
    autograde(ROOT, subs, out, jobs=2, progress=False)
    cells = {}
    for row in _rows(out / "cell_grades.csv"):
        cells.setdefault(row["student_id"], {})[row["grade_id"]] = row["score"]
    grades = {r["student_id"]: r for r in _rows(out / "grades.csv")}
    for kind in ("ok", "bad"):
        assert cells[f"zh_{kind}"] == cells[f"en_{kind}"]
        assert grades[f"zh_{kind}"]["score"] == grades[f"en_{kind}"]["score"]
        assert grades[f"zh_{kind}"]["max_score"] == grades[f"en_{kind}"]["max_score"]
    assert grades["en_bad"]["score"] != grades["en_ok"]["score"]  # the mistake cost points
    # both languages' submissions in the one course gradebook, under the same assignment
    from grader.gradebook import course_gradebook, open_course

    with course_gradebook(open_course(ROOT)) as gb:
        for student, row in grades.items():
            submission = gb.find_submission(aid, student)
            assert float(submission.score) == float(row["score"]), student

    def page(student):
        return (out / "feedback" / student / aid / f"{aid}.html").read_text()

    assert '<html lang="zh">' in page("zh_bad") and "得分" in page("zh_bad")
    assert "得分" not in page("en_bad") and "Score" in page("en_bad")
    # the checks' sentences under the failed test cells: Chinese on the Chinese page
    sentences = re.findall(r"隐藏检查：</strong>(.*?)</div>", page("zh_bad"), re.DOTALL)
    assert sentences and all(CJK.search(s) for s in sentences), sentences
