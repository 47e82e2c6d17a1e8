"""Keep secrets out of anything shown or logged: stage errors, details, JSON, pages, logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings

MASK = "***"
MAX_LINE = 500

# Secrets by their shape, for text that carries one we were never told about (the Azure SDK
# puts the connection string or a signed URL into its exception text).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd)=[^;\s'\"]+"),
     rf"\1={MASK}"),
    (re.compile(r"(?i)([?&](?:sig|se|sp|sv|st|skoid|sktid|skt|ske|sks|skv)=)[^&\s'\"]+"),
     rf"\1{MASK}"),
    (re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)(\b(?:api[_-]?key|token|secret)\b\s*[:=]\s*['\"]?)[^\s'\",;]+"),
     rf"\1{MASK}"),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@"), rf"\1{MASK}@"),
    # A base64 blob of 64+ characters ending in padding: the shape of an account key.
    (re.compile(r"[A-Za-z0-9+/]{64,}={1,2}"), MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), MASK),
]


def configured_secrets() -> list[str]:
    """Return the secret values this process was configured with."""
    found = [getattr(settings, "SECRET_KEY", ""), getattr(settings, "OPENROUTER_API_KEY", ""),
             getattr(settings, "BOOT", {}).get("METRICS_TOKEN", "")]
    found += [database.get("PASSWORD", "") for database in settings.DATABASES.values()]
    found.append(urlsplit(getattr(settings, "REDIS_URL", "")).password or "")
    options = getattr(settings, "STORAGES", {}).get("default", {}).get("OPTIONS", {})
    found += [options.get("account_key", ""), options.get("connection_string", ""),
              options.get("sas_token", "")]
    return [value for value in found if value and len(value) >= 6]


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """Return `text` with every configured secret and secret-shaped value masked."""
    known = configured_secrets() if secrets is None else secrets
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """Fold text to one redacted line of at most `limit` characters."""
    line = " ".join(redact(str(text)).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def safe_error(exc: BaseException) -> str:
    """Describe an exception in one line that is safe to show: its type and redacted message."""
    message = one_line(str(exc)) or "no message"
    return f"{type(exc).__name__}: {message}"


class RedactSecretsFilter(logging.Filter):
    """A logging filter that masks secrets in messages, arguments and tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message and traceback now, redacted, so no handler sees the raw text."""
        try:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info:
                formatter = logging.Formatter()
                record.exc_text = redact(formatter.formatException(record.exc_info))
                record.exc_info = None
        except Exception:  # pragma: no cover - a log filter must never raise
            record.msg, record.args = "(log message withheld: redaction failed)", None
        return True
