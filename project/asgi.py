"""ASGI entry point: creates the application, then starts the boot pipeline in the background."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

application = get_asgi_application()

from apps.boot.trigger import start_soon  # noqa: E402  (needs the app registry)

start_soon(trigger="asgi")
