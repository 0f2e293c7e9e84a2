"""Points from checks the student's kernel cannot influence.

For one submission: take the instructor's setup cells (from the source notebook) and the
student's solution cells (by grade_id, from the submitted notebook), run them in a Sandbox, and
run each test cell's hidden check here, in the grading process, on proxies of the student's
objects. The hidden block of each source test cell names its check:

    ### BEGIN HIDDEN TESTS
    from grader.checks import a1_scalar_backprop as hidden
    hidden.check_add_gate(AddGate)
    ### END HIDDEN TESTS
"""

import importlib
import re
from dataclasses import dataclass

from .checks.common import Mistake, PartialCredit
from .course_secret import grading_student
from .i18n import _
from .sandbox import Sandbox, SandboxDied
from .sandbox_runner import RemoteError

_MODULE = re.compile(r"from\s+grader\.checks\s+import\s+(\w+)\s+as\s+hidden")
_CHECK = re.compile(r"hidden\.(check_\w+)\(([^)]*)\)")
_DEFINES = re.compile(r"^(?:class|def)\s+(\w+)", re.MULTILINE)


@dataclass
class Verdict:
    passed: bool
    message: str = ""  # feedback for the student when it failed
    flag: str = ""  # a note for the instructor (review, repaired cell, ...)
    fraction: float = 0.0  # the share of the cell's points earned when it did not pass


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def hidden_checks(test_cell):
    """[(module name, check name, [argument names])] called by a source test cell."""
    module = _MODULE.search(test_cell.source)
    if not module:
        return []
    return [(module.group(1), name, [a.strip() for a in args.split(",") if a.strip()])
            for name, args in _CHECK.findall(test_cell.source)]


def setup_cells(source_nb):
    return [{"id": nbgrader_meta(c)["grade_id"], "source": c.source} for c in source_nb.cells
            if c.cell_type == "code" and nbgrader_meta(c).get("grade_id", "").startswith("setup")]


def solution_cells(source_nb, submitted_nb):
    """The student's code for every source solution cell, found by grade_id; when the grade_id
    was changed or removed, by the names the model answer defines (the cell is repaired)."""
    submitted = [c for c in submitted_nb.cells if c.cell_type == "code"]
    by_id = {}
    for c in submitted:
        by_id.setdefault(nbgrader_meta(c).get("grade_id"), c)
    cells, notes = [], []
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        gid = meta["grade_id"]
        found = by_id.get(gid)
        if found is None:
            names = set(_DEFINES.findall(cell.source))
            found = next((c for c in submitted if names & set(_DEFINES.findall(c.source))), None)
            if found is not None:
                notes.append(f"solution cell {gid} had lost its nbgrader id; found by its code")
        if found is None:
            notes.append(f"solution cell {gid} is missing")
            continue
        cells.append({"id": gid, "source": found.source})
    return cells, notes


def isolated_verdicts(source_nb, submitted_nb, student_id=""):
    """({test grade_id: Verdict} for every auto-graded test cell of the source notebook,
    [notes for the instructor about the submission as a whole]). The hidden inputs are
    student_id's own (grader.course_secret)."""
    grading_student(student_id)
    cells, notes = solution_cells(source_nb, submitted_nb)
    program = setup_cells(source_nb) + cells
    # which solution cell defines each name (in the model answer), to say where a failure
    # comes from
    defined_in = {name: nbgrader_meta(c)["grade_id"] for c in source_nb.cells
                  if c.cell_type == "code" and nbgrader_meta(c).get("solution")
                  for name in _DEFINES.findall(c.source)}
    verdicts, sandbox, killers = {}, None, []
    try:
        for cell in source_nb.cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code" or not meta.get("grade"):
                continue
            if sandbox is None:
                sandbox, killers = start_sandbox(program)
                notes += [f"running cell {k} ends the process" for k in killers
                          if f"running cell {k} ends the process" not in notes]
            checks = hidden_checks(cell)
            errors = dict(sandbox.cell_errors)
            verdict, sandbox_alive = _run_cell_checks(sandbox, checks)
            if not sandbox_alive:
                sandbox.close()
                sandbox = None  # the next cell gets a fresh process
            if not verdict.passed:
                verdict.message = _where_it_broke(verdict.message, checks, defined_in, killers,
                                                  errors)
            verdicts[meta["grade_id"]] = verdict
    finally:
        if sandbox is not None:
            sandbox.close()
    return verdicts, notes


def _where_it_broke(message, checks, defined_in, killers, errors):
    """The check's sentence, with what happened to the cells defining its entities when they
    ran: only those cells, so a failure never blames code the check did not use."""
    cells = {defined_in[a] for _, _, args in checks for a in args if a in defined_in}
    ended = sorted(cells & set(killers))
    if ended:
        return _("Your code in cell {cells} ended the process when it ran (exit(), os._exit, a "
                 "crash or too much memory), so it could not be checked: remove what ends the "
                 "process.").format(cells=", ".join(ended))
    raised = {k: v for k, v in errors.items() if k in cells}
    if raised:
        message = _("{message} (Your code raised when it ran: {errors})").format(
            message=message, errors="; ".join(_("cell {cell}: {error}").format(cell=k, error=v)
                                              for k, v in raised.items()))
    return message


def start_sandbox(program):
    """A sandbox with the program's cells run; a cell that kills the process on its own (say
    os._exit at the top level) is left out, so the other cells still get their points."""
    try:
        return Sandbox(program), []
    except SandboxDied:
        pass
    kept, killers = [], []
    for cell in program:
        try:
            Sandbox([*kept, cell]).close()
            kept.append(cell)
        except SandboxDied:
            killers.append(cell["id"])
    return Sandbox(kept), killers


def _run_cell_checks(sandbox, checks):
    if not checks:
        return Verdict(False, "", "no hidden check is defined for this cell"), True
    try:
        for module, name, args in checks:
            check = getattr(importlib.import_module(f"grader.checks.{module}"), name)
            entities = []
            for arg in args:
                try:
                    entities.append(sandbox.get(arg))
                except RemoteError:
                    return Verdict(False, _("{arg} is not defined: its cell did not run, or it "
                                            "does not define {arg} (keep that name).").format(
                                                arg=arg)), True
            check(*entities)
    except PartialCredit as partial:
        return Verdict(False, str(partial), partial.flag, partial.fraction), True
    except Mistake as mistake:
        return Verdict(False, str(mistake), mistake.flag), True
    except SandboxDied as died:
        return Verdict(False, died.sentence() + "."), False
    except (RemoteError, NotImplementedError) as exc:
        return Verdict(False, _("your code raised {error}").format(error=exc)), True
    except Exception as exc:  # noqa: BLE001  (a grader bug must not stop the batch)
        return Verdict(False, _("this cell could not be checked"),
                       f"grader error in {checks}: {type(exc).__name__}: {exc}"), True
    return Verdict(True), True


# Code that has no business in these exercises: it earns nothing anyway (the checks run
# elsewhere), but the instructor should know. (pattern, note for the instructor)
SUSPICIOUS = [
    (r"get_ipython|input_transformers|IPython", "uses IPython's hooks"),
    (r"\bbuiltins\b|__builtins__", "changes Python's builtins"),
    (r"\b(?:np|numpy)(?:\.\w+)*\.\w+\s*=[^=]", "replaces numpy functions"),
    (r"\bgrader\b", "refers to the grader's code"),
    (r"\bcourse(\.reference\b|_answers\b)|from\s+course\s+import\s.*\breference\b",
     "imports the course's answers (course.reference)"),
    (r"solutions|gradebook|\.ipynb|nbgrader", "reads course or grading files"),
    (r"def\s+__eq__|def\s+__float__|def\s+__bool__", "defines comparison or conversion hooks"),
    (r"tests passed", "prints a success message"),
    (r"os\._exit|sys\.exit|signal\.", "exits or signals the process"),
    (r"\bstandins\b|\bsandbox_runner\b|gc\.get_objects|sys\._getframe|\binspect\b",
     "reaches into the grader's stand-ins or the interpreter's internals"),
    (r"\bfork\b|\bsetsid\b|\bsubprocess\b|\bsocket\b|\bctypes\b",
     "starts processes or opens sockets"),
]


def suspicious_code(source_nb, submitted_nb):
    """Notes for the instructor about solution cells that try to influence grading."""
    cells, _ = solution_cells(source_nb, submitted_nb)
    notes = []
    for cell in cells:
        found = [note for pattern, note in SUSPICIOUS if re.search(pattern, cell["source"])]
        if found:
            notes.append(f"review {cell['id']}: it " + ", ".join(found))
    return notes
