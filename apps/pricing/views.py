"""The prices API: the catalogue as JSON, and what a call costs."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_GET

from . import selectors
from .conf import pricing_settings
from .cost import price_cost
from .errors import PriceUnavailable

logger = logging.getLogger(__name__)

# How long a client should wait before asking again when there are no prices yet.
UNAVAILABLE_RETRY_AFTER = 30


def _error(status: int, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _unavailable_without_database(
    view: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Answer 503 with Retry-After, not 500, while the tables don't exist or the database is down.

    A process serves from its first second, before db.migrate has made the pricing tables
    (readiness says 503 meanwhile, but a client may ask anyway) or while the database restarts.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except DatabaseError as exc:
            logger.warning("Prices unavailable, the database can't answer: %s",
                           type(exc).__name__)
            return _error(503, "Prices are not available yet: the database is not ready; try "
                          "again shortly.", Retry_After=str(UNAVAILABLE_RETRY_AFTER))

    return wrapper


def _active_filter(value: str | None) -> bool | None:
    """Read `?active=`: true/1/yes, false/0/no, or absent/all for both."""
    if value is None or value.lower() in ("", "all", "any"):
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ValueError(value)


def _model_json(model: Any) -> dict[str, Any]:
    return {
        "id": model.id,
        "name": model.name,
        "context_length": model.context_length,
        "active": model.active,
        # The listed strings as they are: a decimal string, or a list of tiers.
        "pricing": model.pricing,
    }


@require_GET
@_unavailable_without_database
def prices_list(request: HttpRequest) -> HttpResponse:
    """Return the catalogue; 503 before the first sync; conditional on ETag/Last-Modified."""
    last_success = selectors.sync_last_success()
    if last_success is None:
        return _error(503, "Prices are not synced yet; the pricing.refresh stage is fetching "
                      "them, try again shortly.", Retry_After=str(UNAVAILABLE_RETRY_AFTER))
    ids = [part for value in request.GET.getlist("id") for part in value.split(",") if part]
    try:
        active = _active_filter(request.GET.get("active"))
    except ValueError:
        return _error(400, "active must be true, false or all.")
    stale = selectors.prices_stale(last_success=last_success, latest=selectors.sync_latest(),
                                   interval=pricing_settings.refresh_seconds)
    # The body depends on the last good sync, staleness and the filters, nothing else.
    version = f"{last_success.pk}:{stale}:{sorted(ids)}:{active}"
    etag = quote_etag(hashlib.sha256(version.encode()).hexdigest()[:32])
    last_modified = math.floor(last_success.finished_at.timestamp())
    not_modified = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if not_modified is not None:
        return not_modified
    models = [_model_json(model) for model in selectors.models_list(ids=ids, active=active)]
    response = JsonResponse({"fetched_at": last_success.finished_at.isoformat(),
                             "stale": stale, "models": models})
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = "no-cache"
    return response


COUNTS = ("prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_write_tokens",
          "reasoning_tokens", "requests", "images", "web_searches")


@require_GET
@_unavailable_without_database
def prices_cost(request: HttpRequest) -> HttpResponse:
    """Return what one call costs: `?model=...&prompt_tokens=...&completion_tokens=...`."""
    model = request.GET.get("model", "")
    if not model:
        return _error(400, "Give ?model=<OpenRouter model id>.")
    counts: dict[str, int] = {}
    for name in COUNTS:
        raw = request.GET.get(name)
        if raw is None:
            if name in ("prompt_tokens", "completion_tokens"):
                return _error(400, f"Give ?{name}=<whole number>.")
            continue
        if not raw.isdigit():
            return _error(400, f"{name} must be a whole number >= 0, not {raw[:40]!r}.")
        counts[name] = int(raw)
    try:
        cost = price_cost(model, **counts)
    except PriceUnavailable as exc:
        return _error(exc.status, str(exc))
    return JsonResponse({
        "model": cost.model,
        "currency": "USD",
        "cost": format(cost.total, "f"),
        "parts": {key: format(value, "f") for key, value in cost.parts.items()},
        "prices": cost.prices,
        **counts,
    })
