"""Security checks: settings that would expose errors or secrets are reported."""

from __future__ import annotations

import pytest
from django.test import override_settings

from apps.boot.security import check_exposure


def _ids() -> list[str]:
    return [message.id for message in check_exposure()]


def test_check_exposure__defaults_are_clean() -> None:
    with override_settings(DEBUG=False, SECRET_KEY_CONFIGURED=True):
        assert _ids() == []


@pytest.mark.parametrize("hosts", [["*"], ["example.com"], ["localhost", "api.example.com"]])
def test_check_exposure__debug_with_a_public_host_is_E010(hosts: list[str]) -> None:
    with override_settings(DEBUG=True, ALLOWED_HOSTS=hosts):
        assert _ids() == ["boot.E010"]


def test_check_exposure__debug_on_loopback_only_is_fine() -> None:
    with override_settings(DEBUG=True, ALLOWED_HOSTS=["localhost", "127.0.0.1", "[::1]"]):
        assert _ids() == []


def test_check_exposure__missing_secret_key_outside_debug_is_W011() -> None:
    with override_settings(DEBUG=False, SECRET_KEY_CONFIGURED=False):
        assert _ids() == ["boot.W011"]


def test_check_exposure__short_metrics_token_is_W012(settings) -> None:
    settings.BOOT = {**settings.BOOT, "METRICS_TOKEN": "short"}
    with override_settings(SECRET_KEY_CONFIGURED=True):
        assert _ids() == ["boot.W012"]


def test_check_exposure__api_key_over_plain_http_is_W013() -> None:
    with override_settings(SECRET_KEY_CONFIGURED=True, OPENROUTER_API_KEY="sk-or-v1-abc",
                           OPENROUTER_BASE_URL="http://openrouter.example/api/v1"):
        assert _ids() == ["boot.W013"]
    with override_settings(SECRET_KEY_CONFIGURED=True, OPENROUTER_API_KEY="sk-or-v1-abc",
                           OPENROUTER_BASE_URL="http://127.0.0.1:8765"):
        assert _ids() == []
