"""Run the benchmarks (`make bench`, or `python -m bench [--quick] [--only NAME ...]`).

Loopback only; every loop is bounded. Prints one table (figure, target, met) and writes
var/bench/results.json (and results.md, the table the README shows).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from . import imports, ingest, parallel, probes, procs, startup
from .lab import FIXTURES, lab
from .report import Row, as_json, markdown, print_table, ratio, seconds

BENCHES = ("startup", "ready", "warm", "parallel", "ingest", "imports", "probes")
OUT = procs.ROOT / "var" / "bench"


def machine() -> dict[str, Any]:
    """Describe the machine and the versions the figures come from."""
    import django

    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{total_kb / 2**20:.1f} GiB"
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                    if line.startswith("model name")), "")
    return {"nproc": os.cpu_count(), "memory": memory, "cpu": cpu,
            "python": platform.python_version(), "django": django.get_version(),
            "os": platform.platform(),
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _startup_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    for server, result in data.items():
        pb, ip = result["project_vs_bare"], result["inline_vs_project"]
        qb = result["no_pipeline_vs_bare"]
        own = [b / q for b, q in zip(pb["b"], qb["b"], strict=True)]
        section = f"first response ({server})"
        rows += [
            Row(section, "(a) bare Django: spawn → /healthz/live 200", seconds(pb["median_a"])),
            Row(section, "(b) project, pipeline in background", seconds(pb["median_b"])),
            Row(section, "diagnostic: project with BOOT_AUTOSTART=false, / (a)",
                ratio(qb["median_ratio"]), note=f"{seconds(qb['median_b'])}: imports and "
                "checks alone; the rest of (b)/(a) is the pipeline beside the server"),
            Row(section, "diagnostic: (b) / project with BOOT_AUTOSTART=false",
                ratio(statistics.median(own)), note="what the pipeline beside the server "
                "costs, per round"),
            Row(section, "(b)/(a), median of per-pair ratios", ratio(pb["median_ratio"]),
                "≤ 1.10", pb["median_ratio"] <= 1.10,
                f"{pb['pairs']} pairs, {ratio(pb['ratio_min'])}..{ratio(pb['ratio_max'])}"),
            Row(section, "(c) inline: boot_run, then the server", seconds(ip["median_b"])),
            Row(section, "(c)/(b), median of per-pair ratios", ratio(ip["median_ratio"]),
                "≥ 5", ip["median_ratio"] >= 5,
                f"{ip['pairs']} pairs, {ratio(ip['ratio_min'])}..{ratio(ip['ratio_max'])}"),
        ]
    return rows


def _ready_rows(data: dict[str, Any]) -> list[Row]:
    section = "time to ready (gunicorn + worker)"
    return [
        Row(section, "up-to-date database: spawn → /healthz/ready 200",
            seconds(data["median_a"])),
        Row(section, "fresh (empty) database, 39 migrations", seconds(data["median_b"])),
        Row(section, "fresh / up-to-date", ratio(data["median_ratio"]),
            note=f"{data['pairs']} pairs"),
    ]


def _warm_rows(data: dict[str, Any]) -> list[Row]:
    section = "warm restart (gunicorn + worker)"
    return [
        Row(section, "requests reaching OpenRouter on a warm start (max)",
            str(data["warm_openrouter_max"]), "0", data["warm_openrouter_max"] == 0,
            f"cold start: ≥ {data['cold_openrouter_min']}"),
        Row(section, "connections reaching Azurite on a warm start (max)",
            str(data["warm_azure_max"]), "0", data["warm_azure_max"] == 0,
            f"cold start: ≥ {data['cold_azure_min']}"),
        Row(section, "cold start: spawn → every stage terminal", seconds(data["median_a"])),
        Row(section, "warm start: spawn → every stage terminal", seconds(data["median_b"])),
        Row(section, "warm / cold", ratio(data["median_ratio"]), note=f"{data['pairs']} pairs"),
    ]


def _parallel_rows(data: dict[str, Any]) -> list[Row]:
    section = "runner (in-process)"
    walls = [run["wall"] for run in data["graph"]]
    wall = statistics.median(walls)
    graph_ratio = wall / data["critical_path"]
    graph_queries = data["graph"][0]["queries"] / data["graph"][0]["stages"]
    noop = data["noop"]
    check = data.get("counter_check", {})
    small, large = noop[min(noop, key=int)], noop[max(noop, key=int)]
    return [
        Row(section, "24 stages, 4 wide: wall / critical path",
            ratio(graph_ratio), "≤ 1.10", graph_ratio <= 1.10,
            f"{seconds(wall)} / {seconds(data['critical_path'])}"),
        Row(section, f"overhead per no-op stage ({small['stages']} stages)",
            seconds(small["per_stage"])),
        Row(section, f"overhead per no-op stage ({large['stages']} stages)",
            seconds(large["per_stage"]),
            note=f"{large['per_stage'] / small['per_stage']:.1f}x the per-stage cost at "
                 f"{small['stages']}"),
        Row(section, "bookkeeping queries per stage (24-stage graph)", f"{graph_queries:.2f}",
            note="every thread's statements counted (CursorWrapper patched); check: "
                 f"{len(check.get('stage_threads', []))}/4 querying stage threads seen"),
        Row(section, f"bookkeeping queries per stage ({large['stages']} no-op)",
            f"{large['queries_per_stage']:.2f}"),
    ]


def _ingest_rows(data: dict[str, Any]) -> list[Row]:
    section = "pricing ingestion (SQLite)"
    rows = []
    for name in ("models-321.json", "models-414.json", "synthetic 400", "synthetic 20000"):
        run = data[name]
        rows.append(Row(section, f"{name}: first sync / re-sync",
                        f"{seconds(run['first'])} / {seconds(run['resync'])}",
                        note=f"{run['queries']} queries, peak {run['peak_bytes'] / 2**20:.1f} "
                             "MiB (tracemalloc)"))
    small, large = data["synthetic 400"], data["synthetic 20000"]
    rows += [
        Row(section, "time per model at 400 / at 20,000",
            f"{seconds(small['first_per_model'])} / {seconds(large['first_per_model'])}"),
        Row(section, "growth 400 → 20,000 (per-model time ratio)", ratio(data["growth"]),
            "≤ 1.10 (linear or better)", data["growth"] <= 1.10),
        Row(section, "queries at 400 / at 20,000", f"{small['queries']} / {large['queries']}",
            "same", small["queries"] == large["queries"]),
    ]
    return rows


def _import_rows(data: dict[str, Any]) -> list[Row]:
    section = "imports"
    setup = data["setup"]
    costs = data["app_import_us"]
    loaded = [module for module, present in data["heavy_loaded"].items() if present]
    culprits = "; ".join(f"{m} via {' → '.join(c[-4:])}"
                         for m, c in data["heavy_imported_by"].items())
    return [
        Row(section, "django.setup(): bare settings / project",
            f"{seconds(setup['median_a'])} / {seconds(setup['median_b'])}",
            note=f"project/bare {ratio(setup['median_ratio'])}, {setup['pairs']} pairs"),
        Row(section, "cumulative import: apps.boot / apps.pricing / apps.storage",
            " / ".join(seconds(costs[app] / 1e6) for app in
                       ("apps.boot", "apps.pricing", "apps.storage")),
            note=f"django_q {seconds(costs['django_q'] / 1e6)}; python -X importtime"),
        Row(section, "azure.storage.blob, requests loaded before the first request",
            ", ".join(loaded) or "none", "none", not loaded, culprits),
    ]


def _probe_rows(data: dict[str, Any]) -> list[Row]:
    section = "probes (gunicorn, 1 sync worker)"
    cpu = data["cpu"]
    return [
        Row(section, "bare Django /healthz/live", f"{data['median_a']:.0f} req/s"),
        Row(section, "project /healthz/ready", f"{data['median_b']:.0f} req/s"),
        Row(section, "ready / trivial view, median of per-pair ratios",
            ratio(data["median_ratio"]), "≥ 0.90", data["median_ratio"] >= 0.9,
            f"{data['pairs']} pairs of 1 s, {data['errors']} errors, {data['non_200']} non-200"),
        Row(section, "worker CPU per request: trivial view / ready",
            f"{seconds(cpu['median_a'])} / {seconds(cpu['median_b'])}",
            note=f"bare/project CPU ratio {ratio(1 / cpu['median_ratio'])} (/proc, "
                 f"{cpu['pairs']} pairs)" if cpu["median_ratio"] else "n/a"),
    ]


ROWS = {"startup": _startup_rows, "ready": _ready_rows, "warm": _warm_rows,
        "parallel": _parallel_rows, "ingest": _ingest_rows, "imports": _import_rows,
        "probes": _probe_rows}


def run(only: tuple[str, ...], *, quick: bool) -> dict[str, Any]:
    """Run the chosen benchmarks in one lab; return their raw results."""
    pairs = 3 if quick else 10
    results: dict[str, Any] = {}
    with lab() as the_lab:
        steps: dict[str, Any] = {
            "startup": lambda: startup.bench_first_response(
                the_lab, pairs, _log),
            "ready": lambda: startup.bench_ready(
                the_lab, pairs, _log),
            "warm": lambda: startup.bench_warm(
                the_lab, pairs, _log),
            "parallel": lambda: parallel.bench_parallel(
                the_lab, repeat=1 if quick else 3, log=_log),
            "ingest": lambda: ingest.bench_ingest(
                the_lab.fresh_dir("ingest"), the_lab.template_db, FIXTURES,
                samples=1 if quick else 3, log=_log, log_file=the_lab.log),
            "imports": lambda: imports.bench_imports(
                the_lab.bare_env(the_lab.fresh_bare_var()),
                the_lab.project_env(the_lab.fresh_var()), pairs=pairs, log=_log),
            "probes": lambda: probes.bench_probes(
                the_lab, pairs=pairs * 2, seconds=1.0, log=_log),
        }
        for name in only:
            _log(f"{name} ...")
            began = time.perf_counter()
            try:
                results[name] = steps[name]()
            except Exception as exc:  # one broken benchmark must not hide the others
                _log(f"  {name} FAILED: {type(exc).__name__}: {exc}")
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            _log(f"  ({time.perf_counter() - began:.1f} s)")
            the_lab.cleanup_dirs()
    return results


def table(results: dict[str, Any], info: dict[str, Any], *, quick: bool,
          took: float) -> tuple[list[Row], str]:
    """Return the rows of every benchmark's results, and the title naming the machine."""
    rows: list[Row] = []
    for name, result in results.items():
        if "error" in result:
            rows.append(Row(name, "benchmark broke", result["error"], met=False))
        else:
            rows += ROWS[name](result)
    title = (f"Benchmarks{' (quick)' if quick else ''}: {info['nproc']} cores, "
             f"{info['memory']}, {info['cpu']}, Python {info['python']}, Django "
             f"{info['django']}, {info['date']}, {took:.0f} s")
    return rows, title


def main() -> int:
    """Parse the options, run, print the table, write the JSON; exit 1 if a bench broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 pairs instead of 10")
    parser.add_argument("--only", nargs="+", choices=BENCHES, default=list(BENCHES))
    parser.add_argument("--report", action="store_true",
                        help="print the table of the last results.json again, run nothing")
    args = parser.parse_args()
    if args.report:
        saved = json.loads((OUT / "results.json").read_text())
        rows, title = table(saved["results"], saved["machine"], quick=saved["quick"],
                            took=saved["seconds"])
        print_table(rows, title=title)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    try:
        results = run(tuple(args.only), quick=args.quick)
    finally:
        procs.kill_all()
    took = time.perf_counter() - began
    info = machine()
    rows, title = table(results, info, quick=args.quick, took=took)
    print_table(rows, title=title)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(
        {"machine": info, "quick": args.quick, "seconds": took, "rows": as_json(rows),
         "results": results}, indent=2, default=str))
    (OUT / "results.md").write_text(f"{title}\n\n{markdown(rows)}\n")
    missed = [row for row in rows if row.met is False]
    print(f"{len(missed)} target(s) missed; results in {OUT / 'results.json'}")
    return 1 if any("error" in result for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
