"""The Telegram adapter (python-telegram-bot 22): commands, private chats, groups, inline mode.

Two halves, kept apart:

* **Rendering** (pure functions, no I/O): a core :class:`~bot.core.Reply` becomes a list of messages,
  each with an HTML form (every dynamic string passed through :func:`html.escape`, quotes in
  ``<blockquote>``) and the same text as plain text (for the fallback when Telegram cannot parse the
  entities), plus an inline keyboard for "did you mean" suggestions. Messages are split on line
  boundaries so that each stays within the per-message limit after entity parsing (and its raw HTML
  within 4096 characters too); an over-long line is cut *before* escaping, so a cut never falls inside
  a tag or an entity.
* **Handlers**: :class:`TelegramAdapter` turns updates into core requests and sends the rendered reply.
  In a private chat any text is a question; in groups the bot answers commands, replies to its own
  messages and mentions (with privacy mode on, those are all it sees). Inline queries offer quotes and
  FAQ answers; ``/postquote`` is for chat administrators (or ``telegram.admin_ids``); ``/reload`` for
  ``telegram.admin_ids`` only.

:func:`run_telegram` runs the bot with long polling (default) or a webhook (``telegram.mode``) until
SIGTERM/SIGINT. The token comes from ``TELEGRAM_TOKEN`` only and is never logged. See docs/telegram.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import math
import re
import signal
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, InlineQueryLimit, MessageLimit, ParseMode
from telegram.error import BadRequest, InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from ..config import Settings
from ..core import COMMANDS, BotCore, Cooldown, Quote, Reply, Request

log = logging.getLogger(__name__)

TELEGRAM_MAX_CHARS = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096, counted after entity parsing
MAX_CALLBACK_BYTES = 64  # InlineKeyboardButton.callback_data: 1-64 bytes
MAX_INLINE_RESULTS = int(InlineQueryLimit.RESULTS)  # 50
MAX_MESSAGES_PER_REPLY = 5
CALLBACK_ANSWER_CHARS = 200  # answerCallbackQuery text: 0-200 characters
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # setWebhook secret_token
_REF_ONLY_RE = re.compile(r"^\s*[a-z0-9][a-z0-9\-]*\s*[:#]\s*\d{1,6}\s*$", re.IGNORECASE)

_TEXT = {
    "zh": {
        "see_also": "另见",
        "more": "（内容太长，后面的省略了）",
        "inline_help": "在任意聊天里输入 @{username} 关键词，可以挑一段原话发出去。",
        "cooldown": "请 {seconds} 秒后再提问。",
        "admins_only": "只有本群管理员可以使用 /postquote。",
        "owner_only": "只有机器人管理员可以使用 /reload。",
        "reloaded": "内容已重新加载：{episodes} 期节目，{faq} 条常见问题。",
        "reload_failed": "内容有 {count} 处问题，没有重新加载，继续使用原来的内容：",
        "reload_more": "……还有 {count} 处",
        "postquote_empty": "用法：/postquote 关键词 或 /postquote 节目:行号",
        "expired": "这个按钮已经失效了，请重新提问。",
    },
    "en": {
        "see_also": "See also",
        "more": "(too long; the rest was left out)",
        "inline_help": "In any chat, type @{username} and some words to share a quote.",
        "cooldown": "Please wait {seconds} s before asking again.",
        "admins_only": "Only this chat's administrators can use /postquote.",
        "owner_only": "Only the bot's administrators can use /reload.",
        "reloaded": "Content reloaded: {episodes} episode(s), {faq} FAQ entries.",
        "reload_failed": "Content has {count} problem(s); not reloaded, the previous content keeps serving:",
        "reload_more": "... and {count} more",
        "postquote_empty": "Usage: /postquote WORDS or /postquote EPISODE:LINE",
        "expired": "This button has expired; please ask again.",
    },
}

# Shown in Telegram's command menu; Chinese by default and for zh clients, English for en clients.
BOT_COMMANDS = {
    "zh": [
        ("ask", "问一个关于节目的问题"),
        ("quote", "找一段原话：关键词、节目:行号，留空随机"),
        ("faq", "常见问题（可加编号或关键词）"),
        ("episodes", "节目列表"),
        ("help", "使用说明"),
    ],
    "en": [
        ("ask", "Ask a question about the show"),
        ("quote", "Find a quote: words, EPISODE:LINE, or nothing for a random one"),
        ("faq", "Common questions (optionally a number or words)"),
        ("episodes", "List the episodes"),
        ("help", "How to use this bot"),
    ],
}
ADMIN_COMMANDS = {
    "zh": [("postquote", "管理员：把一段原话发到群里")],
    "en": [("postquote", "Admins: post a quote to the chat")],
}


def _t(lang: str) -> dict[str, str]:
    return _TEXT.get(lang, _TEXT["zh"])


def _lang_of(text: str, default: str = "zh") -> str:
    """ "en" for Latin-only text, "zh" for text with Chinese characters, else ``default``."""
    if re.search(r"[\u3400-\u9fff]", text or ""):
        return "zh"
    return "en" if re.search(r"[A-Za-z]", text or "") else default


def _user_lang(user) -> str:
    return "en" if user is not None and (user.language_code or "").startswith("en") else "zh"


# ==================================================================================================
# Rendering: Reply -> messages (HTML + plain) + keyboard. Pure functions.
# ==================================================================================================


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units; an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Span:
    """A run of text with at most one style. ``text`` is raw: it is escaped when rendered."""

    text: str
    tag: str = ""  # "" | "b" | "i" | "code" | "a"
    href: str = ""

    def html(self) -> str:
        body = html.escape(self.text)
        if self.tag == "a":
            return f'<a href="{html.escape(self.href)}">{body}</a>'
        if self.tag:
            return f"<{self.tag}>{body}</{self.tag}>"
        return body


@dataclass(frozen=True)
class Line:
    spans: tuple[Span, ...]
    quote: int = 0  # lines with the same non-zero number form one <blockquote>

    @property
    def plain(self) -> str:
        return "".join(s.text for s in self.spans)

    @property
    def html(self) -> str:
        return "".join(s.html() for s in self.spans)


@dataclass(frozen=True)
class OutMessage:
    html: str
    plain: str


@dataclass
class Rendered:
    messages: list[OutMessage]
    keyboard: InlineKeyboardMarkup | None = None


def _safe_link(url: str) -> str:
    url = (url or "").strip()
    parsed = urlparse(url)
    return url if parsed.scheme in ("http", "https") and parsed.netloc else ""


def _text_lines(text: str, tag: str = "", quote: int = 0) -> list[Line]:
    return [Line((Span(part, tag),), quote) for part in text.replace("\r", "").split("\n")]


def reply_lines(reply: Reply) -> list[Line]:
    """The reply as styled lines (no length limit yet)."""
    lines: list[Line] = []
    t = _t(reply.lang)
    if reply.text:
        lines += _text_lines(reply.text, "b" if reply.kind == "list" else "")
    for i, q in enumerate(reply.quotes):
        if i == 1:
            lines.append(Line((Span(t["see_also"] + ":", "b"),)))
        lines += quote_lines(q, quote=i + 1)
    for i, s in enumerate(reply.suggestions, 1):
        lines.append(Line((Span(f"{i}. "), Span(s.label))))
    for item in reply.items:
        lines += _text_lines(item)
    if reply.footer:
        lines += _text_lines(reply.footer, "i")
    return lines


def quote_lines(q: Quote, quote: int = 1) -> list[Line]:
    link = _safe_link(q.link)
    cite = Span(q.citation, "a", link) if link else Span(q.citation)
    return [*_text_lines(q.text, quote=quote), Line((Span("—— "), cite))]


def _render_chunk(lines: Sequence[Line]) -> OutMessage:
    parts: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.quote:
            j = i
            while j < len(lines) and lines[j].quote == line.quote:
                j += 1
            parts.append("<blockquote>" + "\n".join(x.html for x in lines[i:j]) + "</blockquote>")
            i = j
        else:
            parts.append(line.html)
            i += 1
    return OutMessage("\n".join(parts), "\n".join(x.plain for x in lines))


def _fits(lines: Sequence[Line], limit: int) -> bool:
    out = _render_chunk(lines)
    return utf16_len(out.plain) <= limit and len(out.html) <= TELEGRAM_MAX_CHARS


_BREAK_AFTER = set("。！？；!?;，,、 \t)）」』】")


def _cut_text(text: str, fits: Callable[[str], bool]) -> tuple[str, str]:
    """The longest head of ``text`` that fits (preferring a cut after punctuation), and the rest."""
    lo, hi = 1, len(text)
    while lo < hi:  # binary search for the longest fitting prefix
        mid = (lo + hi + 1) // 2
        if fits(text[:mid]):
            lo = mid
        else:
            hi = mid - 1
    n = lo
    if n < len(text):
        for k in range(n, max(n * 2 // 3, 1), -1):
            if text[k - 1] in _BREAK_AFTER:
                n = k
                break
    return text[:n], text[n:]


def _wrap_line(line: Line, limit: int) -> list[Line]:
    """Split one over-long line into lines that each fit alone (styles kept; a link becomes text)."""
    if _fits([line], limit):
        return [line]
    if len(line.spans) > 1 or line.spans[0].tag == "a":  # cut as plain text: no tag to cut through
        line = Line((Span(line.plain),), line.quote)
    span = line.spans[0]
    out: list[Line] = []
    rest = span.text
    while rest:

        def fits(head: str) -> bool:
            return _fits([Line((Span(head, span.tag),), line.quote)], limit)

        head, rest = _cut_text(rest, fits)
        out.append(Line((Span(head, span.tag),), line.quote))
    return out


def paginate(
    lines: Iterable[Line], limit: int, max_messages: int = MAX_MESSAGES_PER_REPLY, lang: str = "zh"
) -> list[OutMessage]:
    """Lines → messages, each within ``limit`` visible characters (UTF-16) and 4096 raw characters.

    Splits only between lines (long lines are wrapped first); a blockquote cut by a split is closed at
    the end of one message and reopened in the next. At most ``max_messages``; the last says what was
    left out.
    """
    limit = max(50, min(limit, TELEGRAM_MAX_CHARS))
    chunks: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        for piece in _wrap_line(line, limit):
            if current and not _fits([*current, piece], limit):
                chunks.append(current)
                current = []
            current.append(piece)
    if current or not chunks:
        chunks.append(current)
    if len(chunks) > max_messages:
        chunks = chunks[:max_messages]
        note = Line((Span(_t(lang)["more"], "i"),))
        last = chunks[-1]
        while last and not _fits([*last, note], limit):
            last.pop()
        last.append(note)
    return [_render_chunk(c) for c in chunks]


class CallbackStore:
    """Callback data for suggestion buttons: ``command:argument`` when it fits in 64 bytes, otherwise a
    short key into a bounded in-memory table (such a button expires when the process restarts)."""

    def __init__(self, size: int = 1024):
        self.size = size
        self._data: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._next = 0

    def encode(self, command: str, argument: str) -> str:
        data = f"{command}:{argument}"
        if len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES:
            return data
        self._next += 1
        key = f"#{self._next}"
        self._data[key] = (command, argument)
        while len(self._data) > self.size:
            self._data.popitem(last=False)
        return key

    def decode(self, data: str) -> tuple[str, str] | None:
        if data.startswith("#"):
            return self._data.get(data)
        command, sep, argument = data.partition(":")
        if not sep or command not in COMMANDS:
            return None
        return command, argument


def _button_label(i: int, label: str, width: int = 40) -> str:
    label = " ".join(label.split())
    if len(label) > width:
        label = label[: width - 1] + "…"
    return f"{i}. {label}"


def keyboard_for(reply: Reply, store: CallbackStore) -> InlineKeyboardMarkup | None:
    """One button per suggestion; pressing it runs ``command argument`` (see ``on_callback``)."""
    if not reply.suggestions:
        return None
    rows = [
        [InlineKeyboardButton(_button_label(i, s.label), callback_data=store.encode(s.command, s.argument))]
        for i, s in enumerate(reply.suggestions, 1)
    ]
    return InlineKeyboardMarkup(rows)


def render_reply(reply: Reply, limit: int, store: CallbackStore | None = None) -> Rendered:
    """A core reply as Telegram messages (HTML and plain forms) and the keyboard for the last one."""
    messages = paginate(reply_lines(reply), limit, lang=reply.lang)
    return Rendered(messages, keyboard_for(reply, store) if store is not None else None)


def render_problems(problems: Sequence[object], lang: str = "zh", shown: int = 30) -> Reply:
    """A refused reload as a list reply: one ``file:line: message`` per line."""
    t = _t(lang)
    items = [str(p) for p in problems[:shown]]
    footer = t["reload_more"].format(count=len(problems) - shown) if len(problems) > shown else ""
    return Reply(
        "list", t["reload_failed"].format(count=len(problems)), items=items, footer=footer, lang=lang
    )


# ==================================================================================================
# Message helpers
# ==================================================================================================


def command_argument(text: str) -> str:
    """What follows ``/command`` (or ``/command@bot``), keeping the user's spacing and line breaks."""
    parts = re.split(r"\s+", (text or "").strip(), maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def addressed_text(message: Message, bot_id: int, username: str) -> str | None:
    """In a group: the question when the message mentions or replies to the bot (mention removed);
    ``None`` when it is not addressed to the bot."""
    text = message.text or ""
    addressed = False
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if entity.type == MessageEntity.MENTION and username and value.lower() == "@" + username.lower():
            addressed = True
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            addressed = True
            text = text.replace(value, " ")
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        addressed = True
    if not addressed:
        return None
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _is_parse_error(exc: BadRequest) -> bool:
    return "parse entities" in str(exc).lower() or "unsupported start tag" in str(exc).lower()


# ==================================================================================================
# Handlers
# ==================================================================================================


class TelegramAdapter:
    """Turns Telegram updates into core requests and sends rendered replies."""

    def __init__(self, core: BotCore, settings: Settings):
        self.core = core
        self.settings = settings
        self.tg = settings.telegram
        self.limit = min(settings.max_reply_chars, TELEGRAM_MAX_CHARS)
        self.cooldown = Cooldown(self.tg.cooldown_seconds)
        self.store = CallbackStore()
        self.admin_ids = {int(x) for x in self.tg.admin_ids}

    # --- wiring -----------------------------------------------------------------------------------

    def install(self, app: Application) -> None:
        new = filters.UpdateType.MESSAGE  # not edited messages: an edit would answer twice
        app.add_handler(CommandHandler(["start", "help"], self.on_help, filters=new))
        for command in ("ask", "quote", "faq", "episodes"):
            app.add_handler(CommandHandler(command, self._command(command), filters=new))
        app.add_handler(CommandHandler("postquote", self.on_postquote, filters=new))
        app.add_handler(CommandHandler("reload", self.on_reload, filters=new))
        app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(new & filters.COMMAND & filters.ChatType.PRIVATE, self.on_help))
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_handler(InlineQueryHandler(self.on_inline))
        app.add_error_handler(self.on_error)
        app.bot_data["adapter"] = self

    async def register_commands(self, bot) -> None:
        """The command menu, Chinese by default and for zh clients, English for en clients."""

        def cmds(table, lang):
            return [BotCommand(c, d) for c, d in table[lang]]

        admins = BotCommandScopeAllChatAdministrators()
        calls = [
            (cmds(BOT_COMMANDS, "zh"), BotCommandScopeDefault(), None),
            (cmds(BOT_COMMANDS, "zh"), BotCommandScopeDefault(), "zh"),
            (cmds(BOT_COMMANDS, "en"), BotCommandScopeDefault(), "en"),
            (cmds(BOT_COMMANDS, "zh") + cmds(ADMIN_COMMANDS, "zh"), admins, None),
            (cmds(BOT_COMMANDS, "zh") + cmds(ADMIN_COMMANDS, "zh"), admins, "zh"),
            (cmds(BOT_COMMANDS, "en") + cmds(ADMIN_COMMANDS, "en"), admins, "en"),
        ]
        for commands, scope, lang in calls:
            try:
                await bot.set_my_commands(commands, scope=scope, language_code=lang)
            except TelegramError as exc:
                log.warning("set_my_commands(%s) failed: %s", lang or "default", exc)

    # --- sending ------------------------------------------------------------------------------------

    async def _send_one(self, send: Callable[..., Awaitable], out: OutMessage, markup, **kwargs):
        try:
            return await send(
                text=out.html,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=_NO_PREVIEW,
                **kwargs,
            )
        except BadRequest as exc:
            if not _is_parse_error(exc):
                raise
            log.warning("Telegram rejected the HTML (%s); resending as plain text", exc)
            return await send(text=out.plain, reply_markup=markup, **kwargs)

    async def send_reply(self, message: Message, reply: Reply, *, quote: bool) -> None:
        """Send ``reply`` to ``message``'s chat (the first part quoting ``message`` when ``quote``)."""
        rendered = render_reply(reply, self.limit, self.store)
        messages = [m for m in rendered.messages if m.plain.strip()]
        last = len(messages) - 1
        for i, out in enumerate(messages):
            markup = rendered.keyboard if i == last else None
            await self._send_one(
                message.reply_text, out, markup, do_quote=quote and i == 0, allow_sending_without_reply=True
            )

    def _request(self, update: Update, text: str, command: str) -> Request:
        chat = update.effective_chat
        user = update.effective_user
        return Request(
            text,
            command=command,
            user_id=str(user.id) if user else "",
            chat_id=str(chat.id) if chat else "",
            platform="telegram",
            private=bool(chat and chat.type == ChatType.PRIVATE),
        )

    async def _answer(self, update: Update, text: str, command: str) -> None:
        message = update.effective_message
        if message is None:
            return
        request = self._request(update, text, command)
        if command == "ask":
            wait = self.cooldown.retry_after(f"user:{request.user_id}")
            if wait > 0:
                lang = _lang_of(text)
                note = Reply("error", _t(lang)["cooldown"].format(seconds=math.ceil(wait)), lang=lang)
                await self.send_reply(message, note, quote=not request.private)
                return
        reply = await self.core.handle(request)
        await self.send_reply(message, reply, quote=not request.private)

    # --- commands -----------------------------------------------------------------------------------

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        arg = command_argument(message.text or "")
        lang = _user_lang(update.effective_user)
        if arg and arg != "help":
            lang = _lang_of(arg, lang)
        reply = self.core.help(lang)
        username = context.bot.username or ""
        if username:
            reply.text += "\n" + _t(lang)["inline_help"].format(username=username)
        await self.send_reply(message, reply, quote=False)

    def _command(self, command: str):
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            if message is not None:
                await self._answer(update, command_argument(message.text or ""), command)

        handler.__name__ = f"on_{command}"
        return handler

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        if chat.type == ChatType.PRIVATE:
            await self._answer(update, message.text or "", "ask")
            return
        if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            return  # channels: never speak unasked
        text = addressed_text(message, context.bot.id, context.bot.username or "")
        if text is not None:
            await self._answer(update, text, "ask")

    async def is_chat_admin(self, bot, message: Message, user_id: int | None) -> bool:
        if user_id is not None and user_id in self.admin_ids:
            return True
        chat = message.chat
        if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            return False
        if message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous administrator posts as the group itself
        if user_id is None:
            return False
        try:
            member = await bot.get_chat_member(chat.id, user_id)
        except TelegramError as exc:
            log.warning("get_chat_member failed: %s", exc)
            return False
        return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)

    async def on_postquote(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        user = update.effective_user
        query = command_argument(message.text or "")
        lang = _user_lang(user)
        if not await self.is_chat_admin(context.bot, message, user.id if user else None):
            await self.send_reply(message, Reply("error", _t(lang)["admins_only"], lang=lang), quote=True)
            return
        if not query:
            await self.send_reply(message, Reply("help", _t(lang)["postquote_empty"], lang=lang), quote=True)
            return
        reply = await self.core.handle(self._request(update, query, "quote"))
        if not reply.answered or not reply.quotes:
            await self.send_reply(message, reply, quote=True)
            return
        post = Reply("answer", "", quotes=reply.quotes[:1], source="transcript", lang=reply.lang)
        await self.send_reply(message, post, quote=False)

    async def on_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None:
            return
        lang = _user_lang(user)
        if user is None or user.id not in self.admin_ids:
            await self.send_reply(message, Reply("error", _t(lang)["owner_only"], lang=lang), quote=True)
            return
        problems = await self.core.reload()
        if problems:
            reply = render_problems(problems, lang)
        else:
            content = self.core.content
            text = _t(lang)["reloaded"].format(episodes=len(content.episodes), faq=len(content.faq))
            reply = Reply("help", text, lang=lang)
        await self.send_reply(message, reply, quote=True)

    # --- keyboard -----------------------------------------------------------------------------------

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        lang = _user_lang(query.from_user)
        decoded = self.store.decode(query.data or "")
        if decoded is None:
            await query.answer(_t(lang)["expired"])
            return
        command, argument = decoded
        message = query.message if isinstance(query.message, Message) else None
        chat = message.chat if message else None
        request = Request(
            argument,
            command=command,
            user_id=str(query.from_user.id),
            chat_id=str(chat.id) if chat else "",
            platform="telegram",
            private=bool(chat and chat.type == ChatType.PRIVATE),
        )
        if message is None:  # a button under an inline message: no chat to post in, so an alert
            reply = await self.core.handle(request)
            text = render_reply(reply, CALLBACK_ANSWER_CHARS).messages[0].plain
            await query.answer(text[:CALLBACK_ANSWER_CHARS], show_alert=True)
            return
        await query.answer()
        reply = await self.core.handle(request)
        await self.send_reply(message, reply, quote=True)

    # --- inline mode --------------------------------------------------------------------------------

    def inline_results(self, text: str, *, html_mode: bool = True) -> list[InlineQueryResultArticle]:
        """Articles for an inline query: FAQ answers first, then quotes; at most 50."""
        core = self.core
        st = self.settings.match
        replies: list[tuple[str, str, str, Reply]] = []  # (id key, title, description, reply)
        text = text.strip()
        if not text:
            for entry in core.content.faq[:20]:
                reply = core.faq(entry.id)
                replies.append((f"faq:{entry.id}", entry.questions[0], entry.answer, reply))
        elif _REF_ONLY_RE.match(text):
            reply = core.quote(text)
            if reply.answered:
                q = reply.quotes[0]
                replies.append((f"q:{q.episode_id}:{q.line}", q.text, q.citation, reply))
        else:
            result = core.engine.search(text)
            seen_faq: set[str] = set()
            for fm in result.faq[:10]:
                if fm.score < st.suggest_threshold or fm.entry.id in seen_faq:
                    continue
                seen_faq.add(fm.entry.id)
                reply = core.faq(fm.entry.id)
                replies.append((f"faq:{fm.entry.id}", fm.entry.questions[0], fm.entry.answer, reply))
            seen: set[tuple[str, int]] = set()
            hits = [h for h in result.hits if h.source != "faq"]
            hits += core.engine.quote_lookup(text, limit=MAX_INLINE_RESULTS)
            for hit in hits:
                key = (hit.episode_id, hit.line)
                if (
                    key in seen
                    or hit.score < st.suggest_threshold
                    or hit.episode_id not in core.content.episodes
                ):
                    continue
                seen.add(key)
                q = core._quote(hit)
                reply = Reply("answer", "", [q], source="transcript", lang="zh")
                replies.append((f"q:{hit.episode_id}:{hit.line}", q.text, q.citation, reply))
        results = []
        for key, title, description, reply in replies[:MAX_INLINE_RESULTS]:
            out = render_reply(reply, self.limit).messages[0]
            content = (
                InputTextMessageContent(out.html, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW)
                if html_mode
                else InputTextMessageContent(out.plain, link_preview_options=_NO_PREVIEW)
            )
            results.append(
                InlineQueryResultArticle(
                    id=hashlib.sha1(key.encode("utf-8")).hexdigest(),
                    title=_shorten(title, 64),
                    description=_shorten(description, 120),
                    input_message_content=content,
                )
            )
        return results

    async def on_inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        if query is None:
            return
        try:
            results = await asyncio.to_thread(self.inline_results, query.query)
        except Exception:
            log.exception("inline query failed")
            results = []
        try:
            await query.answer(results, cache_time=self.tg.inline_cache_seconds, is_personal=False)
        except BadRequest as exc:
            if not _is_parse_error(exc):
                raise
            plain = await asyncio.to_thread(self.inline_results, query.query, html_mode=False)
            await query.answer(plain, cache_time=self.tg.inline_cache_seconds, is_personal=False)

    # --- errors -------------------------------------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        err = context.error
        log.error("error while handling an update: %s: %s", type(err).__name__, err, exc_info=err)


def _shorten(text: str, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ==================================================================================================
# Running
# ==================================================================================================


class _RedactToken(logging.Filter):
    """Replaces the bot token in every log record (httpx logs request URLs, which contain it)."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        msg = record.getMessage()
        if self.token in msg:
            record.msg, record.args = msg.replace(self.token, "<TELEGRAM_TOKEN>"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "<TELEGRAM_TOKEN>")
        return True


@contextlib.contextmanager
def _redacted_logs(token: str):
    flt = _RedactToken(token)
    handlers = list(logging.getLogger().handlers)
    for h in handlers:
        h.addFilter(flt)
    httpx_logger = logging.getLogger("httpx")
    old_level = httpx_logger.level
    httpx_logger.setLevel(max(old_level, logging.WARNING))
    try:
        yield
    finally:
        httpx_logger.setLevel(old_level)
        for h in handlers:
            h.removeFilter(flt)


def build_application(
    core: BotCore,
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    rate_limiter: AIORateLimiter | None = None,
) -> Application:
    """An :class:`Application` with the adapter's handlers, ``AIORateLimiter`` and (for tests) a request."""
    builder = (
        Application.builder()
        .token(settings.telegram_token)
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=2))
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    TelegramAdapter(core, settings).install(app)
    return app


def _webhook_problem(settings: Settings) -> str | None:
    tg = settings.telegram
    url = urlparse(tg.webhook_url or "")
    if url.scheme != "https" or not url.netloc:
        return "telegram.webhook_url must be the public https:// URL Telegram posts updates to"
    if not tg.webhook_secret:
        return "webhook mode needs TELEGRAM_WEBHOOK_SECRET (1-256 characters: A-Z a-z 0-9 _ -)"
    if not _SECRET_RE.match(tg.webhook_secret):
        return "TELEGRAM_WEBHOOK_SECRET may only contain A-Z a-z 0-9 _ - (1-256 characters)"
    if not 1 <= tg.webhook_port <= 65535:
        return "telegram.webhook_port must be a TCP port"
    return None


ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]


async def run_telegram(
    core: BotCore,
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    stop_event: asyncio.Event | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop_event``); 0 after a clean shutdown, non-zero on a bad token or
    settings (one line on stderr, never the token)."""
    token = settings.telegram_token
    if not token:
        print("error: TELEGRAM_TOKEN is not set; get a token from @BotFather", file=sys.stderr)
        return 2
    webhook = settings.telegram.mode == "webhook"
    if webhook:
        problem = _webhook_problem(settings)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        from telegram.ext import _updater

        if not getattr(_updater, "WEBHOOKS_AVAILABLE", True):
            print('error: webhook mode needs `pip install "python-telegram-bot[webhooks]"`', file=sys.stderr)
            return 2

    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    if stop_event is None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)

    with _redacted_logs(token):
        try:
            app = build_application(core, settings, request=request)
            async with app:  # initialize: getMe checks the token
                adapter: TelegramAdapter = app.bot_data["adapter"]
                await adapter.register_commands(app.bot)
                try:
                    await app.start()
                    if webhook:
                        tg = settings.telegram
                        await app.updater.start_webhook(
                            listen=tg.webhook_listen,
                            port=tg.webhook_port,
                            url_path=urlparse(tg.webhook_url).path.lstrip("/"),
                            webhook_url=tg.webhook_url,
                            secret_token=tg.webhook_secret,
                            allowed_updates=ALLOWED_UPDATES,
                        )
                        log.info("telegram: webhook on %s:%s", tg.webhook_listen, tg.webhook_port)
                    else:
                        await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
                    log.info("telegram: running as @%s", app.bot.username)
                    await stop.wait()
                finally:
                    if app.updater is not None and app.updater.running:
                        await app.updater.stop()
                    if app.running:
                        await app.stop()
        except InvalidToken:
            print("error: Telegram rejected TELEGRAM_TOKEN (check it with @BotFather)", file=sys.stderr)
            return 1
        except TelegramError as exc:
            message = str(exc).replace(token, "<TELEGRAM_TOKEN>")
            print(f"error: Telegram: {type(exc).__name__}: {message}", file=sys.stderr)
            return 1
        except OSError as exc:  # e.g. the webhook port is taken
            print(f"error: telegram: {exc}", file=sys.stderr)
            return 1
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
    log.info("telegram: stopped")
    return 0
