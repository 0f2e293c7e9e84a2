"""Late work's parts, fast: the penalty plugin nbgrader's AssignLatePenalties uses, the course
configuration's due dates and extensions, and where a submission's time is read from
(test_regrading.py grades late work with the real commands)."""

import zipfile
from datetime import datetime

import pytest
from traitlets.config import Config

from grader.late import CourseConfigError, PercentPerDayLate, late_work, read_timestamp
from grader.submissions import find_submissions

A1 = "a1_scalar_backprop"
DAY = 86400


@pytest.mark.parametrize(("seconds_late", "penalty"), [
    (1, 8.0),  # a started day counts
    (DAY, 8.0),
    (DAY + 1, 16.0),
    (12 * DAY, 80.0),  # never more than the score
])
def test_ten_percent_of_the_score_per_started_day(seconds_late, penalty):
    assert PercentPerDayLate().late_submission_penalty("ada", 80.0, seconds_late) == penalty


def config(**late):
    c = Config()
    for name, value in late.items():
        setattr(c.LateWork, name, value)
    return c


def test_due_dates_and_extensions_are_read_from_the_course_configuration():
    late = late_work(config(due_dates={A1: "2026-03-06 23:59:00 Europe/Berlin"},
                            extensions={A1: {"ada": {"days": 2, "hours": 3}}}), {A1})
    assert late.due_dates[A1].endswith("Europe/Berlin")
    assert late.extensions[A1]["ada"] == {"days": 2, "hours": 3}


@pytest.mark.parametrize(("late", "words"), [
    ({"due_dates": {"a9": "2026-03-06 23:59:00 UTC"}}, "'a9' is not an assignment"),
    ({"due_dates": {A1: "next friday, noonish"}}, "is not a time nbgrader can read"),
    ({"extensions": {A1: {"ada": 2}}}, "write it like {'days': 2}"),
    ({"extensions": {A1: {"ada": {"fortnights": 1}}}}, "write it like {'days': 2}"),
])
def test_an_unusable_configuration_is_refused_with_a_sentence(late, words):
    with pytest.raises(CourseConfigError, match="nbgrader_config.py") as refusal:
        late_work(config(**late), {A1})
    assert words in str(refusal.value)


def test_a_timestamp_is_read_as_nbgrader_reads_it(tmp_path):
    (tmp_path / "timestamp.txt").write_text("2026-03-07 01:30:00.123456 Europe/Berlin\n")
    assert read_timestamp(tmp_path) == (datetime(2026, 3, 7, 0, 30, 0, 123456), "")
    (tmp_path / "timestamp.txt").write_text("yesterday-ish")
    when, note = read_timestamp(tmp_path)
    assert when is None and "graded as on time" in note
    (tmp_path / "timestamp.txt").unlink()
    (tmp_path / "timestamp.txt").symlink_to(tmp_path / "elsewhere.txt")
    (tmp_path / "elsewhere.txt").write_text("2026-03-01 00:00:00 UTC")
    assert read_timestamp(tmp_path) == (None, "")  # a link is never followed


def test_a_submission_time_comes_from_the_students_folder_never_from_a_zip(tmp_path):
    subs = tmp_path / "subs"
    (subs / "ada" / A1).mkdir(parents=True)
    (subs / "ada" / A1 / f"{A1}.ipynb").write_text('{"cells": []}')
    (subs / "ada" / A1 / "timestamp.txt").write_text("2026-03-08 12:00:00 UTC")
    with zipfile.ZipFile(subs / "bob.zip", "w") as zf:  # a student's own zip: made by them
        zf.writestr(f"{A1}/{A1}.ipynb", '{"cells": []}')
        zf.writestr(f"{A1}/timestamp.txt", "2020-01-01 00:00:00 UTC")
    found = {s.student_id: s for s in find_submissions(subs, {A1}, tmp_path / "staging")}
    assert found["ada"].timestamp == datetime(2026, 3, 8, 12, 0)
    assert found["bob"].timestamp is None
