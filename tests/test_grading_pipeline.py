"""The grading pipeline end to end: real `backprop-course autograde` (real nbgrader, real kernels)
on one simulated class, graded once per session (see conftest.graded_class)."""

import re

import pytest
from conftest import BROKEN, BROKEN_ADD_GATE, CHEATS, assignment_ids, mistake_rounds

from grader.simulate import catalogue

pytestmark = pytest.mark.slow
# cells whose points are split over independent parts (a3's Value: one part per operation)
PARTIAL_CREDIT_CELLS = {"test_value"}
AIDS = assignment_ids()


def grade_row(graded_class, student, aid):
    rows = [r for r in graded_class["grades"]
            if r["student_id"] == student and r["assignment_id"] == aid]
    assert len(rows) == 1, f"expected one grades.csv row for {student}/{aid}, got {len(rows)}"
    return rows[0]


def cell_rows(graded_class, student, aid):
    return {r["grade_id"]: r for r in graded_class["cells"]
            if r["student_id"] == student and r["assignment_id"] == aid}


def auto_score(cells):
    """(score, max) over the auto-graded cells (manual ones are flagged, not scored yet)."""
    auto = [c for c in cells.values() if c["flag"] != "needs manual grading"]
    return sum(float(c["score"]) for c in auto), sum(float(c["max_score"]) for c in auto)


def feedback_text(graded_class, student, aid):
    html = (graded_class["out"] / "feedback" / student / aid / f"{aid}.html").read_text()
    return re.sub(r"<[^>]+>", " ", html)


def test_the_batch_finishes_with_exit_code_0(graded_class):
    assert graded_class["returncode"] == 0, graded_class["stderr"][-3000:]
    assert "student" in graded_class["stdout"]  # the grade table was printed


@pytest.mark.parametrize("aid", AIDS)
def test_the_source_notebook_scores_full_marks(graded_class, aid):
    cells = cell_rows(graded_class, f"src_{aid}", aid)
    score, max_score = auto_score(cells)
    assert max_score > 0 and score == max_score, {k: v["score"] for k, v in cells.items()}
    total = sum(float(c["max_score"]) for c in cells.values())
    assert total == 100, f"{aid} should be worth 100 points, not {total}"


@pytest.mark.parametrize("aid", AIDS)
def test_the_untouched_release_scores_zero_without_stopping_the_batch(graded_class, aid):
    row = grade_row(graded_class, "cy_untouched", aid)
    assert row["status"] == "graded"
    assert auto_score(cell_rows(graded_class, "cy_untouched", aid))[0] == 0


def _alternative_students():
    """alt_<aid> (ALTERNATIVE_SOLUTIONS), then alt2_<aid>, alt3_<aid>, ... (the sets of
    MORE_ALTERNATIVE_SOLUTIONS), as tests/conftest.py's graded_class submits them."""
    for aid in AIDS:
        yield pytest.param(aid, f"alt_{aid}", id=f"alt_{aid}")
        for k in range(2, 2 + len(catalogue(aid).MORE_ALTERNATIVE_SOLUTIONS)):
            yield pytest.param(aid, f"alt{k}_{aid}", id=f"alt{k}_{aid}")


@pytest.mark.parametrize(("aid", "student"), list(_alternative_students()))
def test_differently_written_correct_answers_score_full_marks(graded_class, aid, student):
    cells = cell_rows(graded_class, student, aid)
    assert cells, f"{student} has no graded cells for {aid}"
    score, max_score = auto_score(cells)
    wrong = {k: v["score"] for k, v in cells.items()
             if float(v["score"]) != float(v["max_score"]) and v["flag"] != "needs manual grading"}
    assert score == max_score, f"correct alternatives lost points in {wrong}"


def _mistake_cases():
    for aid in AIDS:
        for k, round_ in enumerate(mistake_rounds(aid)):
            for grade_id, name in round_.items():
                yield pytest.param(aid, k, grade_id, name, id=f"{aid}-{name}")


@pytest.mark.parametrize(("aid", "k", "grade_id", "name"), list(_mistake_cases()))
def test_each_known_mistake_loses_its_points_and_is_named(graded_class, aid, k, grade_id, name):
    student = f"mistakes{k}_{aid}"
    cells = cell_rows(graded_class, student, aid)
    test_id = f"test_{grade_id}"
    score, max_score = float(cells[test_id]["score"]), float(cells[test_id]["max_score"])
    if test_id in PARTIAL_CREDIT_CELLS:  # one wrong part costs that part's share
        assert 0 < score < max_score, f"{name}: {test_id} scored {score} of {max_score}"
    else:
        assert score == 0, f"{name} kept the points of {test_id}"
    words = catalogue(aid).KNOWN_MISTAKES[name][3]
    assert words.lower() in feedback_text(graded_class, student, aid).lower(), \
        f"the feedback for {name} does not say {words!r}"


def test_correct_cells_keep_their_points_next_to_mistakes(graded_class):
    # a mistake in one cell must not cost points in the cells it does not feed
    for aid in AIDS:
        round_ = mistake_rounds(aid)[0]
        cells = cell_rows(graded_class, f"mistakes0_{aid}", aid)
        untouched = [g for g in cells if g.removeprefix("test_") not in round_
                     and cells[g]["flag"] != "needs manual grading"]
        lost = [g for g in untouched if float(cells[g]["score"]) != float(cells[g]["max_score"])]
        # a cell may legitimately depend on a wrong entity (e.g. a network built from a wrong
        # layer); only cells that stand alone are asserted here
        independent = [g for g in lost if not _depends_on_round(aid, g, round_)]
        assert not independent, f"{aid}: {independent} lost points for mistakes elsewhere"


def _depends_on_round(aid, test_id, round_):
    import nbformat
    from conftest import source_path

    nb = nbformat.read(source_path(aid), as_version=4)
    cell = next(c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == test_id)
    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", cell.source))
    entity_names = set()
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") in round_:
            entity_names |= set(re.findall(r"^(?:class|def)\s+(\w+)", c.source, re.MULTILINE))
    return bool(names & entity_names)


def test_broken_submissions_get_zero_and_a_reason(graded_class):
    for aid in AIDS:
        broken = grade_row(graded_class, "dee_broken_file", aid)
        assert float(broken["score"]) == 0 and "not a readable notebook" in broken["reason"]
        # os._exit in the first solution cell: that cell's points are lost, the batch goes on
        dying = grade_row(graded_class, "eli_kernel_dies", aid)
        assert float(dying["score"]) < float(dying["max_score"])
        assert "ends the process" in dying["reason"]


def test_zipped_submissions_are_graded(graded_class):
    for aid in AIDS:
        cells = cell_rows(graded_class, "fay_zipped", aid)
        score, max_score = auto_score(cells)
        assert score == max_score > 0


def test_feedback_shows_no_hidden_tests(graded_class):
    for html in (graded_class["out"] / "feedback").rglob("*.html"):
        if html.parent.parent.name == "cheat_imports_grader":
            continue  # that student's own code says "from grader.reference import ..."
        text = html.read_text()
        for secret in ("BEGIN HIDDEN TESTS", "grader.checks", "hidden.check_", "grader.reference"):
            assert secret not in text, f"{html} shows {secret!r}"


def test_cell_grades_have_the_contract_columns(graded_class):
    header = (graded_class["out"] / "cell_grades.csv").read_text().splitlines()[0]
    assert header.split(",")[:5] == ["student_id", "assignment_id", "grade_id", "score",
                                     "max_score"]


@pytest.mark.parametrize("student", sorted(CHEATS))
def test_cheating_code_earns_nothing(graded_class, student):
    cells = cell_rows(graded_class, student, "a1_scalar_backprop")
    assert float(cells["test_add_gate"]["score"]) == 0, f"{student} got the AddGate points"
    others = {g: c for g, c in cells.items() if g != "test_add_gate"}
    assert all(float(c["score"]) == float(c["max_score"]) for c in others.values())


@pytest.mark.parametrize("student", sorted(CHEATS))
def test_cheats_are_flagged_for_review(graded_class, student):
    row = grade_row(graded_class, student, "a1_scalar_backprop")
    assert row["status"] == "review" and "review add_gate" in row["reason"], row


@pytest.mark.parametrize("student", ["tamper_deletes_test", "tamper_duplicates_test",
                                     "tamper_edits_and_renames_test"])
def test_changed_test_cells_are_repaired_and_flagged(graded_class, student):
    cells = cell_rows(graded_class, student, "a1_scalar_backprop")
    score, max_score = auto_score(cells)
    assert score == max_score == 100, "the instructor's test cells grade the correct code"
    assert "instructor's was graded" in cells["test_add_gate"]["flag"]
    assert grade_row(graded_class, student, "a1_scalar_backprop")["status"] == "review"


@pytest.mark.parametrize("student", sorted(BROKEN))
def test_every_broken_submission_gets_a_grade_and_a_reason(graded_class, student):
    row = grade_row(graded_class, student, "a1_scalar_backprop")
    cells = cell_rows(graded_class, student, "a1_scalar_backprop")
    assert len(cells) == 13, "every graded cell has a row"
    expected = BROKEN[student]
    if expected:
        assert float(row["score"]) == 0 and expected in row["reason"]
    elif student in BROKEN_ADD_GATE:
        # the broken cell loses its points, the rest of the notebook keeps them
        assert float(cells["test_add_gate"]["score"]) == 0
        assert float(row["score"]) == 95
    else:
        assert float(row["score"]) == 100, (row, {g: c["flag"] for g, c in cells.items()})


def test_regrading_gives_the_same_grades_without_double_counting(graded_class, tmp_path):
    import subprocess
    import sys

    from conftest import ROOT

    subs = tmp_path / "subs"
    for student in ("ada_correct", "bo_two_mistakes", "dee_broken_file"):
        src = graded_class["out"].parent / "submissions" / student / "a1_scalar_backprop"
        dst = subs / student / "a1_scalar_backprop"
        dst.mkdir(parents=True)
        for f in src.iterdir():
            (dst / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "out"
    runs = []
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "course.cli", "autograde", str(subs), "--out",
                        str(out)], cwd=ROOT, check=True, capture_output=True)
        runs.append((out / "grades.csv").read_text())
    assert runs[0] == runs[1]
    assert len(runs[1].splitlines()) == 1 + 3
    first = [r for r in graded_class["grades"] if r["student_id"] in
             ("ada_correct", "bo_two_mistakes", "dee_broken_file")
             and r["assignment_id"] == "a1_scalar_backprop"]
    assert sorted(r["score"] for r in first) == sorted(
        line.split(",")[2] for line in runs[1].splitlines()[1:])


def test_graded_submissions_reach_the_course_gradebook_for_the_formgrader(graded_class):
    from pathlib import Path

    from conftest import ROOT
    from nbgrader.api import Gradebook

    from grader.release import course_config

    aid, student = "a4_vanishing_gradients", "src_a4_vanishing_gradients"
    config = course_config(ROOT)
    with Gradebook(config.CourseDirectory.db_url) as gb:
        grades = [g for nb in gb.find_submission(aid, student).notebooks for g in nb.grades]
        written = [g for g in grades if g.cell_type == "markdown"]
        assert written and all(g.needs_manual_grade for g in written)
        auto = [g for g in grades if g.cell_type == "code"]
        assert auto and all(g.auto_score == g.max_score for g in auto)
        assert len(gb.find_assignment(aid).submissions) == len(
            [r for r in graded_class["grades"] if r["assignment_id"] == aid
             and r["status"] != "not graded"])
    notebook = Path(config.CourseDirectory.autograded_directory) / student / aid / f"{aid}.ipynb"
    assert notebook.exists(), "the formgrader shows the autograded notebook from here"


@pytest.mark.parametrize("aid", AIDS)
def test_feedback_pages_read_offline_and_name_each_cell(graded_class, aid):
    page = (graded_class["out"] / "feedback" / f"mistakes0_{aid}" / aid / f"{aid}.html").read_text()
    # no script from the web: formulas are MathML, drawn by the browser itself
    assert "cdnjs" not in page and "MathJax.js" not in page and "<script src=" not in page
    assert "<math" in page
    # the summary names every graded cell instead of a row of identical "Test cell" links
    assert "Test cell" not in page
    assert page.count('<li><a href="#test_') == page.count('<a name="test_')
    # the checks' sentences are marked up and wrap
    assert "<strong>Hidden checks:</strong>" in page and "pre-wrap" in page
