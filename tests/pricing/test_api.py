"""GET /api/prices/ and /api/prices/cost/ against a catalogue synced from the fake server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from apps.pricing.errors import SyncFailed
from apps.pricing.services import prices_sync
from tests.fakes.openrouter import FakeOpenRouter

OPUS = "anthropic/claude-opus-4.5"


@pytest.fixture
def synced(openrouter: FakeOpenRouter) -> FakeOpenRouter:
    prices_sync()
    return openrouter


@pytest.mark.django_db
def test_prices_list__503_before_first_sync(client: Client) -> None:
    response = client.get("/api/prices/")

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "not synced yet" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/prices/", "/api/prices/cost/?model=a/b&prompt_tokens=1"
                                 "&completion_tokens=1"])
def test_prices_api__503_not_500_before_the_tables_exist(
    client: Client, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """A worker serves before db.migrate made the tables: say 503 + Retry-After (regression)."""
    from django.db import ProgrammingError

    from apps.pricing import selectors

    def missing(*args: object, **kwargs: object) -> None:
        raise ProgrammingError('relation "pricing_pricesync" does not exist')

    monkeypatch.setattr(selectors, "sync_last_success", missing)
    monkeypatch.setattr("apps.pricing.views.price_cost", missing)
    response = client.get(url)

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "not available yet" in response.json()["error"]


@pytest.mark.django_db
def test_prices_list__serves_every_model_with_exact_prices(
    client: Client, synced: FakeOpenRouter
) -> None:
    body = client.get("/api/prices/").json()

    assert body["stale"] is False and body["fetched_at"]
    assert len(body["models"]) == 414
    source = {model["id"]: model for model in synced.models}
    for model in body["models"]:
        assert set(model) == {"id", "name", "context_length", "active", "pricing"}
        assert model["pricing"] == source[model["id"]]["pricing"]
        for value in model["pricing"].values():
            if isinstance(value, str):
                Decimal(value)  # a decimal string, never a float


@pytest.mark.django_db
def test_prices_list__filters_by_id_and_active(client: Client, synced: FakeOpenRouter) -> None:
    gone = synced.models[0]["id"]
    synced.remove(gone)
    prices_sync(force=True)
    kept = synced.models[0]["id"]

    by_id = client.get("/api/prices/", {"id": [gone, kept]}).json()["models"]
    inactive = client.get("/api/prices/?active=false").json()["models"]
    active = client.get("/api/prices/?active=true").json()["models"]

    assert [model["id"] for model in by_id] == sorted([gone, kept])
    assert [(model["id"], model["active"]) for model in inactive] == [(gone, False)]
    assert len(active) == 413
    assert client.get("/api/prices/?active=maybe").status_code == 400


@pytest.mark.django_db
def test_prices_list__conditional_get(client: Client, synced: FakeOpenRouter) -> None:
    first = client.get("/api/prices/")

    by_etag = client.get("/api/prices/", HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get("/api/prices/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    filtered = client.get("/api/prices/?active=true", HTTP_IF_NONE_MATCH=first["ETag"])

    assert (by_etag.status_code, by_date.status_code, filtered.status_code) == (304, 304, 200)
    prices_sync(force=True)
    assert client.get("/api/prices/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


@pytest.mark.django_db
def test_prices_list__stale_while_refresh_fails(client: Client, synced: FakeOpenRouter) -> None:
    before = client.get("/api/prices/").json()
    synced.mode = "html"
    with pytest.raises(SyncFailed):
        prices_sync(force=True)

    after = client.get("/api/prices/").json()

    assert after["stale"] is True
    assert after["models"] == before["models"] and after["fetched_at"] == before["fetched_at"]


@pytest.mark.django_db
def test_prices_cost__exact_dollars(client: Client, synced: FakeOpenRouter) -> None:
    model = next(m for m in synced.models if m["pricing"].get("input_cache_read")
                 and "overrides" not in m["pricing"])
    prompt, completion = Decimal(model["pricing"]["prompt"]), Decimal(
        model["pricing"]["completion"])

    response = client.get("/api/prices/cost/", {"model": model["id"], "prompt_tokens": 1234,
                                                 "completion_tokens": 567})

    assert response.status_code == 200
    body = response.json()
    assert Decimal(body["cost"]) == prompt * 1234 + completion * 567
    assert body["currency"] == "USD" and "E" not in body["cost"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"model": "nobody/nothing", "prompt_tokens": 1, "completion_tokens": 1}, 404, "No model"),
        ({"model": "openrouter/auto-beta", "prompt_tokens": 1, "completion_tokens": 1}, 400,
         "variable price"),
        ({"model": OPUS, "prompt_tokens": "x", "completion_tokens": 1}, 400, "whole number"),
        ({"model": OPUS, "completion_tokens": 1}, 400, "prompt_tokens"),
        ({"prompt_tokens": 1, "completion_tokens": 1}, 400, "model"),
    ],
)
def test_prices_cost__clear_errors(
    client: Client, synced: FakeOpenRouter, params: dict, status: int, words: str
) -> None:
    response = client.get("/api/prices/cost/", params)

    assert response.status_code == status
    assert words in response.json()["error"]
