"""The project's settings plus a test-only app whose migration can be made slow on purpose."""

from project.settings import *  # noqa: F403
from project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.deployment.slowapp"]
