"""In-process benchmarks, run in a child with Django set up: `python -m bench.inprocess KIND`.

The child prints one JSON document on its last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import procs


def run_child(kind: str, args: list[str], *, env: dict[str, str], out: Path, log: Path,
              timeout: float = 300) -> Any:
    """Run `python -m bench.inprocess KIND ARGS` in its own group; return its JSON."""
    with out.open("wb") as stdout, log.open("ab") as stderr:
        proc = subprocess.Popen([procs.PY, "-m", "bench.inprocess", kind, *args],
                                cwd=procs.ROOT, env=env, stdout=stdout, stderr=stderr,
                                start_new_session=True)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = -1
        finally:
            procs.kill_group(proc, grace=1.0)
    if code != 0:
        raise RuntimeError(f"bench.inprocess {kind} failed ({code}); see {log}")
    return json.loads(out.read_text().strip().splitlines()[-1])


def main() -> None:
    """Set Django up, run the asked benchmark, print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("parallel", "ingest"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="ingest: trace peak memory")
    args = parser.parse_args()

    import django

    django.setup()
    logging.getLogger("apps").setLevel(logging.WARNING)
    if args.kind == "parallel":
        from .parallel import measure

        result = measure(repeat=args.repeat)
    else:
        from .ingest import measure as ingest_measure

        result = ingest_measure(repeat=args.repeat, memory=args.memory)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
