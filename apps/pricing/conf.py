"""Pricing settings, read on every access so `override_settings` works in tests."""

from __future__ import annotations

from django.conf import settings


class PricingSettings:
    """Typed access to the OPENROUTER_* and PRICING_* settings, with their defaults."""

    @property
    def base_url(self) -> str:
        """Return OpenRouter's API root, without a trailing slash."""
        return str(getattr(settings, "OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1")).rstrip(
            "/"
        )

    @property
    def api_key(self) -> str:
        """Return the API key, or "" to call anonymously."""
        return str(getattr(settings, "OPENROUTER_API_KEY", "") or "")

    @property
    def refresh_seconds(self) -> int:
        """Return how long a successful sync stays fresh."""
        return int(getattr(settings, "PRICING_REFRESH_SECONDS", 10800))

    @property
    def connect_timeout(self) -> float:
        """Return the seconds to wait for a connection."""
        return float(getattr(settings, "PRICING_CONNECT_TIMEOUT", 5.0))

    @property
    def read_timeout(self) -> float:
        """Return the seconds to wait between bytes of an answer."""
        return float(getattr(settings, "PRICING_READ_TIMEOUT", 20.0))

    @property
    def attempts(self) -> int:
        """Return how many requests one page may take, first try included."""
        return max(1, int(getattr(settings, "PRICING_FETCH_ATTEMPTS", 4)))

    @property
    def backoff(self) -> float:
        """Return the first wait between attempts; it doubles after each."""
        return float(getattr(settings, "PRICING_BACKOFF", 1.0))

    @property
    def backoff_max(self) -> float:
        """Return the longest wait between attempts."""
        return float(getattr(settings, "PRICING_BACKOFF_MAX", 20.0))

    @property
    def retry_after_max(self) -> float:
        """Return the longest `Retry-After` we honour; a longer one is cut to this."""
        return float(getattr(settings, "PRICING_RETRY_AFTER_MAX", 30.0))

    @property
    def fetch_deadline(self) -> float:
        """Return the seconds after which no new attempt starts."""
        return float(getattr(settings, "PRICING_FETCH_DEADLINE", 60.0))

    @property
    def min_fraction(self) -> float:
        """Return the share of the active catalogue an answer must list to be accepted."""
        return float(getattr(settings, "PRICING_MIN_CATALOGUE_FRACTION", 0.5))

    @property
    def lock_wait(self) -> float:
        """Return the seconds to wait for another process's sync to finish."""
        return float(getattr(settings, "PRICING_LOCK_WAIT", 30.0))

    @property
    def max_pages(self) -> int:
        """Return the most pages one sync follows through `links.next`."""
        return int(getattr(settings, "PRICING_MAX_PAGES", 200))


pricing_settings = PricingSettings()
