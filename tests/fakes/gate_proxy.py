"""A TCP proxy on loopback that turns connections away until its gate opens, then forwards them.

It stands in for a server that is not up yet: while shut it accepts each connection and closes
it at once (with a reset), as a restarting database does; once `open()` is called, or
`open_after` seconds have passed, it forwards every new connection to the target.
Standalone: `python -m tests.fakes.gate_proxy --listen 15432 --target 5432 --open-after 3`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import struct
import threading
import time
from types import TracebackType


class GateProxy:
    """Forward loopback `port` to `target` once open, reset connections before; a with-block."""

    def __init__(self, target: int, *, open_after: float | None = None, port: int = 0,
                 host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = host
        self.port = port
        self.open_after = open_after
        self.refused = 0
        self.forwarded = 0
        self.opened_at: float | None = None
        self._started_at = 0.0
        self._open = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def is_open(self) -> bool:
        """Say whether connections are forwarded now (opening the gate if its time came)."""
        if not self._open.is_set() and self.open_after is not None \
                and time.monotonic() - self._started_at >= self.open_after:
            self.open()
        return self._open.is_set()

    def open(self) -> None:
        """Let every new connection through from now on."""
        if not self._open.is_set():
            self.opened_at = time.monotonic()
            self._open.set()

    def start(self) -> GateProxy:
        """Start listening in a background thread; return once the port is bound."""
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, "127.0.0.1", self.port)
                )
            except OSError as exc:
                errors.append(exc)
                started.set()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            loop.run_forever()
            loop.close()

        self._started_at = time.monotonic()
        self._thread = threading.Thread(target=run, name="gate-proxy", daemon=True)
        self._thread.start()
        started.wait(5)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, and end the thread."""
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        self._thread.join(5)
        self._loop = self._thread = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_open:
            self.refused += 1
            _reset(writer)
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.forwarded += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.host, self.target
            )
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(OSError):
                writer.close()

    def __enter__(self) -> GateProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with a TCP reset (SO_LINGER 0), as a port nothing serves would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


def main() -> None:
    """Run the proxy until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--open-after", type=float, default=None,
                        help="seconds before the gate opens (default: never)")
    args = parser.parse_args()
    proxy = GateProxy(args.target, open_after=args.open_after, port=args.listen).start()
    print(f"127.0.0.1:{proxy.port} -> 127.0.0.1:{args.target} (gate opens after "
          f"{args.open_after} s)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    main()
