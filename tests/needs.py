"""Optional test dependencies: skipped where missing, but never in CI, which must run
every test (the same rule as conftest.require for data)."""

import importlib
import os

import pytest


def need(module: str, install: str):
    """`module` imported, or a skip (a failure when CI is set) saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is needed for these tests: {install}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)
