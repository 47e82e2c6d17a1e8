"""The storage.container stage: its declaration, its function, and runs of the real pipeline."""

from __future__ import annotations

import base64
import logging
import os
import time
import traceback
from typing import Any

import pytest

from apps.boot.conf import boot_settings
from apps.boot.errors import StageError, StageSkipped, TransientError
from apps.boot.registry import registry
from apps.boot.runner import Runner
from apps.boot.stage import StageContext
from apps.boot.states import StageState
from apps.storage.services import container_fingerprint
from apps.storage.stages import container
from tests.conftest import require_service
from tests.fakes import azurite as azurite_fake
from tests.fakes.azurite import ACCOUNT_NAME, Azurite, connection_string
from tests.fakes.delay_proxy import DelayProxy

from .conftest import STATICFILES, azure_storages, unique_container

pytestmark = pytest.mark.services


def real_looking_key() -> str:
    """Return a random 88-character base64 string, the shape of an Azure account key."""
    key = base64.b64encode(os.urandom(64)).decode()
    assert len(key) == 88
    return key


def context(**settings: Any) -> tuple[StageContext, list[str]]:
    """Return a stage context with these settings, and the list its reports land in."""
    reports: list[str] = []
    ctx = StageContext(name="storage.container", logger=logging.getLogger("apps.storage.test"),
                       settings=settings, _report=reports.append)
    return ctx, reports


@pytest.fixture
def boot_cache(settings: Any, tmp_path: Any) -> None:
    """Give the startup cache a directory of this test's own."""
    settings.CACHES = {
        **settings.CACHES,
        "boot": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                 "LOCATION": str(tmp_path / "boot-cache")},
    }


def boot(**options: Any) -> Any:
    """Run the pipeline with the project's storage.container stage only; return its status."""
    status = Runner([registry.get("storage.container")], trigger="test", **options).run()
    return status.stages["storage.container"]


# The declaration


def test_container_stage__declaration() -> None:
    declared = registry.get("storage.container")

    assert declared.func is container
    assert declared.depends_on == ()
    assert declared.timeout == 15
    assert declared.retry.attempts == 3
    assert declared.retry.backoff == 0.5
    assert declared.retry.transient == (TransientError,)
    assert declared.cache_ttl == 3600
    assert declared.fingerprint is container_fingerprint
    assert declared.critical is False


def test_container_stage__settings_make_it_critical(settings: Any) -> None:
    settings.BOOT = {**settings.BOOT, "STAGES": {"storage.container": {"critical": True}}}

    assert boot_settings.apply_overrides(registry.get("storage.container")).critical is True


def test_container_stage__worst_case_attempts_fit_in_timeout() -> None:
    from apps.storage.services import CONNECTION_TIMEOUT, READ_TIMEOUT

    declared = registry.get("storage.container")
    # One attempt: a connection and a read timeout at most (the SDK's retries are off).
    assert declared.timeout > CONNECTION_TIMEOUT + READ_TIMEOUT


# The function


def test_container_stage__not_azure_is_skipped(settings: Any) -> None:
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": STATICFILES,
    }
    ctx, _ = context(create=True)

    with pytest.raises(StageSkipped) as caught:
        container(ctx)

    assert str(caught.value) == "default storage is FileSystemStorage, not Azure"


def test_container_stage__creates_when_settings_allow(azure_storage: Any) -> None:
    ctx, _ = context(create=True)

    assert container(ctx) == f"created container '{azure_storage.container}' (account " \
        f"{ACCOUNT_NAME})"
    assert azure_storage.container_exists()


def test_container_stage__does_not_create_without_the_setting(azure_storage: Any) -> None:
    ctx, _ = context()  # no "create" key: the safe default is not to create

    with pytest.raises(StageError, match="does not exist; create it or set "
                                         "AZURE_CONTAINER_CREATE=1"):
        container(ctx)
    assert not azure_storage.container_exists()


def test_container_stage__secret_in_sdk_error_never_shows(
    error_server: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    configured, unknown = real_looking_key(), real_looking_key()
    # A server whose error text echoes both the configured key and one we were never told
    # about, as the SDK's exception text then carries them.
    message = f"Server failed to authenticate. AccountKey={configured}; other key {unknown}"
    caplog.set_level(logging.DEBUG)
    with error_server(403, "AuthenticationFailed", message) as server:
        settings.STORAGES = azure_storages(connection_string(server.port, key=configured), "media")
        ctx, reports = context(create=True)

        with pytest.raises(StageError) as caught:
            container(ctx)

    shown = [str(caught.value), repr(caught.value), *reports, caplog.text,
             "".join(traceback.format_exception(caught.value))]
    for text in shown:
        assert configured not in text
        assert unknown not in text
    assert not isinstance(caught.value, TransientError)
    assert "refused the credentials of account 'devstoreaccount1' (403 AuthenticationFailed)" \
        in str(caught.value)


def test_container_stage__secret_in_transient_error_never_shows(
    error_server: Any, settings: Any
) -> None:
    key = real_looking_key()
    with error_server(503, "ServerBusy", f"busy; AccountKey={key}") as server:
        settings.STORAGES = azure_storages(connection_string(server.port, key=key), "media")

        with pytest.raises(TransientError) as caught:
            container(context(create=True)[0])

    assert key not in str(caught.value)


# Through the whole pipeline (real runner, real database, real Azurite)


@pytest.mark.django_db(transaction=True)
def test_container_pipeline__second_boot_is_cached_without_asking_azurite(
    azure_storage: Any, settings: Any, boot_cache: None
) -> None:
    with DelayProxy(azure_storage.azurite.port, delay=0) as proxy:
        settings.STORAGES = azure_storages(connection_string(proxy.port), azure_storage.container)

        first = boot()
        asked = proxy.connections
        second = boot()

    assert first.state == StageState.SUCCEEDED
    assert first.detail.startswith(f"created container '{azure_storage.container}'")
    assert asked >= 1
    assert second.state == StageState.CACHED
    assert azure_storage.container in second.detail
    assert proxy.connections == asked  # the second boot reached Azurite zero times


@pytest.mark.django_db(transaction=True)
def test_container_pipeline__changed_container_is_a_cache_miss(
    azure_storage: Any, settings: Any, boot_cache: None
) -> None:
    assert boot().state == StageState.SUCCEEDED
    settings.STORAGES = azure_storages(azure_storage.connection_string, unique_container())

    again = boot()

    assert again.state == StageState.SUCCEEDED
    assert again.detail.startswith("created container")


@pytest.mark.django_db(transaction=True)
def test_container_pipeline__wrong_key_fails_after_one_attempt(
    azurite: Azurite, settings: Any, boot_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    key = real_looking_key()
    settings.STORAGES = azure_storages(connection_string(azurite.port, key=key),
                                       unique_container())

    started = time.monotonic()
    outcome = boot()
    elapsed = time.monotonic() - started

    assert outcome.state == StageState.FAILED
    assert outcome.attempts == 1
    assert "refused the credentials" in outcome.error
    assert key not in outcome.error and key not in caplog.text
    assert elapsed < 2


@pytest.mark.django_db(transaction=True)
def test_container_pipeline__azurite_stopped_fails_after_bounded_retries(
    settings: Any, boot_cache: None
) -> None:
    require_service("Azurite", *azurite_fake.available())
    with Azurite() as server:
        settings.STORAGES = azure_storages(server.connection_string, unique_container())
    # Nothing listens there any more.

    started = time.monotonic()
    outcome = boot()
    elapsed = time.monotonic() - started

    assert outcome.state == StageState.FAILED
    assert outcome.attempts == 3
    assert "did not answer" in outcome.error
    # Three refused connections and two backoffs (0.5 s and 1 s, plus up to 0.5 s jitter each).
    assert elapsed < 4


@pytest.mark.django_db(transaction=True)
def test_container_pipeline__azure_hanging_fails_within_the_read_timeouts(
    azure_storage: Any, settings: Any, boot_cache: None
) -> None:
    settings.BOOT = {**settings.BOOT, "STAGES": {"storage.container": {
        "create": True, "connection_timeout": 0.5, "read_timeout": 0.5, "attempts": 2}}}
    with DelayProxy(azure_storage.azurite.port, delay=30) as proxy:
        settings.STORAGES = azure_storages(connection_string(proxy.port), azure_storage.container)

        started = time.monotonic()
        outcome = boot()
        elapsed = time.monotonic() - started

    assert outcome.state == StageState.FAILED
    assert outcome.attempts == 2
    assert proxy.connections == 2
    assert elapsed < 3


@pytest.mark.django_db(transaction=True)
def test_container_pipeline__not_azure_is_skipped(settings: Any, boot_cache: None) -> None:
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": STATICFILES,
    }

    outcome = boot()

    assert outcome.state == StageState.SKIPPED
    assert outcome.detail == "default storage is FileSystemStorage, not Azure"
