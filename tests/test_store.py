"""The store of unanswered questions: written by chat requests, listed for moderators."""

from __future__ import annotations

import asyncio

from bot.__main__ import main
from bot.core import BotCore, Request
from bot.store import Store


def test_unanswered_questions_are_recorded_and_counted(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    for _ in range(3):
        store.record_unanswered("discord", "1", "Sora 什么时候  开放？", "not_found", 0.2)
    store.record_unanswered("telegram", "2", "会员多少钱", "suggest", 0.35)
    assert store.top_unanswered() == [("Sora 什么时候 开放？", 3, 0.2), ("会员多少钱", 1, 0.35)]
    store.close()


def test_chat_requests_record_only_what_was_not_answered(core: BotCore, tmp_path, monkeypatch):
    store = Store(tmp_path / "s.sqlite3")
    monkeypatch.setattr(core, "store", store)
    asyncio.run(core.handle(Request("谁说的大力出奇迹", platform="telegram", chat_id="9")))
    asyncio.run(core.handle(Request("今晚有人一起打游戏吗", platform="telegram", chat_id="9")))
    asyncio.run(core.handle(Request("", command="faq", platform="telegram")))
    assert [q for q, _, _ in store.top_unanswered()] == ["今晚有人一起打游戏吗"]


def test_a_store_that_cannot_be_opened_is_no_store(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert Store.open(blocker / "sub" / "s.sqlite3") is None
    assert Store.open("") is None


def test_cli_lists_unanswered(tmp_path, capsys, monkeypatch):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.record_unanswered("console", "", "一个没人答的问题", "not_found", 0.1)
    store.close()
    cfg = tmp_path / "bot.yaml"
    cfg.write_text(f"store_path: {path}\n", encoding="utf-8")
    assert main(["unanswered", "--config", str(cfg)]) == 0
    assert "一个没人答的问题" in capsys.readouterr().out
