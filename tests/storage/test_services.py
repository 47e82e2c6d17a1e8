"""The container check against a real Azurite, and the settings reader."""

from __future__ import annotations

import time
from typing import Any

import pytest

from apps.boot.errors import StageError, StageSkipped, TransientError
from apps.storage.services import azure_target, container_check, container_fingerprint
from tests.conftest import require_service
from tests.fakes import azurite as azurite_fake
from tests.fakes.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite, connection_string
from tests.fakes.delay_proxy import DelayProxy

from .conftest import STATICFILES, azure_storages, unique_container

pytestmark = pytest.mark.services


# The settings reader (no I/O)


def test_azure_target__connection_string_gives_endpoint_account_and_container(
    settings: Any,
) -> None:
    settings.STORAGES = azure_storages(connection_string(10999), "media")

    target = azure_target()

    assert target is not None
    assert target.account_name == ACCOUNT_NAME
    assert target.endpoint == f"http://127.0.0.1:10999/{ACCOUNT_NAME}"
    assert target.container == "media"
    assert ACCOUNT_KEY not in repr(target)
    assert ACCOUNT_KEY not in str(target.fingerprint())


def test_azure_target__account_name_and_key_give_the_public_endpoint(settings: Any) -> None:
    settings.STORAGES = {
        "default": {
            "BACKEND": "storages.backends.azure_storage.AzureStorage",
            "OPTIONS": {"account_name": "acme", "account_key": ACCOUNT_KEY,
                        "azure_container": "uploads"},
        },
        "staticfiles": STATICFILES,
    }

    target = azure_target()

    assert target is not None
    assert target.endpoint == "https://acme.blob.core.windows.net"
    assert container_fingerprint() == {
        "account": "acme", "endpoint": "https://acme.blob.core.windows.net",
        "container": "uploads",
    }
    assert ACCOUNT_KEY not in repr(target)


def test_azure_target__sas_in_connection_string_stays_out_of_endpoint(settings: Any) -> None:
    sas = "sv=2024-11-04&ss=b&srt=co&sp=rwdlac&se=2030-01-01T00:00:00Z&sig=abcDEF123%2Bxyz%3D"
    settings.STORAGES = azure_storages(
        f"BlobEndpoint=https://acme.blob.core.windows.net;SharedAccessSignature={sas}", "media"
    )

    target = azure_target()

    assert target is not None
    assert target.endpoint == "https://acme.blob.core.windows.net"
    assert "sig=" not in str(container_fingerprint())


def test_azure_target__file_system_storage_is_not_azure(settings: Any) -> None:
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": STATICFILES,
    }

    assert azure_target() is None
    assert container_fingerprint() == {"backend": "FileSystemStorage"}
    with pytest.raises(StageSkipped, match="default storage is FileSystemStorage, not Azure"):
        container_check(create=True)


# The check against Azurite


def test_container_check__existing_container(azure_storage: Any) -> None:
    azure_storage.create_container()

    detail = container_check(create=False)

    assert detail == f"container '{azure_storage.container}' exists (account {ACCOUNT_NAME})"


def test_container_check__missing_container_is_created(azure_storage: Any) -> None:
    detail = container_check(create=True)

    assert detail == f"created container '{azure_storage.container}' (account {ACCOUNT_NAME})"
    assert azure_storage.container_exists()
    # The second check finds what the first one made.
    assert "exists" in container_check(create=True)


def test_container_check__missing_container_not_allowed(azure_storage: Any) -> None:
    with pytest.raises(StageError) as caught:
        container_check(create=False)

    assert str(caught.value) == (
        f"container '{azure_storage.container}' does not exist; create it or set "
        "AZURE_CONTAINER_CREATE=1"
    )
    assert not isinstance(caught.value, TransientError)
    assert not azure_storage.container_exists()


def test_container_check__wrong_key_fails_at_once_without_retry(
    azurite: Azurite, settings: Any
) -> None:
    wrong_key = "A" * 86 + "=="
    settings.STORAGES = azure_storages(connection_string(azurite.port, key=wrong_key),
                                       unique_container())

    started = time.monotonic()
    with pytest.raises(StageError) as caught:
        container_check(create=True)
    elapsed = time.monotonic() - started

    assert not isinstance(caught.value, TransientError)  # the runner does not retry it
    assert "refused the credentials of account 'devstoreaccount1' (403" in str(caught.value)
    assert wrong_key not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert elapsed < 1.0


def test_container_check__azurite_stopped_fails_fast_as_transient(settings: Any) -> None:
    require_service("Azurite", *azurite_fake.available())
    with Azurite() as server:
        settings.STORAGES = azure_storages(server.connection_string, unique_container())
        assert container_check(create=True).startswith("created container")
    # The same settings, now that nothing listens there.

    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        container_check(create=True)
    elapsed = time.monotonic() - started

    assert f"Azure Blob Storage at http://127.0.0.1:{server.port}/devstoreaccount1 did not " \
        "answer" in str(caught.value)
    assert elapsed < 1.0


def test_container_check__azure_hangs_fails_within_read_timeout(
    azure_storage: Any, settings: Any
) -> None:
    # The proxy accepts at once and forwards nothing for 30 s: a server that hangs.
    with DelayProxy(azure_storage.azurite.port, delay=30) as proxy:
        settings.STORAGES = azure_storages(connection_string(proxy.port), azure_storage.container)

        started = time.monotonic()
        with pytest.raises(TransientError, match="did not answer"):
            container_check(create=True, connection_timeout=0.5, read_timeout=0.5)
        elapsed = time.monotonic() - started

    assert 0.5 <= elapsed < 1.5
    assert proxy.connections == 1  # the SDK did not retry on its own


def test_container_check__slow_azure_within_timeouts_succeeds(azure_storage: Any,
                                                              settings: Any) -> None:
    with DelayProxy(azure_storage.azurite.port, delay=0.3) as proxy:
        settings.STORAGES = azure_storages(connection_string(proxy.port), azure_storage.container)

        detail = container_check(create=True, read_timeout=2)

    assert detail.startswith(f"created container '{azure_storage.container}'")


@pytest.mark.parametrize("status", [500, 503])
def test_container_check__server_error_is_transient(
    status: int, error_server: Any, settings: Any
) -> None:
    with error_server(status, "ServerBusy", "The server is busy.") as server:
        settings.STORAGES = azure_storages(connection_string(server.port), "media")

        with pytest.raises(TransientError, match=f"answered {status} \\(ServerBusy\\)"):
            container_check(create=True)

    assert server.requests == 1


def test_container_check__other_client_error_is_not_transient(
    error_server: Any, settings: Any
) -> None:
    with error_server(400, "InvalidResourceName", "The specified resource name is bad.") as server:
        settings.STORAGES = azure_storages(connection_string(server.port), "media")

        with pytest.raises(StageError) as caught:
            container_check(create=True)

    assert not isinstance(caught.value, TransientError)
    assert "answered 400 (InvalidResourceName) for container 'media'" in str(caught.value)


def test_container_check__malformed_connection_string_says_what_to_check(
    settings: Any,
) -> None:
    settings.STORAGES = azure_storages("AccountName=x;AccountKey=;nonsense", "media")

    with pytest.raises(StageError, match="check AZURE_CONNECTION_STRING"):
        container_check(create=True)


def test_container_check__key_that_is_not_base64_fails_before_any_request(
    error_server: Any, settings: Any
) -> None:
    with error_server(500, "ShouldNotBeAsked", "unused") as server:
        settings.STORAGES = azure_storages(connection_string(server.port, key="notbase64!!"),
                                           "media")

        with pytest.raises(StageError, match="cannot sign requests for account"):
            container_check(create=True)

    assert server.requests == 0
