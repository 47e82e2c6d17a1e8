"""`manage.py boot_cache`: list the startup cache, as text, a rich table or JSON; clear it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.boot.cache import StartupCache
from apps.boot.management.commands.boot_cache import human_seconds
from apps.boot.stage import Stage


@pytest.fixture(autouse=True)
def file_cache(settings: Any, tmp_path: Path) -> None:
    """Give every test a startup cache of its own, on files."""
    settings.CACHES = {
        **settings.CACHES,
        "boot": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                 "LOCATION": str(tmp_path / "boot-cache")},
    }


def put(name: str, detail: str, *, ttl: float = 3600, config: str = "a",
        swr: bool = False) -> Stage:
    """Store a success of a stage called `name` and return the stage."""
    stage = Stage(name=name, func=lambda ctx: None, cache_ttl=ttl, stale_while_revalidate=swr,
                  fingerprint=lambda: {"config": config})
    StartupCache().put(stage, detail=detail, ttl=ttl)
    return stage


def run(*args: str, tty: bool = False) -> str:
    """Run the command and return what it printed."""
    out = _TTY() if tty else io.StringIO()
    call_command("boot_cache", *args, stdout=out)
    return out.getvalue()


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_human_seconds__two_largest_units() -> None:
    assert human_seconds(5) == "5s"
    assert human_seconds(184) == "3m 04s"
    assert human_seconds(7500) == "2h 05m"
    assert human_seconds(3 * 86400 + 7200) == "3d 02h"
    assert human_seconds(-125) == "-2m 05s"


def test_boot_cache__empty() -> None:
    assert run() == "The startup cache (alias 'boot') is empty.\n"


def test_boot_cache__lists_entries_as_plain_text() -> None:
    stage = put("storage.container", "container 'media' exists (account devstoreaccount1)")
    put("pricing.refresh", "312 models", ttl=0.001, swr=True)  # kept, but stale at once

    lines = run().splitlines()

    assert lines[0].split() == ["STAGE", "FINGERPRINT", "ORIGIN", "AGE", "EXPIRES", "IN",
                                "STATE", "DETAIL"]
    assert lines[1].startswith("pricing.refresh ")
    assert " stale " in lines[1]
    assert lines[2].startswith("storage.container ")
    assert StartupCache().fingerprint(stage) in lines[2]
    assert " fresh " in lines[2]
    assert " 59m " in lines[2]  # expires in
    assert lines[2].endswith("container 'media' exists (account devstoreaccount1)")
    assert "\x1b[" not in "".join(lines)  # no terminal codes when not a terminal


def test_boot_cache__lists_entries_as_a_rich_table_on_a_terminal() -> None:
    stage = put("storage.container", "container 'media' exists")

    output = run(tty=True)

    assert "Startup cache (boot)" in output
    assert "storage.container" in output
    assert StartupCache().fingerprint(stage)[:8] in output
    assert "\x1b[32mfresh\x1b[0m" in output  # styled for the terminal
    assert "─" in output


def test_boot_cache__json() -> None:
    stage = put("storage.container", "container 'media' exists")

    data = json.loads(run("--json"))

    assert data["alias"] == "boot"
    [entry] = data["entries"]
    assert entry["stage"] == "storage.container"
    assert entry["fingerprint"] == StartupCache().fingerprint(stage)
    assert entry["detail"] == "container 'media' exists"
    assert entry["fresh"] is True
    assert entry["ttl"] == 3600
    assert 3590 < entry["expires_in"] <= 3600
    assert set(entry) >= {"origin", "age", "stored_at", "expires_at"}


def test_boot_cache__clear_one_stage() -> None:
    put("storage.container", "one", config="a")
    put("storage.container", "two", config="b")
    put("pricing.refresh", "three")

    output = run("--clear", "storage.container")

    assert output == "Removed 2 cache entries of stage 'storage.container'.\n"
    assert [e.stage for e in StartupCache().entries()] == ["pricing.refresh"]


def test_boot_cache__clear_a_stage_no_longer_declared_but_cached() -> None:
    put("old.stage", "left from an earlier release")

    assert json.loads(run("--clear", "old.stage", "--json")) == {"stage": "old.stage",
                                                                 "removed": 1}


def test_boot_cache__clear_unknown_stage_suggests_a_name() -> None:
    with pytest.raises(CommandError) as caught:
        run("--clear", "storage.containr")

    assert caught.value.returncode == 2
    assert "No stage named 'storage.containr'. Did you mean 'storage.container'?" in str(
        caught.value)


def test_boot_cache__clear_all() -> None:
    put("storage.container", "one")
    put("pricing.refresh", "two")

    assert run("--clear-all") == "Removed 2 cache entries of all stages.\n"
    assert StartupCache().entries() == []


def test_boot_cache__clear_and_clear_all_exclude_each_other() -> None:
    with pytest.raises(CommandError, match="not allowed with argument"):
        run("--clear", "storage.container", "--clear-all")
