"""Run Azurite's blob service (npm `azurite`) on loopback for tests and benchmarks.

Standalone: `python -m tests.fakes.azurite --port 10000` prints the connection string and serves
until interrupted.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account (from its README): not a secret.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
START_TIMEOUT = 30.0


def available() -> tuple[bool, str]:
    """Say whether Azurite can be started here, and if not, why."""
    if shutil.which("node") is None:
        return False, "`node` is not on PATH"
    if not BINARY.exists():
        return False, f"{BINARY.relative_to(ROOT)} is missing; run `npm install` in {ROOT}"
    return True, ""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(port: int, timeout: float = 0.2) -> bool:
    """Say whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def connection_string(port: int, *, key: str = ACCOUNT_KEY, host: str = "127.0.0.1") -> str:
    """Return the connection string of the dev account on host:port."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={key};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT_NAME};"
    )


class Azurite:
    """One azurite-blob process with its own data directory; a context manager."""

    def __init__(self, port: int | None = None, location: Path | None = None) -> None:
        self.port = port or free_port()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.location = location
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def blob_endpoint(self) -> str:
        """Return the dev account's blob endpoint."""
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        """Return the dev account's connection string."""
        return connection_string(self.port)

    def start(self) -> Azurite:
        """Start the process and wait until its port answers."""
        ok, why = available()
        if not ok:
            raise RuntimeError(f"cannot start Azurite: {why}")
        if self.location is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="azurite-")
            self.location = Path(self._tmp.name)
        log = (self.location / "azurite.log").open("wb")
        self.process = subprocess.Popen(
            [str(BINARY), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
             "--location", str(self.location), "--skipApiVersionCheck", "--loose",
             "--disableTelemetry", "--silent"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not port_answers(self.port):
            if self.process.poll() is not None:
                output = (self.location / "azurite.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"Azurite exited with {self.process.returncode}: {output}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Azurite did not answer on port {self.port} in "
                                   f"{START_TIMEOUT:.0f} s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop the process (terminate, then kill) and remove its data directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp, self.location = None, None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """Serve Azurite on the given port until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=10000)
    parser.add_argument("--location", type=Path, default=None)
    args = parser.parse_args()
    with Azurite(port=args.port, location=args.location) as azurite:
        print(f"Azurite blob on {azurite.blob_endpoint}")
        print(f"AZURE_CONNECTION_STRING='{azurite.connection_string}'", flush=True)
        try:
            assert azurite.process is not None
            azurite.process.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
