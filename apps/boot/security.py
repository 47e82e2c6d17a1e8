"""System checks for settings that would expose what the boot status keeps private."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "testserver"}


def _is_local(host: str) -> bool:
    host = host.strip().lower().lstrip(".")
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@register(Tags.security)
def check_exposure(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report settings that would show errors, settings or secrets to the public."""
    problems: list[CheckMessage] = []
    public = [host for host in settings.ALLOWED_HOSTS if not _is_local(host)]
    if settings.DEBUG and public:
        problems.append(Error(
            f"DEBUG is on while the site answers public hosts ({', '.join(public)}): debug "
            "pages show settings, stage errors and tracebacks to anyone.",
            hint="Set DJANGO_DEBUG=false, or limit DJANGO_ALLOWED_HOSTS to localhost.",
            id="boot.E010",
        ))
    if not settings.DEBUG and not getattr(settings, "SECRET_KEY_CONFIGURED", True):
        problems.append(Warning(
            "DJANGO_SECRET_KEY is not set: using a key generated into VAR_DIR/secret_key.",
            hint="Fine on one machine; set DJANGO_SECRET_KEY when several machines serve the "
            "site, or their sessions and signed values won't match.",
            id="boot.W011",
        ))
    token = settings.BOOT.get("METRICS_TOKEN", "")
    if token and len(token) < 16:
        problems.append(Warning(
            "BOOT_METRICS_TOKEN is shorter than 16 characters.",
            hint="Use a long random token, e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'.",
            id="boot.W012",
        ))
    base = urlsplit(getattr(settings, "OPENROUTER_BASE_URL", ""))
    if (getattr(settings, "OPENROUTER_API_KEY", "") and base.scheme == "http"
            and not _is_local(base.hostname or "")):
        problems.append(Warning(
            "OPENROUTER_API_KEY would be sent over plain http to "
            f"{base.hostname}.",
            hint="Use an https:// OPENROUTER_BASE_URL.",
            id="boot.W013",
        ))
    return problems
