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

from tests.fakes.delay_proxy import DelayProxy, serve_until_interrupted


class GateProxy(DelayProxy):
    """Forward loopback `port` to `target` once open, reset connections before; a with-block."""

    def __init__(self, target: int, *, open_after: float | None = None, port: int = 0) -> None:
        super().__init__(target, delay=0, port=port)
        self.open_after = open_after
        self.refused = 0
        self.opened_at: float | None = None
        self._started_at = 0.0
        self._open = threading.Event()

    @property
    def forwarded(self) -> int:
        """Return how many connections went through."""
        return self.connections

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
        """Start listening; the `open_after` clock starts now."""
        self._started_at = time.monotonic()
        super().start()
        return self

    async def _admit(self, writer: asyncio.StreamWriter) -> bool:
        if self.is_open:
            return True
        self.refused += 1
        _reset(writer)
        return False


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
    proxy = GateProxy(args.target, open_after=args.open_after, port=args.listen)
    serve_until_interrupted(proxy, f"(gate opens after {args.open_after} s)")


if __name__ == "__main__":
    main()
