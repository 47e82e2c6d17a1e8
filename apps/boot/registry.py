"""The stage registry: a plain class, one default instance, and the `@stage` decorator."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from .stage import Retry, Stage, StageFunc


class StageRegistry:
    """Holds stage declarations by name; tests build their own instead of resetting a global."""

    def __init__(self, stages: Iterable[Stage] = ()) -> None:
        self._stages: dict[str, Stage] = {}
        # A second declaration of a name is kept aside, not raised: a broken declaration must
        # never stop the server, and the system check (boot.E001) names both places.
        self.duplicates: list[tuple[Stage, Stage]] = []
        for stage in stages:
            self.register(stage)

    def register(self, stage: Stage) -> Stage:
        """Add a stage; a duplicate name is recorded for the system checks and ignored."""
        existing = self._stages.get(stage.name)
        if existing is not None and existing.func is not stage.func:
            self.duplicates.append((existing, stage))
        elif existing is None:
            self._stages[stage.name] = stage
        return stage

    def stage(
        self,
        name: str,
        *,
        depends_on: Iterable[str] = (),
        attempts: int = 1,
        backoff: float = 0.5,
        backoff_max: float = 30.0,
        transient: tuple[type[BaseException], ...] | None = None,
        **options: Any,
    ) -> Callable[[StageFunc], StageFunc]:
        """Declare the decorated function as a stage; see `Stage` for the options."""
        retry_options: dict[str, Any] = {
            "attempts": attempts, "backoff": backoff, "backoff_max": backoff_max,
        }
        if transient is not None:
            retry_options["transient"] = tuple(transient)

        def decorator(func: StageFunc) -> StageFunc:
            declared = Stage(
                name=name,
                func=func,
                depends_on=tuple(depends_on),
                retry=Retry(**retry_options),
                **options,
            )
            self.register(declared)
            func.stage = declared  # type: ignore[attr-defined]
            return func

        return decorator

    def get(self, name: str) -> Stage:
        """Return the stage called `name`, or raise LookupError suggesting a close name."""
        try:
            return self._stages[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._stages, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise LookupError(f"No stage named '{name}'.{hint}") from None

    def all(self) -> list[Stage]:
        """Return every registered stage, in declaration order."""
        return list(self._stages.values())

    def __contains__(self, name: object) -> bool:
        return name in self._stages

    def __len__(self) -> int:
        return len(self._stages)


registry = StageRegistry()
stage = registry.stage
