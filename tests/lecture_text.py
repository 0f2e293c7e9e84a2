"""Reading what a stored lecture notebook shows (its cells, what they printed, its prose),
the checks every stored lecture passes, and the graph of lecture 5 built from the reference."""

import re

import nbformat

from grader.reference import Value


def cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def output(nb, cell_id):
    """The text a code cell printed or displayed (streams and text/plain)."""
    parts = []
    for out in cell(nb, cell_id).outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "".join(parts)


def prose(nb):
    """All markdown as one line: quote marks (">") dropped, every run of whitespace one space."""
    lines = [line.lstrip("> ") for c in nb.cells if c.cell_type == "markdown"
             for line in c.source.splitlines()]
    return " ".join(" ".join(lines).split())


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def printed_text(nb):
    """Everything the code cells printed or displayed as text."""
    parts = []
    for c in nb.cells:
        for out in c.get("outputs", []):
            parts.append(out.get("text", "") + out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def markdown_text(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def assert_nbformat_45_with_unique_ids(nb):
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    nbformat.validate(nb)
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    assert nb.metadata.kernelspec.name == "python3"


def assert_executed_in_order_without_errors_or_warnings(nb):
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), "run it with python -m grader.notebooks"
    for c in code_cells(nb):
        for out in c.outputs:
            assert out.output_type != "error", c.id
            assert not (out.output_type == "stream" and out.name == "stderr"), c.id


def assert_no_absolute_paths(nb):
    for c in nb.cells:
        assert not re.search(r"""["'](/|[A-Za-z]:\\)""", c.source), c.id


def assert_self_checks(nb, at_least=3):
    """At least AT_LEAST "predict, then run" questions, each with its answer folded away."""
    checks = [c for c in nb.cells if c.cell_type == "markdown"
              and c.source.startswith("**Predict, then run.**")]
    assert len(checks) >= at_least, f"{len(checks)} self-checks"
    for c in checks:
        assert re.search(r"\n<details><summary>Answer</summary>\n.+\n</details>$", c.source,
                         re.DOTALL), c.id


def assert_speaks_to_students(nb):
    """No testing markers in what a student reads, and sources named, never "the seeds"."""
    for c in nb.cells:
        assert "NBVAL" not in c.source, c.id
        if c.cell_type == "markdown":
            assert not re.search(r"\bseeds?\b", c.source, re.IGNORECASE), c.id


def assert_imports_only_the_course_package(nb):
    """A lecture runs in a student's copy: numpy, matplotlib, the standard library and course/
    (plus torch in the cells tagged requires-torch), never grader or an assignment's answer."""
    for c in code_cells(nb):
        for module in re.findall(r"^\s*(?:from|import)\s+([\w.]+)", c.source, re.MULTILINE):
            top = module.split(".")[0]
            if top == "torch":
                assert "requires-torch" in c.metadata.get("tags", []), c.id
            else:
                assert top in {"math", "time", "numpy", "matplotlib", "course"}, (c.id, module)
            assert module != "course.reference", c.id


def seed_graph_nodes(w=0.5, b=-0.3, x=1.5, y=1.0):
    """f(w, b) = 1/2 (sigma(wx + b) - y)^2 + 1/2 w^2 as named Value nodes, after backward()."""
    n = {"w": Value(w), "x": Value(x), "b": Value(b), "y": Value(y)}
    n["u1"] = n["w"] * n["x"]
    n["u2"] = n["u1"] + n["b"]
    n["u3"] = n["u2"].sigmoid()
    n["u4"] = n["u3"] - n["y"]
    n["u5"] = n["u4"] ** 2
    n["u6"] = 0.5 * n["u5"]
    n["u7"] = n["w"] ** 2
    n["u8"] = 0.5 * n["u7"]
    n["u9"] = n["u6"] + n["u8"]
    n["u9"].backward()
    return n
