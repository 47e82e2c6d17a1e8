"""Import cost: django.setup() of the project against bare settings, what each app adds, and
which heavy modules (the Azure SDK, requests) are loaded before any request."""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from . import procs
from .report import Paired

APPS = ("apps.boot", "apps.pricing", "apps.storage", "django_q")
HEAVY = ("azure.storage.blob", "azure.core", "requests", "urllib3")

SETUP_TIMER = (
    "import time; t = time.perf_counter(); import django; django.setup(); "
    "print(time.perf_counter() - t)"
)
# What a server process has loaded before its first request: the settings, the apps, the WSGI
# application (project.wsgi, pipeline autostart off so no stage runs) and the URLconf.
MODULES_PROBE = (
    "import json, sys, django; django.setup(); "
    "from django.core.wsgi import get_wsgi_application; import project.wsgi; "
    "from django.urls import get_resolver; get_resolver().url_patterns; "
    f"print(json.dumps({{m: m in sys.modules for m in {list(HEAVY)!r}}}))"
)


def _python(code: str, env: Mapping[str, str], *, importtime: bool = False) -> tuple[str, str]:
    args = [procs.PY, *(["-X", "importtime"] if importtime else []), "-c", code]
    proc = subprocess.Popen(args, cwd=procs.ROOT, env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        procs.kill_group(proc, grace=1.0)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c failed ({proc.returncode}): {err[-2000:]}")
    return out, err


def parse_importtime(text: str) -> list[tuple[int, int, int, str]]:
    """Return (depth, self µs, cumulative µs, module) per `-X importtime` line, in print order."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:"):].split("|", 2)
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name = parts[2]
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((depth, int(parts[0]), int(parts[1]), name.strip()))
    return rows


def _ancestry(rows: list[tuple[int, int, int, str]]) -> list[list[str]]:
    """Return, per row, the names of the imports that caused it (outermost first).

    `-X importtime` prints a module after the modules it imported, one level deeper; so reading
    backwards, a row's parent is the nearest earlier-read row one level up.
    """
    chains: list[list[str]] = [[] for _ in rows]
    stack: list[str] = []
    for index in range(len(rows) - 1, -1, -1):
        depth, _, _, name = rows[index]
        del stack[depth:]
        chains[index] = list(stack)
        stack.append(name)
    return chains


def app_costs(text: str, packages: tuple[str, ...] = APPS) -> dict[str, int]:
    """Return, per package, the cumulative µs of its outermost imports (nested ones included)."""
    rows = parse_importtime(text)
    chains = _ancestry(rows)
    costs = dict.fromkeys(packages, 0)
    for (_, _, cumulative, name), chain in zip(rows, chains, strict=True):
        for package in packages:
            inside = name == package or name.startswith(package + ".")
            if inside and not any(a == package or a.startswith(package + ".") for a in chain):
                costs[package] += cumulative
    return costs


def who_imports(text: str, module: str) -> list[str]:
    """Return the import chain that first loaded `module` (outermost first), or []."""
    rows = parse_importtime(text)
    chains = _ancestry(rows)
    for (_, _, _, name), chain in zip(rows, chains, strict=True):
        if name == module:
            return [*chain, name]
    return []


def bench_imports(bare_env: dict[str, str], project_env: dict[str, str], *, pairs: int,
                  log: Callable[[str], None]) -> dict[str, Any]:
    """Time django.setup() bare vs project (alternating), split the project's cost by app."""
    paired = Paired()
    for _ in range(pairs):
        bare = float(_python(SETUP_TIMER, bare_env)[0].strip())
        project = float(_python(SETUP_TIMER, project_env)[0].strip())
        paired.add(bare, project)
    log(f"  django.setup(): bare {statistics.median(paired.a) * 1e3:.0f} ms, project "
        f"{statistics.median(paired.b) * 1e3:.0f} ms")
    samples: dict[str, list[int]] = {package: [] for package in APPS}
    for _ in range(max(3, pairs // 2)):
        _, err = _python("import django; django.setup()", project_env, importtime=True)
        for package, cost in app_costs(err).items():
            samples[package].append(cost)
    costs = {package: statistics.median(values) for package, values in samples.items()}
    log("  cumulative import µs: " + ", ".join(f"{k} {v:.0f}" for k, v in costs.items()))
    out, err = _python(MODULES_PROBE, {**project_env, "BOOT_AUTOSTART": "false"},
                       importtime=True)
    loaded = json.loads(out.strip().splitlines()[-1])
    culprits = {module: who_imports(err, module) for module, present in loaded.items()
                if present}
    log(f"  loaded before the first request: {loaded}; imported by: {culprits}")
    return {"setup": paired.summary(), "app_import_us": costs, "app_import_samples": samples,
            "heavy_loaded": loaded, "heavy_imported_by": culprits}
