"""Reading what a stored lecture notebook shows: its cells, what they printed, its prose."""


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
