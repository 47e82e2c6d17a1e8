"""A real local HTTP server that plays OpenRouter's `GET /models`, with switchable faults.

In tests: `with FakeOpenRouter(fixture="models-414.json") as server: server.mode = "hang"`.
Standalone (benchmarks): `python -m tests.fakes.openrouter --port 8765 --fixture
models-414.json --delay 2`; `GET /_stats` answers `{"requests": N, ...}`, `POST /_reset` zeroes it.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

# CI clones the repository next to a copy of `shared/`.
FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "openrouter"

MODES = (
    "ok",         # the catalogue, paged when page_size is set
    "reset",      # close the connection without answering
    "hang",       # say nothing until hang_seconds pass (a read timeout)
    "error",      # answer `status` (500) `fail_times` times, then the catalogue
    "throttle",   # answer 429 with Retry-After `retry_after` `fail_times` times, then the catalogue
    "malformed",  # a JSON body cut in half
    "html",       # an HTML error page with status 200
    "empty",      # {"data": []}
    "shrunk",     # only the first `shrunk_to` models
    "bad_price",  # one model's prompt price is "call us"
)


class _QuietServer(ThreadingHTTPServer):
    """A threading server that takes a client hanging up as normal, not as an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away (timeouts do that); report anything else."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def load_fixture(name: str | Path) -> list[dict[str, Any]]:
    """Return the model list of a fixture file (a name under FIXTURES, or a path)."""
    path = Path(name)
    if not path.is_absolute() and not path.exists():
        path = FIXTURES / path
    return json.loads(path.read_text())["data"]


class FakeOpenRouter:
    """Serve a model list on 127.0.0.1 from a thread; switch `mode` and knobs at any time."""

    def __init__(self, fixture: str | Path | None = "models-414.json", *, port: int = 0,
                 host: str = "127.0.0.1", delay: float = 0.0) -> None:
        self.models: list[dict[str, Any]] = load_fixture(fixture) if fixture else []
        self.mode = "ok"
        self.delay = delay
        self.page_size: int | None = None
        self.status = 500
        self.fail_times = 2
        self.retry_after: str = "1"
        self.hang_seconds = 5.0
        self.shrunk_to = 3
        self.requests = 0
        self.paths: Counter[str] = Counter()
        self.authorizations: list[str | None] = []
        self._failures = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _QuietServer((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Return the OPENROUTER_BASE_URL that points here."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    def start(self) -> FakeOpenRouter:
        """Serve from a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-openrouter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, waking any hanging request first."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenRouter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Zero the counters and failures so far."""
        with self._lock:
            self.requests = 0
            self.paths.clear()
            self.authorizations.clear()
            self._failures = 0

    def set_price(self, model_id: str, key: str, value: str) -> None:
        """Change one listed price of one model."""
        next(model for model in self.models if model["id"] == model_id)["pricing"][key] = value

    def remove(self, model_id: str) -> None:
        """Stop listing a model."""
        self.models = [model for model in self.models if model["id"] != model_id]

    def stats(self) -> dict[str, Any]:
        """Return the request counts, as `GET /_stats` does."""
        with self._lock:
            return {"requests": self.requests, "paths": dict(self.paths), "mode": self.mode}

    # The answer for one `/models` request: (status, headers, body), or None to drop it.
    def answer(  # noqa: PLR0911 - one return per mode reads best
        self, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], bytes] | None:
        """Build the answer the current mode calls for."""
        json_type = {"Content-Type": "application/json"}
        mode = self.mode
        if mode == "reset":
            return None
        if mode == "hang":
            self._stopping.wait(self.hang_seconds)
            return 504, json_type, b'{"error": "hung"}'
        if mode in ("error", "throttle"):
            with self._lock:
                self._failures += 1
                failing = self._failures <= self.fail_times
            if failing and mode == "error":
                return self.status, json_type, b'{"error": {"message": "upstream"}}'
            if failing:
                return 429, {**json_type, "Retry-After": self.retry_after}, b'{"error": "slow"}'
        if mode == "malformed":
            return 200, json_type, json.dumps({"data": self.models[:5]}).encode()[:-40]
        if mode == "html":
            return 200, {"Content-Type": "text/html"}, b"<html><body>Bad gateway</body></html>"
        if mode == "empty":
            return 200, json_type, b'{"data": []}'
        models = self.models
        if mode == "shrunk":
            models = models[: self.shrunk_to]
        if mode == "bad_price":
            models = copy.deepcopy(models)
            models[len(models) // 2]["pricing"]["prompt"] = "call us"
        body: dict[str, Any] = {"data": models}
        if self.page_size:
            offset = int(query.get("offset", ["0"])[0])
            body = {"data": models[offset: offset + self.page_size], "total_count": len(models),
                    "links": {"next": None}}
            if offset + self.page_size < len(models):
                body["links"]["next"] = f"{self.base_url}/models?offset={offset + self.page_size}"
        return 200, json_type, json.dumps(body).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/_stats":
                    self._send(200, {"Content-Type": "application/json"},
                               json.dumps(fake.stats()).encode())
                    return
                if not parts.path.rstrip("/").endswith("/models"):
                    self._send(404, {"Content-Type": "application/json"}, b'{"error": "none"}')
                    return
                with fake._lock:
                    fake.requests += 1
                    fake.paths[parts.path] += 1
                    fake.authorizations.append(self.headers.get("Authorization"))
                if fake.delay:
                    fake._stopping.wait(fake.delay)
                answer = fake.answer(parse_qs(parts.query))
                if answer is None:
                    self.close_connection = True
                    return
                # The client may give up first (its read timeout): that is the test.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(*answer)

            def do_POST(self) -> None:
                if urlsplit(self.path).path == "/_reset":
                    fake.reset()
                    self._send(200, {"Content-Type": "application/json"}, b"{}")
                else:
                    self._send(404, {"Content-Type": "application/json"}, b"{}")

        return Handler


def unused_url() -> str:
    """Return a base URL on a loopback port nothing listens on (connection refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


def main() -> None:
    """Serve until interrupted, for benchmarks and manual runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fixture", default="models-414.json")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--page-size", type=int, default=0)
    args = parser.parse_args()
    server = FakeOpenRouter(args.fixture, port=args.port, host=args.host, delay=args.delay)
    server.mode = args.mode
    server.page_size = args.page_size or None
    print(f"fake OpenRouter at {server.base_url} ({len(server.models)} models)", flush=True)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
