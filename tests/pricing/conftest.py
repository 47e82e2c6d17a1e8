"""Fixtures of the pricing tests: a real fake OpenRouter, fast retry settings, a private cache."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from tests.fakes.openrouter import FakeOpenRouter

# CI clones the repository next to a copy of `shared/`.
FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "openrouter"

FAST = {
    "PRICING_CONNECT_TIMEOUT": 0.5,
    "PRICING_READ_TIMEOUT": 0.5,
    "PRICING_FETCH_ATTEMPTS": 3,
    "PRICING_BACKOFF": 0.01,
    "PRICING_BACKOFF_MAX": 0.05,
    "PRICING_RETRY_AFTER_MAX": 1.0,
    "PRICING_FETCH_DEADLINE": 10.0,
    "PRICING_LOCK_WAIT": 10.0,
}


@pytest.fixture
def openrouter() -> Iterator[FakeOpenRouter]:
    """Serve the 414-model catalogue on a loopback port for one test."""
    with FakeOpenRouter("models-414.json") as server:
        yield server


@pytest.fixture(autouse=True)
def pricing_settings(openrouter: FakeOpenRouter) -> Iterator[None]:
    """Point the app at the fake, with short timeouts and a startup cache of its own."""
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "boot": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                 "LOCATION": f"pricing-{uuid.uuid4()}"},
    }
    with override_settings(OPENROUTER_BASE_URL=openrouter.base_url, OPENROUTER_API_KEY="",
                           PRICING_REFRESH_SECONDS=10800, CACHES=caches, **FAST):
        yield
