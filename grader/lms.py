"""Submissions as an LMS hands them out: Canvas's "Download Submissions" zip and Moodle's
"Download all submissions" zip, laid out as <student_id>/<assignment_id>/ folders for
grader/submissions.py, which then checks them like any others.

Canvas (canvas-lms, lib/content_zipper.rb): a flat zip, one member per uploaded file,
    <name>[_LATE]_<user id>_<attachment id>_<file name>
<name> being the student's sortable name, lower-cased, with only letters, digits and '_' kept;
with anonymous grading `anon_<anonymous id>` stands for `<name>_<user id>` (`LATE_` before it).
Text entries and URLs come as <name>_<user id>_text.html and _link.html. Older Canvas wrote
`lovelace-ada-late_<user id>_...`. Only the latest submission's files are in the zip; a file
uploaded again under the same name was renamed by Canvas <stem>-1.ipynb, -2, ..., and has the
larger attachment id.

Moodle (mod/assign, classes/downloader.php): with "Download submissions in folders" (the default
since Moodle 3.1) one folder per student and submission plugin,
    <Full name>_<participant id>_assignsubmission_file/<file path>
(`..._assignsubmission_file_/` in older versions); without it, flat files
    <Full name>_<participant id>_assignsubmission_file_<file name>.
Moodle turns '_' in names into spaces, so the name ends at the first '_'. Blind marking shows
"Participant" as the name. The participant id is the assignment's own identifier of the student
(each assignment numbers its participants anew), the one Moodle's grading worksheet matches on
("Participant 1234567"). Only the latest attempt is in the zip; online text comes as
`..._assignsubmission_onlinetext/onlinetext.html`.

A student is graded as canvas-<user id>, canvas-anon-<anonymous id> or moodle-<participant id>:
names from an LMS are never used as ids. Only notebooks are unpacked, never a link, each at most
NOTEBOOK_MAX_BYTES and all together at most LMS_ZIP_MAX_BYTES, counted as written.
"""

import os
import re
import stat
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .submissions import (
    CHUNK,
    IGNORED,
    NOTEBOOK_MAX_BYTES,
    find_submissions,
    shown,
)

LMS_ZIP_MAX_MEMBERS = int(os.environ.get("BACKPROP_COURSE_LMS_ZIP_MAX_MEMBERS", "20000"))
LMS_ZIP_MAX_BYTES = int(os.environ.get("BACKPROP_COURSE_LMS_ZIP_MAX_BYTES", str(2 * 1024**3)))

LATE = r"(?P<late>_LATE|-late)?"  # today's Canvas, and Canvas before 2014
CANVAS_FILE = re.compile(
    rf"(?:(?P<name>[^/]*?){LATE}_(?P<user>\d+)|(?P<anon_late>LATE_)?anon_(?P<anon>[A-Za-z0-9]+))"
    r"_(?P<attachment>\d+)_(?P<file>[^/]+)")
CANVAS_ENTRY = re.compile(rf"(?P<name>[^/]*?){LATE}_(?P<user>\d+)_(?P<kind>text|link)\.html")
MOODLE_FILE = re.compile(
    r"(?P<name>[^_/]+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)"
    r"(?:_?/(?P<path>.+)|_(?P<file>[^/]+))")
COPY_SUFFIX = re.compile(r"(?:-\d+| ?\(\d+\))(?=\.ipynb$)")  # Canvas's a1-1.ipynb, a1 (1).ipynb


class LmsLayoutError(ValueError):
    """The zip is not an LMS download this module reads; the message says what was expected."""


@dataclass
class LmsFile:
    """One file of one student in an LMS download."""

    member: str  # its name in the zip
    student_id: str
    file_name: str  # the name the student gave it (its last path part)
    depth: int = 0  # folders above it in the student's submission (Moodle)
    order: int = 0  # Canvas: the attachment id (a later upload has a larger one)


@dataclass
class Student:
    lms: str
    lms_user_id: str = ""
    name: str = ""
    late: bool = False  # the LMS marked the submission late (Canvas)
    files: list = field(default_factory=list)
    others: list = field(default_factory=list)  # what else was handed in (text, URLs, ...)


def find_lms_submissions(zip_path, known, staging, assignment=None):
    """(submissions, {student id: gradebook details}, {student id: remark}) of an LMS
    download zip. The assignment is the one given, or the one its notebooks are named after."""
    members = _members(zip_path)
    lms, students = read_download(zip_path.name, [m.filename for m in members])
    aid = assignment or _assignment_of(lms, zip_path.name, students, known)
    folder = Path(staging) / "lms"
    problems, remarks = _stage(zip_path, students, aid, folder)
    subs = find_submissions(folder, known, staging)
    for sub in subs:
        if sub.student_id in problems:
            sub.problem, sub.notebooks = problems[sub.student_id], []
    details = {sid: _gradebook_details(s) for sid, s in students.items() if s.lms_user_id}
    return subs, details, {sid: "; ".join(notes) for sid, notes in remarks.items()}


def read_download(label, names):
    """("Canvas" or "Moodle", {student id: Student}) from the member names of a download;
    LmsLayoutError when they fit neither."""
    files = [n for n in names if not n.endswith("/") and not _ignored(n)]
    if not files:
        raise LmsLayoutError(f"{label} holds no files: {EXPECTED}")
    for lms, read in (("Moodle", _moodle_file), ("Canvas", _canvas_file)):
        students = {}
        if all(read(name, students) for name in files):
            return lms, students
    misfit = next(n for n in files if not _moodle_file(n, {}) and not _canvas_file(n, {}))
    raise LmsLayoutError(f"{label} is not a download this command reads: '{shown(misfit)}' "
                         f"is named neither way. {EXPECTED}")


EXPECTED = (
    "Give Canvas's \"Download Submissions\" zip (files named <name>_<user id>_<attachment "
    "id>_<file>, e.g. lovelaceada_12345_67890_a1_scalar_backprop.ipynb) or Moodle's \"Download "
    "all submissions\" zip (folders named <Full name>_<participant id>_assignsubmission_file/) "
    "as it was downloaded, or unzip anything else into a folder of <student_id>/"
    "<assignment_id>/*.ipynb and give that folder.")


def _canvas_file(name, students):
    entry = CANVAS_ENTRY.fullmatch(name)
    if entry:  # a text entry or a URL instead of files
        student = students.setdefault(f"canvas-{entry['user']}", Student(
            "Canvas", entry["user"], entry["name"], late=bool(entry["late"])))
        student.others.append("a text entry" if entry["kind"] == "text" else "a URL")
        return True
    m = CANVAS_FILE.fullmatch(name)
    if not m:
        return False
    if m["anon"]:
        sid, student = f"canvas-anon-{m['anon']}", Student("Canvas", late=bool(m["anon_late"]))
    else:
        sid = f"canvas-{m['user']}"
        student = Student("Canvas", m["user"], m["name"], late=bool(m["late"]))
    student = students.setdefault(sid, student)
    student.files.append(LmsFile(name, sid, m["file"], order=int(m["attachment"])))
    return True


def _moodle_file(name, students):
    m = MOODLE_FILE.fullmatch(name)
    if not m:
        return False
    sid = f"moodle-{m['participant']}"
    student = students.setdefault(sid, Student("Moodle", m["participant"], m["name"]))
    path = PurePosixPath(m["path"] or m["file"])
    if m["plugin"] != "file":
        student.others.append(f"{m['plugin']} {path.name}")
    else:
        student.files.append(LmsFile(name, sid, path.name, depth=len(path.parts) - 1))
    return True


def _ignored(name):
    parts = PurePosixPath(name).parts
    return any(p in IGNORED or p.startswith(".") for p in parts)


def _members(zip_path):
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise LmsLayoutError(f"{zip_path.name} is not a readable zip file "
                             f"({type(exc).__name__}): download it from the LMS again") from None
    if len(members) > LMS_ZIP_MAX_MEMBERS:
        raise LmsLayoutError(f"{zip_path.name} holds {len(members)} files, more than the "
                             f"{LMS_ZIP_MAX_MEMBERS} a download may hold "
                             "(BACKPROP_COURSE_LMS_ZIP_MAX_MEMBERS)")
    return members


def _expected_name(file_name, known):
    """The assignment notebook a file is, allowing for Canvas's and browsers' copy suffixes."""
    for candidate in (file_name, COPY_SUFFIX.sub("", file_name)):
        if candidate.endswith(".ipynb") and candidate[:-len(".ipynb")] in known:
            return candidate
    return None


def _assignment_of(lms, label, students, known):
    named = {_expected_name(f.file_name, known) for s in students.values() for f in s.files}
    named.discard(None)
    if len(named) == 1:
        return named.pop()[:-len(".ipynb")]
    seen = ", ".join(sorted(named)) or "none named after an assignment"
    raise LmsLayoutError(f"Which assignment is the {lms} download {label}? Its notebooks are "
                         f"{seen}: say it with --assignment (one of {', '.join(sorted(known))})")


def _stage(zip_path, students, aid, folder):
    """Unpack each student's notebooks into folder/<student>/<aid>/ (the latest upload of each
    name); ({student: problem}, {student: [remark]}) for what could not be used or is worth
    saying."""
    problems, remarks, budget = {}, defaultdict(list), LMS_ZIP_MAX_BYTES
    folder.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        for sid, student in sorted(students.items()):
            target = folder / sid / aid
            target.mkdir(parents=True)
            if student.late:
                remarks[sid].append(
                    f"{student.lms} marked this submission late; its download has no submission "
                    "time, so no late penalty was applied here")
            chosen, dropped = _latest_notebooks(student.files, aid)
            if dropped:
                remarks[sid].append(f"{len(dropped)} older or extra upload(s) of {aid}.ipynb "
                                    f"not graded: {', '.join(shown(f.file_name) for f in dropped)}")
            if not chosen:
                handed_in = [shown(f.file_name) for f in student.files] + student.others
                problems[sid] = (f"no notebook in the {student.lms} download (handed in: "
                                 f"{', '.join(handed_in) or 'nothing'}): ask the student to "
                                 f"upload {aid}.ipynb")
            for name, lms_file in chosen.items():
                info = infos[lms_file.member]
                if stat.S_ISLNK(info.external_attr >> 16):
                    problems[sid] = f"{shown(lms_file.file_name)} is a link, and links are not " \
                                    "accepted: ask the student to upload the notebook itself"
                    continue
                try:
                    budget = _unpack(zf, info, target / name, budget)
                except _TooBig as refusal:
                    (target / name).unlink(missing_ok=True)
                    if refusal.whole_zip:
                        raise LmsLayoutError(str(refusal)) from None
                    problems[sid] = str(refusal)
                except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
                        NotImplementedError, ValueError) as exc:
                    (target / name).unlink(missing_ok=True)
                    problems[sid] = (f"{shown(lms_file.file_name)} could not be unpacked from "
                                     f"the download ({type(exc).__name__}): download it again")
    return problems, remarks


def _latest_notebooks(files, aid):
    """({staged name: file}, [files not graded]): of several uploads of the assignment's
    notebook (a1.ipynb, a1-1.ipynb, a1 (2).ipynb), the latest Canvas upload, or Moodle's
    top-level file; other notebooks under names made safe."""
    notebooks = [f for f in files if f.file_name.endswith(".ipynb")]
    mine = [f for f in notebooks if _expected_name(f.file_name, {aid})]
    rest = [f for f in notebooks if f not in mine]
    chosen = {}
    if mine:
        chosen[f"{aid}.ipynb"] = min(mine, key=lambda f: (
            -f.order, f.depth, f.file_name != f"{aid}.ipynb", f.member))
    for f in rest:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", f.file_name).lstrip(".")[:100] or "notebook"
        chosen.setdefault(safe if safe.endswith(".ipynb") else safe + ".ipynb", f)
    return chosen, [f for f in mine if f is not chosen.get(f"{aid}.ipynb")]


class _TooBig(Exception):
    def __init__(self, message, whole_zip=False):
        super().__init__(message)
        self.whole_zip = whole_zip


def _unpack(zf, info, dest, budget):
    """Write one member to dest, counting the bytes written against the notebook's and the
    download's caps; the budget left."""
    written = 0
    with zf.open(info) as src, open(dest, "wb") as dst:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            budget -= len(chunk)
            if written > NOTEBOOK_MAX_BYTES:
                raise _TooBig(f"{shown(PurePosixPath(info.filename).name)} is more than the "
                              f"{NOTEBOOK_MAX_BYTES / 1024**2:g} MB a notebook may be: ask the "
                              "student to clear its outputs and upload it again")
            if budget < 0:
                raise _TooBig(f"the download unpacks to more than {LMS_ZIP_MAX_BYTES / 1024**2:g}"
                              " MB of notebooks (BACKPROP_COURSE_LMS_ZIP_MAX_BYTES)",
                              whole_zip=True)
            dst.write(chunk)
    return budget


def _gradebook_details(student):
    """What nbgrader's Student row keeps of an LMS student: its LMS id, and its name as the
    download spells it (Moodle: "First Last"; Canvas: "lastfirst"; none under blind marking)."""
    name = "" if student.name == "Participant" else student.name
    first, _, last = name.rpartition(" ") if student.lms == "Moodle" else ("", "", name)
    return {"lms_user_id": student.lms_user_id, "first_name": first or None,
            "last_name": last or None}
