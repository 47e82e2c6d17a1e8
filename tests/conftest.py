"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

_RUNNER_BEFORE = pytest.StashKey[object]()


def require_service(name: str, reachable: bool, why: str) -> None:
    """Skip a test whose service is absent, or fail it when REQUIRE_SERVICES=1 (as in CI)."""
    if reachable:
        return
    message = f"{name} is not reachable: {why}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(message)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Note which pipeline was current before the test's fixtures run."""
    from apps.boot.readiness import current_runner

    item.stash[_RUNNER_BEFORE] = current_runner()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Stop a pipeline the test started before its database is flushed, so it can't write,
    poll or enqueue into the next test."""
    from apps.boot.readiness import current_runner, set_current_runner

    before = item.stash.get(_RUNNER_BEFORE, None)
    runner = current_runner()
    if runner is not None and runner is not before:
        runner.stop()
        runner.finished.wait(5)
        set_current_runner(before)
    yield


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the suite with an empty record of its outputs."""
    from django.conf import settings

    folder = settings.VAR_DIR / "suite-output"
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.name == "log.txt":
            path.write_bytes(b"")  # the log handler holds it open: empty it, keep it
        else:
            path.unlink()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Scan every response and log line the suite produced for the secrets it configured."""
    from django.conf import settings

    from tests.recording import scan

    folder = settings.VAR_DIR / "suite-output"
    if not folder.exists() or session.config.option.collectonly:
        return
    found = scan(folder)
    files = sum(1 for path in folder.rglob("*") if path.is_file())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if found:
        if reporter:
            reporter.write_line(f"secret scan: FOUND in {', '.join(found)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter:
        reporter.write_line(f"secret scan: no configured secret in {files} output files "
                            f"({folder})")
