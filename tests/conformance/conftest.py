"""Assertions in the check modules read like the test modules' (pytest rewrites them)."""

import pytest

pytest.register_assert_rewrite("tests.conformance.checks", "tests.conformance.daemon")
