"""What a person does in JupyterLab, as Playwright steps: open a notebook, run it, drag a slider."""

import re
import secrets

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

KERNEL_STATUS = ".jp-Notebook-ExecutionIndicator"
RUN_TIMEOUT = 90_000  # ms: a whole lecture, with a kernel start


def notebook_url(lab, path):
    """The address of the notebook at PATH (relative to the server's root) in a workspace of
    its own: in the default one, JupyterLab would also reopen every notebook opened before."""
    return lab.url(f"lab/workspaces/{secrets.token_hex(8)}/tree/{path}")


def open_notebook(context, lab, path):
    """A new page showing the notebook at PATH, its kernel idle."""
    page = context.new_page()
    page.goto(notebook_url(lab, path))
    expect(page.locator(f"{KERNEL_STATUS}[data-status='idle']")).to_have_count(1, timeout=60_000)
    return page


def run_all_cells(page):
    """Run → Run All Cells; wait for what the run shows (the kernel's busy spell can be too
    short to catch), e.g. with live_widget."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def clear_all_outputs(page, label):
    """Edit → Clear Outputs of All Cells, until no control labelled LABEL is left. A trusted
    notebook saved with its widgets shows them before any run, looking live; once the outputs
    are cleared, a control can only come from a run."""
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
    expect(widget_labels(page, label)).to_have_count(0)


def widget_labels(page, label):
    return page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$"))


def run_all_until_widget(page, label, attempts=2):
    """Clear the saved outputs, then Run All Cells until the widget labelled LABEL is live.
    The menus act on the active notebook; on a slow first start the panel may not be active
    yet when a menu is used, so a run that shows no widget is repeated once after focusing
    the notebook."""
    for attempt in range(attempts):
        # activate the notebook by its tab (a click inside could fold a cell or press a button)
        page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").first.click()
        clear_all_outputs(page, label)
        run_all_cells(page)
        try:
            return live_widget(page, label, timeout=RUN_TIMEOUT if attempt else RUN_TIMEOUT // 2)
        except PlaywrightTimeoutError:
            if attempt == attempts - 1:
                raise
    return None


def live_widget(page, label, timeout=RUN_TIMEOUT):
    """The output holding the widget with a control labelled LABEL, once it is on the page
    and the kernel is idle (after clear_all_outputs, so that it comes from a run)."""
    output = page.locator(".jp-OutputArea-output").filter(has=widget_labels(page, label)).last
    output.wait_for(timeout=timeout)
    output.scroll_into_view_if_needed()
    expect(page.locator(f"{KERNEL_STATUS}[data-status='idle']")).to_have_count(
        1, timeout=RUN_TIMEOUT)
    return output


def drag_slider(page, slider, dx):
    """Drag the slider's handle DX pixels sideways with the mouse; the slider's new value."""
    handle = slider.locator(".noUi-handle")
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=8)
    page.mouse.up()
    return float(handle.get_attribute("aria-valuenow"))


def editor_of_cell_containing(page, text):
    """The code editor of the one cell whose source contains TEXT."""
    cell = page.locator(".jp-CodeCell").filter(
        has=page.locator(".cm-content", has_text=text))
    expect(cell).to_have_count(1)
    cell.scroll_into_view_if_needed()
    return cell.locator(".cm-content")


def replace_cell_source(page, editor, source):
    """Click into the editor, select everything and put SOURCE in its place. insert_text, not
    typing: typed newlines would be auto-indented by the editor a second time."""
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")  # back to command mode, as after typing

