"""The sync issues the same number of queries for 400 models as for 20,000."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.pricing.models import OpenRouterModel, PriceChange, PriceSync
from apps.pricing.services import prices_sync
from tests.fakes.openrouter import FakeOpenRouter


def synthetic(count: int, *, price: str = "0.000001") -> list[dict]:
    """Return `count` catalogue entries shaped like the real ones."""
    return [
        {
            "id": f"vendor{index % 50}/model-{index}",
            "canonical_slug": f"vendor{index % 50}/model-{index}-20250101",
            "name": f"Vendor {index % 50}: Model {index}",
            "created": 1_700_000_000 + index,
            "context_length": 128_000,
            "architecture": {"modality": "text->text", "input_modalities": ["text"],
                             "output_modalities": ["text"]},
            "pricing": {"prompt": price, "completion": "0.000002",
                        "overrides": [{"min_prompt_tokens": 200000, "prompt": "0.000003"}]},
            "top_provider": {"context_length": 128_000, "max_completion_tokens": None,
                             "is_moderated": False},
            "per_request_limits": None,
        }
        for index in range(count)
    ]


def captured_sync() -> tuple[int, float]:
    """Force a sync; return how many queries it made and how long it took."""
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        prices_sync(force=True)
    return len(queries), time.monotonic() - started


@pytest.mark.django_db
def test_prices_sync__query_count_does_not_grow_with_catalogue(
    openrouter: FakeOpenRouter,
) -> None:
    counts: dict[int, tuple[int, int]] = {}
    for size in (400, 20_000):
        PriceChange.objects.all().delete()
        OpenRouterModel.objects.all().delete()
        PriceSync.objects.all().delete()
        openrouter.models = synthetic(size)
        first, _ = captured_sync()  # every model new
        # Then: a tenth change price, a tenth go away.
        openrouter.models = synthetic(size, price="0.0000011")[: size // 10] + synthetic(size)[
            size // 10 : size - size // 10]
        second, _ = captured_sync()
        counts[size] = (first, second)
        assert OpenRouterModel.objects.filter(active=False).count() == size // 10
        assert PriceChange.objects.count() == size // 10

    assert counts[400] == counts[20_000], counts
    assert counts[400][0] <= 15
