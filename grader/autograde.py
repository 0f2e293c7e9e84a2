"""`backprop-course autograde SUBMISSIONS --out OUT`: grade a whole class with real nbgrader.

Each submission is graded in its own scratch course folder with its own copy of the gradebook,
so submissions run in parallel (one nbgrader process each, nbgrader issue #174) and a broken
submission can damage nothing but its own copy. The results are merged into OUT.
"""

import csv
import json
import multiprocessing
import os
import shutil
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from tqdm import tqdm

from .nbgrader_run import nbgrader_env
from .release import assignment_ids, release

CELL_TIMEOUT = 30  # seconds per notebook cell before nbgrader interrupts the kernel


@dataclass
class Submission:
    student_id: str
    assignment_id: str
    notebooks: list  # paths of the .ipynb files found for this student and assignment


@dataclass
class Result:
    student_id: str
    assignment_id: str
    score: float = 0.0
    max_score: float = 0.0
    status: str = "graded"
    reason: str = ""
    cells: list = field(default_factory=list)  # dicts: grade_id, score, max_score, flag
    feedback: list = field(default_factory=list)  # paths of feedback HTML files


def find_submissions(submissions_dir, known_assignments, staging):
    """Map SUBMISSIONS/<student>/<assignment>/*.ipynb (and zips of such folders) to Submissions.

    A zip is unpacked into staging; if it holds only <assignment>/ folders, its file name
    (without .zip) is the student id.
    """
    submissions_dir = Path(submissions_dir)
    found = {}
    roots = [(submissions_dir, None)]
    for zpath in sorted(submissions_dir.rglob("*.zip")):
        target = Path(staging) / "unzipped" / zpath.relative_to(submissions_dir).with_suffix("")
        _safe_unzip(zpath, target)
        roots.append((target, zpath.stem))
    for base, zip_student in roots:
        for nb in sorted(base.rglob("*.ipynb")):
            parts = nb.relative_to(base).parts
            if any(p in (".ipynb_checkpoints", "__MACOSX") or p.startswith(".") for p in parts):
                continue
            hits = [i for i, p in enumerate(parts[:-1]) if p in known_assignments]
            if not hits:
                continue
            i = hits[-1]
            student = parts[i - 1] if i > 0 else zip_student
            if not student:
                continue
            key = (student, parts[i])
            found.setdefault(key, Submission(student, parts[i], [])).notebooks.append(nb)
    return [found[k] for k in sorted(found)]


def _safe_unzip(zpath, target):
    target.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(zpath) as zf:
            for info in zf.infolist():
                dest = (target / info.filename).resolve()
                if target.resolve() not in dest.parents and dest != target.resolve():
                    continue  # a path escaping the folder ("zip slip"): skip it
                if info.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                else:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(zf.read(info))
    except (zipfile.BadZipFile, OSError):
        pass  # an unreadable zip yields no notebooks; the student is reported as missing


def _nbgrader_api(workdir):
    """nbgrader's own Python API on a course folder of one submission (imports paid once per worker)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(workdir)
    c.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    c.CourseDirectory.course_id = "backprop-course"
    c.ExecutePreprocessor.kernel_name = "python3"
    c.ExecutePreprocessor.timeout = CELL_TIMEOUT
    # feedback goes to students: strip hidden tests as the release does (nbgrader issue #917)
    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "nbgrader.preprocessors.ClearHiddenTests",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    return NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)


def grade_submission(sub, master_db, expected_names, workdir, out_dir):
    """Grade one student's assignment in workdir; never raises for a broken submission."""
    result = Result(sub.student_id, sub.assignment_id)
    shutil.rmtree(workdir, ignore_errors=True)
    dest = workdir / "submitted" / sub.student_id / sub.assignment_id
    dest.mkdir(parents=True)
    shutil.copy(master_db, workdir / "gradebook.db")
    problems = _place_notebooks(sub.notebooks, expected_names, dest)
    if problems:
        result.status, result.reason = "not graded", problems
        return result
    api = _nbgrader_api(workdir)
    graded = api.autograde(sub.assignment_id, sub.student_id, force=True, create=True)
    if not graded["success"]:
        result.status = "error"
        result.reason = _last_error(graded.get("log", "") + graded.get("error", ""))
    if api.generate_feedback(sub.assignment_id, sub.student_id, force=True)["success"]:
        result.feedback = _copy_feedback(workdir, sub, out_dir)
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


def _copy_feedback(workdir, sub, out_dir):
    src = workdir / "feedback" / sub.student_id / sub.assignment_id
    dst = Path(out_dir) / "feedback" / sub.student_id / sub.assignment_id
    copied = []
    for html in sorted(src.glob("*.html")):
        dst.mkdir(parents=True, exist_ok=True)
        shutil.copy(html, dst / html.name)
        copied.append(dst / html.name)
    return copied


def read_grades(result, db_path, grade_cells):
    """Fill result's scores from the submission's gradebook (0 for every cell not graded)."""
    scores = {}
    if result.status != "not graded" and db_path.exists():
        try:
            with Gradebook(f"sqlite:///{db_path}") as gb:
                submission = gb.find_submission(result.assignment_id, result.student_id)
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        scores[grade.name] = (grade.score or 0.0, grade.needs_manual_grade)
        except Exception:  # noqa: BLE001  (no submission recorded: every cell scores 0)
            scores = {}
    for grade_id, max_score in grade_cells:
        score, manual = scores.get(grade_id, (0.0, False))
        flag = "needs manual grading" if manual else ""
        if grade_id not in scores:
            flag = "not graded: " + (result.reason or "cell missing")
        result.cells.append({"grade_id": grade_id, "score": float(score),
                             "max_score": float(max_score), "flag": flag})
    result.score = sum(c["score"] for c in result.cells)
    result.max_score = sum(c["max_score"] for c in result.cells)
    return result


def _master_gradebook(root, scratch):
    """A gradebook holding every assignment's source cells, made by real generate_assignment."""
    db = Path(scratch) / "master.db"
    db.unlink(missing_ok=True)
    release(root, release_dir=Path(scratch) / "release", db_url=f"sqlite:///{db}")
    cells, names = {}, {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for aid in assignment_ids(root):
            assignment = gb.find_assignment(aid)
            names[aid] = [nb.name + ".ipynb" for nb in assignment.notebooks]
            cells[aid] = [(gc.name, gc.max_score) for nb in assignment.notebooks
                          for gc in nb.grade_cells]
    return db, cells, names


def autograde(root, submissions_dir, out_dir, jobs=None, progress=True):
    """Grade every submission; write OUT/grades.csv, OUT/cell_grades.csv, OUT/feedback/."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="backprop-autograde-"))
    try:
        master_db, grade_cells, names = _master_gradebook(root, scratch)
        subs = find_submissions(submissions_dir, set(grade_cells), scratch)
        jobs = jobs or os.cpu_count() or 1

        tasks = [(sub, master_db, names[sub.assignment_id], scratch / "work" / f"{i:05d}",
                  out_dir, grade_cells[sub.assignment_id]) for i, sub in enumerate(subs)]
        with tqdm(total=len(tasks), desc="grading", unit="submission",
                  disable=not progress) as bar:
            results = _grade_all(tasks, jobs, bar)
        write_reports(results, out_dir)
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _grade_task(task):
    """One submission, start to finish, in a worker process: grade, read scores, clean up."""
    sub, master_db, expected_names, workdir, out_dir, grade_cells = task
    try:
        result = grade_submission(sub, master_db, expected_names, workdir, out_dir)
    except Exception as exc:  # noqa: BLE001  (one submission must never stop the batch)
        result = Result(sub.student_id, sub.assignment_id, status="error",
                        reason=f"grading failed: {type(exc).__name__}: {exc}"[:300])
    read_grades(result, workdir / "gradebook.db", grade_cells)
    shutil.rmtree(workdir, ignore_errors=True)  # bounded disk however large the class
    return result


def _worker_init():
    os.environ.update(nbgrader_env())
    import nbgrader.apps  # noqa: F401  (pay nbgrader's import once per worker, not per submission)


def _grade_all(tasks, jobs, bar):
    """Grade tasks in `jobs` worker processes; results in task order."""
    results = [None] * len(tasks)
    crashed = _run_pool(tasks, range(len(tasks)), jobs, results, bar)
    for i in crashed:  # a worker process died: retry each alone so only the culprit is lost
        if _run_pool(tasks, [i], 1, results, bar):
            sub, grade_cells = tasks[i][0], tasks[i][5]
            results[i] = read_grades(Result(sub.student_id, sub.assignment_id, status="error",
                                            reason="the grading process crashed on this submission"),
                                     tasks[i][3] / "no-gradebook", grade_cells)
            bar.update(1)
    return results


def _run_pool(tasks, indices, jobs, results, bar):
    crashed = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init) as pool:
        futures = {pool.submit(_grade_task, tasks[i]): i for i in indices}
        for future in as_completed(futures):
            try:
                results[futures[future]] = future.result()
                bar.update(1)
            except BrokenProcessPool:
                crashed.append(futures[future])
    return sorted(crashed)


def write_reports(results, out_dir):
    with open(out_dir / "grades.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment_id", "score", "max_score", "status", "reason"])
        for r in results:
            w.writerow([r.student_id, r.assignment_id, f"{r.score:g}", f"{r.max_score:g}",
                        r.status, r.reason])
    with open(out_dir / "cell_grades.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student_id", "assignment_id", "grade_id", "score", "max_score", "flag"])
        for r in results:
            for c in r.cells:
                w.writerow([r.student_id, r.assignment_id, c["grade_id"], f"{c['score']:g}",
                            f"{c['max_score']:g}", c["flag"]])
    (out_dir / "summary.json").write_text(json.dumps(
        [{"student_id": r.student_id, "assignment_id": r.assignment_id, "score": r.score,
          "max_score": r.max_score, "status": r.status, "reason": r.reason} for r in results],
        indent=1))


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
            if r is not None and r.reason:
                notes.append(f"{a}: {r.reason}")
        lines.append(row + "  " + "; ".join(notes))
    return "\n".join(lines)
