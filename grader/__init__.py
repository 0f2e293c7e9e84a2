"""Instructor side: reference implementations, hidden checks and the autograding pipeline."""

import sys

# jsonschema (under nbformat and nbgrader) imports rfc3987_syntax when it is installed, which
# builds some 35 parsers as it is imported: 0.7 s of CPU in every grading process, for the "iri"
# string format that no notebook or nbgrader schema uses (python-jsonschema/jsonschema#1428).
# Marked missing before nbformat is imported, jsonschema goes without it.
sys.modules.setdefault("rfc3987_syntax", None)
