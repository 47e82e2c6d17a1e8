"""A throwaway deployment: its own database and Redis DB, real processes, a fake OpenRouter.

Every process is spawned in its own session, so teardown kills whole process groups (gunicorn's
workers, qcluster's children) and nothing outlives the test.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service
from tests.fakes.openrouter import FakeOpenRouter

ROOT = Path(__file__).resolve().parents[2]
PG_PORT = 5432
REDIS_PORT = 6379
# Redis DBs this suite may claim (the cache tests use DB 0); one claimed per test.
REDIS_DBS = range(8, 16)
CLAIM_KEY = "deploy-test:claim"
BAD_STAGE_STATES = ("failed", "timed_out", "blocked", "interrupted")
LIVE_STAGE_STATES = ("pending", "queued", "running")


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Say whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """Return a loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(port: int, path: str, timeout: float = 3.0) -> tuple[int, dict[str, str], bytes]:
    """GET http://127.0.0.1:port/path; return status, headers and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def children(pid: int) -> set[int]:
    """Return the pids whose parent is `pid` (gunicorn's workers), from /proc."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the fields after its closing parenthesis don't.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


@dataclass
class Process:
    """A spawned process group and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        """Return the leader's pid (gunicorn's master, qcluster's parent)."""
        return self.popen.pid

    def alive(self) -> bool:
        """Say whether the leader still runs."""
        return self.popen.poll() is None

    def tail(self, lines: int = 40) -> str:
        """Return the end of the log."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def signal(self, sig: signal.Signals, *, group: bool = True) -> bool:
        """Send `sig` to the whole group (or the leader); return whether the group was there."""
        self.popen.poll()  # reap the leader, or a zombie leader keeps the group "alive"
        try:
            if group:
                os.killpg(self.popen.pid, sig)
            elif self.popen.returncode is None:
                os.kill(self.popen.pid, sig)
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def gone(self) -> bool:
        """Say whether every process of the group has ended."""
        self.popen.poll()
        return not _group_alive(self.popen.pid)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Deployment:
    """One test's deployment: database, Redis DB, VAR_DIR, a fake OpenRouter, and processes."""

    root: Path
    db_name: str
    redis_db: int
    openrouter: FakeOpenRouter
    settings_module: str = "project.settings"
    env_extra: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    _sql: Any = None

    @property
    def var_dir(self) -> Path:
        """Return the VAR_DIR every process of this deployment shares."""
        return self.root / "var"

    def database_url(self, port: int = PG_PORT) -> str:
        """Return the DATABASE_URL of this deployment's database (through `port`)."""
        return f"postgres://postgres@127.0.0.1:{port}/{self.db_name}"

    @property
    def redis_url(self) -> str:
        """Return the REDIS_URL of this deployment's Redis DB."""
        return f"redis://127.0.0.1:{REDIS_PORT}/{self.redis_db}"

    def env(self, **extra: str) -> dict[str, str]:
        """Return a process environment for this deployment, with `extra` on top."""
        base = {key: value for key, value in os.environ.items()
                if not key.startswith(("DJANGO_", "PYTEST", "BOOT_", "PRICING_", "AZURE_",
                                       "REDIS_", "DATABASE_", "OPENROUTER_"))}
        base.update(
            DJANGO_SETTINGS_MODULE=self.settings_module, DATABASE_URL=self.database_url(),
            REDIS_URL=self.redis_url, VAR_DIR=str(self.var_dir),
            OPENROUTER_BASE_URL=self.openrouter.base_url, DJANGO_SECRET_KEY="deployment-test",
            Q_WORKERS="1", PYTHONUNBUFFERED="1",
        )
        base.update(self.env_extra)
        base.update(extra)
        return base

    def spawn(self, name: str, args: list[str], **env: str) -> Process:
        """Start `args` in the project root, in a session of its own, logging to a file."""
        log = self.root / f"{name}-{len(self.processes)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(args, cwd=ROOT, env=self.env(**env), stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(name=name, popen=popen, log=log)
        self.processes.append(process)
        return process

    def gunicorn(self, workers: int, **env: str) -> Process:
        """Start gunicorn with `workers` workers (the app imported in each, no preload)."""
        port = free_port()
        process = self.spawn("gunicorn", [
            sys.executable, "-m", "gunicorn", "project.wsgi:application", "-w", str(workers),
            "-b", f"127.0.0.1:{port}", "--no-control-socket", "--graceful-timeout", "3",
            "--timeout", "60",
        ], **env)
        process.port = port
        return process

    def worker(self, **env: str) -> Process:
        """Start `manage.py boot_worker` (qcluster once its tables exist)."""
        return self.spawn("qcluster", [sys.executable, "manage.py", "boot_worker",
                                       "--timeout", "120"], **env)

    def manage(self, *args: str, timeout: float = 60,
               **env: str) -> subprocess.CompletedProcess[str]:
        """Run a management command against this deployment and return its result."""
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, text=True,
                              capture_output=True, env=self.env(**env), timeout=timeout)

    # -- the database, read directly ---------------------------------------------------------

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one query on this deployment's database; return its rows ([] for no table)."""
        import psycopg

        if self._sql is None or self._sql.closed:
            self._sql = psycopg.connect(f"host=127.0.0.1 port={PG_PORT} user=postgres "
                                        f"dbname={self.db_name}", autocommit=True,
                                        connect_timeout=5)
        try:
            cursor = self._sql.execute(query, params)
        except psycopg.errors.UndefinedTable:
            return []
        return cursor.fetchall() if cursor.description else []

    def runs(self) -> list[dict[str, Any]]:
        """Return every BootRun as a dict, oldest first."""
        columns = ("id", "host", "pid", "trigger", "state", "started_at", "ready_at",
                   "finished_at")
        rows = self.sql(f"SELECT {', '.join(columns)} FROM boot_bootrun ORDER BY started_at")
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def stages(self) -> list[dict[str, Any]]:
        """Return every StageRun with its run's pid, as dicts."""
        columns = ("run_id", "pid", "name", "state", "scope", "executor", "attempts", "detail",
                   "error", "facts")
        rows = self.sql(
            "SELECT s.run_id, r.pid, s.name, s.state, s.scope, s.executor, s.attempts, s.detail,"
            " s.error, s.facts FROM boot_stagerun s JOIN boot_bootrun r ON r.id = s.run_id "
            "ORDER BY r.started_at, s.name")
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def duplicate_migrations(self) -> list[tuple[Any, ...]]:
        """Return (app, name, count) for every migration recorded more than once."""
        return self.sql("SELECT app, name, count(*) FROM django_migrations GROUP BY app, name "
                        "HAVING count(*) > 1")

    def advisory_locks(self) -> list[tuple[Any, ...]]:
        """Return the advisory locks held on this deployment's database (objid, pid)."""
        return self.sql("SELECT l.objid, l.pid FROM pg_locks l JOIN pg_database d ON "
                        "d.oid = l.database WHERE l.locktype = 'advisory' AND l.granted "
                        "AND d.datname = %s", (self.db_name,))

    def connections(self) -> list[tuple[Any, ...]]:
        """Return (application_name, state, query) of every session on this database but ours."""
        return self.sql("SELECT application_name, state, left(query, 80) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (self.db_name,))

    def fetches(self) -> int:
        """Return how many `/models` requests reached the fake OpenRouter (its `/_stats`)."""
        status, _, body = http_get(self.openrouter.port, "/_stats")
        assert status == 200
        return int(json.loads(body)["requests"])

    # -- waiting -----------------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str,
                   interval: float = 0.1) -> Any:
        """Poll `predicate` until it returns something true; fail with the logs after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what}: not within {timeout:g} s\n{self.report()}")
            time.sleep(interval)

    def wait_http(self, process: Process, path: str, status: int, timeout: float) -> None:
        """Wait until `path` on the process's port answers `status`."""
        assert process.port is not None

        def answers() -> bool:
            try:
                return http_get(process.port, path, timeout=1)[0] == status  # type: ignore[arg-type]
            except OSError:
                return False

        self.wait_until(answers, timeout, f"{process.name} {path} answering {status}")

    def wait_runs_terminal(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """Wait until `count` runs are recorded and none is still starting or ready."""
        def settled() -> list[dict[str, Any]] | None:
            runs = self.runs()
            live = [r for r in runs if r["state"] in ("starting", "ready")]
            return runs if len(runs) >= count and not live else None

        return self.wait_until(settled, timeout, f"{count} runs ending")

    def report(self) -> str:
        """Return the recorded stages and the end of every log, for failure messages."""
        lines = ["-- stages --"]
        with contextlib.suppress(Exception):
            for row in self.stages():
                lines.append(f"{row['pid']} {row['name']} {row['state']} {row['detail']!r} "
                             f"{row['error']!r}")
        for process in self.processes:
            lines.append(f"-- {process.name} ({process.pid}) --")
            lines.append(process.tail())
        return "\n".join(lines)

    def stop(self, grace: float = 5.0) -> None:
        """Terminate every process, then kill each group's leftovers after `grace` seconds."""
        # SIGTERM goes to the leaders, as their docs ask: gunicorn's master and qcluster stop
        # their own children. (qcluster never stops when its whole group gets SIGTERM.)
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            running = [p for p in self.processes if p.signal(sig, group=sig == signal.SIGKILL)]
            deadline = time.monotonic() + wait
            while running and time.monotonic() < deadline:
                running = [p for p in running if not p.gone()]
                time.sleep(0.05)
            if not running:
                break
        if self._sql is not None:
            self._sql.close()


def _claim_redis_db() -> int:
    """Claim an unused Redis DB for this test (a key set only if absent) and empty it."""
    import redis

    for number in REDIS_DBS:
        client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=number)
        try:
            if client.set(CLAIM_KEY, str(os.getpid()), nx=True, ex=900):
                for key in client.scan_iter(count=1000):
                    if key != CLAIM_KEY.encode():
                        client.delete(key)
                return number
        finally:
            client.close()
    raise RuntimeError(f"every Redis DB in {REDIS_DBS} is claimed by another test run")


def _release_redis_db(number: int) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=number)
    try:
        client.flushdb()
    finally:
        client.close()


def _postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={PG_PORT} user=postgres dbname=postgres",
                         autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql)


def require_postgres_and_redis() -> None:
    """Skip (or fail under REQUIRE_SERVICES=1) unless PostgreSQL and Redis answer on loopback."""
    require_service("PostgreSQL", port_answers(PG_PORT),
                    f"nothing listens on 127.0.0.1:{PG_PORT} (user postgres, trust auth)")
    require_service("Redis", port_answers(REDIS_PORT),
                    f"nothing listens on 127.0.0.1:{REDIS_PORT}")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """Yield a fresh deployment; drop its database and empty its Redis DB afterwards."""
    require_postgres_and_redis()
    db_name = f"boot_deploy_{uuid.uuid4().hex[:12]}"
    _postgres(f'CREATE DATABASE "{db_name}"')
    redis_db = _claim_redis_db()
    openrouter = FakeOpenRouter(fixture="models-414.json").start()
    (tmp_path / "var").mkdir()
    deployment = Deployment(root=tmp_path, db_name=db_name, redis_db=redis_db,
                            openrouter=openrouter)
    try:
        yield deployment
    finally:
        deployment.stop()
        openrouter.stop()
        _release_redis_db(redis_db)
        _postgres(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
