"""OpenRouter's catalogue as we last saw it, its price changes, and every sync."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from .parsing import price_decimal


class OpenRouterModel(models.Model):
    """A model listed by OpenRouter, with every price it lists kept as its exact string."""

    # OpenRouter's own id ("openai/gpt-4o", "~x-ai/grok-latest", "x:free") is the key: the
    # catalogue is upserted on it in one statement, and the API speaks it.
    id = models.CharField(primary_key=True, max_length=255)
    canonical_slug = models.CharField(max_length=255, blank=True, default="")
    name = models.CharField(max_length=255)
    provider = models.CharField(max_length=100, db_index=True)
    created = models.DateTimeField(null=True, blank=True)
    context_length = models.BigIntegerField(null=True, blank=True)
    modality = models.CharField(max_length=100, blank=True, default="")
    input_modalities = models.JSONField(default=list, blank=True)
    output_modalities = models.JSONField(default=list, blank=True)
    top_provider_context_length = models.BigIntegerField(null=True, blank=True)
    top_provider_max_completion_tokens = models.BigIntegerField(null=True, blank=True)
    top_provider_is_moderated = models.BooleanField(null=True, blank=True)
    per_request_limits = models.JSONField(null=True, blank=True)
    # Strings exactly as listed (JSON strings, never floats), `overrides` tiers included;
    # DecimalField would not do: SQLite keeps decimals as floats.
    pricing = models.JSONField(default=dict, blank=True)
    pricing_hash = models.CharField(max_length=64, default="", editable=False)
    is_free = models.BooleanField(default=False, db_index=True)
    is_variable = models.BooleanField(default=False)
    active = models.BooleanField(default=True, db_index=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "OpenRouter model"

    def __str__(self) -> str:
        return self.id

    def price(self, key: str) -> Decimal | None:
        """Return the listed price `key` as a Decimal, or None when it is not listed."""
        value = self.pricing.get(key)
        return price_decimal(value) if isinstance(value, str) else None


class PriceChange(models.Model):
    """A model's prices before and after a sync that changed them."""

    model = models.ForeignKey(
        OpenRouterModel, on_delete=models.CASCADE, related_name="price_changes"
    )
    changed_at = models.DateTimeField(db_index=True)
    old_pricing = models.JSONField(default=dict)
    new_pricing = models.JSONField(default=dict)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_id} at {self.changed_at:%Y-%m-%d %H:%M}"


class PriceSync(models.Model):
    """One attempt to sync the catalogue: when, how it ended, what it changed, how long it took."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(db_index=True)
    duration = models.FloatField(help_text="seconds")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    trigger = models.CharField(max_length=32, blank=True, default="")
    forced = models.BooleanField(default=False)
    base_url = models.CharField(max_length=500, blank=True, default="")
    requests = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    retired = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [
            models.Index(fields=["outcome", "-finished_at"], name="pricing_sync_outcome_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} at {self.finished_at:%Y-%m-%d %H:%M:%S}"
