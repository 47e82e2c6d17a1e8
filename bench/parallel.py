"""The runner on synthetic graphs: parallelism against the critical path, overhead, queries."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .lab import Lab

WIDTH = 4
LEVELS = 6
NOOP_STAGES = 1000
SMALL_NOOP_STAGES = 100


def sleep_of(level: int, column: int) -> float:
    """Return the known sleep of one stage of the graph: 50 to 200 ms."""
    return 0.05 * (1 + (level * 3 + column) % 4)


def graph() -> dict[str, tuple[float, tuple[str, ...]]]:
    """Return the 24-stage graph, 4 wide: each stage depends on two of the level before."""
    stages: dict[str, tuple[float, tuple[str, ...]]] = {}
    for level in range(LEVELS):
        for column in range(WIDTH):
            deps: tuple[str, ...] = ()
            if level:
                deps = (f"g.{level - 1}.{column}", f"g.{level - 1}.{(column + 1) % WIDTH}")
            stages[f"g.{level}.{column}"] = (sleep_of(level, column), deps)
    return stages


def critical_path(stages: dict[str, tuple[float, tuple[str, ...]]]) -> float:
    """Return the length (seconds) of the longest dependency chain of sleeps."""
    finish: dict[str, float] = {}
    for name, (sleep, deps) in stages.items():  # declared in dependency order
        finish[name] = sleep + max((finish[d] for d in deps), default=0.0)
    return max(finish.values())


def _sleeper(seconds: float):  # type: ignore[no-untyped-def]
    def stage_func(ctx: Any) -> None:
        """Sleep a known time (0: a no-op stage)."""
        if seconds:
            time.sleep(seconds)

    return stage_func


def _registry(stages: dict[str, tuple[float, tuple[str, ...]]]) -> Any:
    from apps.boot.registry import StageRegistry

    registry = StageRegistry()
    for name, (sleep, deps) in stages.items():
        registry.stage(name, depends_on=deps, timeout=60)(_sleeper(sleep))
    return registry


def run_graph(stages: dict[str, tuple[float, tuple[str, ...]]]) -> dict[str, Any]:
    """Run the stages through the real runner (4 workers); return wall time and counts."""
    from apps.boot.runner import Runner

    from .counting import counting

    runner = Runner(_registry(stages).all(), trigger="bench", max_workers=WIDTH)
    with counting() as counts:
        start = time.perf_counter()
        status = runner.run()
        wall = time.perf_counter() - start
    states: dict[str, int] = {}
    for stage in status.stages.values():
        states[str(stage.state)] = states.get(str(stage.state), 0) + 1
    return {"stages": len(stages), "wall": wall, "queries": counts.queries,
            "connections": counts.connections, "query_threads": len(counts.threads),
            "states": states}


def _querying(ctx: Any) -> None:
    """Make one query on this stage's own thread (and connection)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def counter_check() -> dict[str, Any]:
    """Prove the counter sees stage threads: 4 stages each query once on their own thread."""
    from apps.boot.registry import StageRegistry
    from apps.boot.runner import Runner

    from .counting import counting

    registry = StageRegistry()
    for i in range(WIDTH):
        registry.stage(f"q.{i}", timeout=30)(_querying)
    with counting() as counts:
        Runner(registry.all(), trigger="bench", max_workers=WIDTH).run()
    stage_threads = sorted(name for name in counts.threads if name.startswith("boot:q."))
    return {"queries": counts.queries, "stage_threads": stage_threads,
            "connections": counts.connections, "ok": len(stage_threads) == WIDTH}


def measure(*, repeat: int) -> dict[str, Any]:
    """Run in a process with Django set up: the graph `repeat` times, then the no-op runs."""
    shape = graph()
    path = critical_path(shape)
    graph_runs = [run_graph(shape) for _ in range(repeat)]
    noops = {}
    for count in (SMALL_NOOP_STAGES, NOOP_STAGES):
        noops[count] = run_graph({f"noop.{i}": (0.0, ()) for i in range(count)})
    return {"critical_path": path, "graph": graph_runs, "noop": noops,
            "counter_check": counter_check()}


def bench_parallel(lab: Lab, *, repeat: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Run `measure` in a child with Django set up on a fresh, migrated VAR_DIR."""
    from .inprocess import run_child

    var_dir = lab.fresh_var()
    env = lab.project_env(var_dir)
    result = run_child("parallel", ["--repeat", str(repeat)], env=env,
                       out=var_dir / "out.json", log=lab.log)
    path = result["critical_path"]
    for run in result["graph"]:
        run["ratio"] = run["wall"] / path
    for count, run in result["noop"].items():
        run["per_stage"] = run["wall"] / int(count)
        run["queries_per_stage"] = run["queries"] / int(count)
    log(f"  graph: critical path {path:.3f} s, walls "
        + ", ".join(f"{run['wall']:.3f}" for run in result["graph"])
        + "; no-op per stage: " + ", ".join(f"{count}: {run['per_stage'] * 1e3:.2f} ms"
                                            for count, run in result["noop"].items()))
    return result
