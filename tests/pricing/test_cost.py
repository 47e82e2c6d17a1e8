"""price_cost: exact Decimal dollars from the listed prices, tiers and all."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from model_bakery import baker

from apps.pricing.cost import price_cost
from apps.pricing.errors import PriceUnavailable, UnknownModel
from apps.pricing.models import OpenRouterModel


def model(pricing: dict, **fields: object) -> OpenRouterModel:
    now = timezone.now()
    return baker.make(OpenRouterModel, id=fields.pop("id", "acme/model"), pricing=pricing,
                      first_seen=now, last_seen=now, **fields)


@pytest.mark.django_db
def test_price_cost__exact_with_repeating_decimals() -> None:
    model({"prompt": "0.0000000208333333333333", "completion": "0.0000000833333333333333"})

    cost = price_cost("acme/model", 3_000_000, 1_000_000)

    assert cost.total == Decimal("0.0624999999999999") + Decimal("0.0833333333333333")
    assert cost.parts == {"prompt": Decimal("0.0624999999999999"),
                          "completion": Decimal("0.0833333333333333")}


@pytest.mark.django_db
def test_price_cost__cache_reads_billed_at_cache_price() -> None:
    model({"prompt": "0.000003", "completion": "0.000015", "input_cache_read": "0.0000003"})

    cost = price_cost("acme/model", 1000, 10, cache_read_tokens=800)

    assert cost.total == Decimal("0.000003") * 200 + Decimal("0.0000003") * 800 + Decimal(
        "0.000015") * 10


@pytest.mark.django_db
def test_price_cost__prompt_size_tier() -> None:
    model({"prompt": "0.0000005", "completion": "0.000003",
           "overrides": [{"min_prompt_tokens": 128000, "prompt": "0.000001",
                          "completion": "0.000006"}]})

    small = price_cost("acme/model", 1000, 1000)
    large = price_cost("acme/model", 200_000, 1000)

    assert small.total == Decimal("0.0005") + Decimal("0.003")
    assert large.total == Decimal("0.2") + Decimal("0.006")


@pytest.mark.django_db
def test_price_cost__time_of_day_tier_wraps_midnight() -> None:
    model({"prompt": "0.00000066", "completion": "0.00000198", "overrides": [
        {"utc_start": 1000, "utc_end": 100, "prompt": "0.00000066"},
        {"utc_start": 100, "utc_end": 400, "prompt": "0.00000132"},
    ]})

    night = price_cost("acme/model", 1, 0, at=datetime(2025, 1, 1, 2, 30, tzinfo=UTC))
    late = price_cost("acme/model", 1, 0, at=datetime(2025, 1, 1, 23, 0, tzinfo=UTC))

    assert night.total == Decimal("0.00000132")
    assert late.total == Decimal("0.00000066")


@pytest.mark.django_db
def test_price_cost__free_model_costs_zero() -> None:
    model({"prompt": "0", "completion": "0"}, is_free=True)

    assert price_cost("acme/model", 10**6, 10**6).total == 0


@pytest.mark.django_db
def test_price_cost__variable_price_is_refused() -> None:
    model({"prompt": "-1", "completion": "-1"}, id="openrouter/auto", is_variable=True)

    with pytest.raises(PriceUnavailable, match="variable price"):
        price_cost("openrouter/auto", 10, 10)


@pytest.mark.django_db
def test_price_cost__unknown_model() -> None:
    with pytest.raises(UnknownModel, match="No model 'nobody/none'"):
        price_cost("nobody/none", 1, 1)


@pytest.mark.django_db
def test_price_cost__negative_tokens_refused() -> None:
    model({"prompt": "0.000001", "completion": "0.000001"})

    with pytest.raises(PriceUnavailable, match="whole number"):
        price_cost("acme/model", -1, 1)
