"""The startup cache on real files and a real Redis."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches

from apps.boot import cache as cache_module
from apps.boot.cache import CacheEntry, StartupCache, keep_for
from apps.boot.registry import registry
from apps.boot.stage import Stage
from tests.conftest import require_service
from tests.fakes.azurite import free_port, port_answers

ROOT = Path(__file__).resolve().parents[2]
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def make_stage(name: str = "test.cached", *, ttl: float | None = 60, swr: bool = False,
               config: dict[str, Any] | None = None) -> Stage:
    """Return a stage declaration (not registered) with a fingerprint of `config`."""
    values = {"base": "http://x"} if config is None else config
    return Stage(name=name, func=lambda ctx: None, cache_ttl=ttl,
                 stale_while_revalidate=swr, fingerprint=lambda: values)


@pytest.fixture
def file_cache(settings: Any, tmp_path: Path) -> Path:
    """Point the boot alias at a FileBasedCache in this test's own directory."""
    location = tmp_path / "boot-cache"
    settings.CACHES = {
        **settings.CACHES,
        "boot": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                 "LOCATION": str(location)},
    }
    return location


@pytest.fixture
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let this test see the once-per-process warning even if an earlier test used it up."""
    monkeypatch.setattr(cache_module, "_warned", threading.Event())


# Entries


def test_cache_entry__age_expiry_and_freshness() -> None:
    stored = datetime.now(UTC) - timedelta(seconds=30)
    entry = CacheEntry(stage="s", fingerprint="f", stored_at=stored, ttl=60, detail="d",
                       origin="h:1")

    assert 29 < entry.age < 32
    assert entry.expires_at == stored + timedelta(seconds=60)
    assert entry.is_fresh()
    assert not entry.is_fresh(stored + timedelta(seconds=61))
    assert CacheEntry.from_dict(entry.to_dict()) == entry


def test_keep_for__stale_while_revalidate_keeps_longer_capped_at_a_week() -> None:
    assert keep_for(60, stale_while_revalidate=False) == 60
    assert keep_for(60, stale_while_revalidate=True) == 24 * 3600
    assert keep_for(10 * 3600, stale_while_revalidate=True) == 100 * 3600
    assert keep_for(3 * 24 * 3600, stale_while_revalidate=True) == 7 * 24 * 3600


# Fingerprints and keys


def test_startup_cache__fingerprint_is_a_dash_without_one() -> None:
    stage = Stage(name="plain", func=lambda ctx: None, cache_ttl=60)

    assert StartupCache().fingerprint(stage) == "-"
    assert StartupCache().key_for(stage) == "stage:plain:-"


def test_startup_cache__fingerprint_ignores_order_and_hides_values() -> None:
    cache = StartupCache()
    one = make_stage(config={"account": "acme", "container": "media"})
    same = make_stage(config={"container": "media", "account": "acme"})

    assert cache.fingerprint(one) == cache.fingerprint(same)
    assert len(cache.fingerprint(one)) == 16
    assert "acme" not in cache.key_for(one)
    assert cache.key_for(one) == f"stage:test.cached:{cache.fingerprint(one)}"


def test_startup_cache__fingerprint_changes_with_the_container(settings: Any) -> None:
    connection = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                  f"AccountKey={KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")
    stage = registry.get("storage.container")
    cache = StartupCache()

    def storages(container: str) -> dict[str, Any]:
        return {"default": {"BACKEND": "storages.backends.azure_storage.AzureStorage",
                            "OPTIONS": {"connection_string": connection,
                                        "azure_container": container}},
                "staticfiles": settings.STORAGES["staticfiles"]}

    settings.STORAGES = storages("media")
    media = cache.fingerprint(stage)
    settings.STORAGES = storages("uploads")
    uploads = cache.fingerprint(stage)
    settings.STORAGES = storages("media")

    assert media != uploads
    assert cache.fingerprint(stage) == media


# Reading and writing files


def test_startup_cache__put_then_get_round_trips(file_cache: Path) -> None:
    cache, stage = StartupCache(), make_stage()

    assert cache.get(stage) is None
    cache.put(stage, detail="container 'media' exists", ttl=60)
    entry = cache.get(stage)

    assert entry is not None
    assert (entry.stage, entry.detail, entry.ttl) == ("test.cached", "container 'media' exists", 60)
    assert entry.fingerprint == cache.fingerprint(stage)
    assert entry.origin.endswith(f":{os.getpid()}")
    assert entry.is_fresh() and entry.age < 5
    assert entry.stored_at.tzinfo is not None
    assert any(file_cache.iterdir())


def test_startup_cache__changed_fingerprint_is_a_miss(file_cache: Path) -> None:
    cache = StartupCache()
    cache.put(make_stage(config={"container": "media"}), detail="ok", ttl=60)

    assert cache.get(make_stage(config={"container": "uploads"})) is None
    assert cache.get(make_stage(config={"container": "media"})) is not None


def test_startup_cache__restarted_process_hits_the_file_cache(settings: Any,
                                                               tmp_path: Path) -> None:
    # Another Python process, with the embedded default settings, writes as a worker that
    # booted earlier would.
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from apps.boot.cache import StartupCache\n"
        "from apps.boot.stage import Stage\n"
        "stage = Stage(name='test.cached', func=print, cache_ttl=60,"
        " fingerprint=lambda: {'base': 'http://x'})\n"
        "StartupCache().put(stage, detail='written by another process', ttl=60)\n"
        "print(settings.CACHES['boot']['LOCATION'])\n"
    )
    env = {**os.environ, "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "project.settings",
           "REDIS_URL": "", "PYTHONPATH": str(ROOT)}
    writer = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True,
                            capture_output=True, text=True, timeout=60)
    location = writer.stdout.strip()
    assert location == str(tmp_path / "cache" / "boot")
    # This process reads the same directory with a cache object of its own.
    settings.CACHES = {
        **settings.CACHES,
        "boot": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                 "LOCATION": location},
    }

    entry = StartupCache().get(make_stage())

    assert entry is not None
    assert entry.detail == "written by another process"
    assert not entry.origin.endswith(f":{os.getpid()}")


def test_startup_cache__expired_entry_is_a_miss(file_cache: Path) -> None:
    cache, stage = StartupCache(), make_stage(ttl=0.2)
    cache.put(stage, detail="ok", ttl=0.2)
    time.sleep(0.3)

    assert cache.get(stage) is None
    assert cache.get(stage, allow_stale=True) is None  # not kept past its TTL


def test_startup_cache__stale_while_revalidate_serves_an_expired_entry(file_cache: Path) -> None:
    cache, stage = StartupCache(), make_stage(ttl=0.2, swr=True)
    cache.put(stage, detail="ok", ttl=0.2)
    time.sleep(0.3)

    assert cache.get(stage) is None
    stale = cache.get(stage, allow_stale=True)
    assert stale is not None
    assert not stale.is_fresh()
    assert stale.detail == "ok"


def test_startup_cache__lowered_ttl_applies_to_a_stored_entry(file_cache: Path) -> None:
    cache = StartupCache()
    cache.put(make_stage(ttl=3600), detail="ok", ttl=3600)
    time.sleep(0.2)

    assert cache.get(make_stage(ttl=3600)) is not None
    assert cache.get(make_stage(ttl=0.1)) is None


def test_startup_cache__stage_without_ttl_is_never_served(file_cache: Path) -> None:
    cache = StartupCache()
    cache.put(make_stage(ttl=60), detail="ok", ttl=60)

    assert cache.get(make_stage(ttl=None)) is None


def test_startup_cache__detail_is_redacted_before_it_is_stored(file_cache: Path) -> None:
    cache, stage = StartupCache(), make_stage()
    cache.put(stage, detail=f"connected with AccountKey={KEY}\nand more", ttl=60)

    entry = cache.get(stage)
    assert entry is not None
    assert KEY not in entry.detail
    assert entry.detail == "connected with AccountKey=*** and more"
    assert not any(KEY.encode() in path.read_bytes() for path in file_cache.iterdir())


# Listing and clearing


def test_startup_cache__entries_lists_every_stage_and_fingerprint(file_cache: Path) -> None:
    cache = StartupCache()
    cache.put(make_stage("a.one", config={"v": 1}), detail="one", ttl=60)
    cache.put(make_stage("a.one", config={"v": 2}), detail="two", ttl=60)
    cache.put(make_stage("b.two"), detail="three", ttl=60)

    listed = StartupCache().entries()

    assert sorted((e.stage, e.detail) for e in listed) == [
        ("a.one", "one"), ("a.one", "two"), ("b.two", "three"),
    ]


def test_startup_cache__entries_drops_what_expired(file_cache: Path) -> None:
    cache = StartupCache()
    cache.put(make_stage("short", ttl=0.2), detail="gone soon", ttl=0.2)
    cache.put(make_stage("long"), detail="stays", ttl=60)
    time.sleep(0.3)

    assert [e.stage for e in cache.entries()] == ["long"]


def test_startup_cache__clear_one_stage(file_cache: Path) -> None:
    cache = StartupCache()
    cache.put(make_stage("a.one", config={"v": 1}), detail="one", ttl=60)
    cache.put(make_stage("a.one", config={"v": 2}), detail="two", ttl=60)
    cache.put(make_stage("b.two"), detail="three", ttl=60)

    assert cache.clear("a.one") == 2
    assert [e.stage for e in cache.entries()] == ["b.two"]
    assert cache.get(make_stage("a.one", config={"v": 1})) is None
    assert cache.clear("a.one") == 0


def test_startup_cache__clear_all_leaves_other_keys_alone(file_cache: Path) -> None:
    cache = StartupCache()
    cache.put(make_stage("a.one"), detail="one", ttl=60)
    cache.put(make_stage("b.two"), detail="two", ttl=60)
    caches["boot"].set("pricing:last_sync:abc", 123.0)

    assert cache.clear() == 2
    assert cache.entries() == []
    assert caches["boot"].get("pricing:last_sync:abc") == 123.0


# A broken backend


def test_startup_cache__unknown_alias_is_a_miss(fresh_warning: None,
                                                caplog: pytest.LogCaptureFixture) -> None:
    cache = StartupCache(alias="no-such-alias")

    assert cache.get(make_stage()) is None
    cache.put(make_stage(), detail="ok", ttl=60)
    assert cache.entries() == []
    assert cache.clear() == 0
    assert "startup cache unavailable" in caplog.text


# Redis


@pytest.fixture
def redis_prefix(settings: Any) -> Iterator[str]:
    """Point the boot alias at the local Redis under a key prefix of this test's own."""
    import redis

    url = "redis://127.0.0.1:6379/0"
    require_service("Redis", port_answers(6379), "nothing listens on 127.0.0.1:6379")
    prefix = f"test-boot-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        **settings.CACHES,
        "boot": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                 "KEY_PREFIX": prefix,
                 "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}},
    }
    yield prefix
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def test_startup_cache__redis_round_trip_list_and_clear(redis_prefix: str) -> None:
    import redis

    cache = StartupCache()
    cache.put(make_stage("a.one"), detail="one", ttl=60)
    cache.put(make_stage("b.two", swr=True), detail="two", ttl=60)

    entry = StartupCache().get(make_stage("a.one"))
    assert entry is not None and entry.detail == "one"
    assert [e.stage for e in cache.entries()] == ["a.one", "b.two"]
    # The keys really are in Redis, with the TTLs the entries asked for.
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    one_ttl = client.ttl(f"{redis_prefix}:1:{cache.key_for(make_stage('a.one'))}")
    two_ttl = client.ttl(f"{redis_prefix}:1:{cache.key_for(make_stage('b.two'))}")
    assert 55 <= one_ttl <= 60
    assert two_ttl > 3600  # stale-while-revalidate keeps it past its TTL
    assert cache.clear() == 2
    assert cache.entries() == []


def test_startup_cache__redis_down_is_a_quick_miss(
    settings: Any, fresh_warning: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "boot": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                 "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
                 "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}},
    }
    stage = make_stage()

    started = time.monotonic()
    first = StartupCache()
    assert first.get(stage) is None
    first.put(stage, detail="ok", ttl=60)
    second = StartupCache()  # another instance tries the backend again, and fails again
    second.put(stage, detail="ok", ttl=60)
    assert second.get(stage) is None
    elapsed = time.monotonic() - started

    assert elapsed < 0.5
    warnings = [r for r in caplog.records
                if r.name == "apps.boot.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per process, not once per call
    assert "\n" not in warnings[0].getMessage()
    assert "startup cache unavailable (get failed: ConnectionError" in warnings[0].getMessage()
