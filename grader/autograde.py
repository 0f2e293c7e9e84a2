"""`backprop-course autograde SUBMISSIONS --out OUT`: grade a whole class with real nbgrader.

Each submission is graded in its own scratch course folder with its own copy of the gradebook,
so submissions run in parallel (one nbgrader process each, nbgrader issue #174) and a broken
submission can damage nothing but its own copy. The results are merged into OUT.
"""

import contextlib
import csv
import gc
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from tqdm import tqdm

from .editions import available_languages, submission_language
from .feedback_page import page_text
from .gradebook import (
    IN_GRADEBOOK,
    NEEDS_MANUAL,
    feedback_pages,
    open_course,
    read_back,
    recorder,
    refresh_late_penalties,
)
from .i18n import use_language
from .isolated import isolated_verdicts, suspicious_code
from .lms import find_lms_submissions
from .nbgrader_run import nbgrader_env
from .release import assignment_ids, edition_dirs, release
from .sandbox import (
    SandboxUnavailable,
    probe_results,
    sandbox_problem,
    use_probe_results,
    use_unsafe_no_sandbox,
)
from .sanitize import sanitize_folder, write_sanitized
from .submissions import UNKNOWN_ASSIGNMENT, Submission, find_submissions

# a run's scratch folder, and the folder of its submissions' work folders (SCRATCH/work/NNNNN),
# each with its own throwaway copy of the gradebook
SCRATCH_PREFIX, WORKDIRS = "backprop-autograde-", "work"
# seconds per notebook cell before nbgrader interrupts the kernel
CELL_TIMEOUT = int(os.environ.get("BACKPROP_COURSE_CELL_TIMEOUT", "30"))
WORKER_MEMORY_BYTES = 6 * 1024**3  # a worker and the kernels it starts (a runaway allocation)


@dataclass
class Result:
    student_id: str
    assignment_id: str
    score: float = 0.0
    max_score: float = 0.0
    status: str = "graded"
    reason: str = ""  # what autograde found; grades.csv adds lateness and pending hand grading
    # dicts: grade_id, score, max_score, auto_score (None: a written answer for a person),
    # check (what the checks say about the cell), manual (who still needs to look)
    cells: list = field(default_factory=list)
    feedback: dict = field(default_factory=dict)  # file name -> its page in the course folder
    late_penalty: float = 0.0  # points taken off by nbgrader's late-penalty plugin
    lateness: str = ""  # "submitted 2 days late (penalty 20 points)"
    timestamp: object = None  # when it was submitted (nbgrader's timestamp.txt), naive UTC
    comments: dict = field(default_factory=dict)  # grade_id -> nbgrader's auto comment


# The course's feedback page (grader/templates/feedback/): nbgrader's page read offline, with
# formulas as MathML, wrapping sentences and a summary that names each cell. nbgrader's API
# insists on its template *name*, "feedback"; ours is a file in a folder of that name, on
# nbgrader's, set for GenerateFeedback only (the formgrader's pages keep their own).
FEEDBACK_TEMPLATE = "backprop_feedback.html.j2"


def feedback_template_dirs():
    import nbgrader

    nbgrader_templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / \
        "templates"
    return [str(Path(__file__).parent / "templates"), str(nbgrader_templates)]


def feedback_page_config(config=None):
    """config (a traitlets Config, made if None) with the course's feedback page set."""
    from traitlets.config import Config

    config = Config() if config is None else config
    config.GenerateFeedback.exporter_class = "grader.feedback_exporter.FeedbackExporter"
    config.GenerateFeedback.HTMLExporter.template_file = FEEDBACK_TEMPLATE
    config.GenerateFeedback.HTMLExporter.extra_template_basedirs = feedback_template_dirs()
    # the page's own words in the submission's language (grader/feedback_page.py)
    config.GenerateFeedback.HTMLExporter.filters = {"page_text": page_text}
    return config


def _nbgrader_api(workdir):
    """nbgrader's own Python API on a course folder of one submission (imports paid once per
    worker). autograde skips its Execute step: student code runs only in the sandbox, so
    nbgrader restores the instructor's cells and records the grades, and the isolated checks
    supply the scores."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(workdir)
    c.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    c.CourseDirectory.course_id = "backprop-course"
    # nbgrader's own, but for its metadata check, whose schema is checked once per worker
    # (grader/cell_metadata.py)
    c.Autograde.sanitize_preprocessors = [
        "nbgrader.preprocessors.ClearOutput",
        "nbgrader.preprocessors.DeduplicateIds",
        "nbgrader.preprocessors.OverwriteKernelspec",
        "nbgrader.preprocessors.OverwriteCells",
        "grader.cell_metadata.CheckCellMetadata",
    ]
    c.Autograde.autograde_preprocessors = [
        "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
        "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades",
        # (no CheckCellMetadata here: nbgrader's sanitising pass has just checked the metadata,
        # which it restored from the gradebook; a second jsonschema pass cost ~50 ms a notebook.
        # No AssignLatePenalties: this gradebook is a scratch copy, thrown away; the course
        # gradebook's late penalties are worked out when the result is recorded there.)
    ]
    # nbgrader makes autograded notebooks read-only (444), but they are written again here
    # (the checks' sentences, sanitising): only root may write a read-only file
    c.Autograde.permissions = 644
    # (the feedback page is made from the course gradebook: _from_gradebook)
    return NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)


def grade_submission(task):
    """Grade one student's assignment in its workdir; never raises for a broken submission.

    Points come from the isolated checks (grader.isolated): the student's code runs in a
    sandbox and is compared here. nbgrader restores the instructor's cells to produce the
    autograded notebook; where the notebook's own run passed a cell that the isolated check
    failed, the cell is flagged for review. The feedback page comes later, from the course
    gradebook.
    """
    result = Result(task.sub.student_id, task.sub.assignment_id, timestamp=task.sub.timestamp)
    if task.sub.problem:  # refused when found: a bad name, a link, a zip over its caps
        result.status, result.reason = "not graded", task.sub.problem
        return _zero_cells(result, task.grade_cells)
    workdir = task.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    dest = workdir / "submitted" / task.sub.student_id / task.sub.assignment_id
    dest.mkdir(parents=True)
    shutil.copy(task.master_db, workdir / "gradebook.db")
    problems = _place_notebooks(task.sub.notebooks, task.expected_names, dest)
    if problems:
        result.status, result.reason = "not graded", "; ".join(
            filter(None, [problems, task.sub.note]))
        return _zero_cells(result, task.grade_cells)
    verdicts, flags, notes, suspicious = {}, {}, [], []
    for name in task.expected_names:
        source_nb = nbformat.read(edition_dirs(task.root, task.lang)[0] / task.sub.assignment_id
                                  / name, as_version=4)
        submitted_nb = nbformat.read(dest / name, as_version=4)
        with use_language(task.lang):  # the checks' sentences in the submission's language
            cell_verdicts, submission_notes = isolated_verdicts(source_nb, submitted_nb,
                                                                 task.sub.student_id)
        verdicts.update(cell_verdicts)
        notes += submission_notes
        suspicious += suspicious_code(source_nb, submitted_nb)
        released_nb = nbformat.read(task.release_dir / task.sub.assignment_id / name,
                                    as_version=4)
        flags.update(test_cell_changes(released_nb, submitted_nb))
    api = _nbgrader_api(workdir)
    graded = api.autograde(task.sub.assignment_id, task.sub.student_id, force=True, create=True)
    for gid, max_score, cell_type in task.grade_cells:
        if cell_type == "markdown":  # a written answer: a person grades it in the formgrader
            result.cells.append({"grade_id": gid, "score": 0.0, "max_score": float(max_score),
                                 "auto_score": None, "check": "", "manual": NEEDS_MANUAL})
            continue
        verdict = verdicts.get(gid)
        score = float(max_score) if verdict and verdict.passed else (
            round(float(max_score) * verdict.fraction, 2) if verdict else 0.0)
        cell_notes = [flags.get(gid, ""), verdict.flag if verdict else "not checked"]
        result.cells.append({"grade_id": gid, "score": score, "max_score": float(max_score),
                             "auto_score": score, "manual": "",
                             "check": "; ".join(n for n in cell_notes if n),
                             "feedback": verdict.message if verdict else ""})
    _total(result)
    if not graded["success"]:
        result.reason = "nbgrader could not run the notebook: " + _last_error(
            graded.get("log", "") + graded.get("error", ""))
    flagged = [c["grade_id"] for c in result.cells if c["check"]]
    if flagged or suspicious or task.sub.note:
        result.status = "review"
    notes += [*suspicious, task.sub.note]  # the note: what was odd about where it was found
    if flagged:
        notes.append("flagged: " + ", ".join(flagged))
    result.reason = "; ".join(filter(None, [result.reason, *notes]))
    recorded = _comments_from_gradebook(workdir, result)
    # nothing the student wrote may run in the feedback page, nor in the instructor's
    # formgrader, which shows the autograded notebook left here (grader/sanitize.py); the
    # feedback page is made from the course gradebook once the batch is recorded there, by
    # the parent after every kernel has ended
    folder = workdir / "autograded" / task.sub.student_id / task.sub.assignment_id
    if recorded:  # each check's sentence under its test cell, then sanitised: one write
        for path in sorted(folder.glob("*.ipynb")):
            write_sanitized(with_verdicts(nbformat.read(path, as_version=4), verdicts, task.lang),
                            path)
    else:
        sanitize_folder(folder)
    return result


def test_cell_changes(released_nb, submitted_nb):
    """{test grade_id: note} for test cells the student deleted, duplicated, edited or re-flagged.
    The instructor's version is what gets graded either way; the note is for the instructor."""
    submitted = {}
    for cell in submitted_nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        submitted.setdefault(gid, []).append(cell)
    notes = {}
    for cell in released_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        copies = submitted.get(meta["grade_id"], [])
        if not copies:
            notes[meta["grade_id"]] = "test cell deleted or renamed; the instructor's was graded"
        elif len(copies) > 1:
            notes[meta["grade_id"]] = "test cell duplicated; the instructor's was graded"
        elif copies[0].source.strip() != cell.source.strip():
            notes[meta["grade_id"]] = "test cell edited; the instructor's was graded"
        elif not copies[0].metadata.get("nbgrader", {}).get("grade"):
            notes[meta["grade_id"]] = "test cell re-flagged; the instructor's was graded"
    return notes


def _comments_from_gradebook(workdir, result):
    """nbgrader's comments ("No response." for an answer left as released) from this
    submission's scratch gradebook into the result; False when the gradebook has no entry for
    it (the plain feedback is written instead). The scores are the isolated checks', recorded in
    the course gradebook (gradebook.recorder): the scratch copy is thrown away."""
    try:
        with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
            submission = gb.find_submission(result.assignment_id, result.student_id)
            for nb in submission.notebooks:
                for comment in nb.comments:
                    result.comments[comment.name] = comment.auto_comment
    except Exception:  # noqa: BLE001  (no gradebook entry)
        return False
    return True


def with_verdicts(nb, verdicts, lang="en"):
    """The autograded notebook NB with each check's sentence under its test cell, in its
    language (lang, kept for the feedback page's words)."""
    if lang != "en":
        nb.metadata["backprop_course"] = {"lang": lang}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        verdict = verdicts.get(gid)
        if verdict is None or cell.cell_type != "code":
            continue
        if verdict.passed:
            cell.outputs.append(nbformat.v4.new_output(
                "stream", name="stdout", text=page_text("Hidden checks: passed.", lang) + "\n"))
        else:
            cell.outputs.append(nbformat.v4.new_output("display_data", data={
                "text/html": sentence_html(verdict.message, lang),
                "text/plain": f"{page_text('Hidden checks:', lang)} {verdict.message}"}))
    return nb


def sentence_html(message, lang="en"):
    """A check's sentence as HTML: escaped, with its *emphasis* and `code` marked up (the
    sentences are written in that much markdown)."""
    import html
    import re

    text = html.escape(message, quote=False)  # text, not an attribute: quotes stay as typed
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", text)
    return f"<div><strong>{html.escape(page_text('Hidden checks:', lang))}</strong> {text}</div>"


def plain_feedback(result):
    """A feedback page made without nbgrader, for submissions it could not grade."""
    import html

    rows = "".join(
        f"<tr><td>{html.escape(c['grade_id'])}</td><td>{c['score']:g} / {c['max_score']:g}</td>"
        f"<td>{html.escape(c.get('feedback', ''))}</td></tr>" for c in result.cells)
    reason = html.escape(result.reason if result.status == "not graded" else "")
    return (f"<html><body><h1>{html.escape(result.assignment_id)}: {result.score:g} / "
            f"{result.max_score:g}</h1><p>{reason}</p>"
            f"<table><tr><th>cell</th><th>points</th><th>feedback</th></tr>{rows}</table>"
            "</body></html>")


def _zero_cells(result, grade_cells):
    for gid, max_score, _ in grade_cells:
        result.cells.append({"grade_id": gid, "score": 0.0, "max_score": float(max_score),
                             "auto_score": 0.0, "manual": "",
                             "check": "not graded: " + result.reason})
    return _total(result)


def _total(result):
    result.score = sum(c["score"] for c in result.cells)
    result.max_score = sum(c["max_score"] for c in result.cells)
    return result


def _place_notebooks(paths, expected_names, dest):
    """Copy the submitted notebooks under the names nbgrader expects; report what is unusable."""
    readable = {}
    for path in paths:
        try:
            nbformat.read(path, as_version=4)
        except Exception as exc:  # noqa: BLE001  (any unreadable file is the student's problem)
            return f"{path.name} is not a readable notebook ({type(exc).__name__})"
        readable[path.name] = path
    if len(expected_names) == 1 and len(readable) == 1:
        # one notebook submitted under another name (e.g. "a1 (copy).ipynb"): grade it anyway
        (only,) = readable.values()
        shutil.copy(only, dest / expected_names[0])
        return ""
    missing = [name for name in expected_names if name not in readable]
    for name in expected_names:
        if name in readable:
            shutil.copy(readable[name], dest / name)
    return f"missing notebook(s): {', '.join(missing)}" if missing else ""


# What nbgrader's log says -> the reason an instructor reads in grades.csv.
_KNOWN_FAILURES = [
    ("DeadKernelError", ("the Python kernel died while running the notebook "
                        "(the code exits the process, crashes or runs out of memory)")),
    ("CellTimeoutError", f"a cell ran longer than {CELL_TIMEOUT} s and was stopped"),
    ("TimeoutError", f"a cell ran longer than {CELL_TIMEOUT} s and was stopped"),
]


def _last_error(log):
    for needle, reason in _KNOWN_FAILURES:
        if needle in log:
            return reason
    lines = [ln.strip() for ln in log.splitlines()
             if ("Error" in ln or "ERROR" in ln) and "Please see" not in ln]
    return (lines[-1] if lines else "nbgrader could not grade this submission")[:300]


def _master_gradebook(root, scratch, lang="en", cache=None):
    """_make_master_gradebook's (master db, {assignment: cells}, {assignment: notebook names})
    and its release in scratch. With a cache folder (the course's grading folder) they are
    made once for each version of the edition's solutions and of nbgrader (~3 s) and reused:
    workers only ever copy the master db."""
    if cache is None:
        return _make_master_gradebook(root, scratch, lang)
    import hashlib

    import nbgrader

    suffix = "" if lang == "en" else f"-{lang}"
    digest = hashlib.sha256(f"{nbgrader.__version__} {lang}\n".encode())
    # and how the release is made: the stubs of grader/release.py, the course's configuration
    for path in (Path(__file__).with_name("release.py"), Path(root) / "nbgrader_config.py"):
        digest.update(path.read_bytes())
    for path in sorted(edition_dirs(root, lang)[0].rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(root)}\n".encode() + path.read_bytes())
    kept = Path(cache) / "master-gradebooks" / digest.hexdigest()[:20]
    if not (kept / "made.json").is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        made = Path(tempfile.mkdtemp(prefix=".making-", dir=kept.parent))
        db, cells, names = _make_master_gradebook(root, made, lang)
        shutil.rmtree(made / f"source{suffix}")
        (made / "made.json").write_text(json.dumps({"db": db.name, "cells": cells,
                                                    "names": names}))
        try:
            os.rename(made, kept)  # all or nothing; another run may have made it meanwhile
        except OSError:
            shutil.rmtree(made, ignore_errors=True)
    made = json.loads((kept / "made.json").read_text())
    cells = {aid: [tuple(c) for c in rows] for aid, rows in made["cells"].items()}
    shutil.copytree(kept / f"release{suffix}", Path(scratch) / f"release{suffix}")
    return kept / made["db"], cells, made["names"]


def _make_master_gradebook(root, scratch, lang="en"):
    """A gradebook holding every assignment's cells, made by real generate_assignment.

    It is made from a copy of solutions/ (LANG/solutions/ for a translation: nbgrader restores
    the instructor's cells in the submission's language) without the hidden tests: the points
    come from the isolated checks, so the kernel run (feedback only) need not run them, nor
    import grader.
    """
    suffix = "" if lang == "en" else f"-{lang}"
    db = Path(scratch) / f"master{suffix}.db"
    db.unlink(missing_ok=True)
    visible = Path(scratch) / f"source{suffix}"
    for aid in assignment_ids(root):
        (visible / aid).mkdir(parents=True)
        for path in (edition_dirs(root, lang)[0] / aid).glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("grade"):
                    cell.source = without_hidden_tests(cell.source)
            nbformat.write(nb, visible / aid / path.name)
    release(root, release_dir=Path(scratch) / f"release{suffix}", db_url=f"sqlite:///{db}",
            source_dir=visible, lang=lang)
    cells, names = {}, {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for aid in assignment_ids(root):
            assignment = gb.find_assignment(aid)
            names[aid] = [nb.name + ".ipynb" for nb in assignment.notebooks]
            cells[aid] = [(gc.name, gc.max_score, gc.cell_type) for nb in assignment.notebooks
                          for gc in nb.grade_cells]
    return db, cells, names


def without_hidden_tests(source):
    lines, hidden = [], False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines).strip("\n")


@dataclass
class Task:
    """Everything a worker process needs to grade one submission."""

    sub: Submission
    root: Path
    master_db: Path
    release_dir: Path
    expected_names: list
    grade_cells: list  # (grade_id, max_score, cell_type) of the assignment
    workdir: Path
    out_dir: Path
    unsafe_no_sandbox: bool = False  # --unsafe-no-sandbox: student code runs unisolated
    lang: str = "en"  # the submission's language edition (grader/editions.py)
    # where the autograded notebook is kept for the course gradebook, and where the result is
    # written down as soon as it is known (an interrupted run resumes from there)
    kept: Path = None
    fingerprint: str = ""  # what the result depends on (unfinished_run)
    # this machine's sandbox probe (local workers only): a worker need not make its own (~1 s)
    probed: dict = None


def autograde(root, submissions, out_dir, jobs=None, progress=True,
              unsafe_no_sandbox=False, student=None, assignment=None, scheduler=None):
    """Grade the submissions, record them in the course gradebook and write OUT/grades.csv,
    OUT/cell_grades.csv, OUT/feedback/ (pages made from the gradebook). SUBMISSIONS is a folder
    (grader/submissions.py) or an LMS's download zip (grader/lms.py). student and assignment
    grade only those; rows of OUT for others stay as they were. scheduler: a Dask scheduler's
    address, to grade on that cluster instead of local processes (grader/cluster.py).

    Refuses (SandboxUnavailable) when the sandbox does not work on this machine, unless
    unsafe_no_sandbox, which runs student code without isolation and marks every row."""
    jobs = jobs or os.cpu_count() or 1
    # locally, the same worker processes grade and then make the feedback pages; they start
    # first, so that their imports (about a second) overlap the checks and preparations
    pool = None if scheduler else _started(_new_pool(jobs), jobs)
    with pool or contextlib.nullcontext():
        return _autograde(root, submissions, out_dir, jobs, progress, unsafe_no_sandbox,
                          student, assignment, scheduler, pool)


def _autograde(root, submissions, out_dir, jobs, progress, unsafe_no_sandbox, student,
               assignment, scheduler, pool):
    use_unsafe_no_sandbox(unsafe_no_sandbox)
    problem = sandbox_problem()
    if problem:
        raise SandboxUnavailable(
            f"Student code runs only in the grading sandbox, and it does not work here: "
            f"{problem} (Only on a machine where every submission is trusted: "
            "--unsafe-no-sandbox grades without it.)")
    root, out_dir = Path(root), Path(out_dir)
    make_report_folder(out_dir)
    course = open_course(root)  # an unusable nbgrader_config.py is refused before grading
    if assignment and assignment not in assignment_ids(root):
        raise NothingToGrade(f"'{assignment}' is not an assignment of this course: give one "
                             f"of {', '.join(assignment_ids(root))}")
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    try:
        # the master gradebooks are kept next to the course's (sqlite) gradebook
        grading = Path(course.db_url.removeprefix("sqlite:///")).parent if \
            course.db_url.startswith("sqlite:///") else None
        master_db, grade_cells, names = _master_gradebook(root, scratch, cache=grading)
        if Path(submissions).is_file():
            subs, students, remarks = find_lms_submissions(
                Path(submissions), set(grade_cells), scratch, assignment)
        else:
            subs, students, remarks = find_submissions(submissions, set(grade_cells),
                                                       scratch), {}, {}
        subs = _selected(subs, student, assignment)
        # each submission's language edition, and a master gradebook for each one found
        available = available_languages(root)
        langs = [submission_language(sub.notebooks, available) for sub in subs]
        editions = {"en": (master_db, scratch / "release")}
        for lang in sorted(set(langs) - {"en"}):
            editions[lang] = (_master_gradebook(root, scratch, lang, cache=grading)[0],
                              scratch / f"release-{lang}")
        # (a refused entry may have no known assignment: it gets a row without cells)
        # each result is written down as it comes (with a sqlite gradebook, next to it): the
        # same command run again after an interruption grades only what is left
        unfinished = unfinished_run(grading, out_dir) if grading else None
        kept = unfinished / "autograded" if unfinished else scratch / "autograded"
        tasks = [Task(sub, root, *editions[lang], names.get(sub.assignment_id, []),
                      grade_cells.get(sub.assignment_id, []), scratch / WORKDIRS / f"{i:05d}",
                      out_dir, unsafe_no_sandbox, lang, kept)
                 for i, (sub, lang) in enumerate(zip(subs, langs))]
        for task in tasks if unfinished else ():
            task.fingerprint = submission_fingerprint(task)
        probed = probe_results() if pool and not unsafe_no_sandbox else None
        for task in tasks:
            task.probed = probed
        results = [_graded_before(task) for task in tasks]
        left = [task for task, result in zip(tasks, results) if result is None]
        if len(left) < len(tasks):
            print(f"Resuming an interrupted run into {out_dir}: {len(tasks) - len(left)} of "
                  f"{len(tasks)} submissions were graded already; grading the other "
                  f"{len(left)}.", file=sys.stderr)
        # each result is recorded in the course gradebook as it comes, while the workers grade
        with tqdm(total=len(tasks), initial=len(tasks) - len(left), desc="grading",
                  unit="submission", disable=not progress) as bar, \
                recorder(course, kept, students, scratch,
                         {task.sub.assignment_id for task in tasks}) as record:
            for result in filter(None, results):  # graded by the interrupted run
                record(result)

            def done(result):
                record(result)
                bar.update(1)

            if scheduler and left:  # imported only here: a local run starts no Dask
                from .cluster import grade_on_dask

                graded = grade_on_dask(left, scheduler, done)
            else:
                graded = _grade_all(left, jobs, done, pool) if left else []
        graded = iter(graded)
        results = [r if r is not None else next(graded) for r in results]
        for r in results:  # e.g. "Canvas marked it late": for the instructor, not a flag
            r.reason = "; ".join(filter(None, [r.reason, remarks.get(r.student_id, "")]))
        _from_gradebook(course, results, jobs, pool)
        write_reports(merged_report(load_report(out_dir), results), out_dir, pages=results)
        if unfinished:  # everything is in the gradebook and the report now
            shutil.rmtree(unfinished, ignore_errors=True)
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class NothingToGrade(ValueError):
    """--student or --assignment matched no submission; the message says what was found."""


def _selected(subs, student, assignment):
    chosen = [s for s in subs if (student is None or s.student_id == student)
              and (assignment is None or s.assignment_id == assignment)]
    if (student or assignment) and not chosen:
        found = sorted({s.student_id for s in subs})
        wanted = " and ".join(filter(None, [student and f"student '{student}'",
                                             assignment and f"assignment '{assignment}'"]))
        raise NothingToGrade(
            f"No submission of {wanted} was found in SUBMISSIONS (students found: "
            f"{', '.join(found[:20]) or 'none'}{' ...' if len(found) > 20 else ''}): check the "
            "id, or the folder given")
    return chosen


def finalize(root, out_dir, jobs=None):
    """After hand grading: rewrite OUT's grades.csv, cell_grades.csv and every feedback page
    from the course gradebook (hand-graded points and comments, late penalties worked out again
    on the new scores). Grades nothing, so no submission is needed."""
    out_dir = Path(out_dir)
    report = load_report(out_dir)
    if not report:
        raise ReportFolderError(
            f"{out_dir} holds no report of `backprop-course autograde` (no summary.json): give "
            "the folder that autograde's --out wrote")
    course = open_course(root)
    refresh_late_penalties(course, report)
    missing = _from_gradebook(course, report, jobs or os.cpu_count() or 1)
    if missing:
        print(f"{len(missing)} graded row(s) of {out_dir} are not in the gradebook "
              f"{course.db_url} (e.g. {missing[0].student_id}, {missing[0].assignment_id}): "
              "their rows and pages are left as they were. Was the report graded with another "
              "course folder or BACKPROP_COURSE_SCRATCH?", file=sys.stderr)
    left = {(r.student_id, r.assignment_id) for r in missing}
    write_reports(report, out_dir,
                  pages=[r for r in report if (r.student_id, r.assignment_id) not in left])
    return report


def _from_gradebook(course, results, jobs, pool=None):
    """Scores, flags, late penalties and feedback pages as the course gradebook has them; the
    pages made by up to `jobs` processes (about a quarter of a second each): pool's, already
    started, when given. Returns the graded results the gradebook does not have."""
    from traitlets.config import Config

    missing = read_back(course, results)
    keys = [(r.student_id, r.assignment_id) for r in results if r.status in IN_GRADEBOOK]
    # the course's feedback page: offline formulas, wrapping sentences, a named summary (hidden
    # tests stripped: nbgrader_config.py's GenerateFeedback)
    page = feedback_page_config(Config())
    # defence in depth (the notebook is sanitised already): outputs' HTML cleaned, no scripts
    page.HTMLExporter.sanitize_html = True
    # a new worker's start costs a few pages; the grading workers are started already
    workers = max(1, min(jobs, len(keys) // (1 if pool else PAGES_PER_WORKER)))
    if workers == 1:
        pages, problem = feedback_pages(course.root, keys, page)
    else:
        pages, problems = {}, []
        args = [course.root] * workers, [keys[i::workers] for i in range(workers)], \
            [page] * workers
        try:
            done = list(pool.map(feedback_pages, *args)) if pool else None
        except BrokenProcessPool:  # a submission crashed a grading worker
            done = None
        if done is None:
            with _new_pool(workers) as fresh:
                done = list(fresh.map(feedback_pages, *args))
        for part, problem in done:
            pages.update(part)
            problems.append(problem)
        problem = next(filter(None, problems), "")
    if problem:
        print(f"The course's feedback page template ({FEEDBACK_TEMPLATE}) could not be used "
              f"({problem}): nbgrader's own feedback pages were written instead.",
              file=sys.stderr)
    for r in results:
        r.feedback = pages.get((r.student_id, r.assignment_id), {})
    return missing


PAGES_PER_WORKER = 8


UNSAFE_NOTE = "UNSAFE: graded with --unsafe-no-sandbox, the student's code was not isolated"


def _grade_task(task):
    """One submission, start to finish, in a worker process."""
    use_unsafe_no_sandbox(task.unsafe_no_sandbox)
    use_probe_results(task.probed or {})
    sanitized = False
    try:
        result = grade_submission(task)
        sanitized = True  # its last step sanitises the autograded notebook
    except Exception as exc:  # noqa: BLE001  (one submission must never stop the batch)
        result = _zero_cells(Result(task.sub.student_id, task.sub.assignment_id, status="error",
                                    reason=f"grading failed: {type(exc).__name__}: {exc}"[:300]),
                             task.grade_cells)
    if task.unsafe_no_sandbox:
        result.reason = "; ".join(filter(None, [UNSAFE_NOTE, result.reason]))
    graded = task.workdir / "autograded" / task.sub.student_id / task.sub.assignment_id
    kept = task.kept / task.sub.student_id / task.sub.assignment_id
    shutil.rmtree(kept, ignore_errors=True)
    if graded.is_dir() and result.status != "not graded":
        if not sanitized:  # grade_submission failed before it sanitised
            sanitize_folder(graded)
        shutil.copytree(graded, kept)
    forget_scratch_engine()
    shutil.rmtree(task.workdir, ignore_errors=True)  # bounded disk however large the class
    if task.fingerprint:  # written last: a result on disk has its notebook kept too
        write_atomically(task.kept.parent / "results" / f"{task.fingerprint}.json",
                         json.dumps(result_row(result)))
    return result


def _graded_before(task):
    """The result an interrupted run wrote down for this very submission, or None."""
    if not task.fingerprint:
        return None
    path = task.kept.parent / "results" / f"{task.fingerprint}.json"
    try:
        result = result_from_row(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    notebook = task.kept / task.sub.student_id / task.sub.assignment_id
    if result.status in IN_GRADEBOOK and not notebook.is_dir():
        return None  # its autograded notebook is gone: grade it again
    return result


def write_atomically(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{os.getpid()}")
    fresh.write_text(text)
    os.replace(fresh, path)


def unfinished_run(grading, out_dir):
    """The folder where a run into out_dir writes down each result as it comes (and keeps
    its autograded notebooks), so that the same command run again after an interruption
    grades only what is left. Removed once the run has recorded everything."""
    import hashlib

    name = hashlib.sha256(str(Path(out_dir).resolve()).encode()).hexdigest()[:16]
    return Path(grading) / "unfinished-runs" / name


def submission_fingerprint(task):
    """What a submission's result depends on: who, what, which notebooks (their bytes), how
    it was found, the edition's master gradebook (it names the solutions' version) and the
    sandbox setting."""
    import hashlib

    sub = task.sub
    digest = hashlib.sha256(json.dumps(
        [sub.student_id, sub.assignment_id, sub.problem, sub.note, str(sub.timestamp),
         task.lang, str(task.master_db), task.unsafe_no_sandbox,
         [path.name for path in sub.notebooks]]).encode())
    for path in sub.notebooks:
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:32]


def result_row(result):
    """A Result as JSON-ready data (its feedback pages left out), as summary.json has it."""
    return {**{k: v for k, v in vars(result).items() if k != "feedback"},
            "timestamp": result.timestamp.isoformat() if result.timestamp else None}


def result_from_row(row):
    known = {k: v for k, v in row.items() if k in Result.__dataclass_fields__}
    if known.get("timestamp"):
        known["timestamp"] = datetime.fromisoformat(known["timestamp"])
    return Result(**known)


def _worker_init(environment=None):
    """Set up a grading worker. environment: the grading process's, as it is when the pool
    starts (a worker forked from the fork server would otherwise have the server's, as it was
    when the server started)."""
    import resource
    import warnings

    # inherited by the notebook kernels this worker starts: a student's runaway allocation
    # fails with MemoryError in that kernel instead of taking the machine down
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    if environment is not None:
        os.environ.clear()
        os.environ.update(environment)
    os.environ.update(nbgrader_env())
    # nbgrader's own SQLAlchemy session warnings are noise in an instructor's terminal
    warnings.filterwarnings("ignore", message=".*not in session.*")
    import nbgrader.api
    import nbgrader.apps  # (its import paid once per worker, not per submission)
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "connect", _no_sync_for_scratch_gradebooks)
    nbgrader.api.create_engine = _scratch_gradebook_engine  # the name Gradebook() calls
    # what is imported by now lives as long as the worker: the garbage collector need not walk
    # it again at every collection (and it stays shared with the fork server's pages)
    gc.freeze()


_SCRATCH_ENGINE = {}  # {url: engine} of the scratch gradebook this worker is grading with


def _scratch_gradebook_engine(url, **options):
    """nbgrader's create_engine in a grading worker. nbgrader opens a submission's scratch
    gradebook about ten times while grading it, each time with a new SQLAlchemy engine whose
    queries are all compiled anew; the worker keeps one engine for the scratch gradebook of the
    submission it grades (its connections are still closed whenever nbgrader closes the
    gradebook). Any other database gets a new engine, as nbgrader makes it."""
    from sqlalchemy import create_engine

    if not _is_scratch_gradebook(str(url).removeprefix("sqlite:///")):
        return create_engine(url, **options)
    if url not in _SCRATCH_ENGINE:
        forget_scratch_engine()
        _SCRATCH_ENGINE[url] = create_engine(url, **options)
    return _SCRATCH_ENGINE[url]


def forget_scratch_engine():
    """Drop the engine of the submission just graded: its folder is removed."""
    for engine in _SCRATCH_ENGINE.values():
        engine.dispose()
    _SCRATCH_ENGINE.clear()


def _is_scratch_gradebook(path):
    """Whether path is a submission's scratch gradebook: <scratch>/<WORKDIRS>/<n>/gradebook.db."""
    workdirs = Path(path).parent.parent
    return workdirs.name == WORKDIRS and workdirs.parent.name.startswith(SCRATCH_PREFIX)


def _no_sync_for_scratch_gradebooks(connection, record):
    """A submission's scratch copy of the gradebook is thrown away after its grading: no fsync
    for its commits (nbgrader commits each grade: ~5 ms each on a disk). Any other database a
    worker opens keeps SQLite's default."""
    if not hasattr(connection, "execute") or type(connection).__module__ != "sqlite3":
        return
    files = [row[2] for row in connection.execute("PRAGMA database_list").fetchall()]
    if files and files[0] and _is_scratch_gradebook(files[0]):
        connection.execute("PRAGMA synchronous=OFF")


def _started(pool, jobs):
    """The pool, its worker processes starting meanwhile (a pool starts one for each task given,
    and each start waits until the fork server has imported the grading code), so that this
    process goes on preparing the batch."""
    def start():
        with contextlib.suppress(RuntimeError):  # the pool was shut down first: nothing to start
            for _ in range(jobs):
                pool.submit(os.getpid)

    threading.Thread(target=start, daemon=True).start()
    return pool


def _new_pool(jobs):
    """jobs worker processes, forked from multiprocessing's fork server, which imports the
    grading code once (nbgrader, nbconvert, SQLAlchemy, the checks: about 1.7 s of CPU that
    every spawned worker used to pay). A worker starts with no state of this process's but
    its environment."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init,
                               initargs=(dict(os.environ),))


# what a grading worker imports (an import the fork server cannot make is left to the worker)
WORKER_MODULES = ["grader.autograde", "nbgrader.apps", "grader.feedback_exporter",
                  "grader.cell_metadata",
                  "grader.standins", "pygments.lexers.python", "sqlite3",
                  *sorted(f"grader.checks.{path.stem}"
                          for path in (Path(__file__).parent / "checks").glob("a*.py"))]


def _grade_all(tasks, jobs, done, pool=None):
    """Grade tasks in `jobs` worker processes (pool's, when given); results in task order.
    done(result) is called with each result as it comes."""
    results = [None] * len(tasks)
    crashed = _run_pool(tasks, range(len(tasks)), jobs, results, done, pool)
    for i in crashed:  # a worker process died: retry each alone so only the culprit is lost
        if _run_pool(tasks, [i], 1, results, done):
            results[i] = crashed_result(tasks[i])
            done(results[i])
    return results


def crashed_result(task):
    """The row of a submission whose grading process died (retried alone first)."""
    return _zero_cells(Result(task.sub.student_id, task.sub.assignment_id, status="error",
                              reason="the grading process crashed on this submission"),
                       task.grade_cells)


def _run_pool(tasks, indices, jobs, results, done, pool=None):
    """Grade tasks[indices] in pool (closed by its owner) or in a pool of their own; the
    indices of those whose worker process died."""
    crashed = []
    with contextlib.nullcontext(pool) if pool else _new_pool(jobs) as workers:
        futures = {workers.submit(_grade_task, tasks[i]): i for i in indices}
        for future in as_completed(futures):
            try:
                results[futures[future]] = future.result()
                done(results[futures[future]])
            except BrokenProcessPool:
                crashed.append(futures[future])
    return sorted(crashed)


class ReportFolderError(ValueError):
    """OUT cannot safely hold the reports; the message says what to do."""


def make_report_folder(out_dir):
    """OUT as a real folder, made if missing. A link or a file there is refused: the reports
    are never written through a link."""
    if out_dir.is_symlink():
        raise ReportFolderError(f"{out_dir} is a symbolic link, and reports are never written "
                                "through links: give --out a real folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportFolderError(f"{out_dir} exists and is not a folder: give --out a folder")
    out_dir.mkdir(parents=True, exist_ok=True)


def write_reports(results, out_dir, pages=None):
    """Write the reports into a fresh folder only this run knows, then move each file into
    OUT. A link found where a report or its folder goes is replaced, never written through, so
    a link planted under OUT (say OUT/feedback/<student> -> elsewhere) redirects nothing.
    results are every row of the report; pages, the results whose feedback pages are written
    (default: all of them), so a run that grades one student leaves the others' pages alone."""
    out_dir = Path(out_dir)
    make_report_folder(out_dir)
    # inside OUT: the same file system, so each move is an atomic rename
    fresh = Path(tempfile.mkdtemp(prefix=".reports-", dir=out_dir))
    try:
        _write_report_files(results, fresh, results if pages is None else pages)
        for path in sorted(fresh.rglob("*")):
            if path.is_file():
                _move_without_links(path, out_dir, path.relative_to(fresh))
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def _move_without_links(src, top, rel):
    """Move src to top/rel, making every folder on the way a real folder first."""
    folder = top
    for part in rel.parts[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            folder.unlink()  # removes the link itself, never what it points to
        folder.mkdir(exist_ok=True)
    dest = top / rel
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    os.replace(src, dest)  # a link at dest is replaced by the file, not followed


def _write_report_files(results, out_dir, pages):
    for r in pages:
        folder = Path(out_dir) / "feedback" / r.student_id / r.assignment_id
        folder.mkdir(parents=True, exist_ok=True)
        if not r.feedback:
            (folder / f"{r.assignment_id}.html").write_text(plain_feedback(r))
        for name, page in r.feedback.items():  # the page nbgrader wrote in the course folder
            shutil.copyfile(page, folder / name)
    with open(out_dir / "grades.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment_id", "score", "max_score", "late_penalty",
                    "status", "reason"])
        for r in results:
            w.writerow([r.student_id, r.assignment_id, f"{r.score:g}", f"{r.max_score:g}",
                        f"{r.late_penalty:g}", r.status, report_reason(r)])
    with open(out_dir / "cell_grades.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment_id", "grade_id", "score", "max_score", "flag"])
        for r in results:
            for c in r.cells:
                w.writerow([r.student_id, r.assignment_id, c["grade_id"], f"{c['score']:g}",
                            f"{c['max_score']:g}", cell_flag(c)])
    # everything needed to write the report again (finalize) or merge a later run into it
    (out_dir / "summary.json").write_text(json.dumps([result_row(r) for r in results],
                                                      indent=1))


def cell_flag(cell):
    """What cell_grades.csv says of a cell: who still needs to look, then the checks' note."""
    return "; ".join(filter(None, [cell.get("manual", ""), cell.get("check", "")]))


def awaiting_manual_grading(result):
    return sum(c["max_score"] for c in result.cells if c.get("manual") == NEEDS_MANUAL)


def report_reason(result):
    """grades.csv's reason: what autograde found, the lateness, what awaits a person."""
    pending = awaiting_manual_grading(result)
    return "; ".join(filter(None, [
        result.reason, result.lateness,
        f"{pending:g} points await manual grading" if pending else ""]))


def load_report(out_dir):
    """The results of OUT/summary.json ([] when there is none yet); a link there is not
    followed, as no report file is."""
    path = Path(out_dir) / "summary.json"
    if path.is_symlink() or not path.is_file():
        return []
    return [result_from_row(row) for row in json.loads(path.read_text())]


def merged_report(previous, results):
    """The rows of an earlier report with this run's results in place of theirs: same student
    and assignment, or a refusal of that student that said nothing of the assignment."""
    graded = {(r.student_id, r.assignment_id) for r in results}
    students = {r.student_id for r in results}
    kept = [r for r in previous if (r.student_id, r.assignment_id) not in graded
            and not (r.student_id in students and r.assignment_id == UNKNOWN_ASSIGNMENT)]
    return sorted(kept + list(results), key=lambda r: (r.student_id, r.assignment_id))


def format_table(results):
    """The grade table: one row per student, one column per assignment."""
    assignments = sorted({r.assignment_id for r in results})
    students = sorted({r.student_id for r in results})
    by_key = {(r.student_id, r.assignment_id): r for r in results}
    width = max([len(s) for s in students] + [7])
    head = "student".ljust(width) + "".join(f"  {a:>20}" for a in assignments) + "  notes"
    lines = [head, "-" * len(head)]
    for s in students:
        row, notes = s.ljust(width), []
        for a in assignments:
            r = by_key.get((s, a))
            row += f"  {'-':>20}" if r is None else f"  {f'{r.score:g}/{r.max_score:g}':>20}"
            if r is not None and report_reason(r):
                notes.append(f"{a}: {report_reason(r)}")
        lines.append(row + "  " + "; ".join(notes))
    return "\n".join(lines)
