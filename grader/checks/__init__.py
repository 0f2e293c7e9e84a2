"""Hidden checks: one module per assignment, one check function per graded entity.

The hidden test cells of solutions/ call these functions with the student's entity. Each check
compares against grader.reference on secret randomized inputs and raises a Mistake whose text
names the symptom and points at the idea, without printing reference values.
"""
