"""REPORT is kept across runs: summary.json holds every row, so `finalize` can write it again
and a run that grades one student or one download adds its rows without touching the others'.
Fast: hand-made results, no grading."""

from datetime import datetime

from grader.autograde import Result, load_report, merged_report, write_reports

A1, A4 = "a1_scalar_backprop", "a4_vanishing_gradients"


def result(student, aid, score, **extra):
    cells = [{"grade_id": "answer_1", "score": 0.0, "max_score": 7.0, "auto_score": None,
              "check": "", "manual": "needs manual grading"}]
    return Result(student, aid, score, 100.0, cells=cells, **extra)


def test_summary_json_gives_back_every_row(tmp_path):
    rows = [result("ada", A4, 80.0, late_penalty=8.0, lateness="submitted 1 day late",
                   timestamp=datetime(2026, 3, 8, 12, 0), comments={"answer_1": "No response."}),
            Result("invalid-1a2b3c4d", "unknown", status="not graded", reason="bad name")]
    write_reports(rows, tmp_path)
    assert load_report(tmp_path) == rows
    grades = (tmp_path / "grades.csv").read_text().splitlines()
    assert grades[0] == "student_id,assignment_id,score,max_score,late_penalty,status,reason"
    assert grades[1] == ("ada,a4_vanishing_gradients,80,100,8,graded,"
                         "submitted 1 day late; 7 points await manual grading")


def test_a_later_run_replaces_only_its_own_rows(tmp_path):
    write_reports([result("ada", A1, 90.0), result("bob", A1, 70.0),
                   Result("cy", "unknown", status="not graded", reason="no assignment found")],
                  tmp_path)
    page = tmp_path / "feedback" / "bob" / A1 / f"{A1}.html"
    before = page.read_bytes()
    again = [result("ada", A1, 95.0), result("cy", A1, 60.0)]
    write_reports(merged_report(load_report(tmp_path), again), tmp_path, pages=again)
    rows = {(r.student_id, r.assignment_id): r.score for r in load_report(tmp_path)}
    # ada's row replaced, bob's kept, cy's refusal replaced by the assignment now graded
    assert rows == {("ada", A1): 95.0, ("bob", A1): 70.0, ("cy", A1): 60.0}
    assert page.read_bytes() == before


def test_no_report_yet_is_an_empty_one(tmp_path):
    assert load_report(tmp_path) == []
    (tmp_path / "summary.json").symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_text("[]")
    assert load_report(tmp_path) == []  # never read through a link
