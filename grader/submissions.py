"""Find the submissions in SUBMISSIONS without trusting what students control.

Everything under SUBMISSIONS was made by students: names, folders, zips and links. So:

- a student id is the name of a top-level entry only, SUBMISSIONS/<student_id>/ or
  SUBMISSIONS/<student_id>.zip, and it must match STUDENT_ID. Folders deeper inside (or inside
  a zip) never change whose submission it is: a folder there named after another student only
  earns a note for the instructor;
- symbolic links are never followed, at any depth; zip members that are links are not made;
- a zip is unpacked with caps on its members and on the bytes actually written;
- whatever is refused still gets a row ("not graded" and a reason), so the batch goes on and
  the instructor sees why.

Accepted layouts: <student_id>/<assignment_id>/*.ipynb, <student_id>/<assignment_id>.ipynb,
<student_id>/<assignment_id>.zip, and <student_id>.zip holding <assignment_id>/ folders or
<assignment_id>.ipynb files (also under wrapper folders). <student_id>/<assignment_id>/ may hold
nbgrader's timestamp.txt, the time it was submitted (for late work, grader/late.py). An LMS's
download zip is read by grader/lms.py, which lays it out this way first.
"""

import hashlib
import os
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .late import read_timestamp

ZIP_MAX_MEMBERS = int(os.environ.get("BACKPROP_COURSE_ZIP_MAX_MEMBERS", "200"))
ZIP_MAX_BYTES = int(os.environ.get("BACKPROP_COURSE_ZIP_MAX_BYTES", str(50 * 1024**2)))
NOTEBOOK_MAX_BYTES = int(os.environ.get("BACKPROP_COURSE_NOTEBOOK_MAX_BYTES",
                                        str(20 * 1024**2)))

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
ID_RULE = ("a student id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
           "or digit, without '..'")
UNKNOWN_ASSIGNMENT = "unknown"  # the assignment of a refused entry that was not looked into
IGNORED = {"__MACOSX", ".ipynb_checkpoints"}  # what zip tools and Jupyter leave behind
CHUNK = 1024**2


@dataclass
class Submission:
    student_id: str
    assignment_id: str
    notebooks: list  # paths of the .ipynb files found for this student and assignment
    problem: str = ""  # set: refused when found; graded "not graded" with this reason
    note: str = ""  # set: graded, and the row is flagged for the instructor's review
    timestamp: object = None  # when it was submitted (timestamp.txt, see grader/late.py)


@dataclass
class _Source:
    """One place that holds a student's assignment (a folder or a notebook file)."""

    assignment_id: str
    where: str  # for the instructor: "ada/a1_scalar_backprop", "ada.zip: a1_scalar_backprop"
    depth: int  # folders between the student's entry and this place, plus one
    order: int  # discovery order: the tie-break that makes the choice deterministic
    notebooks: list = field(default_factory=list)
    links: list = field(default_factory=list)  # links skipped where notebooks should be
    problem: str = ""
    folders: tuple = ()  # the folder names between the student's entry and this place
    notes: list = field(default_factory=list)
    timestamp: object = None


class ZipRefused(Exception):
    """A zip that is not unpacked; the message is the reason the instructor reads."""


def valid_student_id(name):
    return bool(STUDENT_ID.fullmatch(name)) and ".." not in name


def placeholder_id(name):
    """The id a refused name is reported under: the raw name never reaches the reports."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()
    return f"invalid-{digest[:8]}"


def shown(name):
    """A student-made name as the reports show it: only letters, digits, '.', '_' and '-'
    (anything else becomes '?'), at most 40 characters."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "?", name)
    return safe if len(safe) <= 40 else safe[:40] + "..."


def _mb(n):
    return f"{n / 1024**2:g} MB"


def find_submissions(submissions_dir, known_assignments, staging):
    """Submissions (and refusals) for every top-level entry of SUBMISSIONS, sorted by
    (student, assignment). Zips are unpacked into staging."""
    entries = list(_top_level_entries(Path(submissions_dir)))
    students = {_entry_id(p) for p in entries if valid_student_id(_entry_id(p))}
    sources, refused = {}, []
    counter = iter(range(10**9))  # discovery order, the last tie-break between places
    for n, path in enumerate(entries):
        student = _entry_id(path)
        kind = "zip file" if _is_zip_name(path.name) and not path.is_dir() else "folder"
        if not valid_student_id(student):
            refused.append(Submission(
                placeholder_id(path.name), UNKNOWN_ASSIGNMENT, [],
                problem=f"the {kind} name '{shown(path.name)}' is not a valid student id "
                        f"(other characters shown as '?'): {ID_RULE}; rename it to the "
                        "student's id and grade again"))
            continue
        if path.is_symlink():
            refused.append(Submission(
                student, UNKNOWN_ASSIGNMENT, [],
                problem=f"SUBMISSIONS/{path.name} is a symbolic link, and links are not "
                        "followed: put the student's own folder or zip there instead"))
            continue
        unpacked = Path(staging) / "unzipped" / f"{n:05d}"
        for source in _sources_of_entry(path, set(known_assignments), unpacked, counter):
            sources.setdefault((student, source.assignment_id), []).append(source)
    for student in sorted(students - {s for s, _ in sources} - {s.student_id for s in refused}):
        # a student whose entries hold nothing recognisable: say so rather than drop them
        refused.append(Submission(
            student, UNKNOWN_ASSIGNMENT, [],
            problem=f"no assignment was found in SUBMISSIONS/{student}: expected "
                    f"{student}/<assignment_id>/*.ipynb or {student}/<assignment_id>.ipynb "
                    f"(or the same in {student}.zip), with <assignment_id> one of "
                    f"{', '.join(sorted(known_assignments))}"))
    found = [_submission(student, aid, places, students - {student})
             for (student, aid), places in sources.items()]
    return sorted(found + refused, key=lambda s: (s.student_id, s.assignment_id))


def _top_level_entries(submissions_dir):
    """Folders, zip files and links directly in SUBMISSIONS (other files are not submissions)."""
    for path in sorted(submissions_dir.iterdir()):
        if path.name in IGNORED:
            continue
        if path.is_symlink() or path.is_dir() or (_is_zip_name(path.name) and path.is_file()):
            yield path


def _is_zip_name(name):
    return name.lower().endswith(".zip")


def _entry_id(path):
    """The student id a top-level entry claims: a folder's name, a zip's name without .zip."""
    name = path.name
    if _is_zip_name(name) and not (path.is_dir() and not path.is_symlink()):
        return name[:-len(".zip")]
    return name


def _sources_of_entry(path, known, unpacked, counter):
    if path.is_dir():
        for source in _sources_in_tree(path, path.name, known, counter):
            folder = path / source.assignment_id
            if source.notebooks and source.notebooks[0].parent == folder:
                # nbgrader's timestamp.txt, trusted only in SUBMISSIONS/<student>/<assignment>/
                # where `nbgrader collect` writes it: never from inside a zip
                source.timestamp, note = read_timestamp(folder)
                source.notes += [note] if note else []
            yield source
        # SUBMISSIONS/<student>/<assignment>.zip: unpacked as if it were that folder
        for aid in sorted(known):
            zpath = path / f"{aid}.zip"
            if zpath.is_symlink():
                yield _Source(aid, f"{path.name}/{zpath.name}", 1, next(counter),
                              links=[f"{path.name}/{zpath.name}"])
            elif zpath.is_file():
                yield from _sources_in_zip(zpath, f"{path.name}/{zpath.name}", known,
                                           unpacked / aid, counter, as_assignment=aid)
    else:
        yield from _sources_in_zip(path, path.name, known, unpacked, counter)


def _sources_in_zip(zpath, label, known, target, counter, as_assignment=None):
    try:
        skipped = unpack_zip(zpath, target, label)
    except ZipRefused as refusal:
        yield _Source(as_assignment or UNKNOWN_ASSIGNMENT, label, 1, next(counter),
                      problem=str(refusal))
        return
    skip_note = (f"{label}: {skipped} member(s) not unpacked (links are not accepted, nor "
                 "paths that leave the zip's folder)") if skipped else ""
    sources = list(_sources_in_tree(target, label + ":", known, counter))
    if not sources and as_assignment:
        # <assignment>.zip holding just the notebooks: the zip is the assignment folder
        sources = [_folder_source(target, as_assignment, label, (), next(counter))]
    if not sources:
        nothing = f"no assignment folder or notebook was found in {label}"
        sources = [_Source(UNKNOWN_ASSIGNMENT, label, 1, next(counter),
                           problem="; ".join(filter(None, [nothing, skip_note])))]
    for source in sources:
        source.notes += [skip_note] if skip_note else []
        yield source


def _sources_in_tree(root, label, known, counter):
    """Every <assignment>/ folder and <assignment>.ipynb file under root, at any depth,
    without following links (a link named like one is reported, never read)."""
    for dirpath, dirnames, filenames in os.walk(root):  # os.walk does not follow links
        here = Path(dirpath)
        rel = here.relative_to(root).parts
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d))
        for name in list(dirnames):
            path = here / name
            if path.is_symlink():
                dirnames.remove(name)
            if name in known:
                yield _folder_source(path, name, label, rel + (name,), next(counter))
        if rel and rel[-1] in known:
            continue  # notebooks in an assignment folder belong to that folder's source
        for name in sorted(filenames):
            aid = name[:-len(".ipynb")] if name.endswith(".ipynb") else None
            if aid not in known or _ignored(name):
                continue
            path = here / name
            source = _Source(aid, _where(label, rel + (name,)), len(rel) + 1, next(counter),
                             folders=rel)
            if path.is_symlink():
                source.links.append(source.where)
            else:
                _add_notebook(source, path)
            yield source


def _folder_source(folder, aid, label, rel, order):
    source = _Source(aid, _where(label, rel), max(len(rel), 1), order, folders=rel[:-1])
    if folder.is_symlink():
        source.links.append(source.where)
        return source
    for path in sorted(folder.iterdir()):
        if path.suffix != ".ipynb" or _ignored(path.name):
            continue
        if path.is_symlink():
            source.links.append(_where(label, (*rel, path.name)))
        else:
            _add_notebook(source, path)
    return source


def _add_notebook(source, path):
    """Add path if it is a regular file (not a device or pipe that would hang the reader) of
    acceptable size; otherwise say why not."""
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        return
    if info.st_size > NOTEBOOK_MAX_BYTES:
        source.problem = (f"{shown(path.name)} is {_mb(info.st_size)}, more than the "
                          f"{_mb(NOTEBOOK_MAX_BYTES)} a notebook may be: clear its outputs "
                          "(Edit > Clear Outputs of All Cells) and submit it again")
        return
    source.notebooks.append(path)


def _ignored(name):
    return name.startswith(".") or name in IGNORED


def _where(label, parts):
    shown_parts = "/".join(shown(p) for p in parts)
    if label.endswith(":"):  # inside a zip
        return f"{label} {shown_parts}" if parts else label[:-1]
    return "/".join(filter(None, [label, shown_parts]))


def _submission(student, aid, sources, other_students):
    """One Submission from every place that holds (student, aid): the best place is graded,
    never a merge of several; the others, links and suspicious folders are noted."""
    ranked = sorted(sources, key=lambda s: (not s.notebooks, bool(s.problem), s.depth, s.order))
    best = ranked[0]
    notes = []
    competing = [s for s in ranked if s.notebooks or s.problem]
    if len(competing) > 1:
        notes.append(f"{len(competing)} submissions of {aid} were found "
                     f"({', '.join(s.where for s in competing)}): only {best.where} was "
                     "graded; remove the others")
    named = sorted({f for s in sources for f in s.folders if f in other_students})
    if named:
        notes.append(f"contains a folder named after another student: {', '.join(named)} "
                     f"(graded as {student} only; that student's own submission is untouched)")
    problem = best.problem
    if not problem and not best.notebooks and best.links:
        problem = (f"missing notebook: {', '.join(best.links)} is a symbolic link, and links "
                   "are not accepted: submit the notebook file itself")
    elif best.links:
        notes.append(f"skipped {', '.join(best.links)}: links are not accepted")
    notes += list(dict.fromkeys(n for s in sources for n in s.notes))
    notebooks = [] if problem else best.notebooks
    return Submission(student, aid, notebooks, problem, "; ".join(notes), best.timestamp)


def unpack_zip(zpath, target, label):
    """Unpack zpath into the new folder target; return how many members were skipped (links,
    paths leaving target). Raises ZipRefused, leaving nothing behind, for a zip over its caps
    or unreadable. Zips inside are unpacked as plain files, never opened."""
    if zpath.lstat().st_size > ZIP_MAX_BYTES:
        raise ZipRefused(f"{label} is larger than {_mb(ZIP_MAX_BYTES)}, the most a zip may "
                         "hold: ask the student to zip only the assignment's notebooks")
    target.mkdir(parents=True)
    try:
        return _unpack_members(zpath, target, label)
    except ZipRefused:
        shutil.rmtree(target, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError,
            RuntimeError, NotImplementedError, ValueError) as exc:
        # corrupt, encrypted, an unsupported compression or a lying header (bad CRC)
        shutil.rmtree(target, ignore_errors=True)
        raise ZipRefused(f"{label} is not a readable zip file ({type(exc).__name__}): ask the "
                         "student to zip the assignment folder again") from None


def _unpack_members(zpath, target, label):
    with zipfile.ZipFile(zpath) as zf:
        members = zf.infolist()
        if len(members) > ZIP_MAX_MEMBERS:
            raise ZipRefused(f"{label} holds {len(members)} files, more than the "
                             f"{ZIP_MAX_MEMBERS} a zip may hold: ask the student to zip only "
                             "the assignment's notebooks")
        if sum(m.file_size for m in members) > ZIP_MAX_BYTES:
            raise ZipRefused(_too_big(label))
        budget, skipped = ZIP_MAX_BYTES, 0
        for member in members:
            dest = _member_destination(member, target)
            if dest is None:
                skipped += 1
            elif member.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(dest, "wb") as dst:
                    budget = copy_capped(src, dst, budget, label)
        return skipped


def _member_destination(member, target):
    """Where a member goes under target, or None for a link or a path leaving target."""
    if stat.S_ISLNK(member.external_attr >> 16):
        return None  # a link stored in the zip: it would point anywhere, so it is not made
    path = PurePosixPath(member.filename)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None  # "zip slip": a path escaping the folder
    return target.joinpath(*path.parts)


def copy_capped(src, dst, budget, label):
    """Copy src to dst in chunks and return what is left of budget (bytes). The bytes actually
    written are counted, so a member whose header understates its size cannot get past."""
    while chunk := src.read(CHUNK):
        budget -= len(chunk)
        if budget < 0:
            raise ZipRefused(_too_big(label))
        dst.write(chunk)
    return budget


def _too_big(label):
    return (f"{label} unpacks to more than {_mb(ZIP_MAX_BYTES)}, the most a zip may hold: "
            "ask the student to zip only the assignment's notebooks")
