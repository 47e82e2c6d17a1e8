"""The loopback lab: fake OpenRouter (2 s), Azurite behind a 0.5 s proxy, template databases."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

from tests.fakes.azurite import ACCOUNT_KEY, ACCOUNT_NAME, BINARY
from tests.fakes.delay_proxy import DelayProxy

from . import procs

OPENROUTER_DELAY = 2.0
AZURE_DELAY = 0.5
FIXTURES = procs.ROOT.parent / "shared" / "fixtures" / "openrouter"


@dataclass
class Lab:
    """Everything a start of the project talks to, plus where its files go."""

    work: Path
    openrouter_port: int = 0
    azurite_port: int = 0
    proxy: DelayProxy | None = None
    template_db: Path | None = None
    bare_template_db: Path | None = None
    _procs: list[Popen[bytes]] = field(default_factory=list)
    _count: int = 0

    @property
    def log(self) -> Path:
        """Return the file every child's output goes to."""
        return self.work / "children.log"

    def connection_string(self) -> str:
        """Return Azurite's dev account, reached through the delaying proxy."""
        assert self.proxy is not None
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
                f"AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint=http://127.0.0.1:{self.proxy.port}/{ACCOUNT_NAME};")

    def project_env(self, var_dir: Path, **extra: str) -> dict[str, str]:
        """Return the environment of one start of the project against the lab."""
        return procs.base_env(
            DJANGO_SETTINGS_MODULE="project.settings",
            VAR_DIR=str(var_dir),
            OPENROUTER_BASE_URL=f"http://127.0.0.1:{self.openrouter_port}/api/v1",
            AZURE_CONNECTION_STRING=self.connection_string(),
            Q_WORKERS="1",
            **extra,
        )

    def bare_env(self, var_dir: Path, **extra: str) -> dict[str, str]:
        """Return the environment of one start of bare Django."""
        return procs.base_env(DJANGO_SETTINGS_MODULE="project.settings_bare",
                              VAR_DIR=str(var_dir), **extra)

    def fresh_dir(self, name: str) -> Path:
        """Return a new empty directory under the work directory."""
        self._count += 1
        path = self.work / f"{self._count:04d}-{name}"
        path.mkdir(parents=True)
        return path

    def fresh_var(self, *, migrated: bool = True) -> Path:
        """Return a fresh VAR_DIR: empty cache, and the migrated template database if asked."""
        var_dir = self.fresh_dir("var")
        if migrated:
            assert self.template_db is not None
            shutil.copy2(self.template_db, var_dir / "db.sqlite3")
        return var_dir

    def fresh_bare_var(self) -> Path:
        """Return a fresh VAR_DIR for bare Django with its migrated template database."""
        var_dir = self.fresh_dir("bare")
        assert self.bare_template_db is not None
        shutil.copy2(self.bare_template_db, var_dir / "bare.sqlite3")
        return var_dir

    def openrouter_requests(self) -> int:
        """Return how many /models requests the fake OpenRouter has answered."""
        stats = procs.get_json(self.openrouter_port, "/_stats")
        return int(stats["requests"]) if stats else -1

    def azure_connections(self) -> int:
        """Return how many connections went through the proxy to Azurite."""
        assert self.proxy is not None
        return self.proxy.connections

    def cleanup_dirs(self) -> None:
        """Remove the per-start directories made so far (keeps the templates and the log)."""
        for path in self.work.iterdir():
            if path.is_dir() and path.name[:4].isdigit():
                shutil.rmtree(path, ignore_errors=True)


def _migrate(env: dict[str, str], log: Path, *extra: str) -> None:
    code = procs.run([procs.PY, "manage.py", "migrate", "--noinput", *extra], env=env, log=log,
                     timeout=120)
    if code != 0:
        raise RuntimeError(f"migrate {' '.join(extra)} failed ({code}); see {log}")


@contextlib.contextmanager
def lab(*, keep: bool = False) -> Iterator[Lab]:
    """Start the fakes and build the template databases; stop and remove everything after."""
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    the_lab = Lab(work=work)
    proxy: DelayProxy | None = None
    try:
        the_lab.openrouter_port = procs.free_port()
        the_lab._procs.append(procs.spawn(
            [procs.PY, "-m", "tests.fakes.openrouter", "--port", str(the_lab.openrouter_port),
             "--fixture", str(FIXTURES / "models-414.json"), "--delay", str(OPENROUTER_DELAY)],
            env=procs.base_env(), log=the_lab.log))
        the_lab.azurite_port = procs.free_port()
        azurite_dir = work / "azurite"
        azurite_dir.mkdir()
        the_lab._procs.append(procs.spawn(
            [str(BINARY), "--blobHost", "127.0.0.1", "--blobPort", str(the_lab.azurite_port),
             "--location", str(azurite_dir), "--skipApiVersionCheck", "--loose",
             "--disableTelemetry", "--silent"], env=procs.base_env(), log=the_lab.log))
        proxy = DelayProxy(the_lab.azurite_port, delay=AZURE_DELAY).start()
        the_lab.proxy = proxy
        template = work / "template"
        template.mkdir()
        _migrate(the_lab.project_env(template), the_lab.log)
        the_lab.template_db = template / "db.sqlite3"
        bare = work / "bare-template"
        bare.mkdir()
        _migrate(the_lab.bare_env(bare), the_lab.log)
        the_lab.bare_template_db = bare / "bare.sqlite3"
        for port, what in ((the_lab.openrouter_port, "fake OpenRouter"),
                           (the_lab.azurite_port, "Azurite")):
            procs.wait_for(lambda port=port: procs.port_open(port), timeout=30, interval=0.05,
                           what=what)
        yield the_lab
    finally:
        for proc in the_lab._procs:
            procs.kill_group(proc)
        if proxy is not None:
            proxy.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def stage_states(port: int) -> dict[str, Any] | None:
    """Return the stage states /healthz/ready reports, or None if it doesn't answer."""
    body = procs.get_json(port, "/healthz/ready")
    if not isinstance(body, dict) or "stages" not in body:
        return None
    return {name: info.get("state") for name, info in body["stages"].items()}


TERMINAL = {"succeeded", "cached", "skipped", "failed", "timed_out", "blocked", "interrupted"}


def all_terminal(port: int) -> bool:
    """Say whether every stage of the server's run is terminal."""
    states = stage_states(port)
    return bool(states) and all(state in TERMINAL for state in states.values())


def settle(seconds: float = 0.2) -> None:
    """Let the machine calm down between starts (sockets closed, processes reaped)."""
    time.sleep(seconds)
