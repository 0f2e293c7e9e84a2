"""The course's part of a JupyterHub's configuration: nbgrader's exchange, and what each role's
server runs. jupyterhub_config.py loads it for a class on one server; on The Littlest
JupyterHub it is loaded from a file in jupyterhub_config.d/ (deploy/README.md).

- An instructor is a member of the instructors' Unix group, a student of the students'
  group; a server is refused to anyone else.
- Students' servers, and their kernels, run in the course environment: the student's copy of
  the course (`backprop-course bundle`) with JupyterLab and nbgrader, and no grader. They get
  nbgrader's Assignment List and Validate, not its instructor tools (jupyter/student/).
- An instructor's server runs in their checkout's own environment (~/backprop-course/.venv),
  on their checkout's nbgrader_config.py: the formgrader and `backprop-course exchange`
  (jupyter/instructor/).
- nbgrader's exchange is a folder on this server, prepared when the hub starts.

What differs from one server to another comes from the hub's environment, with defaults:
BACKPROP_COURSE_EXCHANGE (/srv/nbgrader/exchange), BACKPROP_COURSE_INSTRUCTORS
(backprop-instructors), BACKPROP_COURSE_STUDENTS (backprop-students) and BACKPROP_COURSE_ENV,
the course environment (the one the hub runs from).
"""

import grp
import os
import pwd
import sys
from pathlib import Path

from tornado.web import HTTPError

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

COURSE_ID = "backprop-course"  # as in the course's nbgrader_config.py
EXCHANGE = Path(os.environ.get("BACKPROP_COURSE_EXCHANGE", "/srv/nbgrader/exchange"))
INSTRUCTORS = os.environ.get("BACKPROP_COURSE_INSTRUCTORS", "backprop-instructors")
STUDENTS = os.environ.get("BACKPROP_COURSE_STUDENTS", "backprop-students")
COURSE_ENV = Path(os.environ.get("BACKPROP_COURSE_ENV", sys.prefix))
CHECKOUT = "backprop-course"  # an instructor's checkout (and its grading/), in their home
# Jupyter configuration for each role: which of nbgrader's tools it gets, and its nbgrader
# settings (course, exchange). Read by users' servers, so it must be world-readable.
ROLE_CONFIG = Path(__file__).resolve().parent / "jupyter"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def members(group):
    """The users of a Unix group, whether it is their primary group or a supplementary one."""
    entry = grp.getgrnam(group)
    return set(entry.gr_mem) | {u.pw_name for u in pwd.getpwall() if u.pw_gid == entry.gr_gid}


def prepare_exchange():
    """nbgrader's exchange, made before anyone can log in. Its top folder is writable by all,
    as nbgrader's commands require, and sticky, so that no one can remove or rename what
    someone else made there. The course's folder is made here, owned by the instructors'
    group (nbgrader's `groupshared` setting, in jupyter/instructor/), so that no student can
    take its name first; nbgrader makes `inbound` inside it write-only for students."""
    EXCHANGE.mkdir(parents=True, exist_ok=True)
    os.chmod(EXCHANGE, 0o1777)
    course = EXCHANGE / COURSE_ID
    course.mkdir(exist_ok=True)
    if course.is_symlink() or course.stat().st_uid != 0:  # someone else's: never take it over
        raise SystemExit(f"{course} is not a folder of root's: if it is this course's "
                         "exchange from before, `chown root` it, otherwise remove it; then start "
                         "the hub again.")
    os.chown(course, 0, grp.getgrnam(INSTRUCTORS).gr_gid)
    os.chmod(course, 0o2775)


def refusal(status, message):
    """The error that keeps a server from starting, with the sentence the user is shown
    (JupyterHub shows a user an error's jupyterhub_message, and nothing else of it)."""
    error = HTTPError(status, message)
    error.jupyterhub_message = message
    return error


def configure_server(spawner):
    """Before a user's server starts: the environment it runs in and its role's settings."""
    try:
        user = pwd.getpwnam(spawner.user.name)
    except KeyError:
        raise refusal(403, f"{spawner.user.name} has no Unix account on this server: ask the "
                           "server's administrator to make it.") from None
    home = Path(user.pw_dir)
    if user.pw_name in members(INSTRUCTORS):
        python_env = home / CHECKOUT / ".venv"
        role = {"BACKPROP_COURSE_ROOT": str(home / CHECKOUT),
                "JUPYTER_CONFIG_PATH": str(ROLE_CONFIG / "instructor")}
        if not (python_env / "bin" / "jupyterhub-singleuser").exists():
            raise refusal(500, f"{user.pw_name} is an instructor, and an instructor's server "
                               f"runs from their checkout's environment, but {python_env} has "
                               f"no jupyterhub-singleuser: clone the course into "
                               f"{home / CHECKOUT} and run `python3 -m venv .venv && "
                               f'.venv/bin/pip install -e ".[hub]"` there.')
    elif user.pw_name in members(STUDENTS):
        python_env = COURSE_ENV
        role = {"JUPYTER_CONFIG_PATH": str(ROLE_CONFIG / "student")}
    else:
        raise refusal(403, f"{user.pw_name} is in neither the {INSTRUCTORS} group nor the "
                           f"{STUDENTS} group: ask the server's administrator to add them.")
    spawner.cmd = [str(python_env / "bin" / "jupyterhub-singleuser")]
    spawner.environment.update({
        **role,
        "BACKPROP_COURSE_EXCHANGE": str(EXCHANGE),
        # the server's own commands (nbgrader runs alembic) come from its environment
        "PATH": f"{python_env / 'bin'}:{SYSTEM_PATH}",
        "VIRTUAL_ENV": str(python_env),
    })


prepare_exchange()

# where the hub's accounts are the server's Unix users (PAM): only the two groups log in
c.LocalAuthenticator.allowed_groups = {INSTRUCTORS, STUDENTS}
c.Spawner.pre_spawn_hook = configure_server
c.Spawner.default_url = "/lab"
