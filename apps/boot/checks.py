"""System checks on stage declarations, so `manage.py check` catches them before anything runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

from .conf import boot_settings
from .registry import StageRegistry, registry
from .stage import EXECUTORS, SCOPES, Stage


def find_cycle(stages: Iterable[Stage]) -> list[str] | None:
    """Return one dependency cycle as a list of names (first name repeated last), or None."""
    graph = {stage.name: stage.depends_on for stage in stages}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return [*visiting[visiting.index(name):], name]
        if name in done or name not in graph:
            return None
        visiting.append(name)
        for dependency in graph[name]:
            cycle = visit(dependency)
            if cycle:
                return cycle
        visiting.pop()
        done.add(name)
        return None

    for name in graph:
        cycle = visit(name)
        if cycle:
            return cycle
    return None


def check_registry(stages: StageRegistry) -> list[CheckMessage]:
    """Return the problems of a registry's declarations, each with a stable id and a hint."""
    errors: list[CheckMessage] = []
    for first, second in stages.duplicates:
        errors.append(Error(
            f"Stage '{first.name}' is declared twice: {first.label} and {second.label}.",
            hint="Give one of them another name; stage names are unique in a project.",
            id="boot.E001",
        ))
    declared = [boot_settings.apply_overrides(stage) for stage in stages.all()]
    names = {stage.name for stage in declared}
    for stage in declared:
        errors += _check_stage(stage, names, {s.name: s for s in declared})
    cycle = find_cycle(declared)
    if cycle:
        errors.append(Error(
            f"Stages depend on each other in a cycle: {' -> '.join(cycle)}.",
            hint="Remove one of these dependencies; a cycle can never start.",
            id="boot.E003",
        ))
    return errors


def _check_stage(stage: Stage, names: set[str], by_name: dict[str, Stage]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for dependency in stage.depends_on:
        if dependency not in names:
            errors.append(Error(
                f"Stage '{stage.name}' depends on '{dependency}', which no app declares.",
                hint="Check the spelling, or add the app that declares it to INSTALLED_APPS.",
                obj=stage.label,
                id="boot.E002",
            ))
        elif by_name[dependency].lazy and not stage.lazy:
            errors.append(Error(
                f"Stage '{stage.name}' runs at boot but depends on lazy stage '{dependency}'.",
                hint="Make the dependent lazy too, or the dependency not lazy.",
                obj=stage.label,
                id="boot.E007",
            ))
    if not _positive(stage.timeout):
        errors.append(Error(
            f"Stage '{stage.name}' has timeout {stage.timeout!r}; it must be a positive number "
            "of seconds.",
            hint="Give the stage a timeout that bounds one attempt, e.g. timeout=30.",
            obj=stage.label,
            id="boot.E004",
        ))
    if stage.executor not in EXECUTORS or stage.scope not in SCOPES:
        errors.append(Error(
            f"Stage '{stage.name}' has executor {stage.executor!r} and scope {stage.scope!r}.",
            hint=f"Use an executor among {EXECUTORS} and a scope among {SCOPES}.",
            obj=stage.label,
            id="boot.E005",
        ))
    if stage.executor == "queue" and "<" in stage.func.__qualname__:
        errors.append(Error(
            f"Queue stage '{stage.name}' is {stage.label}, which a worker cannot import.",
            hint="Declare queue stages on module-level functions.",
            obj=stage.label,
            id="boot.E009",
        ))
    if not isinstance(stage.retry.attempts, int) or stage.retry.attempts < 1:
        errors.append(Error(
            f"Stage '{stage.name}' has {stage.retry.attempts!r} attempts; it needs at least 1.",
            hint="Use attempts=1 for no retries.",
            obj=stage.label,
            id="boot.E006",
        ))
    if stage.cache_ttl is not None and not _positive(stage.cache_ttl):
        errors.append(Error(
            f"Stage '{stage.name}' has cache_ttl {stage.cache_ttl!r}.",
            hint="Use a positive number of seconds, or None to never cache the stage.",
            obj=stage.label,
            id="boot.E008",
        ))
    return errors


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


@register(Tags.compatibility, "boot")
def check_stages(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Check the project's stage declarations."""
    return check_registry(registry)
