"""Write a whole catalogue in a fixed number of statements, whatever its size.

Each statement takes the catalogue as ONE JSON parameter and unpacks it in SQL (SQLite
`json_each`, PostgreSQL `jsonb_to_recordset`): `bulk_create` would split it into batches of
999 parameters on SQLite, so its query count would grow with the catalogue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from .models import OpenRouterModel, PriceChange
from .parsing import ModelRow

# Columns filled from the catalogue, with their PostgreSQL types; first_seen, last_seen,
# active and retired_at are set by the statements themselves.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "text"),
    ("canonical_slug", "text"),
    ("name", "text"),
    ("provider", "text"),
    ("created", "bigint"),
    ("context_length", "bigint"),
    ("modality", "text"),
    ("input_modalities", "jsonb"),
    ("output_modalities", "jsonb"),
    ("top_provider_context_length", "bigint"),
    ("top_provider_max_completion_tokens", "bigint"),
    ("top_provider_is_moderated", "boolean"),
    ("per_request_limits", "jsonb"),
    ("pricing", "jsonb"),
    ("pricing_hash", "text"),
    ("is_free", "boolean"),
    ("is_variable", "boolean"),
)


@dataclass(frozen=True)
class Counts:
    """What a sync did to the catalogue."""

    total: int = 0
    new: int = 0
    changed: int = 0
    retired: int = 0
    unchanged: int = 0


def _incoming() -> str:
    """Return a FROM clause that reads the JSON parameter as rows with one column per field."""
    if connection.vendor == "postgresql":
        columns = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS)
        return f"jsonb_to_recordset(%s::jsonb) AS j({columns})"
    if connection.vendor == "sqlite":
        # json_extract gives objects and arrays as JSON text, which is how JSONField stores them.
        selects = ", ".join(f"json_extract(value, '$.{name}') AS \"{name}\"" for name, _ in COLUMNS)
        return f"(SELECT {selects} FROM json_each(%s)) AS j"
    raise NotImplementedError(f"prices are synced on SQLite or PostgreSQL, not {connection.vendor}")


def _timestamp(column: str) -> str:
    """Return SQL turning a Unix time column into the backend's datetime."""
    if connection.vendor == "postgresql":
        return f"to_timestamp(j.{column})"
    # Django stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS' in UTC, which this gives.
    return f"datetime(j.{column}, 'unixepoch')"


def catalogue_write(*, rows: list[ModelRow], now: datetime) -> Counts:
    """Upsert `rows`, record their price changes, retire what they leave out; return counts.

    Runs five statements whatever len(rows) is; call it inside a transaction.
    """
    payload = json.dumps([row.as_json() for row in rows], separators=(",", ":"))
    at = connection.ops.adapt_datetimefield_value(now)
    models_table = connection.ops.quote_name(OpenRouterModel._meta.db_table)
    changes_table = connection.ops.quote_name(PriceChange._meta.db_table)
    incoming = _incoming()
    false = "false" if connection.vendor == "postgresql" else "0"
    true = "true" if connection.vendor == "postgresql" else "1"
    with connection.cursor() as cursor:
        # Phase 1: count before anything changes.
        cursor.execute(
            f"SELECT COUNT(*), COUNT(m.id), "
            f"COALESCE(SUM(CASE WHEN m.pricing_hash <> j.pricing_hash THEN 1 ELSE 0 END), 0) "
            f"FROM {incoming} LEFT JOIN {models_table} m ON m.id = j.id",
            [payload],
        )
        total, known, changed = (int(value) for value in cursor.fetchone())

        # Phase 2: keep the old prices of every model whose prices changed.
        cursor.execute(
            f"INSERT INTO {changes_table} (model_id, changed_at, old_pricing, new_pricing) "
            f"SELECT m.id, %s, m.pricing, j.pricing FROM {incoming} "
            f"JOIN {models_table} m ON m.id = j.id WHERE m.pricing_hash <> j.pricing_hash",
            [at, payload],
        )

        # Phase 3: upsert. `WHERE true` settles SQLite's INSERT ... SELECT ... ON CONFLICT
        # parsing ambiguity; first_seen is only ever written by the insert.
        names = [name for name, _ in COLUMNS]
        values = [_timestamp("created") if name == "created" else f"j.{name}" for name in names]
        updates = ", ".join(f"{name} = excluded.{name}" for name in names if name != "id")
        cursor.execute(
            f"INSERT INTO {models_table} ({', '.join(names)}, active, first_seen, last_seen, "
            f"retired_at) SELECT {', '.join(values)}, {true}, %s, %s, NULL FROM {incoming} "
            f"WHERE true ON CONFLICT (id) DO UPDATE SET {updates}, active = {true}, "
            f"last_seen = excluded.last_seen, retired_at = NULL",
            [at, at, payload],
        )

        # Phase 4: whatever the answer left out was not seen now: retire it, never delete it.
        cursor.execute(
            f"UPDATE {models_table} SET active = {false}, retired_at = %s "
            f"WHERE active = {true} AND last_seen <> %s",
            [at, at],
        )
        retired = cursor.rowcount
    return Counts(total=total, new=total - known, changed=changed, retired=retired,
                  unchanged=known - changed)
