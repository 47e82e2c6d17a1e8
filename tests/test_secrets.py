"""No secret in what real processes print: a Redis password, right or wrong, is never shown."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.fakes.openrouter import FakeOpenRouter
from tests.processes import free_port, manage

PASSWORD = "suite-redis-password-Yq7Wm3"


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[int]:
    """Run a Redis of our own on loopback that demands PASSWORD; yield its port."""
    binary = shutil.which("redis-server")
    require_service("redis-server", binary is not None, "apt-get install redis-server")
    port = free_port()
    server = subprocess.Popen(
        [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--requirepass", PASSWORD,
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "-a", PASSWORD, "--no-auth-warning",
                              "ping"], capture_output=True, text=True).stdout.strip() != "PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.services
@pytest.mark.parametrize("password", [PASSWORD, f"wrong-{PASSWORD}"])
def test_secrets__redis_password_never_shown(tmp_path: Path, locked_redis: int,
                                             password: str) -> None:
    url = f"redis://:{password}@127.0.0.1:{locked_redis}/0"
    with FakeOpenRouter(fixture="models-414.json") as openrouter:
        env = {"REDIS_URL": url, "OPENROUTER_BASE_URL": openrouter.base_url}
        runs = [manage(tmp_path, *command, **env)
                for command in (["check"], ["boot_run", "--timeout", "60"], ["boot_status"],
                                ["boot_status", "--json"], ["boot_cache", "--json"],
                                ["prices_sync"])]
    printed = "\n".join(run.stdout + run.stderr for run in runs)
    assert password not in printed
    assert runs[1].returncode == 0, runs[1].stderr  # Redis is only the cache: boot goes on
    keys = subprocess.run(["redis-cli", "-p", str(locked_redis), "-a", PASSWORD,
                           "--no-auth-warning", "--scan"], capture_output=True, text=True).stdout
    if password == PASSWORD:
        assert "pricing" in keys  # the sync's freshness went through the locked Redis
        assert "fresh: synced" in runs[5].stdout  # and the second sync found it
    else:
        assert keys.strip() == ""
        assert "AuthenticationError" in printed  # the cache said why it missed, in one line
