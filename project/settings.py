"""Settings read from the environment, with embedded defaults that run a fresh clone as is."""

from __future__ import annotations

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])


def _secret_key() -> tuple[str, bool]:
    """Return the configured key, or one generated once and kept in VAR_DIR (and say which)."""
    configured = env.str("DJANGO_SECRET_KEY", default="")
    if configured:
        return configured, True
    # A generated key survives restarts on this machine, so sessions do too; machines that
    # share sessions need DJANGO_SECRET_KEY, which the security check says.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip(), False


SECRET_KEY, SECRET_KEY_CONFIGURED = _secret_key()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "apps.boot",
    "apps.storage",
    "apps.pricing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite is set up for a web server and a qcluster writing at once: WAL lets readers go on
# while one writes, IMMEDIATE takes the write lock at BEGIN (no upgrade deadlocks), and the
# busy timeout waits for the lock instead of failing with "database is locked".
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    DATABASES["default"].setdefault("TEST", {"NAME": str(VAR_DIR / "test.sqlite3")})
else:
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # An unreachable host would otherwise hang each connection attempt for minutes.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

REDIS_URL = env.str("REDIS_URL", default="")

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The startup cache: shared by the processes of one machine (files) or of many (Redis).
    "boot": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
         "KEY_PREFIX": "boot", "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
              "LOCATION": str(VAR_DIR / "cache" / "boot")}
    ),
}

Q_CLUSTER = {
    "name": "boot",
    "workers": env.int("Q_WORKERS", default=2),
    # A task is retried after `retry` seconds: keep it above `timeout`, or tasks run twice.
    "timeout": 600,
    "retry": 660,
    "max_attempts": 1,
    "catch_up": False,
    "poll": 0.5,
    "ack_failures": True,
    "save_limit": 500,
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default"}),
}

STORAGE_AZURE = bool(
    env.str("AZURE_CONNECTION_STRING", default="") or env.str("AZURE_ACCOUNT_NAME", default="")
)
STORAGES = {
    "default": (
        {
            "BACKEND": "storages.backends.azure_storage.AzureStorage",
            "OPTIONS": {
                key: value
                for key, value in {
                    "connection_string": env.str("AZURE_CONNECTION_STRING", default=""),
                    "account_name": env.str("AZURE_ACCOUNT_NAME", default=""),
                    "account_key": env.str("AZURE_ACCOUNT_KEY", default=""),
                    "azure_container": env.str("AZURE_CONTAINER", default="media"),
                    "custom_domain": env.str("AZURE_CUSTOM_DOMAIN", default="") or None,
                    "endpoint_suffix": env.str("AZURE_ENDPOINT_SUFFIX", default="")
                    or None,
                }.items()
                if value
            },
        }
        if STORAGE_AZURE
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(VAR_DIR / "media")},
        }
    ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The boot pipeline; per-stage overrides go in BOOT["STAGES"][name] (see apps/boot/conf.py).
BOOT = {
    "AUTOSTART": env.bool("BOOT_AUTOSTART", default=True),
    "MAX_WORKERS": env.int("BOOT_MAX_WORKERS", default=4),
    "QUEUE_PICKUP_WARNING": env.float("BOOT_QUEUE_PICKUP_WARNING", default=30.0),
    # Lets a Prometheus scraper read /metrics without an admin session; empty: sessions only.
    "METRICS_TOKEN": env.str("BOOT_METRICS_TOKEN", default=""),
    "STAGES": {
        "storage.container": {
            "critical": env.bool("AZURE_CONTAINER_CRITICAL", default=False),
            "create": env.bool("AZURE_CONTAINER_CREATE", default=True),
        },
    },
}

OPENROUTER_BASE_URL = env.str("OPENROUTER_BASE_URL", default="https://openrouter.ai/api/v1")
OPENROUTER_API_KEY = env.str("OPENROUTER_API_KEY", default="")
PRICING_REFRESH_SECONDS = env.int("PRICING_REFRESH_SECONDS", default=10800)

# --- Pricing only (apps/pricing/conf.py reads these; its defaults match) ---------------------
# Worst case of one sync stays under the stage's 120 s: a 30 s wait for another process's
# sync, then no attempt starts after 60 s, and one attempt takes at most 5 + 20 s per read.
PRICING_CONNECT_TIMEOUT = env.float("PRICING_CONNECT_TIMEOUT", default=5.0)
PRICING_READ_TIMEOUT = env.float("PRICING_READ_TIMEOUT", default=20.0)
PRICING_FETCH_ATTEMPTS = env.int("PRICING_FETCH_ATTEMPTS", default=4)
PRICING_BACKOFF = env.float("PRICING_BACKOFF", default=1.0)
PRICING_BACKOFF_MAX = env.float("PRICING_BACKOFF_MAX", default=20.0)
PRICING_RETRY_AFTER_MAX = env.float("PRICING_RETRY_AFTER_MAX", default=30.0)
PRICING_FETCH_DEADLINE = env.float("PRICING_FETCH_DEADLINE", default=60.0)
PRICING_LOCK_WAIT = env.float("PRICING_LOCK_WAIT", default=30.0)
# An answer listing fewer than this share of the active models is refused as partial.
PRICING_MIN_CATALOGUE_FRACTION = env.float("PRICING_MIN_CATALOGUE_FRACTION", default=0.5)
# --- end of pricing ----------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "apps.boot.redact.RedactSecretsFilter"}},
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "apps": {"level": env.str("BOOT_LOG_LEVEL", default="INFO")},
        # django-q2 logs every enqueue at INFO, the Azure SDK every request and response.
        "django-q": {"level": "WARNING"},
        "azure": {"level": "WARNING"},
    },
}
