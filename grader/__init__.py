"""Instructor side: reference implementations, hidden checks and the autograding pipeline."""
