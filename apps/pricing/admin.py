"""Admin: models with prices per million tokens, price and sync history, and "sync now"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from .errors import PricingMisconfigured, SyncFailed
from .models import OpenRouterModel, PriceChange, PriceSync
from .parsing import VARIABLE, price_decimal

MILLION = Decimal(1_000_000)
# Priced per request, per image or per search, not per token.
PER_UNIT = {"request": "per request", "image": "per image", "web_search": "per search"}


def per_million(value: Any) -> str:
    """Show a per-token price string as dollars per million tokens."""
    if not isinstance(value, str):
        return "—"
    price = price_decimal(value)
    if price == VARIABLE:
        return "variable"
    return f"${(price * MILLION).normalize():f}"


def price_rows(pricing: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Return (key, shown price, listed string) for every price, tiers included."""
    rows = []
    for key, value in pricing.items():
        if isinstance(value, str):
            shown = (f"${price_decimal(value).normalize():f} {PER_UNIT[key]}" if key in PER_UNIT
                     else f"{per_million(value)} / M tokens")
            rows.append((key, shown, value))
        elif isinstance(value, list):
            for number, tier in enumerate(value, start=1):
                bounds = ", ".join(f"{name}={bound}" for name, bound in tier.items()
                                   if not isinstance(bound, str))
                for name, price in tier.items():
                    if isinstance(price, str):
                        rows.append((f"{key}[{number}] ({bounds}) {name}",
                                     f"{per_million(price)} / M tokens", price))
    return rows


class PriceChangeInline(admin.TabularInline):
    model = PriceChange
    extra = 0
    can_delete = False
    fields = ("changed_at", "old_pricing", "new_pricing")
    readonly_fields = fields
    ordering = ("-changed_at",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """History is written by syncs only."""
        return False


class FreeFilter(admin.SimpleListFilter):
    title = "price"
    parameter_name = "price"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """Offer free, paid and variable."""
        return [("free", "free"), ("paid", "paid"), ("variable", "variable")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        """Filter on the flags the sync computed."""
        if self.value() == "free":
            return queryset.filter(is_free=True)
        if self.value() == "paid":
            return queryset.filter(is_free=False, is_variable=False)
        if self.value() == "variable":
            return queryset.filter(is_variable=True)
        return queryset


@admin.register(OpenRouterModel)
class OpenRouterModelAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "provider", "prompt_per_million", "completion_per_million",
                    "context_length", "is_free", "active", "last_seen")
    list_filter = (FreeFilter, "active", "provider")
    search_fields = ("id", "name", "canonical_slug")
    inlines = (PriceChangeInline,)
    readonly_fields = ("prices_table",)
    fieldsets = (
        (None, {"fields": ("id", "canonical_slug", "name", "provider", "active", "created",
                           "first_seen", "last_seen", "retired_at")}),
        ("Prices", {"fields": ("prices_table", "pricing")}),
        ("Limits", {"fields": ("context_length", "top_provider_context_length",
                               "top_provider_max_completion_tokens", "top_provider_is_moderated",
                               "per_request_limits", "modality", "input_modalities",
                               "output_modalities")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        """Everything is OpenRouter's: the next sync would overwrite an edit."""
        return [field.name for field in self.model._meta.fields] + ["prices_table"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Models come from syncs only."""
        return False

    @admin.display(description="prompt / M")
    def prompt_per_million(self, obj: OpenRouterModel) -> str:
        """Show the prompt price per million tokens."""
        return per_million(obj.pricing.get("prompt"))

    @admin.display(description="completion / M")
    def completion_per_million(self, obj: OpenRouterModel) -> str:
        """Show the completion price per million tokens."""
        return per_million(obj.pricing.get("completion"))

    @admin.display(description="prices")
    def prices_table(self, obj: OpenRouterModel) -> str:
        """Show every listed price, per million tokens where it is per token."""
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                                price_rows(obj.pricing))
        return format_html("<table><tr><th>key</th><th>price</th><th>listed</th></tr>{}</table>",
                           body)


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    list_display = ("model", "changed_at", "old_prompt", "new_prompt", "old_completion",
                    "new_completion")
    list_filter = ("changed_at",)
    search_fields = ("model__id",)
    date_hierarchy = "changed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        """History is written by syncs only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """History is read-only."""
        return False

    @admin.display(description="old prompt / M")
    def old_prompt(self, obj: PriceChange) -> str:
        """Show the old prompt price per million tokens."""
        return per_million(obj.old_pricing.get("prompt"))

    @admin.display(description="new prompt / M")
    def new_prompt(self, obj: PriceChange) -> str:
        """Show the new prompt price per million tokens."""
        return per_million(obj.new_pricing.get("prompt"))

    @admin.display(description="old completion / M")
    def old_completion(self, obj: PriceChange) -> str:
        """Show the old completion price per million tokens."""
        return per_million(obj.old_pricing.get("completion"))

    @admin.display(description="new completion / M")
    def new_completion(self, obj: PriceChange) -> str:
        """Show the new completion price per million tokens."""
        return per_million(obj.new_pricing.get("completion"))


@admin.register(PriceSync)
class PriceSyncAdmin(admin.ModelAdmin):
    list_display = ("finished_at", "outcome", "trigger", "total", "new", "changed", "retired",
                    "unchanged", "requests", "duration_seconds", "error")
    list_filter = ("outcome", "trigger", "forced")
    change_list_template = "admin/pricing/pricesync/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Syncs are recorded by syncs only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The record is read-only."""
        return False

    @admin.display(description="duration")
    def duration_seconds(self, obj: PriceSync) -> str:
        """Show the duration in seconds."""
        return f"{obj.duration:.2f} s"

    def get_urls(self) -> list[URLPattern]:
        """Add the "sync now" view."""
        sync_now = path("sync-now/", self.admin_site.admin_view(self.sync_now),
                        name="pricing_pricesync_sync_now")
        return [sync_now, *super().get_urls()]

    def sync_now(self, request: HttpRequest) -> HttpResponseRedirect:
        """Sync now, even if fresh (POST only), and say how it went."""
        target = reverse("admin:pricing_pricesync_changelist")
        # A sync writes the catalogue: it takes the right to change it.
        allowed = request.user.has_perm("pricing.change_openroutermodel")
        if request.method != "POST" or not allowed:
            return HttpResponseRedirect(target)
        from .services import prices_sync

        try:
            result = prices_sync(force=True, trigger="admin")
        except (SyncFailed, PricingMisconfigured) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Prices synced: {result.detail}", messages.SUCCESS)
        return HttpResponseRedirect(target)
