"""The hidden checks' feedback in the submission's language (grader/i18n.py).

One gettext catalogue per language, grader/locale/<lang>/LC_MESSAGES/grader.po, made from the
template grader/locale/grader.pot that Babel extracts from the code: the template must be up to
date, every message translated with the same placeholders, Chinese written in Chinese (only code,
identifiers and formulas stay in Latin letters, with the glossary's terms), and a check that
finds a mistake must say it in the language asked for.
"""

import re
import string

import nbformat
import pytest
import test_checks_a1_scalar_backprop as a1_tests
import test_checks_a2_vector_backprop as a2_tests
import test_checks_a3_computation_graph as a3_tests
from babel.messages.pofile import read_po
from conftest import source_path

from grader import i18n, isolated, sandbox
from grader.checks import a1_scalar_backprop, a3_computation_graph
from grader.checks.common import Mistake
from grader.i18n import use_language

REGENERATE = "re-extract and merge with: .venv/bin/python -m grader.i18n"


def read(path):
    with open(path, "rb") as f:
        return read_po(f)


TEMPLATE = read(i18n.TEMPLATE)
CATALOGUES = {lang: read(i18n.catalogue_path(lang)) for lang in i18n.languages()}
ZH = CATALOGUES["zh"]


def ids(catalog):
    return {m.id for m in catalog if m.id}


def forms(message):
    """The msgstr, or each plural form of it."""
    return message.string if isinstance(message.string, (tuple, list)) else (message.string,)


def placeholders(text):
    """{name!conversion:spec} fields of a str.format template, as (name, conversion, spec)."""
    return {(name, conversion, spec) for _, name, spec, conversion in string.Formatter().parse(text)
            if name is not None}


# --------------------------------------------------------------------------- the catalogues


def test_the_template_is_up_to_date_with_the_code():
    extracted = ids(i18n.extract())
    assert not extracted - ids(TEMPLATE), f"sentences missing from grader.pot: {REGENERATE}"
    assert not ids(TEMPLATE) - extracted, f"sentences no longer in the code: {REGENERATE}"


@pytest.mark.parametrize("lang", sorted(CATALOGUES))
def test_every_message_is_translated_and_none_is_fuzzy(lang):
    catalog = CATALOGUES[lang]
    assert ids(catalog) == ids(TEMPLATE), REGENERATE
    for message in catalog:
        if message.id:
            assert not message.fuzzy, f"{lang}: fuzzy (check, then remove the flag): {message.id}"
            assert all(forms(message)), f"{lang}: not translated: {message.id}"


@pytest.mark.parametrize("lang", sorted(CATALOGUES))
def test_the_translations_keep_the_placeholders(lang):
    catalog = CATALOGUES[lang]
    # Babel's own checks (%-formats, the number of plural forms)
    assert [(m.id, errors) for m, errors in catalog.check()] == []
    for message in catalog:
        if not message.id:
            continue
        english = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        wanted = set().union(*map(placeholders, english))
        for text in forms(message):
            assert placeholders(text) == wanted, f"{lang}: {message.id!r} -> {text!r}"


# identifiers, proper names and code words that Chinese sentences keep in Latin letters
KEPT = {
    "Affine", "Fortran", "Frobenius", "He", "NotImplementedError", "Python", "ReLU",
    "ResidualBlock", "Sigmoid", "SoftmaxCrossEntropy", "Tanh", "Value", "ValueError", "Xavier",
    "append", "axis", "backward", "clear", "clipped", "data", "db", "dpred", "dscores", "dtype",
    "dW", "dw", "dx", "dy", "dout", "else", "float", "float64", "forward", "grad", "idx", "if",
    "inf", "lr", "nan", "numpy", "old", "ord", "other", "out", "pop", "pred", "rng", "scale",
    "scores", "self", "sigma", "sigmoid", "softmax", "step", "sum", "tanh", "target", "wx",
}
FIELD = re.compile(r"\{[^{}]*\}")
ASCII_RUN = re.compile(r"[!-~]+")  # a run of printable ASCII: a word, or a piece of code
CODE = re.compile(r"[_().=@\[\]*/^'+<>0-9]|^-")  # what only code and formulas contain


def english_words(text):
    """The words of text that are neither code nor a kept identifier or name (a heuristic)."""
    words = []
    for run in ASCII_RUN.findall(FIELD.sub(" ", text)):
        run = run.strip(",;:!?")
        if len(run) > 1 and not CODE.search(run) and run not in KEPT:
            words.append(run)
    return words


def test_no_english_is_left_in_the_chinese_sentences():
    left = {m.id: english_words(text) for m in ZH if m.id for text in forms(m)
            if english_words(text)}
    assert left == {}


CJK = "\u4e00-\u9fff"


def test_chinese_prose_uses_full_width_punctuation():
    half_width = re.compile(f"[{CJK}][,.;:!?]|[,;:!?][{CJK}]")
    assert [text for m in ZH if m.id for text in forms(m) if half_width.search(text)] == []


# i18n/zh/glossary.md: an English term in a sentence -> its Chinese term in the translation
GLOSSARY = {
    "upstream gradient": "上游梯度", "chain rule": "链式法则", "local gradient": "局部梯度",
    "local derivative": "局部导数", "Jacobian": "雅可比矩阵", "backpropagation": "反向传播",
    "central difference": "中心差分", "topological order": "拓扑顺序", "batch": "小批量",
    "learning rate": "学习率", "gradient descent": "梯度下降", "skip connection": "跳跃连接",
    "numerical gradient": "数值梯度", "bias": "偏置", "transpose": "转置",
    "forward pass": "前向传播", "accumulat": "累加", "initialisation": "初始化",
}


@pytest.mark.parametrize("term", list(GLOSSARY))
def test_the_chinese_sentences_use_the_glossary_terms(term):
    missing = [m.id for m in ZH if m.id and term in str(m.id)
               and not all(GLOSSARY[term] in text for text in forms(m))]
    assert missing == []


# --------------------------------------------------------------------------- the language


def test_use_language_chooses_the_catalogue_and_falls_back_to_english():
    sentence = "the loss"
    assert i18n._(sentence) == sentence  # English by default
    with use_language("zh"):
        assert i18n._(sentence) == "损失"
        with use_language("fr"):  # no catalogue: English
            assert i18n.current_language() == "en"
            assert i18n._(sentence) == sentence
        assert i18n.current_language() == "zh"
    with use_language("zh_CN"), use_language("zh-Hans"):
        assert i18n.current_language() == "zh"
    assert i18n.current_language() == "en"


ENGLISH_PROSE = re.compile(r"\b(?:the|is|are|was|of|and|not|should|your|it)\b")


def in_language(lang, run):
    with use_language(lang):
        return run()


@pytest.mark.parametrize("name", list(a1_scalar_backprop.KNOWN_MISTAKES))
def test_a_known_mistake_is_named_in_the_language_asked_for(name):
    gid, right, wrong, words = a1_scalar_backprop.KNOWN_MISTAKES[name]
    ns = a1_tests.namespace({gid: a1_tests.ANSWERS[gid].replace(right, wrong)})
    english = in_language("en", lambda: a1_tests.failing_cells(ns))[f"test_{gid}"]
    chinese = in_language("zh", lambda: a1_tests.failing_cells(ns))[f"test_{gid}"]
    assert words.lower() in english.lower()
    assert re.search(f"[{CJK}]", chinese) and not ENGLISH_PROSE.search(chinese), chinese
    assert a1_tests.failing_cells(ns)[f"test_{gid}"] == english  # English again after the block


def test_partial_credit_is_said_in_chinese():
    gid, right, wrong, _words = a3_computation_graph.KNOWN_MISTAKES["sub_sign"]
    ns = a3_tests.namespace({gid: a3_tests.solution_cells()[gid].replace(right, wrong)})
    with use_language("zh"), pytest.raises(Mistake) as info:
        a3_tests.CHECKS[gid](ns)
    text = str(info.value)
    assert text.startswith("Value：") and "个部分中有" in text, text
    assert not ENGLISH_PROSE.search(text), text


def test_a_failing_dependency_is_named_in_chinese():
    wrong_sigmoid = a2_tests.ANSWERS["sigmoid"].replace(
        "return dout * self.out * (1.0 - self.out)", "return dout * self.out")
    ns = a2_tests.namespace({"sigmoid": wrong_sigmoid})
    with use_language("zh"):
        text = a2_tests.mistake_message("test_seed_network", ns)
    assert "请先修正 Sigmoid" in text and text.startswith("算例中的 2-2-2 网络："), text
    assert not ENGLISH_PROSE.search(text), text


def test_the_grading_process_own_sentences_follow_the_language():
    checks = [("a1_scalar_backprop", "check_add_gate", ["AddGate"])]
    ended = in_language("zh", lambda: isolated._where_it_broke(
        "", checks, {"AddGate": "add_gate"}, ["add_gate"], {}))
    assert ended.startswith("你在单元格 add_gate 中的代码运行时结束了进程"), ended
    raised = in_language("zh", lambda: isolated._where_it_broke(
        "AddGate：……", checks, {"AddGate": "add_gate"}, [], {"add_gate": "NameError: np"}))
    assert raised == "AddGate：……（你的代码运行时抛出了异常：单元格 add_gate：NameError: np）"


@pytest.mark.skipif(sandbox.sandbox_problem() is not None, reason="no sandbox here")
def test_a_submission_is_graded_the_same_in_both_languages_with_feedback_in_its_own():
    """Through the sandbox, as autograde grades: the same points, the sentences translated."""
    source = nbformat.read(source_path("a3_computation_graph"), as_version=4)
    wrong = nbformat.from_dict(source)
    for cell in wrong.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "value":
            cell.source = cell.source.replace("other.grad += self.data * out.grad",
                                              "other.grad = self.data * out.grad")
    english = in_language("en", lambda: isolated.isolated_verdicts(source, wrong, "ada")[0])
    chinese = in_language("zh", lambda: isolated.isolated_verdicts(source, wrong, "ada")[0])
    assert {k: (v.passed, v.fraction) for k, v in english.items()} == {
        k: (v.passed, v.fraction) for k, v in chinese.items()}
    assert "accumulate" in english["test_value"].message
    assert "累加" in chinese["test_value"].message, chinese["test_value"].message
    assert not ENGLISH_PROSE.search(chinese["test_value"].message)
