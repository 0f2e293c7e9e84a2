"""Student-controlled names, zips, links and sizes are hostile: they must not earn points,
touch another student's grade, stop the batch or redirect the reports.

Fast tests call grader.submissions.find_submissions and grader.autograde.write_reports on
hand-made folders and zips; one slow test grades a batch full of attacks with the real command.
"""

import csv
import io
import os
import stat
import struct
import subprocess
import sys
import zipfile

import nbformat
import pytest
from conftest import ROOT, release_path, source_path

from grader import submissions
from grader.autograde import ReportFolderError, Result, write_reports
from grader.submissions import (
    UNKNOWN_ASSIGNMENT,
    ZipRefused,
    copy_capped,
    find_submissions,
    placeholder_id,
    valid_student_id,
)

A1 = "a1_scalar_backprop"
KNOWN = {A1, "a2_vector_backprop"}
NB = nbformat.writes(nbformat.v4.new_notebook())
HOSTILE_NAMES = [".hidden", "a b", "<img src=x onerror=alert(1)>", "x" * 100, "学生"]
SOLUTION_NOTEBOOK = ROOT / "solutions" / A1 / f"{A1}.ipynb"


def put(path, text=NB):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_zip(path, members):
    """members: {name: text}"""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def find(subs, tmp_path):
    found = find_submissions(subs, KNOWN, tmp_path / "staging")
    return {(s.student_id, s.assignment_id): s for s in found}


def big_zero_zip(path, member, megabytes):
    """A zip holding one member of `megabytes` MB of zeros (it compresses ~1000x)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(member, "w") as out:
        for _ in range(megabytes):
            out.write(bytes(1024**2))
    return path


def lying_zip(path, member, megabytes, claimed):
    """big_zero_zip, then its headers (local and central) claim `claimed` bytes uncompressed."""
    big_zero_zip(path, member, megabytes)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info, central = zf.infolist()[0], zf.start_dir
    struct.pack_into("<I", data, info.header_offset + 22, claimed)  # local header's size
    struct.pack_into("<I", data, central + 24, claimed)  # central directory's size
    path.write_bytes(bytes(data))
    return path


def link_member_zip(path, member, target):
    """A zip whose member is a symbolic link (as `zip --symlinks` stores it) to target."""
    info = zipfile.ZipInfo(member)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{A1}/", "")
        zf.writestr(info, str(target))
    return path


def files_under(folder):
    return [p for p in folder.rglob("*") if p.is_file()]


# --- student ids --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ada", "Ada.Lovelace", "s1234-x_y", "A" * 64])
def test_ordinary_ids_are_valid(name):
    assert valid_student_id(name)


@pytest.mark.parametrize("name", ["../x", "..", "a..b", ".hidden", "-x", "_x", "a b", "",
                                  "<script>alert(1)</script>", "x" * 65, "学生", "a/b", "é"])
def test_hostile_ids_are_invalid(name):
    assert not valid_student_id(name)


def test_placeholder_ids_are_safe_and_distinct():
    ids = {placeholder_id(n) for n in HOSTILE_NAMES}
    assert len(ids) == len(HOSTILE_NAMES) and all(valid_student_id(i) for i in ids)


def test_every_accepted_layout_is_found(tmp_path):
    subs = tmp_path / "subs"
    put(subs / "ada" / A1 / f"{A1}.ipynb")
    put(subs / "bo" / f"{A1}.ipynb")
    make_zip(subs / "cy.zip", {f"{A1}/{A1}.ipynb": NB})
    make_zip(subs / "dee.zip", {f"{A1}.ipynb": NB})
    make_zip(subs / "eli.zip", {f"eli/{A1}/{A1}.ipynb": NB})  # a zip of the student's folder
    (subs / "fay").mkdir()
    make_zip(subs / "fay" / f"{A1}.zip", {"my work.ipynb": NB})
    (subs / "notes.txt").write_text("not a submission")
    found = find(subs, tmp_path)
    assert sorted(found) == [(s, A1) for s in ("ada", "bo", "cy", "dee", "eli", "fay")]
    for sub in found.values():
        assert len(sub.notebooks) == 1 and not sub.problem and not sub.note, sub


def test_bad_names_are_refused_under_a_placeholder(tmp_path):
    subs = tmp_path / "subs"
    for name in HOSTILE_NAMES:
        put(subs / name / A1 / f"{A1}.ipynb")
    make_zip(subs / "a b.zip", {f"{A1}.ipynb": NB})
    found = find(subs, tmp_path)
    assert len(found) == len(HOSTILE_NAMES) + 1
    for (student, aid), sub in found.items():
        assert student.startswith("invalid-") and aid == UNKNOWN_ASSIGNMENT
        assert "not a valid student id" in sub.problem and not sub.notebooks
        for name in HOSTILE_NAMES:
            if name != ".hidden":  # its characters are all allowed; it is shown as it is
                assert name not in sub.problem


# --- impersonation --------------------------------------------------------------------------


def test_a_zip_naming_another_student_is_graded_as_its_owner(tmp_path):
    subs = tmp_path / "subs"
    bobs = put(subs / "bob" / A1 / f"{A1}.ipynb")
    make_zip(subs / "mallory.zip", {f"bob/{A1}/{A1}.ipynb": NB})
    found = find(subs, tmp_path)
    assert sorted(found) == [("bob", A1), ("mallory", A1)]
    assert found[("bob", A1)].notebooks == [bobs] and not found[("bob", A1)].note
    mallory = found[("mallory", A1)]
    assert len(mallory.notebooks) == 1 and mallory.notebooks[0] != bobs
    assert "contains a folder named after another student: bob" in mallory.note


def test_a_nested_folder_naming_another_student_is_graded_as_its_owner(tmp_path):
    subs = tmp_path / "subs"
    bobs = put(subs / "bob" / A1 / f"{A1}.ipynb")
    eves = put(subs / "eve" / "bob" / A1 / f"{A1}.ipynb")
    found = find(subs, tmp_path)
    assert sorted(found) == [("bob", A1), ("eve", A1)]
    assert found[("bob", A1)].notebooks == [bobs]
    assert found[("eve", A1)].notebooks == [eves]
    assert "another student: bob" in found[("eve", A1)].note


def test_two_places_for_one_assignment_are_not_merged(tmp_path):
    subs = tmp_path / "subs"
    folder = put(subs / "ada" / A1 / f"{A1}.ipynb")
    make_zip(subs / "ada.zip", {f"{A1}/other.ipynb": NB})
    sub = find(subs, tmp_path)[("ada", A1)]
    assert sub.notebooks == [folder]
    assert "2 submissions of a1_scalar_backprop were found" in sub.note
    assert "only ada/a1_scalar_backprop was graded" in sub.note


# --- links ----------------------------------------------------------------------------------


def test_links_are_never_followed(tmp_path):
    subs = tmp_path / "subs"
    real = put(subs / "ada" / A1 / f"{A1}.ipynb")
    (subs / "linker").mkdir(parents=True)
    (subs / "linker" / A1).symlink_to(SOLUTION_NOTEBOOK.parent, target_is_directory=True)
    (subs / "linkfile" / A1).mkdir(parents=True)
    (subs / "linkfile" / A1 / f"{A1}.ipynb").symlink_to(SOLUTION_NOTEBOOK)
    (subs / "flat").mkdir()
    (subs / "flat" / f"{A1}.ipynb").symlink_to(SOLUTION_NOTEBOOK)
    (subs / "ziplink").mkdir()
    (subs / "ziplink" / f"{A1}.zip").symlink_to(tmp_path / "elsewhere.zip")
    mixed = put(subs / "mixed" / A1 / f"{A1}.ipynb")
    (subs / "mixed" / A1 / "extra.ipynb").symlink_to(SOLUTION_NOTEBOOK)
    (subs / "toplink").symlink_to(subs / "ada", target_is_directory=True)
    found = find(subs, tmp_path)
    assert found[("ada", A1)].notebooks == [real]
    for student in ("linker", "linkfile", "flat", "ziplink"):
        sub = found[(student, A1)]
        assert not sub.notebooks, student
        assert sub.problem.startswith("missing notebook") and "links are not accepted" in \
            sub.problem, sub
    assert found[("mixed", A1)].notebooks == [mixed]
    assert "links are not accepted" in found[("mixed", A1)].note
    assert "symbolic link" in found[("toplink", UNKNOWN_ASSIGNMENT)].problem
    assert ("toplink", A1) not in found


def test_zip_members_that_are_links_are_not_made(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    link_member_zip(subs / "zlink.zip", f"{A1}/{A1}.ipynb", SOLUTION_NOTEBOOK)
    sub = find(subs, tmp_path)[("zlink", A1)]
    assert not sub.notebooks and "links are not accepted" in sub.note
    assert not any(p.is_symlink() for p in (tmp_path / "staging").rglob("*"))


def test_zip_slip_members_stay_inside(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    outside = tmp_path / f"escaped-{os.getpid()}.ipynb"
    make_zip(subs / "zslip.zip", {f"{A1}/{A1}.ipynb": NB, f"../../{outside.name}": NB,
                                  f"{A1}/../../../{outside.name}": NB, str(outside): NB})
    sub = find(subs, tmp_path)[("zslip", A1)]
    assert len(sub.notebooks) == 1 and "3 member(s) not unpacked" in sub.note
    assert not outside.exists() and not list(tmp_path.rglob(outside.name))


# --- sizes ----------------------------------------------------------------------------------


def test_a_zip_with_too_many_members_is_refused(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    make_zip(subs / "many.zip", {f"{A1}/{i}.ipynb": NB for i in range(201)})
    sub = find(subs, tmp_path)[("many", UNKNOWN_ASSIGNMENT)]
    assert "201 files, more than the 200 a zip may hold" in sub.problem
    assert not files_under(tmp_path / "staging")


def test_a_highly_compressible_zip_is_refused_before_unpacking(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    big_zero_zip(subs / "bomb.zip", f"{A1}/{A1}.ipynb", 200)
    assert (subs / "bomb.zip").stat().st_size < 1024**2
    sub = find(subs, tmp_path)[("bomb", UNKNOWN_ASSIGNMENT)]
    assert "unpacks to more than 50 MB" in sub.problem
    assert not files_under(tmp_path / "staging")


def test_a_zip_whose_header_lies_about_its_size_leaves_nothing_big(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    lying_zip(subs / "liar.zip", f"{A1}/{A1}.ipynb", 60, claimed=1000)
    with zipfile.ZipFile(subs / "liar.zip") as zf:
        assert zf.infolist()[0].file_size == 1000  # the declared size passes the cap
    sub = find(subs, tmp_path)[("liar", UNKNOWN_ASSIGNMENT)]
    assert sub.problem and not sub.notebooks
    assert sum(p.stat().st_size for p in files_under(tmp_path / "staging")) < 1024**2


def test_the_bytes_written_are_counted_whatever_the_header_says():
    out = io.BytesIO()
    with pytest.raises(ZipRefused, match="more than"):
        copy_capped(io.BytesIO(bytes(5 * submissions.CHUNK)), out, 2 * submissions.CHUNK,
                    "x.zip")
    assert len(out.getvalue()) <= 2 * submissions.CHUNK


def test_a_zip_file_larger_than_the_cap_is_not_opened(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "ZIP_MAX_BYTES", 1000)
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "large.zip", "w") as zf:  # stored: os.urandom does not shrink
        zf.writestr(f"{A1}.ipynb", os.urandom(5000))
    sub = find(subs, tmp_path)[("large", UNKNOWN_ASSIGNMENT)]
    assert "larger than" in sub.problem


def test_a_notebook_over_the_size_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "NOTEBOOK_MAX_BYTES", 100)
    subs = tmp_path / "subs"
    put(subs / "ada" / A1 / f"{A1}.ipynb", NB + " " * 200)
    sub = find(subs, tmp_path)[("ada", A1)]
    assert "more than the" in sub.problem and not sub.notebooks


def test_zips_inside_zips_are_not_opened(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    inner = make_zip(tmp_path / f"{A1}.zip", {f"{A1}/{A1}.ipynb": NB})
    make_zip(subs / "nested.zip", {})
    with zipfile.ZipFile(subs / "nested.zip", "w") as zf:
        zf.write(inner, f"{A1}.zip")
    found = find(subs, tmp_path)
    assert list(found) == [("nested", UNKNOWN_ASSIGNMENT)]
    assert "no assignment folder or notebook was found" in found[("nested", "unknown")].problem


def test_a_pipe_named_like_a_notebook_is_not_read(tmp_path):
    subs = tmp_path / "subs"
    (subs / "ada" / A1).mkdir(parents=True)
    os.mkfifo(subs / "ada" / A1 / f"{A1}.ipynb")  # reading it would hang the grader
    assert not find(subs, tmp_path)[("ada", A1)].notebooks


# --- reports --------------------------------------------------------------------------------


def test_reports_are_not_written_through_links(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.csv").write_text("keep me")
    (out / "feedback").mkdir(parents=True)
    (out / "feedback" / "bob").symlink_to(outside, target_is_directory=True)
    (out / "grades.csv").symlink_to(outside / "precious.csv")
    write_reports([Result("bob", A1, status="not graded", reason="missing notebook")], out)
    assert sorted(p.name for p in outside.iterdir()) == ["precious.csv"]
    assert (outside / "precious.csv").read_text() == "keep me"
    for path in (out / "feedback" / "bob", out / "grades.csv"):
        assert not path.is_symlink()
    assert (out / "feedback" / "bob" / A1 / f"{A1}.html").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["cell_grades.csv", "feedback",
                                                     "grades.csv", "summary.json"]


def test_a_report_folder_that_is_a_link_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real", target_is_directory=True)
    with pytest.raises(ReportFolderError, match="symbolic link"):
        write_reports([], tmp_path / "out")
    (tmp_path / "subs").mkdir()
    done = subprocess.run([sys.executable, "-m", "course.cli", "autograde",
                           str(tmp_path / "subs"), "--out", str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "give --out a real folder" in done.stderr
    assert not list((tmp_path / "real").iterdir())


# --- one real batch full of attacks ---------------------------------------------------------


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _model_answer_lines():
    """Lines of a1's model answers that no released notebook contains."""
    released = release_path(A1).read_text()
    lines = []
    for cell in nbformat.read(source_path(A1), as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            lines += [ln.strip() for ln in cell.source.splitlines()
                      if len(ln.strip()) > 12 and "SOLUTION" not in ln
                      and ln.strip() not in released]
    assert lines
    return lines


@pytest.mark.slow
def test_a_batch_of_attacks_earns_nothing_and_harms_no_one(tmp_path):
    from grader.simulate import completed

    subs, out, outside = tmp_path / "subs", tmp_path / "out", tmp_path / "outside"
    correct = nbformat.writes(completed(release_path(A1), source_path(A1)))
    untouched = release_path(A1).read_text()
    put(subs / "ada" / A1 / f"{A1}.ipynb", correct)
    put(subs / "bob" / A1 / f"{A1}.ipynb", correct)  # the victim
    make_zip(subs / "mallory.zip", {f"bob/{A1}/{A1}.ipynb": untouched})
    put(subs / "eve" / "bob" / A1 / f"{A1}.ipynb", untouched)
    for name in HOSTILE_NAMES:
        put(subs / name / A1 / f"{A1}.ipynb", correct)
    (subs / "linker").mkdir()
    (subs / "linker" / A1).symlink_to(SOLUTION_NOTEBOOK.parent, target_is_directory=True)
    (subs / "linkfile" / A1).mkdir(parents=True)
    (subs / "linkfile" / A1 / f"{A1}.ipynb").symlink_to(SOLUTION_NOTEBOOK)
    (subs / "toplink").symlink_to(subs / "ada", target_is_directory=True)
    make_zip(subs / "bomb_members.zip", {f"{A1}/{i}.ipynb": correct[:50] for i in range(250)})
    big_zero_zip(subs / "bomb_big.zip", f"{A1}/{A1}.ipynb", 200)
    lying_zip(subs / "bomb_liar.zip", f"{A1}/{A1}.ipynb", 60, claimed=1000)
    link_member_zip(subs / "zlink.zip", f"{A1}/{A1}.ipynb", SOLUTION_NOTEBOOK)
    make_zip(subs / "zslip.zip", {f"{A1}/{A1}.ipynb": correct, "../../escaped.ipynb": correct})
    outside.mkdir()
    (out / "feedback").mkdir(parents=True)
    (out / "feedback" / "bob").symlink_to(outside, target_is_directory=True)

    done = subprocess.run([sys.executable, "-m", "course.cli", "autograde", str(subs),
                           "--out", str(out), "--jobs", "1"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {(r["student_id"], r["assignment_id"]): r for r in _rows(out / "grades.csv")}

    def row(student, aid=A1):
        return rows[(student, aid)]

    # the honest students keep full marks, whatever was done in their name
    for student in ("ada", "bob"):
        assert (row(student)["score"], row(student)["status"]) == ("100", "graded"), row(student)
        assert row(student)["reason"] == ""
    # impersonation: graded as the impostor, flagged
    for student in ("mallory", "eve"):
        assert row(student)["score"] == "0" and row(student)["status"] == "review"
        assert "contains a folder named after another student: bob" in row(student)["reason"]
    # bad names: refused under placeholders, never shown raw
    for name in HOSTILE_NAMES:
        refused = row(placeholder_id(name), "unknown")
        assert refused["status"] == "not graded" and refused["score"] == "0"
        assert "not a valid student id" in refused["reason"]
    for path in out.rglob("*"):
        text = path.name + (path.read_text() if path.is_file() else "")
        for raw in ("<img", "学生", "x" * 100, "a b,"):
            assert raw not in text, f"{path} shows the raw name {raw!r}"
    # links: nothing read through them, and the feedback shows no model answer
    for student in ("linker", "linkfile"):
        assert row(student)["status"] == "not graded" and row(student)["score"] == "0"
        assert "missing notebook" in row(student)["reason"]
        assert "links are not accepted" in row(student)["reason"]
        page = (out / "feedback" / student / A1 / f"{A1}.html").read_text()
        assert not [ln for ln in _model_answer_lines() if ln in page]
    assert "symbolic link" in row("toplink", "unknown")["reason"]
    assert ("toplink", A1) not in rows
    # zips: caps, link members and zip slip
    assert "more than the 200 a zip may hold" in row("bomb_members", "unknown")["reason"]
    assert "more than 50 MB" in row("bomb_big", "unknown")["reason"]
    assert row("bomb_liar", "unknown")["status"] == "not graded"
    assert row("zlink")["status"] == "not graded"
    assert "links are not accepted" in row("zlink")["reason"]
    assert row("zslip")["score"] == "100" and "not unpacked" in row("zslip")["reason"]
    assert not list(tmp_path.rglob("escaped.ipynb"))
    # every row scores only what was earned
    earned = {"ada", "bob", "zslip"}
    assert all(r["score"] == "0" for (s, _), r in rows.items() if s not in earned)
    # a link planted in OUT redirected nothing
    assert not list(outside.iterdir())
    assert not (out / "feedback" / "bob").is_symlink()
    assert (out / "feedback" / "bob" / A1 / f"{A1}.html").is_file()
