"""Hidden inputs per student: derived from the course secret, the student id and the check."""

import numpy as np
import pytest

from grader import course_secret
from grader.checks import a2_vector_backprop


@pytest.fixture
def fresh_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("BACKPROP_COURSE_SECRET", raising=False)
    monkeypatch.setenv("BACKPROP_COURSE_SECRET_FILE", str(tmp_path / "config" / "secret"))
    course_secret.course_secret.cache_clear()
    yield tmp_path / "config" / "secret"
    course_secret.course_secret.cache_clear()
    course_secret.grading_student("")


def seeds_of(student):
    course_secret.grading_student(student)
    return [course_secret.secret_seed("a2_vector_backprop", k) for k in range(5)]


def test_the_secret_is_made_once_outside_the_repository_and_kept_private(fresh_secret):
    first = seeds_of("ada")
    assert fresh_secret.exists() and oct(fresh_secret.stat().st_mode & 0o777) == "0o600"
    course_secret.course_secret.cache_clear()
    assert seeds_of("ada") == first, "re-grading gives the same inputs"


def test_students_and_checks_never_share_hidden_inputs(fresh_secret):
    ada, bo = seeds_of("ada"), seeds_of("bo")
    assert len(set(ada)) == 5 and not set(ada) & set(bo)
    course_secret.grading_student("ada")
    x_ada = a2_vector_backprop._jacobian_cases()[0][2]
    course_secret.grading_student("bo")
    x_bo = a2_vector_backprop._jacobian_cases()[0][2]
    assert x_ada.shape == x_bo.shape and not np.allclose(x_ada, x_bo)


def test_a_new_secret_means_new_inputs(fresh_secret):
    before = seeds_of("ada")
    fresh_secret.write_text("another-secret-of-at-least-16-chars\n")
    course_secret.course_secret.cache_clear()
    assert not set(before) & set(seeds_of("ada"))


def test_a_too_short_secret_is_refused_with_a_sentence(fresh_secret):
    fresh_secret.parent.mkdir(parents=True)
    fresh_secret.write_text("short\n")
    with pytest.raises(RuntimeError, match="too short"):
        seeds_of("ada")


def _first_use(barrier, results):
    barrier.wait()  # every process asks for the secret at the same moment
    try:
        results.put(course_secret.course_secret())
    except Exception as exc:  # noqa: BLE001  (what the test reports)
        results.put(exc)


def test_workers_starting_at_once_agree_on_one_secret(fresh_secret):
    """The grading workers of a course's first run all make the secret at once: they must end
    with one secret, and none may read it half written."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for attempt in range(20):
        course_secret.secret_file().unlink(missing_ok=True)
        barrier, results = context.Barrier(6), context.Queue()
        workers = [context.Process(target=_first_use, args=(barrier, results)) for _ in range(6)]
        for worker in workers:
            worker.start()
        got = [results.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join()
        assert not [g for g in got if isinstance(g, Exception)], (attempt, got)
        assert len(set(got)) == 1 and got[0] == fresh_secret.read_text().strip().encode()
    assert [p.name for p in fresh_secret.parent.iterdir()] == ["secret"]  # nothing left over
