"""Simulated student submissions, made from the released notebooks the way a student would."""

import importlib

import nbformat

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")



def catalogue(assignment_id):
    """The assignment's hidden-check module: KNOWN_MISTAKES and ALTERNATIVE_SOLUTIONS live there.

    KNOWN_MISTAKES: name -> (grade_id, text in the model answer, wrong text, words the feedback
    must contain). ALTERNATIVE_SOLUTIONS: grade_id -> a correct answer written differently.
    """
    return importlib.import_module(f"grader.checks.{assignment_id}")


def model_answer(source_cell):
    """A solution cell's model answer as a student would type it (no nbgrader markers)."""
    lines = source_cell.source.splitlines()
    return "\n".join(ln for ln in lines if ln.strip() not in SOLUTION_MARKERS)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def completed(release_path, source_path, replace=None):
    """The released notebook with every solution cell filled in with the model answer.

    replace maps grade_id -> function(model_answer_text) -> submitted text, for simulated errors.
    """
    release_nb = nbformat.read(release_path, as_version=4)
    answers = {grade_id(c): model_answer(c) for c in nbformat.read(source_path, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    replace = replace or {}
    for cell in release_nb.cells:
        gid = grade_id(cell)
        if gid in answers:
            cell.source = replace.get(gid, lambda text: text)(answers[gid])
    return release_nb


def with_mistakes(release_path, source_path, assignment_id, names):
    """The completed notebook with the named KNOWN_MISTAKES of the assignment typed in."""
    known = catalogue(assignment_id).KNOWN_MISTAKES
    replace = {}
    for name in names:
        gid, right, wrong, _ = known[name]

        def edit(text, right=right, wrong=wrong, name=name):
            if right not in text:
                raise ValueError(f"mistake {name!r} no longer matches the model answer")
            return text.replace(right, wrong)
        replace[gid] = edit
    return completed(release_path, source_path, replace)


def with_alternatives(release_path, source_path, assignment_id):
    """The completed notebook with every ALTERNATIVE_SOLUTIONS answer in place of the model one."""
    alternatives = catalogue(assignment_id).ALTERNATIVE_SOLUTIONS
    return completed(release_path, source_path,
                     {gid: (lambda _, text=text: text) for gid, text in alternatives.items()})


def first_solution_ids(notebook_path):
    """[the grade_id of the notebook's first solution code cell] ([] if it has none)."""
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            return [grade_id(cell)]
    return []
