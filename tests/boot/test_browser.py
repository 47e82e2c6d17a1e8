"""The startup status page in a real headless Chromium: it follows a run live, without reloads."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from apps.boot.errors import StageError
from apps.boot.readiness import set_current_runner
from apps.boot.registry import StageRegistry
from apps.boot.trigger import start_pipeline
from tests.conftest import require_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGE = "/admin/boot/status/"
PASSWORD = "pw-for-browser-tests"  # a throwaway test account
# Set to a directory (docs/ in the repository) to keep the screenshots the test takes.
SCREENSHOT_DIR = os.environ.get("BOOT_SCREENSHOT_DIR", "")


@pytest.fixture
def browser(monkeypatch) -> Iterator:
    """Launch Debian's Chromium through Playwright (never `playwright install`)."""
    if not shutil.which(CHROMIUM):
        require_service("Chromium", False, "apt-get install chromium (make test does)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user("ops", password=PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="boot", codename__in=["view_bootrun", "change_bootrun"]))
    return user


@pytest.fixture
def slow_pipeline() -> Iterator[tuple[StageRegistry, threading.Event]]:
    """A pipeline whose critical `cache.warm` stage runs until the test releases it."""
    release = threading.Event()
    stages = StageRegistry()
    stages.stage("db.migrate", critical=True, priority=10)(
        lambda ctx: time.sleep(0.2) or "applied 12 migrations")
    stages.stage("storage.container", priority=5)(
        lambda ctx: time.sleep(0.1) or "container media exists")

    @stages.stage("cache.warm", critical=True, depends_on=["db.migrate"])
    def warm(ctx):
        ctx.report("waiting for the test to release it")
        release.wait(30)
        return "warmed 3 caches"

    @stages.stage("pricing.refresh", depends_on=["db.migrate"])
    def refresh(ctx):
        time.sleep(0.3)
        raise StageError("price list unreachable: check OPENROUTER_BASE_URL")

    @stages.stage("search.index", depends_on=["cache.warm"])
    def index(ctx):
        time.sleep(0.4)
        return "indexed 340 documents"

    yield stages, release
    release.set()
    set_current_runner(None)


def shot(page, tmp_path: Path, name: str) -> None:
    target = Path(SCREENSHOT_DIR or tmp_path) / name
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def test_status_page__follows_a_run_live_until_it_ends(
    browser, live_server, staff, slow_pipeline, tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    stages, release = slow_pipeline
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next={PAGE}")
    page.fill("#id_username", "ops")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/boot/status/$"))

    runner = start_pipeline(stages=stages, trigger="test", force=True)
    try:
        page.reload()
        progress = page.locator(".boot-progress")
        warm = page.locator('tr[data-stage="cache.warm"] [data-field="state"]')
        expect(warm).to_have_text("running")
        # Wait for the other branch to end, so the live picture shows every colour.
        expect(page.locator('tr[data-stage="pricing.refresh"] [data-field="state"]')
               ).to_have_text("failed")
        assert int(progress.get_attribute("aria-valuenow")) < 100
        expect(page.locator(".boot-timeline .tl-open")).to_have_count(1)
        page.evaluate("window.notReloaded = true")
        shot(page, tmp_path, "admin-status-live.png")

        release.set()
        expect(progress).to_have_attribute("aria-valuenow", "100", timeout=10_000)
        expect(warm).to_have_text("succeeded")
        expect(warm).to_have_class(re.compile(r"\bstate-succeeded\b"))
        red, green, blue = map(int, re.findall(r"\d+", warm.evaluate(
            "el => getComputedStyle(el).backgroundColor"))[:3])
        assert green > red and green > blue  # green, the admin's success colour
        assert page.evaluate("window.notReloaded") is True
        expect(page.locator(".boot-run")).to_have_attribute("data-terminal", "true")
        expect(page.locator(".boot-timeline")).to_be_visible()
        path = page.locator(".boot-timeline .tl-critical-path")
        expect(path).to_have_attribute("data-stages", "db.migrate cache.warm")
        expect(page.locator(".boot-timeline .tl-ready")).to_have_count(1)
        expect(page.locator('tr[data-stage="pricing.refresh"] [data-field="rerun"]')
               ).to_be_visible()
        shot(page, tmp_path, "admin-status-finished.png")
    finally:
        release.set()
        runner.finished.wait(10)
        context.close()


def test_status_page__sends_an_anonymous_visitor_to_the_login_page(browser, live_server) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}{PAGE}")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/boot/status/$"))
    expect(page.locator("#id_username")).to_be_visible()
    context.close()
