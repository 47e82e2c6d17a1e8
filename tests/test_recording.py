"""The secret scan the suite ends with must find what it looks for."""

from __future__ import annotations

from pathlib import Path

from tests.recording import SUITE_SECRETS, scan


def test_scan__finds_a_configured_secret(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(f"<p>key={SUITE_SECRETS['OPENROUTER_API_KEY']}</p>")
    (tmp_path / "clean.txt").write_text("nothing here")
    assert scan(tmp_path) == ["page.html: OPENROUTER_API_KEY"]


def test_scan__clean_outputs_find_nothing(tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text("stage storage.container failed: AccountKey=***")
    assert scan(tmp_path) == []
