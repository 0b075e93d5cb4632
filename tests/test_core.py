"""Replies: answers with quotes and citations, quotes by words/line/random, FAQ, episodes, reload."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from bot.config import Settings
from bot.core import BotCore, Cooldown, Request, render_text

CONTENT = Path(__file__).resolve().parent.parent / "content"


def test_answer_has_quote_citation_and_see_also(core):
    reply = core.ask("训练一个 Sora 大概要花多少钱")
    assert reply.answered and reply.kind == "answer"
    first = reply.quotes[0]
    assert first.show == "张小珺商业访谈录" and first.line >= 1
    assert f"第 {first.line} 行" in first.citation
    assert len(first.text) <= core.settings.match.excerpt_chars + 2
    assert len(reply.quotes) <= 1 + core.settings.match.see_also
    text = render_text(reply)
    assert first.text in text and first.citation in text


def test_faq_answer_cites_its_quote(core):
    reply = core.ask("训练一个 Sora 大概要花多少钱")
    if reply.source == "faq":
        entry = core.content.faq_by_id(reply.faq_id)
        cited = {n for c in entry.citations for n in c.lines}
        assert reply.text == entry.answer
        assert reply.quotes[0].line in cited


def test_excerpt_is_cut_with_ellipsis_and_has_no_spaces_between_chinese(core):
    longest = max(core.content.segments["sora-discussion"], key=lambda s: len(s.raw))
    text = core.engine.excerpt("sora-discussion", longest.line, 3, 120)
    assert len(text) <= 122 and "…" in text
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", text)


def test_display_applies_glossary_corrections(core):
    shown = core.engine.display_line("sora-discussion", 9)
    assert "Sora" in shown and "骚扰" not in shown


def test_not_found_and_suggestions_are_not_answers(core):
    reply = core.ask("今晚有人一起打游戏吗")
    assert not reply.answered and reply.kind in ("not_found", "suggest")
    assert reply.source == "none" or not reply.answered


def test_english_question_gets_english_messages(core):
    reply = core.ask("how do I reset my password")
    assert not reply.answered
    assert "Sorry" in reply.text or "Did you mean" in reply.text


def test_empty_question_gets_help(core):
    reply = core.ask("   ")
    assert reply.kind == "help" and "/ask" in reply.text


def test_quote_by_episode_and_line(core):
    reply = core.quote("sora-discussion:36")
    assert reply.answered and reply.quotes[0].line == 36 and "大力出奇迹" in reply.quotes[0].text
    assert core.quote("36").quotes[0].line == 36  # one episode: the line number alone is enough


def test_quote_bad_references(core):
    assert core.quote("sora-discussion:9999").kind == "error"
    assert "1–270" in core.quote("sora-discussion:9999").text
    assert "unknown episode" in core.quote("nope:3").text


def test_quote_by_words_and_random(core):
    reply = core.quote("大力出奇迹")
    assert reply.answered and "大力出奇迹" in reply.quotes[0].text
    assert core.quote("完全不存在的词语组合啊啊").kind == "not_found"
    randoms = {core.quote("").quotes[0].line for _ in range(5)}
    assert randoms and all(1 <= n <= 270 for n in randoms)


def test_faq_list_and_show(core):
    listing = core.faq("")
    assert listing.kind == "list" and len(listing.items) == len(core.content.faq)
    first = core.content.faq[0]
    shown = core.faq("1")
    assert shown.answered and shown.faq_id == first.id and shown.quotes
    assert core.faq(first.id).faq_id == first.id


def test_episodes_pages(core):
    reply = core.episodes()
    assert reply.kind == "list" and reply.items[0].startswith("sora-discussion:")


def test_every_command_reply_fits(core):
    for req in [
        Request("Sora 的参数量大概多大？"),
        Request("", command="faq"),
        Request("", command="episodes"),
        Request("", command="help"),
        Request("sora-discussion:107", command="quote"),
        Request("x" * 5000),
    ]:
        reply = asyncio.run(core.handle(req))
        assert len(render_text(reply, 1900)) <= 1900


def test_handle_turns_a_bug_into_a_polite_error(core, monkeypatch):
    def boom(_):
        raise RuntimeError("bug")

    monkeypatch.setattr(core, "ask", boom)
    reply = asyncio.run(core.handle(Request("问题")))
    assert reply.kind == "error" and "抱歉" in reply.text


async def test_reload_keeps_old_content_on_errors(tmp_path, settings: Settings):
    shutil.copytree(CONTENT, tmp_path / "content")
    local = Settings(**{**settings.__dict__})
    local.content_dir = str(tmp_path / "content")
    bot = BotCore.from_settings(local)
    before = bot.engine
    faq = tmp_path / "content" / "faq.yaml"
    faq.write_text(faq.read_text(encoding="utf-8") + "\n- id: broken\n  questions: [x]\n", encoding="utf-8")
    problems = await bot.reload()
    assert problems and all(":" in str(p) for p in problems)
    assert any(str(p).startswith("content/faq.yaml:") for p in problems)
    assert bot.engine is before and bot.ask("大力出奇迹").answered
    faq.write_text((CONTENT / "faq.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert await bot.reload() == []
    assert bot.engine is not before


def test_cooldown():
    now = [100.0]
    cd = Cooldown(10, clock=lambda: now[0])
    assert cd.retry_after("u") == 0
    assert 9.9 < cd.retry_after("u") <= 10
    now[0] += 10.5
    assert cd.retry_after("u") == 0
    assert Cooldown(0).retry_after("u") == 0
