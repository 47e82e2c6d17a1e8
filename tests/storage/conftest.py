"""Fixtures of the storage tests: a real Azurite, and the default storage pointed at it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import require_service
from tests.fakes import azurite as azurite_fake
from tests.fakes.azurite import Azurite

STATICFILES = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


def azure_storages(connection_string: str, container: str) -> dict[str, Any]:
    """Return a STORAGES setting whose default storage is Azure at `connection_string`."""
    return {
        "default": {
            "BACKEND": "storages.backends.azure_storage.AzureStorage",
            "OPTIONS": {"connection_string": connection_string, "azure_container": container},
        },
        "staticfiles": STATICFILES,
    }


def unique_container() -> str:
    """Return a container name no other test uses (lowercase letters and digits)."""
    return f"t{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """Run one Azurite blob service for the session."""
    ok, why = azurite_fake.available()
    require_service("Azurite", ok, why)
    with Azurite() as server:
        yield server


@dataclass
class AzureSetup:
    """The default storage as a test set it: Azurite, a container name, and an SDK client."""

    azurite: Azurite
    container: str

    @property
    def connection_string(self) -> str:
        """Return the connection string the default storage uses."""
        return self.azurite.connection_string

    def container_exists(self) -> bool:
        """Ask Azurite directly whether the container exists."""
        from azure.storage.blob import BlobServiceClient

        client = BlobServiceClient.from_connection_string(self.connection_string, retry_total=0)
        return bool(client.get_container_client(self.container).exists())

    def create_container(self) -> None:
        """Create the container directly in Azurite."""
        from azure.storage.blob import BlobServiceClient

        client = BlobServiceClient.from_connection_string(self.connection_string, retry_total=0)
        client.create_container(self.container)


@pytest.fixture
def azure_storage(azurite: Azurite, settings: Any) -> AzureSetup:
    """Point the default storage at Azurite, with a container name of this test's own."""
    setup = AzureSetup(azurite=azurite, container=unique_container())
    settings.STORAGES = azure_storages(azurite.connection_string, setup.container)
    return setup


class ErrorServer:
    """A real HTTP server that answers every request with one Azure-style error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.requests = 0
        owner = self
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the SDK's get_container_properties
                owner.requests += 1
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("x-ms-error-code", code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_PUT = do_HEAD = do_GET

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def __enter__(self) -> ErrorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def error_server() -> Iterator[type[ErrorServer]]:
    """Give the ErrorServer class to a test (it starts servers in `with` blocks)."""
    yield ErrorServer

