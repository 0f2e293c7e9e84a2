"""The course secret, and the per-student seeds of the hidden checks derived from it.

The hidden inputs of every check come from seed(student id, check) = HMAC-SHA256(course secret,
student id, check): re-grading a student gives the same inputs, two students never share them,
and a seed one student extracts tells nothing about anyone else's, nor about the secret.

The secret lives outside the repository and out of the student's copy:
$BACKPROP_COURSE_SECRET (the secret itself), else the file $BACKPROP_COURSE_SECRET_FILE, else
~/.config/backprop-course/secret ($XDG_CONFIG_HOME is honoured), made on first use (0600).
Keep that file with the course's grades: a new secret gives every student new hidden inputs.
"""

import functools
import hmac
import os
import secrets
import tempfile
from pathlib import Path

_STUDENT = {"id": ""}  # whose submission the checks in this process are grading now


def secret_file():
    if os.environ.get("BACKPROP_COURSE_SECRET_FILE"):
        return Path(os.environ["BACKPROP_COURSE_SECRET_FILE"])
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "backprop-course" / "secret"


@functools.cache
def course_secret():
    if os.environ.get("BACKPROP_COURSE_SECRET"):
        return os.environ["BACKPROP_COURSE_SECRET"].encode()
    path = secret_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # written whole beside it (0600), then linked into place: two workers starting at once
        # agree on one secret, and neither reads it half written (os.link never replaces, nor
        # follows a link planted at path)
        fd, fresh = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
            os.link(fresh, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(fresh)
    secret = path.read_text().strip()
    if len(secret) < 16:
        raise RuntimeError(f"The course secret in {path} is too short: delete the file to have "
                           "a new one made, or set BACKPROP_COURSE_SECRET.")
    return secret.encode()


def grading_student(student_id):
    """Set whose submission the hidden checks grade next (their inputs are this student's)."""
    _STUDENT["id"] = str(student_id)


def secret_seed(check, offset=0):
    """The seed of one check's hidden inputs for the student being graded."""
    message = f"{_STUDENT['id']}\0{check}\0{offset}".encode()
    digest = hmac.new(course_secret(), message, "sha256").digest()
    return int.from_bytes(digest[:8], "little")
