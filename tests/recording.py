"""Keep what the suite showed the world (responses, logs), so the last step can scan it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Values the suite configures as secrets: none may appear in anything it outputs.
SUITE_SECRETS = {
    "DJANGO_SECRET_KEY": "suite-secret-key-4Hq9vT2mZx7Lw0PbR8sN5cYfJ3kDgA6u",
    "OPENROUTER_API_KEY": "sk-or-v1-suite0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "AZURITE_ACCOUNT_KEY": ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
                            "K1SZFPTOtr/KBHBeksoGMGw=="),
    "DATABASE_PASSWORD": "suite-db-password-Zr8Kq2",
}


def output_dir() -> Path:
    """Return the folder the suite's outputs are written to."""
    path = Path(settings.VAR_DIR) / "suite-output"
    path.mkdir(parents=True, exist_ok=True)
    return path


class RecordResponses:
    """Middleware that appends every response body to a file of this process's outputs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Serve the request, then keep the body it answered with."""
        response = self.get_response(request)
        if not getattr(response, "streaming", False):
            path = output_dir() / f"responses-{os.getpid()}.txt"
            with path.open("ab") as sink:
                sink.write(f"\n== {request.method} {request.path} {response.status_code}\n"
                           .encode())
                sink.write(response.content)
        return response


def scan(folder: Path, secrets: dict[str, str] | None = None) -> list[str]:
    """Return 'file: secret name' for every secret found in the files under `folder`."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        found += [f"{path.name}: {name}" for name, value in (secrets or SUITE_SECRETS).items()
                  if value in text]
    return found
