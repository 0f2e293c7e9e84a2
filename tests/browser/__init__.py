"""Browser tests. A package so that its conftest.py is imported as `browser.conftest`: as a
second top-level `conftest` it would replace tests/conftest.py, which test modules import."""
