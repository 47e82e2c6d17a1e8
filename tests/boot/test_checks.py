"""System checks on stage declarations: each problem has its stable id."""

from __future__ import annotations

from django.core.management import call_command
from django.test import override_settings

from apps.boot.checks import check_registry, find_cycle
from apps.boot.registry import StageRegistry
from apps.boot.stage import Stage


def _noop(ctx):
    return None


def _ids(stages: StageRegistry) -> list[str]:
    return [message.id for message in check_registry(stages)]


def test_checks__clean_registry_has_no_errors(stages: StageRegistry) -> None:
    stages.register(Stage(name="a", func=_noop))
    stages.register(Stage(name="b", func=_noop, depends_on=("a",)))
    assert _ids(stages) == []


def test_checks__duplicate_name_is_E001(stages: StageRegistry) -> None:
    stages.register(Stage(name="a", func=_noop))
    stages.register(Stage(name="a", func=lambda ctx: None))
    assert _ids(stages) == ["boot.E001"]
    assert "declared twice" in check_registry(stages)[0].msg


def test_checks__unknown_dependency_is_E002(stages: StageRegistry) -> None:
    stages.register(Stage(name="a", func=_noop, depends_on=("nope",)))
    [message] = check_registry(stages)
    assert message.id == "boot.E002"
    assert "'nope'" in message.msg
    assert message.hint


def test_checks__cycle_is_E003_and_named(stages: StageRegistry) -> None:
    stages.register(Stage(name="a", func=_noop, depends_on=("c",)))
    stages.register(Stage(name="b", func=_noop, depends_on=("a",)))
    stages.register(Stage(name="c", func=_noop, depends_on=("b",)))
    [message] = check_registry(stages)
    assert message.id == "boot.E003"
    assert "a -> c -> b -> a" in message.msg


def test_checks__non_positive_timeout_is_E004(stages: StageRegistry) -> None:
    stages.register(Stage(name="a", func=_noop, timeout=0))
    stages.register(Stage(name="b", func=_noop, timeout=-1))
    assert _ids(stages) == ["boot.E004", "boot.E004"]


def test_checks__unknown_executor_or_scope_is_E005(stages: StageRegistry) -> None:
    stages.register(Stage(name="a", func=_noop, executor="celery"))  # type: ignore[arg-type]
    assert _ids(stages) == ["boot.E005"]


def test_checks__no_attempts_is_E006(stages: StageRegistry) -> None:
    stages.stage("a", attempts=0)(_noop)
    assert _ids(stages) == ["boot.E006"]


def test_checks__boot_stage_on_lazy_stage_is_E007(stages: StageRegistry) -> None:
    stages.register(Stage(name="lazy", func=_noop, lazy=True))
    stages.register(Stage(name="eager", func=lambda ctx: None, depends_on=("lazy",)))
    assert _ids(stages) == ["boot.E007"]


def test_checks__bad_cache_ttl_is_E008(stages: StageRegistry) -> None:
    stages.register(Stage(name="a", func=_noop, cache_ttl=-5))
    assert _ids(stages) == ["boot.E008"]


def test_checks__settings_overrides_are_checked(stages: StageRegistry) -> None:
    stages.register(Stage(name="a", func=_noop))
    with override_settings(BOOT={"STAGES": {"a": {"timeout": 0}}}):
        assert _ids(stages) == ["boot.E004"]


def test_find_cycle__none_in_a_dag() -> None:
    assert find_cycle([Stage(name="a", func=_noop), Stage(name="b", func=_noop,
                                                          depends_on=("a",))]) is None


def test_checks__project_passes_manage_py_check() -> None:
    call_command("check", tags=["boot"])
