"""Pricing ingestion: the real catalogues and synthetic ones, time, queries and peak memory."""

from __future__ import annotations

import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import procs
from .inprocess import run_child

REAL = ("models-321.json", "models-414.json")
SYNTHETIC = (400, 20_000)


def synthetic(count: int, source: Path) -> dict[str, Any]:
    """Return a catalogue of `count` models cloned from a real one, each with its own id."""
    real = json.loads(source.read_text())["data"]
    models = []
    for i in range(count):
        model = dict(real[i % len(real)])
        model["id"] = f"synthetic/{i:06d}-{model['id'].split('/')[-1]}"[:200]
        model["canonical_slug"] = model["id"]
        model["name"] = f"Synthetic {i}: {model.get('name', '')}"[:200]
        models.append(model)
    return {"data": models}


def measure(*, repeat: int, memory: bool) -> dict[str, Any]:
    """In a child with Django set up: a first sync (all new), then `repeat` forced re-syncs."""
    from apps.pricing.services import prices_sync

    from .counting import counting

    if memory:
        tracemalloc.start()
    with counting() as counts:
        start = time.perf_counter()
        result = prices_sync(force=True, trigger="bench")
        first = time.perf_counter() - start
    out: dict[str, Any] = {"first": first, "first_queries": counts.queries,
                           "models": result.counts.total if result.counts else 0,
                           "requests": result.requests}
    if memory:
        out["peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out
    again: list[float] = []
    for _ in range(repeat):
        with counting() as counts:
            start = time.perf_counter()
            prices_sync(force=True, trigger="bench")
            again.append(time.perf_counter() - start)
    out.update(resync=again, resync_queries=counts.queries)
    return out


def _child(work: Path, template_db: Path, base_url: str, *, memory: bool, repeat: int,
           log: Path) -> dict[str, Any]:
    var_dir = work / f"ingest-{time.monotonic_ns()}"
    var_dir.mkdir()
    (var_dir / "db.sqlite3").write_bytes(template_db.read_bytes())
    env = procs.base_env(DJANGO_SETTINGS_MODULE="project.settings", VAR_DIR=str(var_dir),
                         OPENROUTER_BASE_URL=base_url)
    args = ["--repeat", str(repeat), *(["--memory"] if memory else [])]
    return run_child("ingest", args, env=env, out=var_dir / "out.json", log=log, timeout=180)


def bench_ingest(work: Path, template_db: Path, fixtures: Path, *, samples: int,
                 log: Callable[[str], None], log_file: Path) -> dict[str, Any]:
    """Sync each catalogue from a local fake (no delay) into a fresh database; summarise."""
    datasets: list[tuple[str, Path]] = [(name, fixtures / name) for name in REAL]
    for count in SYNTHETIC:
        path = work / f"synthetic-{count}.json"
        path.write_text(json.dumps(synthetic(count, fixtures / "models-414.json")))
        datasets.append((f"synthetic {count}", path))
    results: dict[str, Any] = {}
    for name, path in datasets:
        port = procs.free_port()
        with procs.running([procs.PY, "-m", "tests.fakes.openrouter", "--port", str(port),
                            "--fixture", str(path)], env=procs.base_env(), log=log_file):
            procs.wait_for(lambda port=port: procs.port_open(port), timeout=30,
                           interval=0.05, what="fake OpenRouter")
            base_url = f"http://127.0.0.1:{port}/api/v1"
            timed = [_child(work, template_db, base_url, memory=False, repeat=2, log=log_file)
                     for _ in range(samples)]
            traced = _child(work, template_db, base_url, memory=True, repeat=0, log=log_file)
        models = timed[0]["models"]
        first = statistics.median(run["first"] for run in timed)
        resync = statistics.median(t for run in timed for t in run["resync"])
        results[name] = {
            "models": models, "first": first, "resync": resync,
            "first_per_model": first / models if models else None,
            "queries": timed[0]["first_queries"], "resync_queries": timed[0]["resync_queries"],
            "peak_bytes": traced["peak_bytes"], "samples": timed,
        }
        log(f"  {name}: {models} models, first {first:.3f} s, re-sync {resync:.3f} s, "
            f"{timed[0]['first_queries']} queries, peak {traced['peak_bytes'] / 2**20:.1f} MiB")
    small, large = results["synthetic 400"], results["synthetic 20000"]
    results["growth"] = large["first_per_model"] / small["first_per_model"]
    results["memory_growth"] = (large["peak_bytes"] / large["models"]) / (
        small["peak_bytes"] / small["models"])
    return results
