"""The stage registry and the `@stage` decorator."""

from __future__ import annotations

import pytest

from apps.boot.registry import StageRegistry, registry
from apps.boot.stage import Retry, Stage


def test_stage__decorator_registers_and_returns_the_function(stages: StageRegistry) -> None:
    @stages.stage("a.one", depends_on=["b"], priority=3, timeout=5, attempts=4, critical=True)
    def one(ctx):
        return "done"

    declared = stages.get("a.one")
    assert one(None) == "done"
    assert one.stage is declared
    assert declared.depends_on == ("b",)
    assert (declared.priority, declared.timeout, declared.critical) == (3, 5, True)
    assert declared.retry.attempts == 4


def test_registry__takes_an_explicit_list() -> None:
    first = Stage(name="x", func=lambda ctx: None)
    second = Stage(name="y", func=lambda ctx: None)
    assert [s.name for s in StageRegistry([first, second]).all()] == ["x", "y"]


def test_registry__duplicate_is_kept_aside_not_raised(stages: StageRegistry) -> None:
    stages.register(Stage(name="x", func=lambda ctx: "first"))
    stages.register(Stage(name="x", func=lambda ctx: "second"))
    assert len(stages) == 1
    assert stages.get("x").func(None) == "first"
    assert len(stages.duplicates) == 1


def test_registry__unknown_name_suggests_a_close_one(stages: StageRegistry) -> None:
    stages.register(Stage(name="db.migrate", func=lambda ctx: None))
    with pytest.raises(LookupError, match=r"Did you mean 'db\.migrate'"):
        stages.get("db.migrat")


def test_retry__transient_is_by_type() -> None:
    retry = Retry(transient=(ConnectionError,))
    assert retry.is_transient(ConnectionRefusedError())
    assert not retry.is_transient(ValueError())


def test_registry__project_declares_the_contract_stages() -> None:
    names = {s.name for s in registry.all()}
    assert {"db.migrate", "db.migrate_deferred", "storage.container", "pricing.refresh"} <= names
    assert registry.get("db.migrate").critical
    assert registry.get("db.migrate").scope == "cluster"
