"""What people do on the course's JupyterHub, as Playwright steps: log in, use nbgrader's
Assignment List, run a command in a terminal of JupyterLab."""

import re

from playwright.sync_api import expect

SPAWN_TIMEOUT = 120_000  # ms: the hub starts the user's server
EXCHANGE_TIMEOUT = 60_000  # ms: a fetch, a submit, a feedback fetch
COMMAND_TIMEOUT = 600_000  # ms: a command in the terminal (grading a class)

# A terminal of the user's own server, through the same API and websocket JupyterLab's
# Terminal uses: the command runs in the user's login shell, with the environment the hub
# gave their server. Resolves to [exit status, what the terminal showed].
RUN_IN_TERMINAL = """
async ([prefix, command, timeoutMs]) => {
  const xsrf = decodeURIComponent((document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || "");
  const headers = {"X-XSRFToken": xsrf};
  const made = await fetch(prefix + "api/terminals", {method: "POST", headers});
  if (!made.ok) throw new Error("could not open a terminal: HTTP " + made.status);
  const {name} = await made.json();
  const socket = new WebSocket(
    location.origin.replace(/^http/, "ws") + prefix + "terminals/websocket/" + name);
  let shown = "";
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no end within the time:\\n" + shown)),
                               timeoutMs);
      socket.onopen = () => socket.send(
        JSON.stringify(["stdin", command + "; echo __exit_status=$?\\r"]));
      socket.onmessage = (event) => {
        const [kind, text] = JSON.parse(event.data);
        if (kind !== "stdout") return;
        shown += text;
        const end = shown.match(/__exit_status=(\\d+)/);  // the echo, not the typed line
        if (end) { clearTimeout(timer); resolve([Number(end[1]), shown]); }
      };
      socket.onerror = () => reject(new Error("the terminal's websocket failed"));
    });
  } finally {
    socket.close();
    await fetch(prefix + "api/terminals/" + name, {method: "DELETE", headers});
  }
}
"""
ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|\([A-Za-z])")


def sign_in(browser, server, name):
    """A browser of NAME's own (its own cookies), after signing in on the hub's page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{server.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", "any: the test's hub has the Dummy authenticator")
    page.click("#login_submit")
    return page


def log_in(browser, server, name):
    """A browser of NAME's own, logged in, JupyterLab open on their server."""
    page = sign_in(browser, server, name)
    page.wait_for_url(f"**/user/{name}/lab**", timeout=SPAWN_TIMEOUT)
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=SPAWN_TIMEOUT)
    return page


def nbgrader_menu(page):
    """The labels of the Nbgrader menu's items, or [] when there is no such menu."""
    menu = page.get_by_role("menuitem", name="Nbgrader", exact=True)
    if not menu.count():
        return []
    menu.click()
    items = page.locator("#jp-mainmenu-nbgrader .lm-Menu-item:not(.lm-mod-hidden)")
    labels = [label.strip() for label in items.locator(".lm-Menu-itemLabel").all_inner_texts()]
    page.keyboard.press("Escape")
    return labels


def open_assignment_list(page):
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name="Assignment List", exact=True).click()
    listing = page.locator("#assignments")
    expect(listing).to_be_visible()
    return listing


def assignment_row(page, section, aid):
    """The row of AID in a section of the Assignment List: released, fetched or submitted."""
    return page.locator(f"#{section}_assignments_list > .list_item", has_text=aid)


def fetch(page, aid):
    assignment_row(page, "released", aid).get_by_role("button", name="Fetch").click()
    expect(assignment_row(page, "fetched", aid)).to_be_visible(timeout=EXCHANGE_TIMEOUT)


def submit(page, aid):
    assignment_row(page, "fetched", aid).get_by_role("button", name="Submit").click()
    expect(assignment_row(page, "submitted", aid)).to_be_visible(timeout=EXCHANGE_TIMEOUT)


def fetch_feedback(page, aid):
    """Refresh the list until it says feedback is there (released since it was last shown),
    then fetch it."""
    row = assignment_row(page, "submitted", aid)
    for _ in range(6):
        page.locator("#refresh_assignments_list").click()
        try:
            expect(row).to_contain_text("feedback available to fetch", timeout=10_000)
            break
        except AssertionError:
            continue
    expect(row).to_contain_text("feedback available to fetch", timeout=1)
    row.get_by_role("button", name="Fetch Feedback").click()
    expect(row.get_by_text("(view feedback)")).to_be_visible(timeout=EXCHANGE_TIMEOUT)


def run_in_terminal(page, name, command):
    """Run COMMAND in a terminal of NAME's JupyterLab (PAGE); what it printed, without the
    terminal's colours. Fails the test, showing the output, when the command fails."""
    status, shown = page.evaluate(RUN_IN_TERMINAL, [f"/user/{name}/", command, COMMAND_TIMEOUT])
    shown = ANSI.sub("", shown)
    print(shown)  # pytest shows it when a test fails
    assert status == 0, f"`{command}` exited with {status}:\n{shown[-6000:]}"
    return shown
