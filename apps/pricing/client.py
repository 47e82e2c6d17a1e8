"""Fetch OpenRouter's model list over HTTP: bounded timeouts, retries only for passing faults."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from apps.boot.redact import one_line

from .errors import CatalogueInvalid, FetchFailed
from .parsing import page_entries

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504}) | frozenset(range(505, 600))
WORDS = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


@dataclass(frozen=True)
class FetchOptions:
    """Where and how to fetch; the key is kept out of repr so it never reaches a log."""

    url: str
    api_key: str
    connect_timeout: float
    read_timeout: float
    attempts: int
    backoff: float
    backoff_max: float
    retry_after_max: float
    deadline: float
    max_pages: int

    def __repr__(self) -> str:
        return f"FetchOptions(url={self.url!r}, attempts={self.attempts})"


@dataclass
class Fetched:
    """The raw entries of every page, and how many requests it took."""

    entries: list[Any]
    requests: int
    pages: int


class _Retryable(Exception):
    """An answer worth asking again for (5xx, 429), with the wait the server asked for."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    """Read `Retry-After` as seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _times(count: int) -> str:
    return WORDS.get(count, f"{count} times")


class _Pages:
    """GET pages of the list on one session, counting every request made."""

    def __init__(self, session: Any, options: FetchOptions) -> None:
        self.session = session
        self.options = options
        self.requests = 0
        self.headers = {"Accept": "application/json", "User-Agent": "django-boot-pipeline"}
        if options.api_key:
            self.headers["Authorization"] = f"Bearer {options.api_key}"

    def get(self, url: str) -> Any:
        """Return one page's JSON body; raise _Retryable for an answer worth asking again."""
        self.requests += 1
        response = self.session.get(
            url, headers=self.headers,
            timeout=(self.options.connect_timeout, self.options.read_timeout),
        )
        status = response.status_code
        if status in RETRY_STATUSES:
            raise _Retryable(status, _retry_after(response.headers.get("Retry-After")))
        if status != 200:
            hint = " (check OPENROUTER_API_KEY)" if status in (401, 403) else ""
            raise FetchFailed(f"OpenRouter answered {status} at {url}{hint}")
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind and "json" not in kind:
            raise CatalogueInvalid(
                f"OpenRouter answered {kind}, not JSON, at {url} (is OPENROUTER_BASE_URL right?)"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise CatalogueInvalid(
                f"OpenRouter's answer at {url} is not valid JSON ({one_line(str(exc), 80)})"
            ) from None


def _retrying(options: FetchOptions, remaining: float) -> Any:
    """Return a tenacity policy: passing faults only, exponential waits or the server's own."""
    import requests
    from tenacity import (
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        stop_before_delay,
        wait_exponential,
    )

    exponential = wait_exponential(multiplier=options.backoff, max=options.backoff_max)

    def wait(retry_state: Any) -> float:
        # The server knows best how long it needs, up to our cap.
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return min(error.retry_after, options.retry_after_max)
        return float(exponential(retry_state))

    transient = (requests.ConnectionError, requests.Timeout,
                 requests.exceptions.ChunkedEncodingError, _Retryable)
    # stop_before_delay also counts the coming wait, so no attempt starts past the deadline.
    return Retrying(
        retry=retry_if_exception_type(transient),
        stop=stop_after_attempt(options.attempts) | stop_before_delay(remaining),
        wait=wait,
    )


def fetch_catalogue(options: FetchOptions) -> Fetched:
    """Fetch every page of `options.url`; raise FetchFailed or CatalogueInvalid in one line.

    Either exception carries `.requests`, the number of requests made.
    """
    import requests
    from tenacity import RetryError

    entries: list[Any] = []
    seen: set[str] = set()
    url: str | None = options.url
    started = time.monotonic()
    with requests.Session() as session:
        pages = _Pages(session, options)
        try:
            while url is not None:
                if url in seen or len(seen) >= options.max_pages:
                    raise CatalogueInvalid(
                        f"OpenRouter's pages did not end after {len(seen)} (links.next loops)"
                    )
                seen.add(url)
                remaining = max(0.0, options.deadline - (time.monotonic() - started))
                before = pages.requests
                try:
                    body = _retrying(options, remaining)(pages.get, url)
                except RetryError as exc:
                    raise _failure(exc.last_attempt.exception(), url, pages.requests - before,
                                   options) from None
                entries_here, following = page_entries(body)
                entries.extend(entries_here)
                url = urljoin(url, following) if following else None
        except (FetchFailed, CatalogueInvalid, requests.RequestException) as exc:
            exc.requests = pages.requests  # type: ignore[attr-defined]
            raise
    return Fetched(entries=entries, requests=pages.requests, pages=len(seen))


def _failure(error: BaseException | None, url: str, attempts: int,
             options: FetchOptions) -> FetchFailed:
    """Describe the last of several failed attempts in one line."""
    import requests

    if isinstance(error, _Retryable):
        return FetchFailed(f"OpenRouter answered {error.status} {_times(attempts)}")
    if isinstance(error, requests.Timeout) and not isinstance(error, requests.ConnectTimeout):
        return FetchFailed(
            f"OpenRouter did not answer within {options.read_timeout:g} s "
            f"({_times(attempts)}) at {url}"
        )
    if isinstance(error, requests.ConnectTimeout):
        return FetchFailed(
            f"Could not connect to {url} within {options.connect_timeout:g} s ({_times(attempts)})"
        )
    reason = type(error).__name__ if error is not None else "unknown error"
    return FetchFailed(f"Could not connect to {url} ({_times(attempts)}: {reason})")
