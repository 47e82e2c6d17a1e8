"""What a call costs, in exact Decimal dollars, from the prices a model lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal, localcontext
from typing import Any

from django.utils import timezone

from .errors import PriceUnavailable, UnknownModel
from .models import OpenRouterModel
from .parsing import VARIABLE, price_decimal

# Enough digits that no product of a listed price and a token count is ever rounded.
EXACT = Context(prec=60)


@dataclass(frozen=True)
class Cost:
    """A call's cost and the prices it was computed from."""

    model: str
    total: Decimal
    parts: dict[str, Decimal]
    prices: dict[str, str]


def _tier(pricing: dict[str, Any], *, prompt_tokens: int, at: datetime) -> dict[str, Any]:
    """Return the prices that apply: the base ones, overlaid by the matching `overrides` tier.

    Tiers are either by prompt size (`min_prompt_tokens`: the largest one reached applies) or
    by time of day (`utc_start`/`utc_end` as HHMM in UTC, wrapping past midnight).
    """
    prices = {key: value for key, value in pricing.items() if isinstance(value, str)}
    tiers = [tier for tier in pricing.get("overrides") or [] if isinstance(tier, dict)]
    by_size = sorted((tier for tier in tiers if isinstance(tier.get("min_prompt_tokens"), int)),
                     key=lambda tier: tier["min_prompt_tokens"])
    clock = at.astimezone(UTC).hour * 100 + at.astimezone(UTC).minute
    matched = None
    for tier in by_size:
        if prompt_tokens >= tier["min_prompt_tokens"]:
            matched = tier
    for tier in tiers:
        start, end = tier.get("utc_start"), tier.get("utc_end")
        if isinstance(start, int) and isinstance(end, int):
            inside = start <= clock < end if start < end else (clock >= start or clock < end)
            if inside:
                matched = tier
                break
    if matched is not None:
        prices.update({key: value for key, value in matched.items() if isinstance(value, str)})
    return prices


def price_cost(
    model: str | OpenRouterModel,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    requests: int = 1,
    images: int = 0,
    web_searches: int = 0,
    at: datetime | None = None,
) -> Cost:
    """Return the exact cost of one call; raise UnknownModel or PriceUnavailable saying why.

    Cached prompt tokens are part of `prompt_tokens` and billed at the cache price when the
    model lists one; reasoning tokens are billed as completion unless `internal_reasoning` is
    listed.
    """
    if isinstance(model, str):
        found = OpenRouterModel.objects.filter(id=model).first()
        if found is None:
            raise UnknownModel(f"No model '{model}' in OpenRouter's catalogue; see /api/prices/.")
        model = found
    counts = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
              "cache_read_tokens": cache_read_tokens, "cache_write_tokens": cache_write_tokens,
              "reasoning_tokens": reasoning_tokens, "requests": requests, "images": images,
              "web_searches": web_searches}
    for name, count in counts.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise PriceUnavailable(f"{name} must be a whole number >= 0, not {count!r}.")
    if cache_read_tokens + cache_write_tokens > prompt_tokens:
        raise PriceUnavailable("cache_read_tokens + cache_write_tokens exceed prompt_tokens.")
    if model.is_variable:
        raise PriceUnavailable(
            f"{model.id} has a variable price (it routes to other models); "
            "price the model it routed to instead."
        )
    prices = _tier(model.pricing, prompt_tokens=prompt_tokens, at=at or timezone.now())
    cached_read = cache_read_tokens if "input_cache_read" in prices else 0
    cached_write = cache_write_tokens if "input_cache_write" in prices else 0
    reasoning = reasoning_tokens if "internal_reasoning" in prices else 0
    billed = {
        "prompt": prompt_tokens - cached_read - cached_write,
        "completion": completion_tokens + reasoning_tokens - reasoning,
        "input_cache_read": cached_read,
        "input_cache_write": cached_write,
        "internal_reasoning": reasoning,
        "request": requests,
        "image": images,
        "web_search": web_searches,
    }
    parts: dict[str, Decimal] = {}
    with localcontext(EXACT):
        for key, count in billed.items():
            if count == 0 or key not in prices:
                continue
            price = price_decimal(prices[key])
            if price == VARIABLE:
                raise PriceUnavailable(
                    f"{model.id} has a variable {key} price (it routes to other models); "
                    "price the model it routed to instead."
                )
            parts[key] = price * count
        total = sum(parts.values(), Decimal(0))
    return Cost(model=model.id, total=total, parts=parts, prices=prices)
