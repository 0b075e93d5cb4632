"""The Telegram adapter end to end: a real ``Application`` talking to a fake Bot API.

``FakeBotAPI`` is a :class:`telegram.request.BaseRequest` (the pattern of python-telegram-bot's
``tests/ext/test_ratelimiter.py``) that answers Bot API methods by URL suffix, feeds scripted updates to
``getUpdates`` and records every request, so the tests assert on what the bot sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dtm
import itertools
import json
import logging
import os
import shutil
import signal
from http import HTTPStatus
from pathlib import Path

import pytest
from telegram import ChatMemberAdministrator, ChatMemberMember, ChatMemberOwner, Update, User
from telegram.ext import Updater
from telegram.request import BaseRequest
from test_telegram_render import visible

from bot.adapters.telegram_bot import (
    MAX_CALLBACK_BYTES,
    TELEGRAM_MAX_CHARS,
    build_application,
    run_telegram,
    utf16_len,
)
from bot.core import BotCore, Quote, Reply, Request, Suggestion

TOKEN = "123456789:AAtest-token-do-not-log"
BOT = {
    "id": 4242,
    "is_bot": True,
    "first_name": "Quote Bot",
    "username": "quote_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}
ADMIN_ID = 7
GROUP_ID = -100200300
PARSE_ERROR = 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0'


def _ok(result) -> tuple[int, bytes]:
    return HTTPStatus.OK, json.dumps({"ok": True, "result": result}).encode()


def _fail(code: int, description: str) -> tuple[int, bytes]:
    return code, json.dumps({"ok": False, "error_code": code, "description": description}).encode()


class FakeBotAPI(BaseRequest):
    """Answers Bot API methods by URL suffix and records every call as ``(method, parameters)``."""

    def __init__(self, *, updates=(), statuses=None, bad_token=False, parse_failures=0):
        self.calls: list[tuple[str, dict]] = []
        self.updates = list(updates)
        self.statuses = statuses or {}
        self.bad_token = bad_token
        self.parse_failures = parse_failures
        self.message_ids = itertools.count(1000)
        self.sent = asyncio.Event()

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self):
        return 1

    async def do_request(self, url, method, request_data=None, *args, **kwargs):
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((name, params))
        if name == "getMe":
            return _fail(401, "Unauthorized") if self.bad_token else _ok(BOT)
        if name == "getUpdates":
            if self.updates:
                batch, self.updates = self.updates, []
                return _ok(batch)
            await asyncio.sleep(0.02)
            return _ok([])
        if name == "sendMessage":
            if self.parse_failures and params.get("parse_mode") == "HTML":
                self.parse_failures -= 1
                return _fail(400, PARSE_ERROR)
            chat_id = int(params["chat_id"])
            chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "g"}
            self.sent.set()
            return _ok(
                {
                    "message_id": next(self.message_ids),
                    "date": int(dtm.datetime.now().timestamp()),
                    "chat": chat,
                    "from": BOT,
                    "text": params["text"],
                }
            )
        if name == "getChatMember":
            return _ok(member(int(params["user_id"]), self.statuses.get(int(params["user_id"]), "member")))
        if name == "getChatAdministrators":
            return _ok([member(u, s) for u, s in self.statuses.items() if s in ("administrator", "creator")])
        return _ok(True)  # setMyCommands, answerInlineQuery, answerCallbackQuery, deleteWebhook, ...

    def sent_messages(self) -> list[dict]:
        return [p for name, p in self.calls if name == "sendMessage"]

    def of(self, method: str) -> list[dict]:
        return [p for name, p in self.calls if name == method]


def member(user_id: int, status: str) -> dict:
    user = User(user_id, "U", False)
    if status == "creator":
        return ChatMemberOwner(user, is_anonymous=False).to_dict()
    if status == "administrator":
        flags = dict.fromkeys(
            [
                "can_be_edited",
                "is_anonymous",
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
            ],
            False,
        )
        return ChatMemberAdministrator(user, **flags).to_dict()
    return ChatMemberMember(user).to_dict()


# --- update payloads ----------------------------------------------------------------------------------

_update_ids = itertools.count(1)


def _u16(text: str) -> int:
    return utf16_len(text)


def message_update(
    text: str,
    *,
    group: bool = False,
    user_id: int = 1,
    lang: str = "zh-hans",
    reply_to_bot: bool = False,
    mention: str | None = None,
) -> dict:
    chat = (
        {"id": GROUP_ID, "type": "supergroup", "title": "听友群"}
        if group
        else {"id": user_id, "type": "private"}
    )
    entities = []
    if text.startswith("/"):
        entities.append({"type": "bot_command", "offset": 0, "length": _u16(text.split()[0])})
    if mention and mention in text:
        entities.append(
            {"type": "mention", "offset": _u16(text[: text.index(mention)]), "length": _u16(mention)}
        )
    msg = {
        "message_id": next(_update_ids),
        "date": int(dtm.datetime.now().timestamp()),
        "chat": chat,
        "from": {"id": user_id, "is_bot": False, "first_name": "Listener", "language_code": lang},
        "text": text,
    }
    if entities:
        msg["entities"] = entities
    if reply_to_bot:
        msg["reply_to_message"] = {
            "message_id": 1,
            "date": msg["date"],
            "chat": chat,
            "from": BOT,
            "text": "…",
        }
    return {"update_id": next(_update_ids), "message": msg}


def inline_update(query: str, user_id: int = 1) -> dict:
    return {
        "update_id": next(_update_ids),
        "inline_query": {
            "id": f"iq{next(_update_ids)}",
            "from": {"id": user_id, "is_bot": False, "first_name": "Listener"},
            "query": query,
            "offset": "",
        },
    }


def callback_update(data: str, message: dict, user_id: int = 1) -> dict:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": f"cb{next(_update_ids)}",
            "from": {"id": user_id, "is_bot": False, "first_name": "Listener"},
            "chat_instance": "ci",
            "data": data,
            "message": message,
        },
    }


# --- harness ------------------------------------------------------------------------------------------


def tg_settings(settings, **telegram):
    telegram = {"admin_ids": [ADMIN_ID], "cooldown_seconds": 0.0, **telegram}
    return dataclasses.replace(
        settings, telegram=dataclasses.replace(settings.telegram, **telegram), telegram_token=TOKEN
    )


class Harness:
    def __init__(self, app, api):
        self.app, self.api = app, api

    async def feed(self, payload: dict) -> list[dict]:
        """Process one update; return the messages sent while handling it."""
        before = len(self.api.sent_messages())
        await self.app.process_update(Update.de_json(payload, self.app.bot))
        return self.api.sent_messages()[before:]


@pytest.fixture
async def make_tg(core, settings):
    apps = []

    async def make(*, bot_core=None, api=None, **telegram):
        api = api or FakeBotAPI()
        app = build_application(bot_core or core, tg_settings(settings, **telegram), request=api)
        await app.initialize()
        apps.append(app)
        return Harness(app, api)

    yield make
    for app in apps:
        await app.shutdown()


@pytest.fixture
async def tg(make_tg):
    return await make_tg()


def check_sent(sent: list[dict]) -> str:
    """Every message is valid Telegram HTML within 4096 characters; returns all visible text."""
    shown = []
    for p in sent:
        assert len(p["text"]) <= TELEGRAM_MAX_CHARS
        if p.get("parse_mode") == "HTML":
            text = visible(p["text"])
        else:
            text = p["text"]
        assert 0 < utf16_len(text) <= TELEGRAM_MAX_CHARS
        shown.append(text)
    return "\n".join(shown)


# --- commands -----------------------------------------------------------------------------------------


async def test_telegram_start_and_help_explain_the_bot(tg):
    sent = await tg.feed(message_update("/start"))
    assert len(sent) == 1 and sent[0]["parse_mode"] == "HTML"
    shown = check_sent(sent)
    assert "/ask" in shown and "/quote" in shown and "@quote_bot" in shown
    sent = await tg.feed(message_update("/help", lang="en"))
    assert "I answer questions" in check_sent(sent)


async def test_telegram_ask_answers_with_blockquote_and_citation(tg, core):
    sent = await tg.feed(message_update("/ask 大力出奇迹"))
    assert sent and sent[0]["parse_mode"] == "HTML"
    assert "<blockquote>" in sent[0]["text"]
    shown = check_sent(sent)
    q = core.ask("大力出奇迹").quotes[0]
    assert f"({q.episode_id}:{q.line})" in shown
    assert "reply_parameters" not in sent[0]  # private chat: no need to quote the question


async def test_telegram_ask_off_topic_is_not_found(tg):
    sent = await tg.feed(message_update("/ask 今晚有人一起开黑吗"))
    assert len(sent) == 1
    assert "<blockquote>" not in sent[0]["text"]
    assert "没有聊到" in check_sent(sent)


async def test_telegram_ask_without_question_shows_usage(tg):
    sent = await tg.feed(message_update("/ask"))
    assert "/ask" in check_sent(sent)


async def test_telegram_quote_by_words_reference_and_random(tg, core):
    sent = await tg.feed(message_update("/quote 大力出奇迹"))
    assert "<blockquote>" in sent[0]["text"] and "大力出奇迹" in check_sent(sent)
    ep = next(iter(core.content.episodes))
    line = next(i for i, s in enumerate(core.content.segments[ep], 1) if s.raw.strip())
    sent = await tg.feed(message_update(f"/quote {ep}:{line}"))
    assert f"({ep}:{line})" in check_sent(sent)
    sent = await tg.feed(message_update("/quote"))
    assert "<blockquote>" in sent[0]["text"]
    check_sent(sent)


async def test_telegram_faq_list_and_entry(tg, core):
    sent = await tg.feed(message_update("/faq"))
    shown = check_sent(sent)
    assert core.content.faq[0].questions[0] in shown
    sent = await tg.feed(message_update("/faq 1"))
    shown = check_sent(sent)
    assert core.content.faq[0].answer.split("\n")[0][:20] in shown


async def test_telegram_episodes_lists_episodes(tg, core):
    shown = check_sent(await tg.feed(message_update("/episodes")))
    for ep in list(core.content.episodes)[:10]:
        assert ep in shown


async def test_telegram_registers_commands_in_chinese_and_english(tg):
    await tg.app.bot_data["adapter"].register_commands(tg.app.bot)
    calls = tg.api.of("setMyCommands")
    langs = {c.get("language_code") for c in calls}
    assert {None, "zh", "en"} <= langs
    en = next(c for c in calls if c.get("language_code") == "en" and c["scope"]["type"] == "default")
    assert [c["command"] for c in en["commands"]] == ["ask", "quote", "faq", "episodes", "help"]
    zh = next(c for c in calls if c.get("language_code") == "zh" and c["scope"]["type"] == "default")
    assert "节目" in zh["commands"][0]["description"]
    admins = [c for c in calls if c["scope"]["type"] == "all_chat_administrators"]
    assert admins and all(any(x["command"] == "postquote" for x in c["commands"]) for c in admins)


# --- private vs group ---------------------------------------------------------------------------------


async def test_telegram_private_text_is_a_question(tg):
    sent = await tg.feed(message_update("大力出奇迹"))
    assert "<blockquote>" in sent[0]["text"]
    check_sent(sent)


async def test_telegram_group_text_without_mention_is_ignored(tg):
    assert await tg.feed(message_update("大力出奇迹", group=True)) == []
    assert await tg.feed(message_update("/ask@other_bot 大力出奇迹", group=True)) == []


async def test_telegram_group_mention_is_answered_as_a_reply(tg):
    payload = message_update("@quote_bot 大力出奇迹", group=True, mention="@quote_bot")
    sent = await tg.feed(payload)
    assert sent and "<blockquote>" in sent[0]["text"]
    assert sent[0]["reply_parameters"]["message_id"] == payload["message"]["message_id"]
    assert int(sent[0]["chat_id"]) == GROUP_ID
    check_sent(sent)


async def test_telegram_group_reply_to_bot_and_group_command_are_answered(tg):
    sent = await tg.feed(message_update("大力出奇迹", group=True, reply_to_bot=True))
    assert sent and "<blockquote>" in sent[0]["text"]
    sent = await tg.feed(message_update("/ask@quote_bot 大力出奇迹", group=True))
    assert sent and "<blockquote>" in sent[0]["text"]


# --- inline mode --------------------------------------------------------------------------------------


async def test_telegram_inline_query_offers_at_most_50_quotes(tg):
    await tg.feed(inline_update("sora"))
    (answer,) = tg.api.of("answerInlineQuery")
    results = answer["results"]
    assert 0 < len(results) <= 50
    assert answer["cache_time"] == tg.app.bot_data["adapter"].tg.inline_cache_seconds
    assert len({r["id"] for r in results}) == len(results)
    for r in results:
        assert r["type"] == "article" and len(r["id"].encode()) <= 64 and r["title"]
        content = r["input_message_content"]
        assert content["parse_mode"] == "HTML" and "<blockquote>" in content["message_text"]
        assert len(content["message_text"]) <= TELEGRAM_MAX_CHARS
        visible(content["message_text"])


async def test_telegram_inline_query_empty_and_off_topic(tg):
    await tg.feed(inline_update(""))
    await tg.feed(inline_update("今晚有人一起开黑吗"))
    empty, off = tg.api.of("answerInlineQuery")
    assert len(empty["results"]) <= 50
    assert len(off["results"]) <= 50


# --- keyboard -----------------------------------------------------------------------------------------


class SuggestingCore(BotCore):
    """The real core, except that the question "MENU" gets "did you mean" suggestions."""

    async def handle(self, request: Request) -> Reply:
        if request.text == "MENU":
            entry = self.content.faq[0]
            ep = next(iter(self.content.episodes))
            return Reply(
                "suggest",
                "你是不是想问：",
                suggestions=[
                    Suggestion(entry.questions[0], "faq", entry.id),
                    Suggestion("<long> & long", "quote", "大力出奇迹" * 6),  # > 64 bytes: stored key
                    Suggestion("line", "quote", f"{ep}:1"),
                ],
            )
        return await super().handle(request)


async def test_telegram_suggestion_buttons_answer_when_pressed(make_tg, core, settings):
    tg = await make_tg(bot_core=SuggestingCore(core.settings, core.content, core.engine))
    (menu,) = await tg.feed(message_update("MENU"))
    rows = menu["reply_markup"]["inline_keyboard"]
    assert len(rows) == 3
    datas = [row[0]["callback_data"] for row in rows]
    assert all(len(d.encode()) <= MAX_CALLBACK_BYTES for d in datas)
    shown = check_sent([menu])
    assert "<long> & long" in shown
    message = {"message_id": 1000, "date": 0, "chat": {"id": 1, "type": "private"}, "from": BOT, "text": "…"}
    for data in datas[:2]:
        sent = await tg.feed(callback_update(data, message))
        assert sent and "<blockquote>" in sent[0]["text"]
        check_sent(sent)
    assert len(tg.api.of("answerCallbackQuery")) == 2
    assert core.content.faq[0].answer.split("\n")[0][:20] in check_sent(tg.api.sent_messages()[1:2])


async def test_telegram_expired_button_is_answered_without_message(tg):
    message = {"message_id": 5, "date": 0, "chat": {"id": 1, "type": "private"}, "from": BOT, "text": "…"}
    sent = await tg.feed(callback_update("#12345", message))
    assert sent == []
    (answer,) = tg.api.of("answerCallbackQuery")
    assert answer.get("text")


# --- moderators ---------------------------------------------------------------------------------------


async def test_telegram_postquote_refused_for_members(make_tg):
    tg = await make_tg(api=FakeBotAPI(statuses={5: "member"}))
    sent = await tg.feed(message_update("/postquote 大力出奇迹", group=True, user_id=5))
    assert tg.api.of("getChatMember")
    assert len(sent) == 1 and "<blockquote>" not in sent[0]["text"]
    assert "管理员" in check_sent(sent)


@pytest.mark.parametrize("status", ["administrator", "creator"])
async def test_telegram_postquote_posts_for_chat_admins(make_tg, status):
    tg = await make_tg(api=FakeBotAPI(statuses={5: status}))
    sent = await tg.feed(message_update("/postquote 大力出奇迹", group=True, user_id=5))
    assert len(sent) == 1 and "<blockquote>" in sent[0]["text"]
    assert "reply_parameters" not in sent[0]  # posted to the group, not as a reply
    assert visible(sent[0]["text"]).count("——") == 1  # one quote, no "see also"


async def test_telegram_postquote_allowed_for_configured_admin_in_private(tg):
    sent = await tg.feed(message_update("/postquote 大力出奇迹", user_id=ADMIN_ID))
    assert "<blockquote>" in sent[0]["text"]
    assert not tg.api.of("getChatMember")


async def test_telegram_reload_refused_for_others(make_tg, core, settings):
    mine = BotCore(core.settings, core.content, core.engine)
    tg = await make_tg(bot_core=mine)
    sent = await tg.feed(message_update("/reload", user_id=5))
    assert "/reload" in check_sent(sent) and mine.content is core.content
    sent = await tg.feed(message_update("/reload", group=True, user_id=5))
    assert "/reload" in check_sent(sent)


async def test_telegram_reload_with_broken_content_keeps_old_content(make_tg, settings, tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(settings.content_path, content)
    local = dataclasses.replace(settings, content_dir=str(content))
    mine = BotCore.from_settings(local)
    tg = await make_tg(bot_core=mine)

    sent = await tg.feed(message_update("/reload", user_id=ADMIN_ID))
    assert "重新加载" in check_sent(sent)

    old = mine.content
    (content / "faq.yaml").write_text("- id: [unclosed\n  answer: <b>&\n", encoding="utf-8")
    sent = await tg.feed(message_update("/reload", user_id=ADMIN_ID))
    shown = check_sent(sent)
    assert "faq.yaml:" in shown and "没有重新加载" in shown
    assert mine.content is old  # the old content keeps serving
    sent = await tg.feed(message_update("/ask 大力出奇迹", user_id=ADMIN_ID))
    assert "<blockquote>" in sent[0]["text"]


# --- safety at the edge -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "/ask <b>大力出奇迹</b> & <script>alert(1)</script>",
        "<b>",
        "&amp; & &lt;",
        "/quote <script>",
        "/faq <i>",
        "/ask " + "大力出奇迹<b>&" * 715,  # 5,000 characters
        "问" * 5000,
    ],
)
async def test_telegram_hostile_input_is_escaped_and_within_limits(tg, text):
    sent = await tg.feed(message_update(text))
    assert sent
    check_sent(sent)
    assert all(p.get("parse_mode") == "HTML" for p in sent)


class HostileCore(BotCore):
    async def handle(self, request: Request) -> Reply:
        q = Quote("ep", 1, "<script>x</script> & " * 100, 1.0, "<b>show", "title & <i>", "javascript:x")
        return Reply("answer", "<a href='x'>&" * 100, [q, q], items=["</blockquote>"], footer="<pre>")


async def test_telegram_hostile_core_output_is_escaped(make_tg, core):
    tg = await make_tg(bot_core=HostileCore(core.settings, core.content, core.engine))
    sent = await tg.feed(message_update("anything"))
    assert len(sent) >= 2  # split, within limits, every part valid HTML
    shown = check_sent(sent)
    assert "<script>x</script>" in shown and "</blockquote>" in shown
    assert "javascript" not in "".join(p["text"] for p in sent)


async def test_telegram_falls_back_to_plain_text_on_parse_error(make_tg):
    tg = await make_tg(api=FakeBotAPI(parse_failures=1))
    sent = await tg.feed(message_update("/ask 大力出奇迹"))
    html_try, plain = sent if len(sent) == 2 else (sent[0], sent[1])
    assert html_try["parse_mode"] == "HTML"
    assert "parse_mode" not in plain
    assert "<blockquote>" not in plain["text"] and "——" in plain["text"]
    assert visible(html_try["text"]) == plain["text"]


async def test_telegram_cooldown_limits_questions_not_lookups(make_tg):
    tg = await make_tg(cooldown_seconds=60.0)
    first = await tg.feed(message_update("大力出奇迹", user_id=9))
    assert "<blockquote>" in first[0]["text"]
    second = await tg.feed(message_update("/ask 大力出奇迹", user_id=9))
    assert len(second) == 1 and "秒后再提问" in check_sent(second)
    other = await tg.feed(message_update("/ask 大力出奇迹", user_id=10))
    assert "<blockquote>" in other[0]["text"]
    lookup = await tg.feed(message_update("/quote 大力出奇迹", user_id=9))
    assert "<blockquote>" in lookup[0]["text"]


# --- running ------------------------------------------------------------------------------------------


async def test_telegram_missing_token_is_one_clear_error(core, settings, capsys):
    rc = await run_telegram(core, dataclasses.replace(settings, telegram_token=""))
    err = capsys.readouterr().err
    assert rc != 0
    assert err.count("\n") == 1 and "TELEGRAM_TOKEN" in err and "Traceback" not in err


async def test_telegram_rejected_token_is_one_clear_error_without_the_token(core, settings, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    api = FakeBotAPI(bad_token=True)
    rc = await run_telegram(core, tg_settings(settings), request=api, stop_event=asyncio.Event())
    err = capsys.readouterr().err
    assert rc != 0
    assert err.count("\n") == 1 and "TELEGRAM_TOKEN" in err and "Traceback" not in err
    assert TOKEN not in err and TOKEN not in caplog.text


async def test_telegram_polling_runs_and_stops_cleanly(core, settings):
    api = FakeBotAPI(updates=[message_update("/ask 大力出奇迹"), message_update("闲聊", group=True)])
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(core, tg_settings(settings), request=api, stop_event=stop))
    await asyncio.wait_for(api.sent.wait(), 10)
    await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(task, 10) == 0
    methods = [name for name, _ in api.calls]
    assert methods[0] == "getMe"
    assert "setMyCommands" in methods and "deleteWebhook" in methods and "getUpdates" in methods
    sent = api.sent_messages()
    assert len(sent) == 1 and "<blockquote>" in sent[0]["text"]  # the group chatter was ignored
    allowed = next(p for n, p in api.calls if n == "getUpdates")["allowed_updates"]
    assert set(allowed) == {"message", "callback_query", "inline_query"}


async def test_telegram_webhook_mode_needs_url_and_secret(core, settings, capsys):
    s = tg_settings(settings, mode="webhook", webhook_url="https://bot.example.com/tg", webhook_secret="")
    assert await run_telegram(core, s, request=FakeBotAPI(), stop_event=asyncio.Event()) != 0
    assert "TELEGRAM_WEBHOOK_SECRET" in capsys.readouterr().err
    s = tg_settings(settings, mode="webhook", webhook_url="http://insecure", webhook_secret="abc")
    assert await run_telegram(core, s, request=FakeBotAPI(), stop_event=asyncio.Event()) != 0
    assert "https" in capsys.readouterr().err


async def test_telegram_webhook_mode_starts_the_webhook(core, settings, monkeypatch):
    import telegram.ext._updater as updater_module

    started = {}

    async def fake_start_webhook(self, **kwargs):
        started.update(kwargs)
        stop.set()
        return self.update_queue

    monkeypatch.setattr(updater_module, "WEBHOOKS_AVAILABLE", True)
    monkeypatch.setattr(Updater, "start_webhook", fake_start_webhook)
    stop = asyncio.Event()
    s = tg_settings(
        settings,
        mode="webhook",
        webhook_url="https://bot.example.com/hooks/tg",
        webhook_port=8443,
        webhook_listen="127.0.0.1",
        webhook_secret="s3cret_T0ken-x",
    )
    rc = await run_telegram(core, s, request=FakeBotAPI(), stop_event=stop)
    assert rc == 0
    assert started["secret_token"] == "s3cret_T0ken-x"
    assert started["webhook_url"] == "https://bot.example.com/hooks/tg"
    assert started["url_path"] == "hooks/tg"
    assert (started["listen"], started["port"]) == ("127.0.0.1", 8443)


async def test_telegram_unknown_command_in_private_gets_help(tg):
    shown = check_sent(await tg.feed(message_update("/frobnicate")))
    assert "/ask" in shown
    assert await tg.feed(message_update("/frobnicate", group=True)) == []


async def test_telegram_sigterm_stops_cleanly(core, settings):
    api = FakeBotAPI(updates=[message_update("/ask 大力出奇迹")])
    task = asyncio.create_task(run_telegram(core, tg_settings(settings), request=api))
    await asyncio.wait_for(api.sent.wait(), 10)
    os.kill(os.getpid(), signal.SIGTERM)  # handled by run_telegram's signal handler
    assert await asyncio.wait_for(task, 10) == 0
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)  # and uninstalled
