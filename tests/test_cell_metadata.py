"""grader.cell_metadata's validator decides as nbgrader's does, on good and corrupted metadata."""

import copy

import nbformat
import pytest
from conftest import ROOT, source_path
from nbgrader.nbgraderformat import MetadataValidator as NbgraderValidator

from grader.cell_metadata import MetadataValidator
from grader.release import assignment_ids


def graded_cell(nb):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


def corrupt(change):
    def corrupted(nb):
        nb = copy.deepcopy(nb)
        change(graded_cell(nb).metadata["nbgrader"])
        return nb
    return corrupted


CORRUPTIONS = {
    "unchanged": lambda nb: nb,
    "points as text": corrupt(lambda m: m.update(points="ten")),
    "no points": corrupt(lambda m: m.pop("points")),
    "empty grade id": corrupt(lambda m: m.update(grade_id="")),
    "an unknown key": corrupt(lambda m: m.update(extra=1)),
    "grade as a number": corrupt(lambda m: m.update(grade=3)),
    "an old schema": corrupt(lambda m: m.update(schema_version=1)),
    "a newer schema": corrupt(lambda m: m.update(schema_version=99)),
    "no schema version": corrupt(lambda m: m.pop("schema_version")),
    "a duplicated grade id": lambda nb: nbformat.from_dict(
        {**nb, "cells": [*nb.cells, copy.deepcopy(graded_cell(nb))]}),
}


def outcome(validator, nb):
    try:
        validator.validate_nb(copy.deepcopy(nb))
    except Exception as exc:  # noqa: BLE001  (the outcome compared is the error itself)
        return type(exc).__name__, str(exc)
    return "valid", ""


@pytest.mark.parametrize("aid", assignment_ids(ROOT))
@pytest.mark.parametrize("change", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_the_validator_decides_as_nbgraders(aid, change):
    nb = CORRUPTIONS[change](nbformat.read(source_path(aid), as_version=4))
    expected = outcome(NbgraderValidator(), nb)
    assert outcome(MetadataValidator(), nb) == expected
    assert (expected[0] == "valid") == (change == "unchanged")
