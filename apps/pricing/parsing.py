"""Turn OpenRouter's `/models` answer into rows, refusing anything that can't be trusted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import CatalogueInvalid

VARIABLE = Decimal(-1)
MAX_ID = 255


def price_decimal(value: str) -> Decimal:
    """Parse a listed price string; raise ValueError unless it is finite and >= 0 or -1."""
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite() or (number < 0 and number != VARIABLE):
        raise ValueError(f"not a price: {value!r}")
    return number


def pricing_hash(pricing: dict[str, Any]) -> str:
    """Return a digest of a pricing dict that ignores key order."""
    canonical = json.dumps(pricing, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ModelRow:
    """One catalogue entry, ready to be written."""

    id: str
    name: str
    provider: str
    pricing: dict[str, Any]
    pricing_hash: str
    is_free: bool
    is_variable: bool
    canonical_slug: str = ""
    created: int | None = None
    context_length: int | None = None
    modality: str = ""
    input_modalities: list[Any] = field(default_factory=list)
    output_modalities: list[Any] = field(default_factory=list)
    top_provider_context_length: int | None = None
    top_provider_max_completion_tokens: int | None = None
    top_provider_is_moderated: bool | None = None
    per_request_limits: Any = None

    def as_json(self) -> dict[str, Any]:
        """Return the row as the JSON object the bulk SQL reads."""
        return self.__dict__.copy()


def _int(value: Any) -> int | None:
    # bool is an int in Python, not in the catalogue.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _check_prices(model_id: str, key: str, value: Any, found: list[Decimal]) -> None:
    """Check every price under `key`: strings must parse; tiers may carry integer bounds."""
    if isinstance(value, str):
        try:
            found.append(price_decimal(value))
        except ValueError:
            raise CatalogueInvalid(
                f"OpenRouter listed a non-numeric price for {model_id}: {key}={value!r}"
            ) from None
    elif isinstance(value, list):
        for item in value:
            _check_prices(model_id, key, item, found)
    elif isinstance(value, dict):
        for inner_key, inner in value.items():
            _check_prices(model_id, f"{key}.{inner_key}", inner, found)
    elif _int(value) is None and value is not None:
        raise CatalogueInvalid(
            f"OpenRouter listed a price of type {type(value).__name__} for {model_id}: "
            f"{key}={value!r}"
        )


def parse_model(entry: Any, position: int) -> ModelRow:
    """Return one checked row; raise CatalogueInvalid for an entry that can't be kept."""
    if not isinstance(entry, dict):
        raise CatalogueInvalid(f"entry {position} of OpenRouter's list is not an object")
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id.strip() or len(model_id) > MAX_ID:
        raise CatalogueInvalid(f"entry {position} of OpenRouter's list has no usable id")
    pricing = entry.get("pricing")
    if not isinstance(pricing, dict):
        raise CatalogueInvalid(f"OpenRouter listed {model_id} without a pricing object")
    top_level: list[Decimal] = []
    every: list[Decimal] = []
    for key, value in pricing.items():
        if isinstance(value, str):
            _check_prices(model_id, key, value, top_level)
        elif isinstance(value, list | dict):
            # Tiers (`overrides`): lists of objects with price strings and integer bounds.
            _check_prices(model_id, key, value, every)
        else:
            raise CatalogueInvalid(
                f"OpenRouter listed a non-numeric price for {model_id}: {key}={value!r}"
            )
    every += top_level
    architecture = entry.get("architecture") if isinstance(entry.get("architecture"), dict) else {}
    top = entry.get("top_provider") if isinstance(entry.get("top_provider"), dict) else {}
    moderated = top.get("is_moderated")
    return ModelRow(
        id=model_id,
        name=_str(entry.get("name"))[:255] or model_id,
        provider=model_id.lstrip("~").split("/", 1)[0][:100],
        pricing=pricing,
        pricing_hash=pricing_hash(pricing),
        is_free=bool(every) and all(price == 0 for price in every),
        is_variable=any(price == VARIABLE for price in top_level),
        canonical_slug=_str(entry.get("canonical_slug"))[:255],
        created=_int(entry.get("created")),
        context_length=_int(entry.get("context_length")),
        modality=_str(architecture.get("modality"))[:100],
        input_modalities=list(architecture.get("input_modalities") or []),
        output_modalities=list(architecture.get("output_modalities") or []),
        top_provider_context_length=_int(top.get("context_length")),
        top_provider_max_completion_tokens=_int(top.get("max_completion_tokens")),
        top_provider_is_moderated=moderated if isinstance(moderated, bool) else None,
        per_request_limits=entry.get("per_request_limits"),
    )


def page_entries(body: Any) -> tuple[list[Any], str | None]:
    """Return a page's raw entries and its `links.next`; raise CatalogueInvalid if malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise CatalogueInvalid("OpenRouter's answer has no `data` list")
    links = body.get("links")
    following = links.get("next") if isinstance(links, dict) else None
    return body["data"], following if isinstance(following, str) and following else None


def parse_catalogue(entries: Iterable[Any]) -> list[ModelRow]:
    """Return every entry as a row (the last one wins for a repeated id); refuse an empty list."""
    rows: dict[str, ModelRow] = {}
    for position, entry in enumerate(entries):
        row = parse_model(entry, position)
        # Pages can overlap when the catalogue changes while we page through it.
        rows[row.id] = row
    if not rows:
        raise CatalogueInvalid("OpenRouter listed no models")
    return list(rows.values())
