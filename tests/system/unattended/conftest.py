"""The unattended tests use tests/system/conftest.py's module fixtures: one `itss up` per file, its own inbox."""
