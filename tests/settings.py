"""The project's settings for the suite: a test app with a deferred migration, secrets to
hunt for, and every response and log line kept for the final secret scan."""

from project.settings import *  # noqa: F403
from project.settings import DATABASES, INSTALLED_APPS, LOGGING, MIDDLEWARE, VAR_DIR
from tests.recording import SUITE_SECRETS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.deferredapp"]
MIDDLEWARE = ["tests.recording.RecordResponses", *MIDDLEWARE]

SECRET_KEY = SUITE_SECRETS["DJANGO_SECRET_KEY"]
SECRET_KEY_CONFIGURED = True
OPENROUTER_API_KEY = SUITE_SECRETS["OPENROUTER_API_KEY"]
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # PostgreSQL here trusts loopback, so a password is accepted and must never be shown.
    DATABASES["default"]["PASSWORD"] = SUITE_SECRETS["DATABASE_PASSWORD"]

(VAR_DIR / "suite-output").mkdir(parents=True, exist_ok=True)
LOGGING = {
    **LOGGING,
    "handlers": {
        **LOGGING["handlers"],
        "suite": {"class": "logging.FileHandler", "formatter": "line", "filters": ["redact"],
                  "filename": str(VAR_DIR / "suite-output" / "log.txt")},
    },
    "root": {"handlers": ["console", "suite"], "level": "INFO"},
}
