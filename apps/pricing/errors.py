"""What can go wrong with a price sync; every message is one line that says what to do next."""

from __future__ import annotations

from apps.boot.errors import StageError


class PricingMisconfigured(StageError):
    """A pricing setting is wrong; nothing can work until it is fixed."""


class SyncFailed(StageError):
    """A sync fetched nothing usable; the prices we had are unchanged."""


class CatalogueInvalid(ValueError):
    """OpenRouter's answer can't be trusted to replace the catalogue."""


class FetchFailed(Exception):
    """OpenRouter could not be reached, or did not answer with a catalogue."""


class PriceUnavailable(ValueError):
    """A cost can't be computed for this model (unknown, or its price is variable)."""

    status = 400


class UnknownModel(PriceUnavailable):
    """No model with this id was ever listed."""

    status = 404
