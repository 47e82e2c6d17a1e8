"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest


def require_service(name: str, reachable: bool, why: str) -> None:
    """Skip a test whose service is absent, or fail it when REQUIRE_SERVICES=1 (as in CI)."""
    if reachable:
        return
    message = f"{name} is not reachable: {why}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(message)
