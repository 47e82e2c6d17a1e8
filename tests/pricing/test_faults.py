"""Every way OpenRouter can fail: bounded time, bounded requests, prices intact, one line."""

from __future__ import annotations

import logging
import time

import pytest
from django.test import override_settings

from apps.pricing.errors import SyncFailed
from apps.pricing.models import OpenRouterModel, PriceSync
from apps.pricing.services import prices_sync
from tests.fakes.openrouter import FakeOpenRouter, unused_url

SECRET = "sk-or-v1-0123456789abcdef0123456789abcdef"


def snapshot() -> dict[str, dict]:
    return dict(OpenRouterModel.objects.values_list("id", "pricing"))


def fail_sync(*, within: float) -> str:
    """Run a forced sync that must fail within `within` seconds; return its message."""
    started = time.monotonic()
    with override_settings(OPENROUTER_API_KEY=SECRET), pytest.raises(SyncFailed) as caught:
        prices_sync(force=True)
    assert time.monotonic() - started < within
    message = str(caught.value)
    assert "\n" not in message and SECRET not in message
    assert "prices unchanged, next try at" in message
    assert PriceSync.objects.order_by("-id").first().error == message
    return message


@pytest.fixture
def synced(openrouter: FakeOpenRouter) -> dict[str, dict]:
    """Sync the catalogue once and return its prices, then zero the server's counters."""
    prices_sync()
    openrouter.reset()
    openrouter.models = [dict(model, pricing={"prompt": "1", "completion": "1"})
                         for model in openrouter.models]  # any write would show
    return snapshot()


@pytest.mark.django_db
def test_prices_sync__connection_refused(synced: dict) -> None:
    with override_settings(OPENROUTER_BASE_URL=unused_url()):
        message = fail_sync(within=3)

    assert message.startswith("Could not connect to http://127.0.0.1:")
    assert "three times" in message
    assert snapshot() == synced


@pytest.mark.django_db
def test_prices_sync__hang_is_a_read_timeout(openrouter: FakeOpenRouter, synced: dict) -> None:
    openrouter.mode = "hang"

    message = fail_sync(within=4)

    assert message.startswith("OpenRouter did not answer within 0.5 s (three times)")
    assert openrouter.requests == 3
    assert snapshot() == synced


@pytest.mark.django_db
def test_prices_sync__500s_then_success(openrouter: FakeOpenRouter, synced: dict) -> None:
    openrouter.mode, openrouter.fail_times = "error", 2

    result = prices_sync(force=True)

    assert openrouter.requests == 3
    assert result.counts is not None and result.counts.changed == 414
    assert set(map(str, snapshot().values())) == {str({"prompt": "1", "completion": "1"})}


@pytest.mark.django_db
def test_prices_sync__503_every_time(openrouter: FakeOpenRouter, synced: dict) -> None:
    openrouter.mode, openrouter.status, openrouter.fail_times = "error", 503, 99

    message = fail_sync(within=3)

    assert message.startswith("OpenRouter answered 503 three times; prices unchanged")
    assert openrouter.requests == 3
    assert snapshot() == synced


@pytest.mark.django_db
def test_prices_sync__401_is_not_retried(openrouter: FakeOpenRouter, synced: dict) -> None:
    openrouter.mode, openrouter.status, openrouter.fail_times = "error", 401, 99

    message = fail_sync(within=2)

    assert "answered 401" in message and "check OPENROUTER_API_KEY" in message
    assert openrouter.requests == 1
    assert snapshot() == synced


@pytest.mark.django_db
def test_prices_sync__429_honours_retry_after(openrouter: FakeOpenRouter, synced: dict) -> None:
    openrouter.mode, openrouter.fail_times, openrouter.retry_after = "throttle", 1, "1"

    started = time.monotonic()
    prices_sync(force=True)
    elapsed = time.monotonic() - started

    assert openrouter.requests == 2
    assert 0.9 < elapsed < 3  # waited as asked, not the 0.01 s backoff
    assert snapshot() != synced


@pytest.mark.django_db
def test_prices_sync__429_retry_after_is_capped(openrouter: FakeOpenRouter, synced: dict) -> None:
    openrouter.mode, openrouter.fail_times, openrouter.retry_after = "throttle", 99, "3600"

    with override_settings(PRICING_RETRY_AFTER_MAX=0.2):
        message = fail_sync(within=3)

    assert message.startswith("OpenRouter answered 429 three times")
    assert openrouter.requests == 3
    assert snapshot() == synced


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("malformed", "is not valid JSON"),
        ("html", "OpenRouter answered text/html, not JSON"),
        ("empty", "OpenRouter listed no models; prices unchanged"),
        ("shrunk", "OpenRouter listed 3 models, far fewer than the 414 active ones"),
        ("bad_price", "OpenRouter listed a non-numeric price for "),
    ],
)
def test_prices_sync__refuses_bad_answer(
    openrouter: FakeOpenRouter, synced: dict, mode: str, expected: str
) -> None:
    openrouter.mode = mode

    message = fail_sync(within=2)

    assert expected in message
    assert openrouter.requests == 1  # a bad answer is not worth asking again for
    assert snapshot() == synced
    assert OpenRouterModel.objects.filter(active=True).count() == 414


@pytest.mark.django_db
def test_prices_sync__failure_never_logs_the_key(
    openrouter: FakeOpenRouter, synced: dict, caplog: pytest.LogCaptureFixture
) -> None:
    openrouter.mode, openrouter.status, openrouter.fail_times = "error", 500, 99

    with caplog.at_level(logging.DEBUG):
        fail_sync(within=3)

    assert caplog.records and SECRET not in caplog.text
    assert openrouter.authorizations == [f"Bearer {SECRET}"] * 3


@pytest.mark.django_db
def test_prices_sync__first_sync_failing_leaves_nothing(openrouter: FakeOpenRouter) -> None:
    openrouter.mode = "bad_price"

    with pytest.raises(SyncFailed):
        prices_sync()

    assert OpenRouterModel.objects.count() == 0
    assert PriceSync.objects.get().outcome == "failed"


@pytest.mark.django_db
def test_prices_sync__deadline_bounds_many_attempts(
    openrouter: FakeOpenRouter, synced: dict
) -> None:
    openrouter.mode = "hang"

    with override_settings(PRICING_FETCH_ATTEMPTS=20, PRICING_FETCH_DEADLINE=1.0):
        fail_sync(within=3)

    assert openrouter.requests <= 3
    assert snapshot() == synced
