"""JupyterHub for one class on one server (deploy/README.md says how to set it up; tests/hub
runs it).

Accounts are the server's own Unix users, who log in with their passwords (PAM). Everyone's
server runs as that user, so Unix permissions keep each student's work and the instructor's
course folder private; the hub runs as root to start them. The course's part (nbgrader's
exchange, who may log in, what each role's server runs) is jupyterhub_course.py, beside this
file.
"""

from pathlib import Path

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # PAM sessions are for login shells, not needed here
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"

load_subconfig(str(Path(__file__).resolve().parent / "jupyterhub_course.py"))  # noqa: F821
