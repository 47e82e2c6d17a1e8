"""A TCP proxy on loopback that adds a fixed latency to every new connection.

It accepts at once, waits `delay` seconds, then connects to the target and forwards both ways;
with a long delay it stands in for a server that accepts and never answers.
Standalone: `python -m tests.fakes.delay_proxy --listen 10001 --target 10000 --delay 0.5`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from types import TracebackType


class DelayProxy:
    """Forward 127.0.0.1:port to 127.0.0.1:target after `delay` seconds; a context manager."""

    def __init__(self, target: int, *, delay: float, port: int = 0) -> None:
        self.target = target
        self.delay = delay
        self.port = port
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> DelayProxy:
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

        self._thread = threading.Thread(target=run, name="delay-proxy", daemon=True)
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

    async def _admit(self, writer: asyncio.StreamWriter) -> bool:
        """Decide whether to forward a new connection; subclasses may turn some away."""
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not await self._admit(writer):
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await asyncio.sleep(self.delay)
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target
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

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """Run the proxy until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.5)
    args = parser.parse_args()
    proxy = DelayProxy(args.target, delay=args.delay, port=args.listen)
    serve_until_interrupted(proxy, f"(+{args.delay} s per connection)")


def serve_until_interrupted(proxy: DelayProxy, note: str) -> None:
    """Start a proxy, say where it listens, and keep it up until Ctrl-C."""
    proxy.start()
    print(f"127.0.0.1:{proxy.port} -> 127.0.0.1:{proxy.target} {note}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    main()
