"""Check (and create if allowed) the Azure Blob Storage container of the default storage.

django-storages' own client is no use for this: with a connection string it ignores its client
options, and the SDK's default retry policy can block for minutes. So the check builds its own
client from the same settings, with short timeouts and the SDK's retries off; the runner does
bounded retries of what `TransientError` marks as transient.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from apps.boot.errors import StageError, StageSkipped, TransientError
from apps.boot.redact import safe_error

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

logger = logging.getLogger(__name__)

AZURE_BACKEND = ("storages.backends.azure_storage", "AzureStorage")
# Per request; with the SDK's retries off, one attempt lasts at most about their sum, so the
# runner's attempts (3 by default) fit in the stage's timeout.
CONNECTION_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class AzureTarget:
    """Where the default storage keeps its blobs, and how to sign in (secrets not shown)."""

    account_name: str
    endpoint: str
    container: str
    connection_string: str = field(default="", repr=False)
    credential: Any = field(default=None, repr=False)

    def fingerprint(self) -> dict[str, str]:
        """Return what identifies the container, with no secret in it."""
        return {"account": self.account_name, "endpoint": self.endpoint,
                "container": self.container}


def default_storage_backend() -> type:
    """Return the class of the default storage, without instantiating it."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.STORAGES["default"]["BACKEND"])


def is_azure(backend: type) -> bool:
    """Say whether `backend` is django-storages' Azure storage or a subclass of it."""
    # Compared by name, so a FileSystemStorage project never imports the Azure SDK.
    return any((cls.__module__, cls.__name__) == AZURE_BACKEND for cls in backend.__mro__)


def azure_target() -> AzureTarget | None:
    """Read the default storage's Azure settings; return None when it is not Azure."""
    from django.core.files.storage import storages

    if not is_azure(default_storage_backend()):
        return None
    # A fresh instance (no I/O) resolves OPTIONS, AZURE_* settings and the connection string
    # exactly as the storage that serves files does.
    storage = storages.create_storage(storages.backends["default"])
    container = str(storage.azure_container or "")
    if storage.connection_string:
        client = _client_from_connection_string(storage.connection_string)
        return AzureTarget(
            account_name=str(client.account_name or storage.account_name or ""),
            endpoint=_without_query(client.primary_endpoint),
            container=container,
            connection_string=storage.connection_string,
        )
    endpoint = f"{storage.azure_protocol}://{storage.account_name}.blob.{storage.endpoint_suffix}"
    credential: Any = None
    if storage.account_key:
        credential = {"account_name": storage.account_name, "account_key": storage.account_key}
    elif storage.sas_token:
        credential = storage.sas_token
    elif storage.token_credential:
        credential = storage.token_credential
    return AzureTarget(account_name=str(storage.account_name or ""), endpoint=endpoint,
                       container=container, credential=credential)


def container_fingerprint() -> Mapping[str, str]:
    """Return the account, endpoint and container of the default storage (never a key)."""
    try:
        target = azure_target()
    except Exception as exc:
        # Unreadable settings fail in the stage itself, with a message; here they only make
        # a fingerprint that matches no stored success.
        return {"error": type(exc).__name__}
    if target is None:
        return {"backend": default_storage_backend().__name__}
    return target.fingerprint()


def container_check(
    *,
    create: bool,
    target: AzureTarget | None = None,
    connection_timeout: float = CONNECTION_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> str:
    """Make sure the container exists, creating it if `create`; return a one-line detail.

    Raises StageSkipped when the default storage is not Azure, TransientError when another
    attempt could help, and StageError otherwise; no message carries a secret.
    """
    if target is None:
        try:
            target = azure_target()
        except ValueError as exc:
            raise StageError(f"cannot read the Azure storage settings ({safe_error(exc)}); "
                             "check AZURE_CONNECTION_STRING or AZURE_ACCOUNT_*") from None
        if target is None:
            raise StageSkipped(f"default storage is {default_storage_backend().__name__}, "
                               "not Azure")
    if not target.container:
        raise StageError("no container configured; set AZURE_CONTAINER")
    from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

    # `from None` throughout: the SDK's exception text may hold a secret, and a chained cause
    # would print it in any traceback.
    try:
        client = service_client(target, connection_timeout=connection_timeout,
                                read_timeout=read_timeout)
        container = client.get_container_client(target.container)
        try:
            container.get_container_properties()
        except ResourceNotFoundError:
            pass
        else:
            return f"container '{target.container}' exists (account {target.account_name})"
        if not create:
            raise StageError(f"container '{target.container}' does not exist; create it or "
                             "set AZURE_CONTAINER_CREATE=1")
        try:
            container.create_container()
        except ResourceExistsError:
            # Another process created it between our two requests.
            return f"container '{target.container}' exists (account {target.account_name})"
    except AzureError as exc:
        raise translate(exc, target) from None
    except ValueError as exc:
        raise StageError(f"cannot use the Azure storage settings ({safe_error(exc)}); "
                         "check AZURE_CONNECTION_STRING or AZURE_ACCOUNT_*") from None
    logger.info("created container '%s' (account %s)", target.container, target.account_name)
    return f"created container '{target.container}' (account {target.account_name})"


def service_client(
    target: AzureTarget, *, connection_timeout: float, read_timeout: float
) -> BlobServiceClient:
    """Build a client of our own: short timeouts, and no retries inside the SDK."""
    from azure.storage.blob import BlobServiceClient

    options = {"connection_timeout": connection_timeout, "read_timeout": read_timeout,
               "retry_total": 0}
    if target.connection_string:
        return BlobServiceClient.from_connection_string(target.connection_string, **options)
    return BlobServiceClient(target.endpoint, credential=target.credential, **options)


def translate(exc: Exception, target: AzureTarget) -> StageError:
    """Return the stage error that says what an Azure SDK error means and what to do."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    where = f"Azure Blob Storage at {target.endpoint}"
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransientError(f"{where} did not answer ({safe_error(exc)}); check the network "
                              "and AZURE_* endpoint settings")
    status = getattr(exc, "status_code", None) or 0
    if isinstance(exc, ClientAuthenticationError) and not status:
        # Raised before any request: the SDK could not sign with the configured key.
        return StageError(f"cannot sign requests for account '{target.account_name}' "
                          f"({safe_error(exc)}); check that AZURE_ACCOUNT_KEY (or the "
                          "connection string's AccountKey) is the base64 key the portal shows")
    if isinstance(exc, HttpResponseError):
        error_code = getattr(exc, "error_code", None)
        code = getattr(error_code, "value", error_code) or "no error code"
        if status in TRANSIENT_STATUS:
            return TransientError(f"{where} answered {status} ({code}); it is likely "
                                  "temporary, see the Azure status page if it lasts")
        if status in (401, 403):
            return StageError(f"{where} refused the credentials of account "
                              f"'{target.account_name}' ({status} {code}); check "
                              "AZURE_ACCOUNT_KEY, AZURE_CONNECTION_STRING or the SAS token's "
                              "permissions")
        return StageError(f"{where} answered {status} ({code}) for container "
                          f"'{target.container}': {safe_error(exc)}")
    return StageError(f"{where}: {safe_error(exc)}")


def _client_from_connection_string(connection_string: str) -> BlobServiceClient:
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(connection_string, retry_total=0)


def _without_query(url: str) -> str:
    """Drop the query (a SAS token may sit there) and the trailing slash of a URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
