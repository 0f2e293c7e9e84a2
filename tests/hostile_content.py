"""Hostile notebook content for the sanitiser's tests: classic XSS payloads (after OWASP's XSS
filter evasion cheat sheet, with mutation-XSS and markdown-only ones) that, if they ever ran,
would set window.__pwned, put "__pwned" in the document's title or open a dialog."""

import base64

import nbformat

MARKER = "__pwned"

# Raw HTML and markdown, for written answers and any other markdown cell.
MARKDOWN_PAYLOADS = [
    "<script>window.__pwned=1</script>",
    "<SCRIPT SRC=data:text/javascript,window.__pwned=1></SCRIPT>",
    "<img src=x onerror=window.__pwned=1>",
    "<img src=x onerror=\"alert('__pwned')\">",
    "<svg onload=window.__pwned=1>",
    "<svg><script>window.__pwned=1</script></svg>",
    '<svg><a xlink:href="javascript:window.__pwned=1"><text y="20">svg link</text></a></svg>',
    '<a href="javascript:window.__pwned=1">html link</a>',
    '<a href="jav&#x09;ascript:window.__pwned=1">tab link</a>',
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    '<iframe src="javascript:parent.__pwned=1"></iframe>',
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=1>",
    '<noscript><p title="</noscript><img src=x onerror=window.__pwned=1>">',
    "<!--><img src=x onerror=window.__pwned=1>-->",
    '<object data="javascript:window.__pwned=1"></object>',
    '<embed src="data:text/html,<script>parent.__pwned=1</script>">',
    "<style>@import 'javascript:window.__pwned=1';</style>",
    '<div style="background-image:url(javascript:window.__pwned=1)">styled</div>',
    "<details open ontoggle=window.__pwned=1>details</details>",
    "<input autofocus onfocus=window.__pwned=1>",
    "<video><source onerror=window.__pwned=1></video>",
    '<form action="javascript:window.__pwned=1"><button>go</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned=1">',
    '<base href="javascript:window.__pwned=1//">',
    "<title>t</title><script>document.title='__pwned'</script>",
    "[md link](javascript:window.__pwned=1)",
    "[entity link](JaVaScRiPt&#58;window.__pwned=1)",
    "![md image](javascript:window.__pwned=1)",
    "[reference link][r]\n\n[r]: javascript:window.__pwned=1",
    "<javascript:window.__pwned=1>",
    "```mermaid\n<img src=x onerror=window.__pwned=1>\n```",
    "$<img src=x onerror=window.__pwned=1>$",
    "$$</p><script>window.__pwned=1</script>$$",
]

WRITTEN_ANSWER = ("Every sigmoid layer multiplies the gradient by at most 1/4, so "
                  r"$\frac{\partial L}{\partial w}$ of the first layer shrinks geometrically.")

SVG_WITH_SCRIPT = ("<svg xmlns='http://www.w3.org/2000/svg' onload='window.__pwned=1'>"
                   "<script>window.__pwned=1</script></svg>")
# a 1x1 transparent PNG
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5C"
       "YII=")


def hostile_outputs():
    """Code cell outputs (all valid nbformat) whose HTML, scripts or metadata would run."""
    def display(data, metadata=None):
        return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})

    return [
        display({"text/html": "<img src=x onerror=window.__pwned=1><b>html output</b>",
                 "text/plain": "html output"}),
        display({"application/javascript": "window.__pwned=1", "text/plain": "js output"}),
        display({"application/vnd.jupyter.widget-view+json": {
            "model_id": "m1", "version_major": 2, "version_minor": 0}, "text/plain": "widget"}),
        display({"image/svg+xml": SVG_WITH_SCRIPT}),
        display({"text/markdown": "<img src=x onerror=window.__pwned=1>"}),
        display({"text/latex": "</div><script>window.__pwned=1</script>"}),
        display({"image/png": 'x" onerror="window.__pwned=1'}),
        display({"image/png": PNG}, {"image/png": {"width": "1 onerror=window.__pwned=1",
                                                   "filenames": "javascript:window.__pwned=1"}}),
        display({"text/html": "<iframe srcdoc='<script>parent.__pwned=1</script>'></iframe>"},
                {"text/html": {"isolated": True}}),
        nbformat.v4.new_output("stream", name='stdout"><script>window.__pwned=1</script>',
                               text="<script>window.__pwned=1</script> printed\n"),
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="<b>boom</b>",
                               traceback=["\x1b[31m<script>window.__pwned=1</script>\x1b[0m"]),
    ]


def make_hostile(nb, answer_id):
    """NB (a released assignment) with the payloads in the written answer ANSWER_ID, in a
    markdown cell of its own, in a raw cell, in a code cell's outputs, in attachments and in
    the cell and notebook metadata. Returns NB."""
    payloads = "\n\n".join(MARKDOWN_PAYLOADS)
    answer = next(c for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == answer_id)
    answer.source = (f"{WRITTEN_ANSWER}\n\n{payloads}\n\n"
                     "![evil](attachment:evil.svg) ![dot](attachment:dot.png)")
    answer.attachments = {
        "evil.svg": {"image/svg+xml": base64.b64encode(SVG_WITH_SCRIPT.encode()).decode()},
        "dot.png": {"image/png": PNG}}
    answer.metadata["tags"] = ['"><script>window.__pwned=1</script>']
    answer.metadata["trusted"] = True
    at = nb.cells.index(answer) + 1
    code = nbformat.v4.new_code_cell("print('hello')", execution_count=1)
    code.outputs = hostile_outputs()
    nb.cells[at:at] = [
        nbformat.v4.new_markdown_cell(f"Another cell.\n\n{payloads}"),
        nbformat.v4.new_raw_cell("<script>window.__pwned=1</script>",
                                 metadata={"raw_mimetype": "text/html"}),
        code,
    ]
    nb.metadata["title"] = "</title><script>window.__pwned=1</script>"
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": {"m1": {
            "model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
            "model_module_version": "2.0.0",
            "state": {"value": "<img src=x onerror=window.__pwned=1>"}}}}}
    return nb
