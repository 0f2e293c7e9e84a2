"""Browser tests: real JupyterLab servers on localhost, driven by Debian's Chromium (Playwright).

Two servers per session:
- the student's: `backprop-course lab`, run from a venv into which the student's copy written
  by `backprop-course bundle` was pip-installed, on that copy (in a temporary folder); see
  tests/student_env.py. grader cannot be imported there and `course` comes from the copy. The lectures, the assignments and Validate are tested on it.
- the instructor's: the main venv's `jupyter lab`, started at the repository root where
  nbgrader_config.py lives: the formgrader.
Each server gets its own Jupyter config, data, settings and runtime folders in a temporary
folder, so nothing in ~/.jupyter changes what the tests see, and autosave is off so nothing is
written into the repository. The fixtures are package-scoped: the servers, their kernels and
the browser stop once the browser tests are done, before the rest of the suite runs.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from student_env import make_student_env

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # pages opened side by side keep rendering while another one is in front
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]
# Set UPDATE_SCREENSHOTS=1 to refresh the committed pictures in docs/screenshots/; otherwise
# the tests still take them, into a temporary folder, so a test run leaves the checkout alone.
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
LAB_START_TIMEOUT = 60


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in a real browser (Chromium)")


@pytest.fixture(scope="package", autouse=True)
def browser_scratch(tmp_path_factory):
    """A scratch folder (nbgrader's gradebook and folders) for the browser tests alone: the
    instructor's server, the grading runs here and the formgrader share it, and the rest of the
    suite, which counts what its own grading put in the gradebook, never sees it."""
    before = os.environ["BACKPROP_COURSE_SCRATCH"]
    os.environ["BACKPROP_COURSE_SCRATCH"] = str(tmp_path_factory.mktemp("browser-scratch"))
    yield
    os.environ["BACKPROP_COURSE_SCRATCH"] = before


@pytest.fixture(scope="package")
def screenshot_dir(tmp_path_factory):
    folder = ROOT / "docs" / "screenshots" if UPDATE_SCREENSHOTS else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="package")
def browser_context(tmp_path_factory):
    """One Chromium with a fresh profile for the session; each test opens its own pages."""
    if not CHROMIUM.exists():
        message = ("no /usr/bin/chromium, so the browser tests are skipped: sudo apt-get install "
                   "chromium, then .venv/bin/pytest tests/browser (.ci/run installs it)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        yield context
        context.close()


# ----------------------------------------------------------------------------- servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: url(path) gives an address with the login token."""

    def __init__(self, port, token, root_dir):
        self.port, self.token, self.root_dir = port, token, Path(root_dir)

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"


def jupyter_home(folder, port, token):
    """Environment variables giving a server private Jupyter folders, and in them the server
    options (port, token, no browser) and the JupyterLab settings the tests rely on."""
    folder = Path(folder)
    env = {"JUPYTER_CONFIG_DIR": folder / "config", "JUPYTER_DATA_DIR": folder / "data",
           "JUPYTER_RUNTIME_DIR": folder / "runtime",
           "JUPYTERLAB_SETTINGS_DIR": folder / "settings",
           "JUPYTERLAB_WORKSPACES_DIR": folder / "workspaces", "IPYTHONDIR": folder / "ipython",
           "MPLCONFIGDIR": folder / "matplotlib"}
    for path in env.values():
        path.mkdir(parents=True, exist_ok=True)
    # Options as configuration, not arguments: `backprop-course lab` is then run exactly as a
    # student types it.
    server = {"ServerApp": {"ip": "127.0.0.1", "port": port, "port_retries": 0,
                            "token": token, "open_browser": False,
                            "allow_root": True}}  # CI runs as root
    (env["JUPYTER_CONFIG_DIR"] / "jupyter_server_config.json").write_text(json.dumps(server))
    settings = {
        # never write a notebook back: the instructor's server runs on the repository itself
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        # every cell on the page: by default JupyterLab attaches and detaches the cells of a
        # long notebook as they scroll in and out of view, which races with the tests' steps
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        # no "would you like news?" toast over the page
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        path = env["JUPYTERLAB_SETTINGS_DIR"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return {name: str(path) for name, path in env.items()}


def start_lab(command, cwd, env, lab, log):
    """Start a server in its own process group, wait until its API answers."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command} exited with {process.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(lab.url("api/status"), timeout=2):
                return process
        except OSError:  # not listening yet
            time.sleep(0.3)
    stop_lab(process)
    raise RuntimeError(f"JupyterLab did not answer within {LAB_START_TIMEOUT} s; see {log.name}")


def stop_lab(process, timeout=15):
    """Stop a server this session started and all it started (its process group): SIGTERM,
    then SIGKILL after timeout seconds. The hub tests stop JupyterHub with it too."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="package")
def student_env(tmp_path_factory):
    """The student's copy, pip-installed into its own venv as its INSTALL.md says."""
    return make_student_env(tmp_path_factory.mktemp("student"))


@pytest.fixture(scope="package")
def student_lab(student_env, tmp_path_factory):
    """`backprop-course lab` from the student's venv: JupyterLab on the student's copy."""
    venv, copy = student_env.venv, student_env.copy
    home = tmp_path_factory.mktemp("student-jupyter")
    port, token = free_port(), secrets.token_hex(16)
    env = {**student_env.environ(), **jupyter_home(home, port, token)}
    # the last install step of INSTALL.md: trust the lectures, so their saved widgets show
    subprocess.run([str(venv / "bin" / "jupyter"), "trust", *sorted(copy.glob("lectures/*.ipynb"))],
                   env=env, check=True, capture_output=True)
    with open(home / "lab.log", "w") as log:
        # run from elsewhere: the installed package must know where the course is
        lab = Lab(port, token, copy)
        process = start_lab([str(venv / "bin" / "backprop-course"), "lab"], home, env, lab, log)
        yield lab
        stop_lab(process)


@pytest.fixture(scope="package")
def instructor_lab(browser_scratch, tmp_path_factory):
    """The main venv's JupyterLab at the repository root, with the gradebook (in
    browser_scratch) knowing every assignment."""
    from grader.release import release

    scratch = tmp_path_factory.mktemp("instructor")
    # the release goes to a temporary folder: only the gradebook is wanted, assignments/ stays
    release(ROOT, release_dir=scratch / "release")
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, **jupyter_home(scratch / "jupyter", port, token)}
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    with open(scratch / "lab.log", "w") as log:
        lab = Lab(port, token, ROOT)
        process = start_lab([jupyter, "lab", f"--ServerApp.root_dir={ROOT}"], ROOT, env, lab, log)
        yield lab
        stop_lab(process)


# ----------------------------------------------------------------------------- feedback

STUDENT, AID = "ada", "a1_scalar_backprop"
MISTAKE = "multiply_no_swap"  # the catalogue's mistake: MultiplyGate's gradients not swapped


class GradingRun:
    """`backprop-course autograde` on one simulated submission, running in the background."""

    def __init__(self, process, out, log):
        self.process, self.out, self.log = process, out, log

    def feedback_html(self, timeout=120):
        """The feedback page the student gets back, once grading has finished."""
        assert self.process.wait(timeout=timeout) == 0, f"autograde failed: see {self.log}"
        return self.out / "feedback" / STUDENT / AID / f"{AID}.html"


@pytest.fixture(scope="package")
def grading_run(browser_scratch, tmp_path_factory):
    from grader.simulate import with_mistakes

    folder = tmp_path_factory.mktemp("grading")
    release = ROOT / "assignments" / AID / f"{AID}.ipynb"
    source = ROOT / "solutions" / AID / f"{AID}.ipynb"
    submission = folder / "submissions" / STUDENT / AID / f"{AID}.ipynb"
    submission.parent.mkdir(parents=True)
    nbformat.write(with_mistakes(release, source, AID, [MISTAKE]), submission)
    with open(folder / "autograde.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "course.cli", "autograde", str(folder / "submissions"),
             "--out", str(folder / "report"), "--jobs", "1"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        yield GradingRun(process, folder / "report", log.name)
        if process.poll() is None:  # a test failed before waiting for it
            process.kill()
            process.wait()


@pytest.fixture(autouse=True)
def start_grading_early(request):
    """The first browser test starts the grading run (about 20 s), so that it goes on while
    the other tests drive the browser instead of making the feedback test wait."""
    if request.node.get_closest_marker("browser"):
        request.getfixturevalue("grading_run")
