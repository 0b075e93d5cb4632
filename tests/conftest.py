"""Shared fixtures: the real shipped content and a core built on it (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.core import BotCore

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
EVAL = ROOT.parent / "shared" / "eval"


@pytest.fixture(scope="session")
def settings() -> Settings:
    s = load_settings(ROOT / "config" / "bot.yaml", env={})
    s.content_dir = str(CONTENT)
    return s


@pytest.fixture(scope="session")
def core(settings: Settings) -> BotCore:
    return BotCore.from_settings(settings)
