"""The on-disk index cache: used when current, rebuilt when stale or corrupt, never trusted blindly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot import cache as cache_mod
from bot.cache import CACHE_DIR_NAME
from bot.config import Settings
from bot.core import BotCore

CONTENT = Path(__file__).resolve().parent.parent / "content"


@pytest.fixture
def local(tmp_path, settings: Settings) -> Settings:
    shutil.copytree(CONTENT, tmp_path / "content", ignore=shutil.ignore_patterns(CACHE_DIR_NAME))
    s = Settings(**{**settings.__dict__})
    s.content_dir = str(tmp_path / "content")
    return s


def cache_files(s: Settings) -> list[Path]:
    return sorted((Path(s.content_dir) / CACHE_DIR_NAME).glob("engine-*.pickle"))


def test_cache_is_written_then_used(local, monkeypatch):
    first = BotCore.from_settings(local)
    files = cache_files(local)
    assert len(files) == 1
    built = []
    monkeypatch.setattr("bot.search.Engine._build", lambda self: built.append(1) or {})
    second = BotCore.from_settings(local)
    assert built == []  # loaded, not rebuilt
    q = "谁说的大力出奇迹"
    assert [h.line for h in second.ask(q).hits] == [h.line for h in first.ask(q).hits]


def test_changed_content_invalidates_the_cache(local):
    BotCore.from_settings(local)
    old = cache_files(local)
    faq = Path(local.content_dir) / "faq.yaml"
    faq.write_text(faq.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    BotCore.from_settings(local)
    new = cache_files(local)
    assert len(new) == 1 and new != old  # rebuilt under a new key, the stale one removed


def test_corrupt_cache_is_rebuilt(local, caplog):
    BotCore.from_settings(local)
    (path,) = cache_files(local)
    path.write_bytes(b"not a pickle at all")
    core = BotCore.from_settings(local)
    assert core.ask("谁说的大力出奇迹").answered
    assert "unreadable" in caplog.text
    (again,) = cache_files(local)
    assert again.read_bytes() != b"not a pickle at all"


def test_cache_for_other_content_is_not_trusted(local):
    BotCore.from_settings(local)
    (path,) = cache_files(local)
    # Same key, but the state says it indexes a different number of lines.
    import pickle

    state = pickle.loads(path.read_bytes())
    state["lines"].n_docs += 1
    path.write_bytes(pickle.dumps(state))
    core = BotCore.from_settings(local)
    assert core.engine.lines.n_docs == core.engine.n_lines


def test_read_only_folder_means_no_cache_not_a_crash(local, monkeypatch):
    monkeypatch.setattr(
        cache_mod.tempfile, "mkstemp", lambda **kw: (_ for _ in ()).throw(PermissionError("ro"))
    )
    core = BotCore.from_settings(local)
    assert core.ask("谁说的大力出奇迹").answered
    assert cache_files(local) == []
