"""A bounded loopback load on the probes and the prices API while the pipeline runs."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.deployment.conftest import Deployment, port_answers

pytestmark = [pytest.mark.services, pytest.mark.timeout(150)]

REQUESTS = 3000
THREADS = 4
PATHS = ("/healthz/ready", "/api/prices/")


@dataclass
class Sample:
    """One request: what was asked, what came back, how long it took."""

    path: str
    status: int  # 0: the connection failed
    seconds: float
    at: float
    retry_after: str | None = None
    body: bytes = b""


@dataclass
class Load:
    """A fixed number of GETs spread over a few keep-alive clients."""

    port: int
    total: int
    threads: int
    samples: list[Sample] = field(default_factory=list)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= self.total:
                return None
            self._next += 1
            return self._next - 1

    def _client(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        mine: list[Sample] = []
        while (number := self._take()) is not None:
            path = PATHS[number % len(PATHS)]
            started = time.monotonic()
            try:
                connection.request("GET", path, headers={"Connection": "keep-alive"})
                response = connection.getresponse()
                body = response.read()
                sample = Sample(path, response.status, time.monotonic() - started, started,
                                response.getheader("Retry-After"),
                                body[:300] if response.status >= 500 else b"")
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException):
                connection.close()
                sample = Sample(path, 0, time.monotonic() - started, started)
            mine.append(sample)
        connection.close()
        with self._lock:
            self.samples.extend(mine)

    def run(self) -> float:
        """Send every request; return the wall time it took."""
        started = time.monotonic()
        clients = [threading.Thread(target=self._client, name=f"load-{n}")
                   for n in range(self.threads)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(120)
        return time.monotonic() - started

    def figures(self, wall: float) -> dict[str, Any]:
        """Return the counts and latencies a report shows, overall and per path."""
        return {
            "requests": len(self.samples),
            "threads": self.threads,
            "seconds": round(wall, 2),
            "requests_per_second": round(len(self.samples) / wall, 1),
            **_latencies(self.samples),
            "paths": {path: {
                "requests": len(mine := [s for s in self.samples if s.path == path]),
                **_latencies(mine),
                "status": dict(sorted(Counter(str(s.status) for s in mine).items())),
            } for path in PATHS},
        }


def _latencies(samples: list[Sample]) -> dict[str, float]:
    """Return p50, p99 and max latency in ms of the requests that got an answer."""
    latencies = sorted(s.seconds for s in samples if s.status)
    if not latencies:
        return {}
    return {"p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1),
            "max_ms": round(latencies[-1] * 1000, 1)}


def test_load__probes_and_prices_while_the_pipeline_runs_answer_only_documented_codes(
    deployment: Deployment,
) -> None:
    """3,000 GETs from 4 clients from the moment gunicorn listens: 200s, and 503s only where
    documented (ready before readiness; prices before the first sync, with Retry-After)."""
    web = deployment.gunicorn(2)
    deployment.worker()
    assert web.port is not None
    deployment.wait_until(lambda: port_answers(web.port), 30, "gunicorn listening",  # type: ignore[arg-type]
                          interval=0.02)
    load = Load(port=web.port, total=REQUESTS, threads=THREADS)
    wall = load.run()
    figures = load.figures(wall)
    # Beside the deployment's files, and in this test run's VAR_DIR, which outlives tmp_path.
    for directory in (deployment.var_dir, Path(settings.VAR_DIR)):
        (directory / "load.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nload: {json.dumps(figures)}")

    samples = load.samples
    assert len(samples) == REQUESTS
    unexpected = [s for s in samples if s.status not in (200, 503)]
    assert unexpected == [], [(s.path, s.status, s.body) for s in unexpected[:5]]
    unavailable = [s for s in samples if s.status == 503]
    # Prices say when to come back; neither endpoint says 503 once all is done.
    assert all(s.retry_after == "30" for s in unavailable if s.path == "/api/prices/")
    first_ok = {path: min((s.at for s in samples if s.path == path and s.status == 200),
                          default=None) for path in PATHS}
    assert all(first_ok.values()), figures
    for path in PATHS:
        late = [s for s in samples if s.path == path and s.status == 503
                and s.at > first_ok[path] + 2.0]  # type: ignore[operator]
        assert len(late) <= 20, (path, len(late), figures)  # the other worker may lag a little
    tail = sorted(samples, key=lambda s: s.at)[-200:]
    assert {s.status for s in tail} == {200}, figures

    runs = deployment.wait_runs_terminal(2, 60)
    assert {r["state"] for r in runs} == {"complete"}, deployment.report()
    assert deployment.fetches() == 1
