"""Start the pipeline once per process, in the background, from the WSGI/ASGI application."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from .conf import boot_settings
from .readiness import current_runner, set_current_runner
from .registry import StageRegistry, registry

if TYPE_CHECKING:
    from .runner import Runner

logger = logging.getLogger("apps.boot")
_lock = threading.Lock()


def start_pipeline(*, stages: StageRegistry | None = None, trigger: str = "wsgi",
                   force: bool = False) -> Runner | None:
    """Start the pipeline in a background thread unless it already started; return its runner.

    Called where the WSGI/ASGI application is created, so runserver's serving process and each
    gunicorn worker run it, while migrate, test, shell, check and the autoreloader's parent
    (which never create the application) do not.
    """
    if not (force or boot_settings.autostart):
        return None
    from .runner import Runner

    # Servers may build the application from several threads at once: start only once.
    with _lock:
        runner = current_runner()
        if runner is not None and not force:
            return runner
        runner = Runner((stages or registry).all(), trigger=trigger)
        set_current_runner(runner)
    run_in_background(runner)
    return runner


def start_soon(*, trigger: str) -> None:
    """Start the pipeline from a thread of its own, so not even its imports delay serving."""
    if boot_settings.autostart:
        threading.Thread(target=start_pipeline, kwargs={"trigger": trigger},
                         name="boot:start", daemon=True).start()


def run_in_background(runner: Runner, *, thread_name: str = "boot:runner") -> None:
    """Run `runner` on a daemon thread; whatever goes wrong is logged, never raised."""

    def run() -> None:
        try:
            runner.run()
        except Exception:  # the pipeline must never take the server down with it
            logger.exception("boot run %s stopped unexpectedly", runner.status.id)

    threading.Thread(target=run, name=thread_name, daemon=True).start()
