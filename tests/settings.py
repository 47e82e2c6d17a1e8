"""The project's settings plus the test-only app with a deferred migration."""

from project.settings import *  # noqa: F403
from project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.deferredapp"]
