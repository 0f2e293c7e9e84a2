"""LMS downloads in: Canvas's "Download Submissions" zip and Moodle's "Download all submissions"
zip, built here with each LMS's own file and folder naming (canvas-lms lib/content_zipper.rb;
Moodle mod/assign/classes/downloader.php), read by grader/lms.py into submissions that
grader/submissions.py checks like any other. Fast: nothing is graded here (test_regrading.py
grades a Canvas download with the real command)."""

import stat
import zipfile

import nbformat
import pytest

from grader import lms
from grader.lms import LmsLayoutError, find_lms_submissions, read_download
from grader.submissions import valid_student_id

A1, A2 = "a1_scalar_backprop", "a2_vector_backprop"
KNOWN = {A1, A2}


def notebook(marker):
    """A notebook whose one cell says which upload it is."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(f"# {marker}"))
    return nbformat.writes(nb)


def make_zip(path, members):
    """members: {name: text}, in this order."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def found(zip_path, tmp_path, assignment=None):
    subs, students, remarks = find_lms_submissions(zip_path, KNOWN, tmp_path / "staging",
                                                    assignment)
    return {s.student_id: s for s in subs}, students, remarks


def marker(sub):
    (path,) = sub.notebooks
    return nbformat.read(path, as_version=4).cells[0].source


# What Canvas writes: <sortable name, lower-cased, only word characters>[_LATE]_<user id>_
# <attachment id>_<file name as uploaded>; anonymous grading: [LATE_]anon_<anonymous id>_...
CANVAS = {
    # several files; the notebook uploaded twice: Canvas renamed the second upload "-1"
    f"lovelaceada_1001_5001_{A1}.ipynb": notebook("ada first upload"),
    "lovelaceada_1001_5002_helpers.py": "x = 1\n",
    f"lovelaceada_1001_5007_{A1}-1.ipynb": notebook("ada latest upload"),
    # late, with an underscore in the name and a browser's copy suffix on the file
    f"de_la_cruzjuan_LATE_1002_5003_{A1} (1).ipynb": notebook("juan"),
    # a text entry instead of the notebook
    "turingalan_1003_text.html": "<p>I could not finish</p>",
    # anonymous grading, late
    f"LATE_anon_Xy7Qz_5004_{A1}.ipynb": notebook("anonymous"),
    # the notebook under another name: graded, as a student's only notebook is
    "hopper_grace_1005_5005_homework.ipynb": notebook("grace"),
}

# What Moodle writes with "Download submissions in folders" (the default):
# <Full name>_<participant id>_assignsubmission_file/<path as uploaded>
MOODLE = {
    f"Ada Lovelace_2000001_assignsubmission_file/{A1}.ipynb": notebook("ada top level"),
    f"Ada Lovelace_2000001_assignsubmission_file/old/{A1}.ipynb": notebook("ada old copy"),
    "Ada Lovelace_2000001_assignsubmission_file/data.csv": "1,2\n",
    "Ada Lovelace_2000001_assignsubmission_onlinetext/onlinetext.html": "<p>notes</p>",
    # older Moodle: the folder ends in '_'
    f"Alan Turing_2000002_assignsubmission_file_/{A1}.ipynb": notebook("alan"),
    # blind marking
    f"Participant_2000003_assignsubmission_file/{A1}.ipynb": notebook("participant"),
    # only online text
    "Grace Hopper_2000004_assignsubmission_onlinetext/onlinetext.html": "<p>essay</p>",
}


def test_canvas_names_map_to_lms_ids_never_to_names():
    kind, students = read_download("x.zip", list(CANVAS))
    assert kind == "Canvas"
    assert sorted(students) == ["canvas-1001", "canvas-1002", "canvas-1003", "canvas-1005",
                                "canvas-anon-Xy7Qz"]
    assert all(valid_student_id(sid) for sid in students)
    assert students["canvas-1001"].lms_user_id == "1001"
    assert students["canvas-1001"].name == "lovelaceada"
    assert students["canvas-1002"].name == "de_la_cruzjuan" and students["canvas-1002"].late
    assert students["canvas-anon-Xy7Qz"].late and not students["canvas-anon-Xy7Qz"].lms_user_id
    assert students["canvas-1003"].others == ["a text entry"]


def test_canvas_before_2014_marked_late_in_lower_case():
    _, students = read_download("x.zip", [f"lovelace-ada-late_1001_5001_{A1}.ipynb"])
    assert students["canvas-1001"].late and students["canvas-1001"].name == "lovelace-ada"


def test_moodle_names_map_to_participant_ids():
    kind, students = read_download("x.zip", list(MOODLE))
    assert kind == "Moodle"
    assert sorted(students) == ["moodle-2000001", "moodle-2000002", "moodle-2000003",
                                "moodle-2000004"]
    ada = students["moodle-2000001"]
    assert (ada.lms_user_id, ada.name) == ("2000001", "Ada Lovelace")
    assert [f.file_name for f in ada.files] == [f"{A1}.ipynb", f"{A1}.ipynb", "data.csv"]
    assert ada.others == ["onlinetext onlinetext.html"]


def test_moodle_without_folders():
    kind, students = read_download("x.zip", [
        f"Ada Lovelace_2000001_assignsubmission_file_{A1}.ipynb",
        "Ada Lovelace_2000001_assignsubmission_file_notes.txt"])
    assert kind == "Moodle"
    assert [f.file_name for f in students["moodle-2000001"].files] == [f"{A1}.ipynb",
                                                                        "notes.txt"]


@pytest.mark.parametrize("names", [
    [f"ada/{A1}/{A1}.ipynb"],  # our own layout, zipped: unzip it and give the folder
    [f"lovelaceada_1001_5001_{A1}.ipynb", "README.txt"],  # a Canvas download with an extra
    [f"export/lovelaceada_1001_5001_{A1}.ipynb"],  # re-zipped inside a folder
    ["../lovelaceada_1001_5001_x.ipynb"],
])
def test_an_unknown_layout_is_refused_with_a_sentence(names):
    with pytest.raises(LmsLayoutError) as refusal:
        read_download("class.zip", names)
    message = str(refusal.value)
    assert "Canvas" in message and "Moodle" in message and "Download" in message
    assert "<student_id>/<assignment_id>" in message  # what to do with anything else


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    (tmp_path / "class.zip").write_text("not a zip")
    with pytest.raises(LmsLayoutError, match="not a readable zip file"):
        found(tmp_path / "class.zip", tmp_path)


def test_a_canvas_download_becomes_submissions_of_the_latest_uploads(tmp_path):
    subs, students, remarks = found(make_zip(tmp_path / "c.zip", CANVAS), tmp_path)
    assert set(subs) == {"canvas-1001", "canvas-1002", "canvas-1003", "canvas-1005",
                         "canvas-anon-Xy7Qz"}
    assert all(s.assignment_id == A1 for s in subs.values())  # named by its notebooks
    assert marker(subs["canvas-1001"]) == "# ada latest upload"
    assert subs["canvas-1001"].notebooks[0].name == f"{A1}.ipynb"
    assert "older or extra upload" in remarks["canvas-1001"]
    assert marker(subs["canvas-1002"]) == "# juan"
    assert "Canvas marked this submission late" in remarks["canvas-1002"]
    assert "no notebook in the Canvas download" in subs["canvas-1003"].problem
    assert "a text entry" in subs["canvas-1003"].problem
    assert marker(subs["canvas-1005"]) == "# grace"  # its only notebook, under its own name
    assert students["canvas-1001"] == {"lms_user_id": "1001", "first_name": None,
                                       "last_name": "lovelaceada"}
    assert "canvas-anon-Xy7Qz" not in students  # nothing to record but the id


def test_a_moodle_download_becomes_submissions(tmp_path):
    subs, students, _ = found(make_zip(tmp_path / "m.zip", MOODLE), tmp_path)
    assert marker(subs["moodle-2000001"]) == "# ada top level"
    assert marker(subs["moodle-2000002"]) == "# alan"
    assert marker(subs["moodle-2000003"]) == "# participant"
    assert "no notebook in the Moodle download" in subs["moodle-2000004"].problem
    assert students["moodle-2000001"] == {"lms_user_id": "2000001", "first_name": "Ada",
                                          "last_name": "Lovelace"}
    assert students["moodle-2000003"]["last_name"] is None  # blind marking: no name


def test_the_assignment_is_asked_for_when_the_notebooks_do_not_say(tmp_path):
    zip_path = make_zip(tmp_path / "c.zip", {
        f"lovelaceada_1001_5001_{A1}.ipynb": notebook("a1"),
        f"turingalan_1003_5002_{A2}.ipynb": notebook("a2")})
    with pytest.raises(LmsLayoutError, match="--assignment"):
        found(zip_path, tmp_path)
    subs, _, _ = found(zip_path, tmp_path / "again", assignment=A2)
    assert subs["canvas-1001"].assignment_id == A2


def test_only_notebooks_are_unpacked_and_never_outside_the_staging_folder(tmp_path):
    zip_path = make_zip(tmp_path / "m.zip", {
        f"Ada Lovelace_2000001_assignsubmission_file/../../../../escaped/{A1}.ipynb":
            notebook("ada"),
        "Ada Lovelace_2000001_assignsubmission_file/big.bin": "x" * 1000,
        f"Alan Turing_2000002_assignsubmission_file/sub/dir/{A1}.ipynb": notebook("alan")})
    subs, _, _ = found(zip_path, tmp_path)
    assert "no notebook" in subs["moodle-2000001"].problem  # '..' is no path of a download
    assert marker(subs["moodle-2000002"]) == "# alan"
    assert subs["moodle-2000002"].notebooks[0].parent == (
        tmp_path / "staging" / "lms" / "moodle-2000002" / A1)
    assert not list(tmp_path.rglob("escaped")) and not list(tmp_path.rglob("big.bin"))


def test_a_notebook_over_the_cap_is_refused_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "NOTEBOOK_MAX_BYTES", 1000)
    zip_path = make_zip(tmp_path / "c.zip", {
        f"lovelaceada_1001_5001_{A1}.ipynb": notebook("x" * 2000),
        f"turingalan_1003_5002_{A1}.ipynb": notebook("alan")})
    subs, _, _ = found(zip_path, tmp_path)
    assert "more than the" in subs["canvas-1001"].problem and not subs["canvas-1001"].notebooks
    assert marker(subs["canvas-1003"]) == "# alan"  # the others are graded


def test_a_download_over_its_cap_is_refused_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(lms, "LMS_ZIP_MAX_BYTES", 1000)
    zip_path = make_zip(tmp_path / "c.zip", {
        f"lovelaceada_1001_5001_{A1}.ipynb": notebook("x" * 600),
        f"turingalan_1003_5002_{A1}.ipynb": notebook("y" * 600)})
    with pytest.raises(LmsLayoutError, match="BACKPROP_COURSE_LMS_ZIP_MAX_BYTES"):
        found(zip_path, tmp_path)


def test_a_link_in_the_download_is_not_made(tmp_path):
    zip_path = tmp_path / "c.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        info = zipfile.ZipInfo(f"lovelaceada_1001_5001_{A1}.ipynb")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
        zf.writestr(f"turingalan_1003_5002_{A1}.ipynb", notebook("alan"))
    subs, _, _ = found(zip_path, tmp_path)
    assert "link" in subs["canvas-1001"].problem and not subs["canvas-1001"].notebooks
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))
