"""The fake OpenRouter runs standalone too, as benchmarks spawn it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_fake_openrouter__standalone_serves_and_counts() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openrouter", "--port", "0", "--fixture",
         "models-321.json", "--delay", "0.1", "--page-size", "200"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[3]
        with urllib.request.urlopen(f"{base_url}/models", timeout=5) as response:
            first = json.load(response)
        with urllib.request.urlopen(first["links"]["next"], timeout=5) as response:
            second = json.load(response)
        with urllib.request.urlopen(base_url.replace("/api/v1", "/_stats"), timeout=5) as stats:
            counted = json.load(stats)
    finally:
        process.terminate()
        process.wait(timeout=5)

    assert len(first["data"]) + len(second["data"]) == 321
    assert second["links"]["next"] is None
    assert counted["requests"] == 2
