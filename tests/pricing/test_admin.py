"""The pricing admin: models with prices per million, filters, history, and "sync now"."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.test import Client

from apps.pricing.admin import per_million
from apps.pricing.models import PriceSync
from apps.pricing.services import prices_sync
from tests.fakes.openrouter import FakeOpenRouter


@pytest.fixture
def synced(openrouter: FakeOpenRouter) -> FakeOpenRouter:
    prices_sync()
    return openrouter


def test_per_million__exact() -> None:
    assert per_million("0.0000000208333333333333") == "$0.0208333333333333"
    assert per_million("0.000015") == "$15"
    assert per_million("-1") == "variable"
    assert per_million(None) == "—"


@pytest.mark.django_db
def test_model_admin__lists_searches_and_filters(
    admin_client: Client, synced: FakeOpenRouter
) -> None:
    listing = admin_client.get("/admin/pricing/openroutermodel/")
    search = admin_client.get("/admin/pricing/openroutermodel/?q=claude-opus")
    free = admin_client.get("/admin/pricing/openroutermodel/?price=free")
    provider = admin_client.get("/admin/pricing/openroutermodel/",
                                {"provider": "anthropic", "active__exact": "1"})

    assert listing.status_code == 200 and b"414 OpenRouter models" in listing.content
    assert b"anthropic/claude-opus-4.5" in search.content
    assert free.status_code == 200 and b":free" in free.content
    assert provider.status_code == 200 and b"openai/" not in provider.content


@pytest.mark.django_db
def test_model_admin__detail_shows_prices_and_history(
    admin_client: Client, synced: FakeOpenRouter
) -> None:
    model_id = "deepseek/deepseek-v4-pro"
    synced.set_price(model_id, "completion", "0.000002")
    prices_sync(force=True)

    page = admin_client.get(f"/admin/pricing/openroutermodel/{quote(model_id)}/change/")

    assert page.status_code == 200
    assert b"/ M tokens" in page.content and b"utc_start=1000" in page.content
    assert b"0.000002" in page.content  # the change, in the history inline
    history = admin_client.get("/admin/pricing/pricechange/")
    assert history.status_code == 200 and model_id.encode() in history.content


@pytest.mark.django_db
def test_sync_admin__sync_now(admin_client: Client, synced: FakeOpenRouter) -> None:
    listing = admin_client.get("/admin/pricing/pricesync/")
    assert b"Sync now" in listing.content

    response = admin_client.post("/admin/pricing/pricesync/sync-now/", follow=True)

    assert b"Prices synced: 414 models: 0 new, 0 changed, 0 retired" in response.content
    assert synced.requests == 2
    assert PriceSync.objects.filter(trigger="admin").count() == 1


@pytest.mark.django_db
def test_sync_admin__sync_now_failure_is_one_line(
    admin_client: Client, synced: FakeOpenRouter
) -> None:
    synced.mode = "empty"

    response = admin_client.post("/admin/pricing/pricesync/sync-now/", follow=True)

    assert b"OpenRouter listed no models; prices unchanged" in response.content


@pytest.mark.django_db
def test_sync_admin__sync_now_needs_post(admin_client: Client, synced: FakeOpenRouter) -> None:
    admin_client.get("/admin/pricing/pricesync/sync-now/")

    assert synced.requests == 1
