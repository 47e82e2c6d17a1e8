"""Count every SQL statement of every thread, and every new database connection.

`CaptureQueriesContext` sees one thread's connection only (connections are per thread), and
`connection.execute_wrapper` is per connection too. So the counter wraps the class that every
connection's cursors are made of, `django.db.backends.utils.CursorWrapper` (its `execute` and
`executemany`; DEBUG's `CursorDebugWrapper` calls these through `super()`), for as long as the
block lasts: every thread's statements pass through it, counted under a lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Counts:
    """Statements and connections seen while counting, across all threads."""

    queries: int = 0
    connections: int = 0
    threads: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hit(self) -> None:
        """Count one statement of the calling thread."""
        with self._lock:
            self.queries += 1
            self.threads.add(threading.current_thread().name)


@contextlib.contextmanager
def counting() -> Iterator[Counts]:
    """Count the SQL statements (all threads) and new connections made inside the block."""
    from django.db.backends import utils
    from django.db.backends.signals import connection_created

    counts = Counts()
    execute, executemany = utils.CursorWrapper.execute, utils.CursorWrapper.executemany

    def counted_execute(self: Any, sql: Any, params: Any = None) -> Any:
        counts.hit()
        return execute(self, sql, params)

    def counted_executemany(self: Any, sql: Any, param_list: Any) -> Any:
        counts.hit()
        return executemany(self, sql, param_list)

    def connected(sender: Any, **kwargs: Any) -> None:
        with counts._lock:
            counts.connections += 1

    utils.CursorWrapper.execute = counted_execute  # type: ignore[method-assign]
    utils.CursorWrapper.executemany = counted_executemany  # type: ignore[method-assign]
    connection_created.connect(connected, weak=False)
    try:
        yield counts
    finally:
        utils.CursorWrapper.execute = execute  # type: ignore[method-assign]
        utils.CursorWrapper.executemany = executemany  # type: ignore[method-assign]
        connection_created.disconnect(connected)
