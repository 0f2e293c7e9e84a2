"""A class on a real JupyterHub on localhost, set up as deploy/README.md says.

The `class_server` fixture does, as root, what an administrator does on an empty server, in a
temporary folder, and undoes it all afterwards:
- two Unix groups, the instructors' and the students', and three Unix users with private
  homes: an instructor and two students (a random tag in every name, so nothing on the
  machine is touched);
- the course environment, which the hub and the students' servers run from: the student's
  copy (`backprop-course bundle`) and JupyterHub pip-installed into a venv of Debian's
  python3 (the checkout's own Python may live in root's home, which users cannot enter);
- the instructor's checkout in their home (this checkout's files, as git lists them), with
  its `.venv` (`pip install -e ".[hub]"`);
- deploy/ copied beside the course environment, where every user can read it;
- JupyterHub started on deploy/jupyterhub_config.py, changed on its command line only where a
  test must: the Dummy authenticator instead of PAM (the users have no passwords) and ports
  on 127.0.0.1. configurable-http-proxy comes from npm (.ci/run installs it).
The two environments are installed from the package index, as on a real server (pip reuses
what it downloaded before).
"""

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser.conftest import CHROMIUM, CHROMIUM_ARGS, stop_lab

from course.bundle import write_bundle

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")
HUB_START_TIMEOUT = 60
TEST_USER_COMMENT = "backprop-course hub test"
# JupyterLab settings each user starts with, as in tests/browser: every cell on the page (no
# windowing, which races with the steps) and no news toast over the page.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def pytest_configure(config):
    config.addinivalue_line("markers", "hub: starts a real JupyterHub with real Unix users")


@dataclass
class ClassServer:
    """The running hub and who is on it."""

    url: str  # the hub's public address, e.g. http://127.0.0.1:8123
    base: Path  # the temporary folder holding everything the fixture made
    exchange: Path
    course_env: Path  # the venv the hub and the students' servers run from
    instructor: str
    students: list
    outsider: str  # a Unix user in neither group
    instructors_group: str
    students_group: str
    log: Path
    homes: dict = field(default_factory=dict)

    def user_url(self, name, path=""):
        return f"{self.url}/user/{name}/{path}"

    def checkout(self):
        return self.homes[self.instructor] / "backprop-course"

    def grading(self):
        return self.checkout() / "grading"  # nbgrader_config.py's default


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(command, **kwargs):
    """Run a setup command; on failure, say what it printed."""
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          check=False, **kwargs)
    if done.returncode:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def why_not_here():
    """Why the hub test cannot run on this machine, or '' when it can."""
    if os.geteuid() != 0:
        return "it creates Unix users and runs JupyterHub as root: run it as root (CI does)"
    missing = [tool for tool in ("useradd", "userdel", "groupadd", "groupdel", "runuser", "git",
                                 "configurable-http-proxy") if not shutil.which(tool)]
    missing += [str(path) for path in (DEBIAN_PYTHON, CHROMIUM) if not path.exists()]
    if missing:
        return f"{', '.join(missing)} missing: .ci/run installs them"
    return ""


def copy_checkout(destination):
    """The course's files as a clone has them (and new ones git does not ignore): no venv, no
    grading state of this checkout's own."""
    listed = run(["git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard",
                  "-z"])
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # not a file deleted from the work tree
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)


def make_venv(folder, *requirements):
    run([DEBIAN_PYTHON, "-m", "venv", folder])
    run([Path(folder) / "bin" / "pip", "install", "-q", "--disable-pip-version-check",
         *requirements])


def add_user(name, group, home):
    run(["useradd", "--create-home", "--home-dir", home, "--shell", "/bin/bash",
         *(["--groups", group] if group else []), "--comment", TEST_USER_COMMENT, name])
    home.chmod(0o700)  # Debian makes homes world-readable; deploy/README.md says to do this
    for setting, values in LAB_SETTINGS.items():
        path = home / ".jupyter" / "lab" / "user-settings" / setting
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    chown_tree(home, name)


def chown_tree(path, name):
    user = pwd.getpwnam(name)
    for item in [path, *Path(path).rglob("*")]:
        os.lchown(item, user.pw_uid, user.pw_gid)


def remove_user(name):
    """Stop what still runs as NAME (kernels, servers the hub did not stop), then remove it."""
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for _ in range(20):
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                and owner_of(p) == uid]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


def owner_of(proc):
    try:
        return proc.stat().st_uid
    except FileNotFoundError:
        return None


def start_hub(server, course_env, deploy, hub_dir):
    """JupyterHub from the course environment, as root, on the copied deploy config."""
    port = free_port()
    env = {**os.environ, "BACKPROP_COURSE_EXCHANGE": str(server.exchange),
           "BACKPROP_COURSE_INSTRUCTORS": server.instructors_group,
           "BACKPROP_COURSE_STUDENTS": server.students_group}
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "BACKPROP_COURSE_ROOT", "BACKPROP_COURSE_SCRATCH",
                 "JUPYTER_CONFIG_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR"):
        env.pop(name, None)  # the test run's own settings are not the server's
    command = [str(course_env / "bin" / "jupyterhub"), "-f", str(deploy / "jupyterhub_config.py"),
               # the test's only changes: no passwords, and ports nobody else uses
               "--JupyterHub.authenticator_class=dummy",
               f"--JupyterHub.bind_url=http://127.0.0.1:{port}",
               f"--JupyterHub.hub_bind_url=http://127.0.0.1:{free_port()}",
               f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}"]
    server.url = f"http://127.0.0.1:{port}"
    with open(server.log, "w") as log:
        process = subprocess.Popen(command, cwd=hub_dir, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + HUB_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterHub exited with {process.returncode}:\n{tail(server.log)}")
        try:
            with urllib.request.urlopen(f"{server.url}/hub/api", timeout=2):
                return process
        except OSError:  # not answering yet
            time.sleep(0.5)
    stop_hub(process)
    raise RuntimeError(f"JupyterHub did not answer within {HUB_START_TIMEOUT} s:\n"
                       f"{tail(server.log)}")


def stop_hub(process):
    """SIGTERM: the hub stops the users' servers and the proxy it started, then exits."""
    stop_lab(process, timeout=60)


def tail(path, lines=60):
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="package")
def class_server():
    problem = why_not_here()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"the JupyterHub test cannot run: {problem}")
        pytest.skip(problem)
    tag = secrets.token_hex(3)
    base = Path(tempfile.mkdtemp(prefix="backprop-hub-"))
    base.chmod(0o755)  # users reach the course environment, deploy/ and their homes through it
    opt = base / "opt" / "backprop-course"
    server = ClassServer(url="", base=base, exchange=base / "srv" / "exchange",
                         course_env=opt / "venv",
                         instructor=f"teacher{tag}", students=[f"ada{tag}", f"bob{tag}"],
                         outsider=f"eve{tag}",
                         instructors_group=f"instructors{tag}", students_group=f"students{tag}",
                         log=base / "hub" / "hub.log")
    made_users, made_groups, hub = [], [], None
    try:
        (base / "home").mkdir()
        (base / "hub").mkdir(mode=0o700)  # the hub's database and cookie secret: root's
        for group in (server.instructors_group, server.students_group):
            run(["groupadd", group])
            made_groups.append(group)
        for name, group in [(server.instructor, server.instructors_group),
                            *[(s, server.students_group) for s in server.students],
                            (server.outsider, None)]:
            made_users.append(name)
            server.homes[name] = base / "home" / name
            add_user(name, group, server.homes[name])
        # the course environment: the student's copy, JupyterLab, nbgrader and JupyterHub
        write_bundle(ROOT, opt / "course")
        make_venv(server.course_env, opt / "course", "jupyterhub")
        version = run([server.course_env / "bin" / "python", "-c",
                       "import jupyterhub; print(jupyterhub.__version__)"]).strip()
        shutil.copytree(ROOT / "deploy", opt / "deploy",
                        ignore=shutil.ignore_patterns("__pycache__"))
        # the instructor's checkout and its environment, with the hub's JupyterHub version
        checkout = server.checkout()
        copy_checkout(checkout)
        make_venv(checkout / ".venv", "-e", f"{checkout}[hub]",
                  f"jupyterhub=={version}")
        chown_tree(server.homes[server.instructor], server.instructor)
        hub = start_hub(server, server.course_env, opt / "deploy", base / "hub")
        yield server
    finally:
        if hub is not None:
            stop_hub(hub)
        for name in made_users:
            remove_user(name)
        for group in made_groups:
            subprocess.run(["groupdel", group], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="package")
def browser():
    """One Chromium; each person gets a context of their own (log_in), so their own cookies."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
