"""The reference implementations the lectures run: `from course.reference import Affine`.

They are the answers to the assignments, so their one copy lives with the instructor, in
grader/reference/, and in the instructor's checkout this module hands out those. A student's
copy has no grader/: it holds, in course/released/, only the answers the instructor released
with `backprop-course bundle OUT --answers ...` (usually once an assignment is due), and asking
for any other one says which assignment it answers and what to do instead.
"""

import importlib

# Where the answers are: the instructor's reference first, then a student's released copy.
SOURCES = ("grader.reference", "course.released")
_modules = {}


def _source(package):
    if package not in _modules:
        try:
            _modules[package] = importlib.import_module(package)
        except ImportError:  # not in this copy of the course
            _modules[package] = None
    return _modules[package]


def __getattr__(name):
    for package in SOURCES:
        module = _source(package)
        if module is not None and hasattr(module, name):
            return getattr(module, name)
    released = _source("course.released")
    withheld = getattr(released, "WITHHELD", {})
    if name in withheld:
        raise ImportError(
            f"This lecture runs `{name}`, the course's answer to assignment {withheld[name]}, "
            f"and your copy of the course does not include that answer yet: instructors "
            f"release each assignment's answers once it is due. Until then, read the "
            f"lecture's saved outputs (every plot and number is stored), or ask your "
            f"instructor for the copy with the answers.", name=name)
    raise AttributeError(f"module 'course.reference' has no attribute {name!r}")
