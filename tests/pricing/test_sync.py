"""prices_sync against a real local HTTP server serving OpenRouter's recorded answers."""

from __future__ import annotations

import json
import re
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings

from apps.pricing.errors import PricingMisconfigured, SyncFailed
from apps.pricing.models import OpenRouterModel, PriceChange, PriceSync
from apps.pricing.services import prices_sync
from tests.fakes.openrouter import FakeOpenRouter, load_fixture

from .conftest import FIXTURES


def assert_catalogue_exact(source: list[dict]) -> None:
    """Every listed model is stored, with every price equal to its source string."""
    stored = {model.id: model for model in OpenRouterModel.objects.all()}
    assert set(stored) == {entry["id"] for entry in source}
    for entry in source:
        model = stored[entry["id"]]
        assert model.pricing == entry["pricing"]  # keys, tiers and strings, nothing dropped
        for key, value in entry["pricing"].items():
            if isinstance(value, str):
                assert model.price(key) == Decimal(value)
                assert str(model.pricing[key]) == value
        assert model.name == entry["name"]
        assert model.context_length == entry["context_length"]
        assert model.canonical_slug == entry.get("canonical_slug", "")
        assert model.top_provider_max_completion_tokens == entry["top_provider"][
            "max_completion_tokens"]
        assert model.created is not None and int(model.created.timestamp()) == entry["created"]
        assert model.active


@pytest.mark.django_db
def test_prices_sync__loads_414_catalogue_exactly(openrouter: FakeOpenRouter) -> None:
    result = prices_sync()

    assert result.detail == "414 models: 414 new, 0 changed, 0 retired"
    assert openrouter.requests == 1
    assert_catalogue_exact(json.loads((FIXTURES / "models-414.json").read_text())["data"])
    tiered = OpenRouterModel.objects.get(id="deepseek/deepseek-v4-pro")
    assert [tier["utc_start"] for tier in tiered.pricing["overrides"]] == [1000, 100, 400, 600]
    assert OpenRouterModel.objects.get(id="openrouter/auto-beta").is_variable
    assert OpenRouterModel.objects.filter(is_free=True).count() >= 1


@pytest.mark.django_db
def test_prices_sync__loads_321_catalogue_exactly(openrouter: FakeOpenRouter) -> None:
    openrouter.models = load_fixture("models-321.json")

    result = prices_sync()

    assert result.counts is not None and result.counts.new == 321
    assert_catalogue_exact(openrouter.models)
    # Explicit zeros of the older shape are kept, not dropped as "free".
    opus = OpenRouterModel.objects.get(id="anthropic/claude-opus-4")
    assert opus.pricing["web_search"] == "0" and opus.price("image") == Decimal("0.024")


@pytest.mark.django_db
def test_prices_sync__second_sync_within_interval_makes_no_request(
    openrouter: FakeOpenRouter,
) -> None:
    prices_sync()

    result = prices_sync()

    assert openrouter.requests == 1
    assert result.status == "fresh"
    assert re.match(r"fresh: synced \d+ ms ago, next in 2 h 59 min", result.detail)
    assert PriceSync.objects.count() == 1


@pytest.mark.django_db
def test_prices_sync__database_says_fresh_when_cache_is_empty(openrouter: FakeOpenRouter) -> None:
    prices_sync()
    from django.core.cache import caches

    caches["boot"].clear()

    assert prices_sync().status == "fresh"
    assert openrouter.requests == 1


@pytest.mark.django_db
def test_prices_sync__broken_cache_degrades_to_database(openrouter: FakeOpenRouter) -> None:
    from tests.fakes.openrouter import unused_url

    redis_down = unused_url().replace("http://", "redis://").removesuffix("/api/v1")
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "boot": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                 "LOCATION": redis_down,
                 "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}},
    }
    with override_settings(CACHES=caches):
        assert prices_sync().status == "synced"
        assert prices_sync().status == "fresh"
    assert openrouter.requests == 1


@pytest.mark.django_db
def test_prices_sync__force_fetches_again(openrouter: FakeOpenRouter) -> None:
    prices_sync()

    result = prices_sync(force=True)

    assert openrouter.requests == 2
    assert result.detail == "414 models: 0 new, 0 changed, 0 retired"
    assert result.counts is not None and result.counts.unchanged == 414


@pytest.mark.django_db
def test_prices_sync__price_change_lands_in_history(openrouter: FakeOpenRouter) -> None:
    prices_sync()
    model_id = "anthropic/claude-opus-4.5" if any(
        m["id"] == "anthropic/claude-opus-4.5" for m in openrouter.models
    ) else openrouter.models[0]["id"]
    old = OpenRouterModel.objects.get(id=model_id).pricing
    openrouter.set_price(model_id, "prompt", "0.0000000208333333333333")

    result = prices_sync(force=True)

    assert result.detail == "414 models: 0 new, 1 changed, 0 retired"
    change = PriceChange.objects.get()
    assert change.model_id == model_id
    assert change.old_pricing == old
    assert change.new_pricing["prompt"] == "0.0000000208333333333333"
    assert OpenRouterModel.objects.get(id=model_id).price("prompt") == Decimal(
        "0.0000000208333333333333")


@pytest.mark.django_db
def test_prices_sync__new_price_key_is_a_change(openrouter: FakeOpenRouter) -> None:
    prices_sync()
    model_id = openrouter.models[3]["id"]
    openrouter.set_price(model_id, "video_second", "0.0125")

    prices_sync(force=True)

    assert OpenRouterModel.objects.get(id=model_id).pricing["video_second"] == "0.0125"
    assert PriceChange.objects.get().model_id == model_id


@pytest.mark.django_db
def test_prices_sync__retired_model_turns_inactive_and_comes_back(
    openrouter: FakeOpenRouter,
) -> None:
    prices_sync()
    gone = openrouter.models[10]
    openrouter.remove(gone["id"])

    result = prices_sync(force=True)

    assert result.detail == "413 models: 0 new, 0 changed, 1 retired"
    retired = OpenRouterModel.objects.get(id=gone["id"])
    assert not retired.active and retired.retired_at is not None
    assert retired.pricing == gone["pricing"]  # kept, never deleted
    assert OpenRouterModel.objects.filter(active=True).count() == 413

    openrouter.models.append(gone)
    prices_sync(force=True)

    back = OpenRouterModel.objects.get(id=gone["id"])
    assert back.active and back.retired_at is None and back.first_seen == retired.first_seen


@pytest.mark.django_db
def test_prices_sync__follows_links_next_pages(openrouter: FakeOpenRouter) -> None:
    openrouter.page_size = 100

    result = prices_sync()

    assert openrouter.requests == 5
    assert result.counts is not None and result.counts.total == 414
    assert OpenRouterModel.objects.count() == 414


@pytest.mark.django_db
def test_prices_sync__sends_api_key(openrouter: FakeOpenRouter) -> None:
    with override_settings(OPENROUTER_API_KEY="sk-or-v1-test-key-0123456789abcdef"):
        prices_sync()

    assert openrouter.authorizations == ["Bearer sk-or-v1-test-key-0123456789abcdef"]


@pytest.mark.django_db
def test_prices_sync__anonymous_without_api_key(openrouter: FakeOpenRouter) -> None:
    prices_sync()

    assert openrouter.authorizations == [None]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["", "openrouter.ai/api/v1", "ftp://example.com"])
def test_prices_sync__bad_base_url_is_misconfigured(url: str) -> None:
    with override_settings(OPENROUTER_BASE_URL=url), pytest.raises(PricingMisconfigured):
        prices_sync()


def at_once(count: int, **options: object) -> tuple[list[str], list[BaseException]]:
    """Run `prices_sync(**options)` in `count` threads at once; return statuses and errors."""
    results: list[str] = []
    errors: list[BaseException] = []

    def sync() -> None:
        from django.db import connection

        try:
            results.append(prices_sync(**options).status)  # type: ignore[arg-type]
        except Exception as exc:  # each test says which errors it expects
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sync) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_prices_sync__two_processes_at_once_fetch_once(openrouter: FakeOpenRouter) -> None:
    openrouter.delay = 0.3
    results, errors = at_once(3)

    assert not errors
    assert sorted(results) == ["fresh", "fresh", "synced"]
    assert openrouter.requests == 1
    assert PriceSync.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_prices_sync__forced_while_another_syncs_fetches_once(openrouter: FakeOpenRouter) -> None:
    openrouter.delay = 0.3
    results, errors = at_once(2, force=True)

    assert not errors
    assert sorted(results) == ["fresh", "synced"]
    assert openrouter.requests == 1


@pytest.mark.django_db(transaction=True)
def test_prices_sync__waiters_share_a_failure_instead_of_repeating_it(
        openrouter: FakeOpenRouter) -> None:
    openrouter.mode = "error"
    openrouter.fail_times = 1000  # every answer a 500
    openrouter.delay = 0.3
    results, errors = at_once(3)

    assert results == []
    assert all(isinstance(error, SyncFailed) for error in errors) and len(errors) == 3
    assert sum("met by another process just now" in str(error) for error in errors) == 2
    assert PriceSync.objects.count() == 1  # one fetch attempt recorded, by the first process
    assert openrouter.requests == settings.PRICING_FETCH_ATTEMPTS
