"""Discord adapter: slash commands, mentions and DMs, opt-in ask channels, moderator tools.

Three layers, so that each can be tested without Discord:

* **Rendering** (pure functions): a core :class:`~bot.core.Reply` becomes an :class:`Outgoing` (content,
  embed, suggestion buttons, ephemeral or not), always within Discord's limits and with every piece of
  text we did not write escaped (markdown) and defused (``@everyone``, ``<@&id>``, ``<@id>``, ``<#id>``).
* **Handlers** (:class:`DiscordAdapter`): one method per slash command, the button callback, the
  autocomplete and the message handler. They take discord.py objects and only call their public API.
* **Wiring** (:class:`DiscordBot`, :func:`register_commands`, :func:`run_discord`,
  :func:`sync_commands`): the client, the command tree and the entry points used by ``python -m bot``.

Answers are public; everything else a slash command produces (help, lists, suggestions, "not found",
errors, refusals) is ephemeral, i.e. shown only to the person who asked. Replies to messages cannot be
ephemeral: "not found" and errors there delete themselves after a minute, and in ask channels (where
every message is read) a message the episodes don't answer gets no reply at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import discord
from discord import app_commands
from rapidfuzz import fuzz

from ..config import Settings
from ..content import FaqEntry
from ..core import COMMANDS, BotCore, Cooldown, Reply, Request, Suggestion, render_text
from ..text import CJK_RE, normalize

log = logging.getLogger(__name__)

# --- Discord limits -------------------------------------------------------------------------------------
# From discord.py 2.7's docstrings (discord/embeds.py, discord/ui/button.py,
# discord/app_commands/transformers.py) and Discord's API reference (message, embed and component limits).
CONTENT_LIMIT = 2000  # message content
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000  # title + description + field names/values + footer + author, all embeds
EMBED_MAX_FIELDS = 25
AUTOCOMPLETE_MAX_CHOICES = 25
CHOICE_NAME_LIMIT = 100
CHOICE_VALUE_LIMIT = 100
BUTTON_LABEL_LIMIT = 80
BUTTONS_PER_ROW = 5
MAX_SUGGESTIONS = 10  # buttons (two rows) and lines: 10 x 301 + 1000 < 4096

NO_MENTIONS = discord.AllowedMentions.none()
ELLIPSIS = "…"
NOTICE_TTL = 60.0  # seconds before a "not found"/error/cooldown reply to a message deletes itself
DEFER_AFTER = 1.0  # seconds of work before an interaction is deferred (Discord allows 3)
VIEW_TIMEOUT = 600.0  # seconds the "did you mean" buttons stay active

EPHEMERAL_KINDS = frozenset({"suggest", "not_found", "error", "help", "list"})
NOTICE_KINDS = frozenset({"not_found", "error"})
ERROR_TEXT = "抱歉，出了点问题，请稍后再试。/ Sorry, something went wrong; please try again later."
COLOUR = discord.Colour(0x5865F2)
COLOUR_FAQ = discord.Colour(0x57F287)

_MSG = {
    "zh": {
        "see_also": "另见",
        "cooldown": "慢一点～请 {seconds} 秒后再问。",
        "not_moderator": "只有拥有“管理消息”权限或版主身份组的成员可以使用 /post-quote。",
        "not_admin": "只有服务器管理员可以使用 /reload。",
        "posted": "已发到 {channel}：{url}",
        "cannot_post": "我没有权限在 {channel} 发消息（需要“发送消息”和“嵌入链接”）。",
        "reloaded": "内容已重新加载：{episodes} 期节目，{faq} 条常见问题。",
        "reload_failed": "内容有 {count} 个问题，仍在使用之前的内容：",
        "more": "…… 还有 {count} 个",
        "more_items": "…… 还有 {count} 条（输入 /faq 加关键词搜索）",
        "guild_only": "这个命令只能在服务器里使用。",
    },
    "en": {
        "see_also": "See also",
        "cooldown": "Easy there — please wait {seconds}s before asking again.",
        "not_moderator": "Only members with Manage Messages or a moderator role can use /post-quote.",
        "not_admin": "Only server administrators can use /reload.",
        "posted": "Posted to {channel}: {url}",
        "cannot_post": "I can't post in {channel} (I need Send Messages and Embed Links there).",
        "reloaded": "Content reloaded: {episodes} episode(s), {faq} FAQ entries.",
        "reload_failed": "The content has {count} problem(s); still serving the previous content:",
        "more": "… and {count} more",
        "more_items": "… and {count} more (type /faq and a keyword to search)",
        "guild_only": "This command only works in a server.",
    },
}


def lang_of(text: str) -> str:
    """``zh`` for text with Chinese characters or no Latin letters, else ``en`` (the core's rule)."""
    return "zh" if CJK_RE.search(text or "") or not re.search(r"[A-Za-z]", text or "") else "en"


# --- escaping and trimming ------------------------------------------------------------------------------

_EVERYONE_RE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_TAG_RE = re.compile(r"<(?=(?:@[!&]?|#)\d)")
_BOUNDARY = set(" \n\t，。！？；：、,.!?;:)）」』”")


def defuse(text: str) -> str:
    """Make ``@everyone``/``@here`` and ``<@id>``/``<@&id>``/``<#id>`` plain text (a zero-width space
    after ``@`` or ``<``), so they neither ping nor render as mentions, whatever AllowedMentions says."""
    return _TAG_RE.sub("<\u200b", _EVERYONE_RE.sub("@\u200b", text))


def escape(text: str) -> str:
    """Text someone else wrote, safe in any message or embed: markdown escaped, mentions defused."""
    return defuse(discord.utils.escape_markdown(text))


def block_quote(text: str) -> str:
    """A block quote of escaped text (``> `` before each non-empty line)."""
    lines = [line for line in (text or "").splitlines() if line.strip()] or [""]
    return "\n".join("> " + escape(line.strip()) for line in lines)


def fit(raw: str, limit: int, render: Callable[[str], str] = escape) -> str:
    """``render(raw)`` in at most ``limit`` characters.

    When it is too long, the *raw* text is cut (at a space or punctuation near the end when there is one)
    and then rendered, followed by an ellipsis: a cut never falls inside an escape sequence or a defused
    mention, because escaping happens after the cut.
    """
    out = render(raw)
    if len(out) <= limit:
        return out
    budget = limit - len(ELLIPSIS)
    if budget <= 0:
        return ELLIPSIS[:limit]

    def size(n: int) -> int:
        return len(render(raw[:n].rstrip()))

    lo, hi = 0, len(raw)
    while lo < hi:  # largest n with size(n) <= budget (size grows with n)
        mid = (lo + hi + 1) // 2
        if size(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    n = lo
    window = max(8, n // 5)
    for i in range(n - 1, max(0, n - window) - 1, -1):
        if raw[i] in _BOUNDARY:
            n = i + 1 if raw[i] not in " \n\t" else i
            break
    while n > 0 and size(n) > budget:  # belt and braces: escaping is not strictly monotonic
        n -= 1
    return render(raw[:n].rstrip()) + ELLIPSIS


def plain(text: str) -> str:
    """Identity renderer, for places Discord shows as plain text (footers, button and choice labels)."""
    return text


# --- rendering: Reply → Outgoing ------------------------------------------------------------------------


@dataclass
class Outgoing:
    """What to send for one reply. ``content`` and ``embed`` are within Discord's limits."""

    content: str | None = None
    embed: discord.Embed | None = None
    suggestions: list[Suggestion] = field(default_factory=list)
    ephemeral: bool = False

    def kwargs(self) -> dict:
        """Keyword arguments for ``send``/``send_message``/``reply`` (no view; see the handlers)."""
        kw: dict = {"allowed_mentions": NO_MENTIONS}
        if self.content:
            kw["content"] = self.content
        if self.embed is not None:
            kw["embed"] = self.embed
        return kw


def embed_size(embed: discord.Embed) -> int:
    """Characters that count toward Discord's 6000 total (what ``len(embed)`` computes)."""
    return len(embed)


def _episode_header(embed: discord.Embed, quote) -> None:
    """With a link, the episode becomes the (linked) title; without, the citation footer says it all."""
    if quote.link and quote.link.startswith(("https://", "http://")):
        embed.title = fit(f"{quote.show}《{quote.title}》" if quote.title else quote.show, EMBED_TITLE_LIMIT)
        embed.url = quote.link


def _finish(embed: discord.Embed, parts: Sequence[tuple[str, Callable[[str], str]]]) -> discord.Embed:
    """Set the description from ``(raw, renderer)`` parts, dropping fields and trimming the description so
    the whole embed stays within the description and total limits. The last part is kept whole first."""
    while embed.fields and embed_size(embed) > EMBED_TOTAL_LIMIT - 500:
        embed.remove_field(len(embed.fields) - 1)
    budget = min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - embed_size(embed))
    parts = [(raw, render) for raw, render in parts if raw and raw.strip()]
    if not parts:
        return embed
    rendered: list[str] = [""] * len(parts)
    # The quote (last part) gets up to half the room when there is text before it; the rest is for text.
    remaining = budget - 2 * (len(parts) - 1)
    for i in range(len(parts) - 1, -1, -1):
        raw, render = parts[i]
        share = remaining if i == 0 else max(remaining // 2, min(remaining, 600))
        rendered[i] = fit(raw, share, render)
        remaining -= len(rendered[i])
    embed.description = "\n\n".join(r for r in rendered if r)
    return embed


def answer_embed(reply: Reply, *, see_also: bool = True) -> discord.Embed:
    """An answer: the FAQ answer or intro as the description, the quote as a block quote under it, the
    citation as the footer, the episode (linked when it has a link) as the title; more quotes as fields."""
    embed = discord.Embed(colour=COLOUR_FAQ if reply.source == "faq" else COLOUR)
    quotes = reply.quotes
    if not quotes:
        return _finish(embed, [(reply.text, escape)])
    first = quotes[0]
    _episode_header(embed, first)
    embed.set_footer(text=fit(first.citation, EMBED_FOOTER_LIMIT, plain))
    if see_also:
        label = _MSG[reply.lang if reply.lang in _MSG else "zh"]["see_also"]
        for q in quotes[1 : 1 + EMBED_MAX_FIELDS]:
            embed.add_field(
                name=fit(f"{label}: {q.citation}", EMBED_FIELD_NAME_LIMIT),
                value=fit(q.text, EMBED_FIELD_VALUE_LIMIT, block_quote),
                inline=False,
            )
    return _finish(embed, [(reply.text, escape), (first.text, block_quote)])


def quote_embed(reply: Reply) -> discord.Embed:
    """One quote on its own (what /post-quote posts): no "see also"."""
    only = Reply(reply.kind, "", reply.quotes[:1], source="transcript", lang=reply.lang)
    return answer_embed(only, see_also=False)


def _lines_embed(title: str, lines: list[str], footer: str, more_template: str) -> discord.Embed:
    """A list (FAQ topics, episodes): whole lines only, then "… and N more" when they do not all fit."""
    embed = discord.Embed(colour=COLOUR, title=fit(title, EMBED_TITLE_LIMIT) if title else None)
    if footer:
        embed.set_footer(text=fit(footer, EMBED_FOOTER_LIMIT, plain))
    budget = min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - embed_size(embed))
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        rendered = fit(line, 300)
        left_after = len(lines) - i - 1
        reserve = 1 + len(more_template.format(count=left_after)) if left_after else 0
        if used + len(rendered) + reserve > budget:
            out.append(more_template.format(count=len(lines) - i))
            break
        out.append(rendered)
        used += len(rendered) + 1
    while out and len("\n".join(out)) > budget:  # cannot happen with budget > 400; never cut a line
        out.pop()
    embed.description = "\n".join(out) or None
    return embed


def suggest_embed(reply: Reply) -> discord.Embed:
    """'Did you mean': the core's sentence and the numbered suggestions (the buttons carry the numbers)."""
    lines = [fit(reply.text, 1000)]
    lines += [fit(f"{i}. {s.label}", 300) for i, s in enumerate(reply.suggestions[:MAX_SUGGESTIONS], 1)]
    return discord.Embed(colour=COLOUR, description="\n".join(line for line in lines if line))


def render_reply(reply: Reply, *, interaction: bool = True) -> Outgoing:
    """A core reply → what to send. ``interaction``: a slash command or button (can be ephemeral)."""
    msg = _MSG.get(reply.lang, _MSG["zh"])
    ephemeral = interaction and reply.kind in EPHEMERAL_KINDS
    if reply.kind == "answer":
        return Outgoing(embed=answer_embed(reply), ephemeral=False)
    if reply.kind == "suggest":
        return Outgoing(
            embed=suggest_embed(reply), suggestions=reply.suggestions[:MAX_SUGGESTIONS], ephemeral=ephemeral
        )
    if reply.kind == "list":
        embed = _lines_embed(reply.text, reply.items, reply.footer, msg["more_items"])
        return Outgoing(embed=embed, ephemeral=ephemeral)
    if reply.kind == "help":
        embed = discord.Embed(colour=COLOUR, description=fit(reply.text, EMBED_DESCRIPTION_LIMIT))
        return Outgoing(embed=embed, ephemeral=ephemeral)
    # not_found, error, anything new: a short plain message
    return Outgoing(content=fit(reply.text or "…", CONTENT_LIMIT), ephemeral=ephemeral)


def render_plain(reply: Reply, limit: int = CONTENT_LIMIT) -> str:
    """The reply as escaped plain text within ``limit`` (for channels where the bot cannot embed)."""
    n = limit
    while n > 50:
        text = escape(render_text(reply, n))
        if len(text) <= limit:
            return text
        n -= max(10, len(text) - limit)
    return fit(render_text(reply, limit), limit)


def format_problems(problems: Sequence, lang: str = "en", limit: int = CONTENT_LIMIT) -> str:
    """Reload problems as a message: a header and one ``file:line: message`` per line, whole lines only,
    with "… and N more" when they do not all fit."""
    msg = _MSG[lang]
    lines = [msg["reload_failed"].format(count=len(problems))]
    used = len(lines[0])
    for i, p in enumerate(problems):
        line = "• " + fit(str(p), 300)
        more = msg["more"].format(count=len(problems) - i)
        rest = len(problems) - i - 1
        if used + 1 + len(line) + (1 + len(more) if rest else 0) > limit:
            lines.append(more)
            break
        lines.append(line)
        used += 1 + len(line)
    return "\n".join(lines)


# --- autocomplete -------------------------------------------------------------------------------------


def with_episode(text: str, episode: str | None) -> str:
    """The core's episode filter (``ep:<id>``) added to a question when the user picked an episode."""
    episode = (episode or "").strip()
    return f"{text} ep:{episode}" if episode and text.strip() else text


def episode_choices(content, current: str, limit: int = AUTOCOMPLETE_MAX_CHOICES):
    """Up to 25 episodes whose id or title contains what the user typed (newest listed last in content)."""
    cur = normalize(current or "")
    choices = []
    for ep in content.episodes.values():
        if cur and cur not in normalize(f"{ep.id} {ep.title}"):
            continue
        name = fit(f"{ep.id} · {ep.title}", CHOICE_NAME_LIMIT, plain) or ep.id
        choices.append(app_commands.Choice(name=name, value=ep.id[:CHOICE_VALUE_LIMIT]))
        if len(choices) >= limit:
            break
    return choices


def faq_choices(entries: Sequence[FaqEntry], current: str, limit: int = AUTOCOMPLETE_MAX_CHOICES):
    """Up to 25 FAQ questions matching what the user typed so far (substring first, then fuzzy)."""
    cur = normalize(current or "")
    scored: list[tuple[float, int, str, FaqEntry]] = []
    for index, entry in enumerate(entries):
        if not cur:
            scored.append((0.0, index, entry.questions[0], entry))
            continue
        best, best_q = 0.0, entry.questions[0]
        for q in (*entry.questions, entry.id):
            nq = normalize(q)
            score = 200.0 - len(nq) / 100 if cur in nq else fuzz.partial_ratio(cur, nq)
            if score > best:
                best, best_q = score, q if q != entry.id else entry.questions[0]
        if best >= 60:
            scored.append((-best, index, best_q, entry))
    scored.sort(key=lambda t: (t[0], t[1]))
    choices = []
    for _, index, question, entry in scored[:limit]:
        value = entry.id if len(entry.id) <= CHOICE_VALUE_LIMIT else str(index + 1)
        name = fit(question, CHOICE_NAME_LIMIT, plain) or value
        choices.append(app_commands.Choice(name=name, value=value))
    return choices


# --- handlers -------------------------------------------------------------------------------------------

_CMD_RE = re.compile(r"^/(\w+)(?:@\S+)?\s*(.*)$", re.DOTALL)


def parse_message_text(text: str) -> tuple[str, str]:
    """``/quote 大力出奇迹`` typed in a message → ``("quote", "大力出奇迹")``; anything else is a question."""
    m = _CMD_RE.match(text.strip())
    if m and m.group(1).lower() in COMMANDS:
        return m.group(1).lower(), m.group(2).strip()
    return "ask", text.strip()


def _handle_blocking(core: BotCore, request: Request) -> Reply:
    """Run the core in a worker thread (it matches synchronously), so the event loop stays free to defer
    interactions and keep the gateway heartbeat going."""
    return asyncio.run(core.handle(request))


class SuggestionView(discord.ui.View):
    """'Did you mean' buttons: clicking one answers that suggestion."""

    def __init__(self, adapter: DiscordAdapter, suggestions: Iterable[Suggestion], *, timeout=VIEW_TIMEOUT):
        super().__init__(timeout=timeout)
        self.adapter = adapter
        # Where the buttons were sent, to grey them out on timeout: an interaction, or a message reply.
        self.interaction: discord.Interaction | None = None
        self.message: discord.Message | None = None
        for i, s in enumerate(list(suggestions)[:MAX_SUGGESTIONS]):
            button: discord.ui.Button = discord.ui.Button(
                label=fit(f"{i + 1}. {s.label}", BUTTON_LABEL_LIMIT, plain),
                style=discord.ButtonStyle.secondary,
                row=i // BUTTONS_PER_ROW,
            )
            button.callback = functools.partial(self._clicked, s)  # type: ignore[method-assign]
            self.add_item(button)

    async def _clicked(self, suggestion: Suggestion, interaction: discord.Interaction) -> None:
        await self.adapter.suggestion_clicked(interaction, suggestion)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        with contextlib.suppress(discord.HTTPException):
            if self.interaction is not None:
                await self.interaction.edit_original_response(view=self)
            elif self.message is not None:
                await self.message.edit(view=self)


class DiscordAdapter:
    """The event handlers. Independent of the client, so tests call them with mocked discord objects."""

    def __init__(
        self,
        core: BotCore,
        settings: Settings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        defer_after: float = DEFER_AFTER,
    ):
        self.core = core
        self.settings = settings or core.settings
        self.cooldown = Cooldown(self.settings.discord.cooldown_seconds, clock=clock)
        self.defer_after = defer_after
        self.ask_channels = {int(c) for c in self.settings.discord.ask_channels}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="discord-core")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- core calls -----------------------------------------------------------------------------------

    async def run_core(self, request: Request) -> Reply:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _handle_blocking, self.core, request)

    def request(self, text: str, command: str, user, channel_id, private: bool) -> Request:
        return Request(
            text or "",
            command=command,
            user_id=str(getattr(user, "id", "")),
            chat_id=str(channel_id or ""),
            platform="discord",
            private=private,
        )

    def _interaction_request(self, interaction: discord.Interaction, text: str, command: str) -> Request:
        return self.request(
            text, command, interaction.user, interaction.channel_id, private=interaction.guild_id is None
        )

    async def _compute(self, interaction: discord.Interaction, request: Request) -> Reply:
        """Answer, deferring the interaction if the work takes longer than ``defer_after`` seconds."""
        task = asyncio.ensure_future(self.run_core(request))
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if not done and not interaction.response.is_done():
            try:
                await interaction.response.defer(thinking=True)
            except discord.HTTPException as exc:  # expired or already acknowledged elsewhere
                log.info("could not defer interaction: %s", exc)
        return await task

    def view_for(self, out: Outgoing) -> SuggestionView | None:
        return SuggestionView(self, out.suggestions) if out.suggestions else None

    async def send(self, interaction: discord.Interaction, out: Outgoing) -> None:
        """Send ``out`` as the response, or as a follow-up when the interaction was deferred."""
        kw = out.kwargs()
        view = self.view_for(out)
        if view is not None:
            kw["view"] = view
            view.interaction = interaction
        if not interaction.response.is_done():
            await interaction.response.send_message(ephemeral=out.ephemeral, **kw)
            return
        if out.ephemeral:
            # The deferred "thinking…" message is public and the first follow-up would inherit that;
            # remove it and send the ephemeral reply as a fresh follow-up.
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(ephemeral=out.ephemeral, **kw)

    async def notice(self, interaction: discord.Interaction, text: str) -> None:
        """A short ephemeral message (refusals, cooldowns, confirmations)."""
        await self.send(interaction, Outgoing(content=fit(text, CONTENT_LIMIT), ephemeral=True))

    async def answer(self, interaction: discord.Interaction, command: str, text: str = "") -> None:
        reply = await self._compute(interaction, self._interaction_request(interaction, text, command))
        await self.send(interaction, render_reply(reply))

    def retry_after(self, user) -> float:
        return self.cooldown.retry_after(f"discord:{getattr(user, 'id', '')}")

    def cooldown_text(self, seconds: float, text: str) -> str:
        return _MSG[lang_of(text)]["cooldown"].format(seconds=max(1, round(seconds + 0.49)))

    # --- slash commands -------------------------------------------------------------------------------

    async def ask(self, interaction: discord.Interaction, question: str, episode: str | None = None) -> None:
        wait = self.retry_after(interaction.user)
        if wait > 0:
            await self.notice(interaction, self.cooldown_text(wait, question))
            return
        await self.answer(interaction, "ask", with_episode(question, episode))

    async def quote(
        self, interaction: discord.Interaction, query: str | None = None, episode: str | None = None
    ) -> None:
        await self.answer(interaction, "quote", with_episode(query or "", episode) if query else "")

    async def episode_autocomplete(self, interaction: discord.Interaction, current: str):
        return episode_choices(self.core.content, current)

    async def faq(self, interaction: discord.Interaction, topic: str | None = None) -> None:
        await self.answer(interaction, "faq", topic or "")

    async def episodes(self, interaction: discord.Interaction, page: int | None = None) -> None:
        await self.answer(interaction, "episodes", str(page) if page else "")

    async def help(self, interaction: discord.Interaction) -> None:
        await self.answer(interaction, "help", "")

    async def faq_autocomplete(self, interaction: discord.Interaction, current: str):
        return faq_choices(self.core.content.faq, current)

    async def suggestion_clicked(self, interaction: discord.Interaction, suggestion: Suggestion) -> None:
        """A 'did you mean' button: answer it (publicly when it is an answer)."""
        await self.answer(interaction, suggestion.command, suggestion.argument)

    def is_moderator(self, interaction: discord.Interaction) -> bool:
        perms = interaction.permissions
        if perms.manage_messages or perms.administrator:
            return True
        wanted = {str(r).strip().lower() for r in self.settings.discord.moderator_roles}
        roles = getattr(interaction.user, "roles", None) or []
        return any(r.name.lower() in wanted or str(r.id) in wanted for r in roles)

    async def post_quote(self, interaction: discord.Interaction, query: str, channel) -> None:
        lang = lang_of(query)
        if interaction.guild_id is None:
            await self.notice(interaction, _MSG[lang]["guild_only"])
            return
        if not self.is_moderator(interaction):
            await self.notice(interaction, _MSG[lang]["not_moderator"])
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await self.run_core(self._interaction_request(interaction, query, "quote"))
        if not reply.answered or not reply.quotes:
            out = render_reply(reply)
            await interaction.followup.send(ephemeral=True, **out.kwargs())
            return
        mention = getattr(channel, "mention", "#?")
        try:
            message = await channel.send(embed=quote_embed(reply), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:  # Forbidden, or the channel is gone
            log.info("post-quote to %s failed: %s", getattr(channel, "id", "?"), exc)
            text = _MSG[lang]["cannot_post"].format(channel=mention)
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        text = _MSG[lang]["posted"].format(channel=mention, url=message.jump_url)
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def reload(self, interaction: discord.Interaction) -> None:
        lang = "zh" if (str(getattr(interaction, "locale", "")) or "").startswith("zh") else "en"
        if interaction.guild_id is None:
            await self.notice(interaction, _MSG[lang]["guild_only"])
            return
        if not interaction.permissions.administrator:
            await self.notice(interaction, _MSG[lang]["not_admin"])
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        problems = await self.core.reload()
        if problems:
            text = format_problems(problems, lang)
        else:
            content = self.core.content
            text = _MSG[lang]["reloaded"].format(episodes=len(content.episodes), faq=len(content.faq))
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def on_app_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        log.error("slash command failed", exc_info=error)
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():  # never delete what was already sent
                await interaction.followup.send(ERROR_TEXT, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(
                    ERROR_TEXT, ephemeral=True, allowed_mentions=NO_MENTIONS
                )

    # --- messages: mentions, DMs, ask channels --------------------------------------------------------

    def addressed(self, message: discord.Message, me) -> tuple[bool, bool]:
        """(whether to read this message, whether it is an unmentioned ask-channel message)."""
        if message.guild is None:
            return True, False
        if self.mentions_me(message, me):
            return True, False
        if message.channel.id in self.ask_channels:
            return True, True
        return False, False

    @staticmethod
    def _my_role_id(message: discord.Message) -> int | None:
        role = message.guild.self_role if message.guild is not None else None
        return role.id if role is not None else None

    def mentions_me(self, message: discord.Message, me) -> bool:
        if re.search(rf"<@!?{me.id}>", message.content or ""):
            return True
        role_id = self._my_role_id(message)
        return role_id is not None and f"<@&{role_id}>" in (message.content or "")

    def strip_mentions(self, message: discord.Message, me) -> str:
        text = re.sub(rf"<@!?{me.id}>", " ", message.content or "")
        role_id = self._my_role_id(message)
        if role_id is not None:
            text = text.replace(f"<@&{role_id}>", " ")
        return re.sub(r"\s+", " ", text).strip()

    async def on_message(self, message: discord.Message, me) -> None:
        if me is None or message.author.bot or message.author.id == me.id:
            return
        read, ask_channel_only = self.addressed(message, me)
        if not read:
            return
        command, text = parse_message_text(self.strip_mentions(message, me))
        if not text and command == "ask":
            if ask_channel_only:
                return
            command = "help"
        private = message.guild is None
        if command == "ask":
            wait = self.retry_after(message.author)
            if wait > 0:
                if not ask_channel_only:  # unmentioned ask-channel chatter gets no cooldown notices
                    out = Outgoing(content=self.cooldown_text(wait, text))
                    await self.reply_to(message, out, notice=True)
                return
        reply = await self.run_core(self.request(text, command, message.author, message.channel.id, private))
        if ask_channel_only and reply.kind != "answer" and reply.kind != "suggest":
            return  # chatter in an ask channel: only answers (or "did you mean") get a reply
        if self.can_embed(message):
            out = render_reply(reply, interaction=False)
        else:
            out = Outgoing(content=render_plain(reply), suggestions=reply.suggestions[:MAX_SUGGESTIONS])
        await self.reply_to(message, out, notice=reply.kind in NOTICE_KINDS)

    @staticmethod
    def can_embed(message: discord.Message) -> bool:
        if message.guild is None:
            return True
        perms = message.channel.permissions_for(message.guild.me)
        return bool(perms.embed_links)

    async def reply_to(self, message: discord.Message, out: Outgoing, *, notice: bool = False) -> None:
        kw = out.kwargs()
        view = self.view_for(out)
        if view is not None:
            kw["view"] = view
        if notice and message.guild is not None:
            kw["delete_after"] = NOTICE_TTL
        try:
            sent = await message.reply(mention_author=False, **kw)
            if view is not None:
                view.message = sent
        except discord.HTTPException as exc:
            log.info("cannot reply in channel %s: %s", getattr(message.channel, "id", "?"), exc)


# --- wiring ---------------------------------------------------------------------------------------------


def make_intents(settings: Settings) -> discord.Intents:
    """Default intents; message content (privileged) only when ask channels are configured."""
    intents = discord.Intents.default()
    intents.typing = False
    intents.presences = False
    intents.members = False
    intents.message_content = bool(settings.discord.ask_channels)
    return intents


def register_commands(tree: app_commands.CommandTree, adapter: DiscordAdapter) -> None:
    """Add the slash commands to ``tree``; each delegates to ``adapter``."""

    @tree.command(name="ask", description="Ask about the show; I answer with a quote / 问节目相关的问题")
    @app_commands.describe(
        question="Your question / 你的问题", episode="Only this episode (optional) / 只搜这一期（可选）"
    )
    async def ask(interaction: discord.Interaction, question: str, episode: str | None = None) -> None:
        await adapter.ask(interaction, question, episode)

    @ask.autocomplete("episode")
    async def ask_episode(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await adapter.episode_autocomplete(interaction, current)

    @tree.command(name="quote", description="Find a quote: words, episode:line, or empty for random / 找原话")
    @app_commands.describe(
        query="Words, or episode:line; empty for a random quote / 关键词或 节目:行号",
        episode="Only this episode (optional) / 只搜这一期（可选）",
    )
    async def quote(
        interaction: discord.Interaction, query: str | None = None, episode: str | None = None
    ) -> None:
        await adapter.quote(interaction, query, episode)

    @quote.autocomplete("episode")
    async def quote_episode(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await adapter.episode_autocomplete(interaction, current)

    @tree.command(name="faq", description="Common questions / 常见问题")
    @app_commands.describe(topic="A question (pick from the list) or a keyword / 问题或关键词")
    async def faq(interaction: discord.Interaction, topic: str | None = None) -> None:
        await adapter.faq(interaction, topic)

    @faq.autocomplete("topic")
    async def faq_topic(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await adapter.faq_autocomplete(interaction, current)

    @tree.command(name="episodes", description="The list of episodes / 节目列表")
    @app_commands.describe(page="Page number / 页码")
    async def episodes(
        interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] | None = None
    ) -> None:
        await adapter.episodes(interaction, page)

    @tree.command(name="help", description="What I can do / 使用说明")
    async def help_(interaction: discord.Interaction) -> None:
        await adapter.help(interaction)

    @tree.command(
        name="post-quote", description="Moderators: post a quote to a channel / 版主：把原话发到频道"
    )
    @app_commands.describe(
        query="Words, or episode:line / 关键词或 节目:行号", channel="Where to post / 发到哪个频道"
    )
    @app_commands.default_permissions(manage_messages=True)
    @app_commands.guild_only()
    async def post_quote(interaction: discord.Interaction, query: str, channel: discord.TextChannel) -> None:
        await adapter.post_quote(interaction, query, channel)

    @tree.command(
        name="reload", description="Administrators: re-read the content files / 管理员：重新加载内容"
    )
    @app_commands.default_permissions(administrator=True)
    @app_commands.guild_only()
    async def reload(interaction: discord.Interaction) -> None:
        await adapter.reload(interaction)

    tree.on_error = adapter.on_app_command_error  # type: ignore[method-assign]


class DiscordBot(discord.Client):
    """The client: intents, AllowedMentions.none() for every message, the command tree and events."""

    def __init__(
        self,
        core: BotCore,
        settings: Settings,
        *,
        adapter: DiscordAdapter | None = None,
        sync_on_start: bool = True,
    ):
        # The bot has no voice features: skip discord.py's "PyNaCl/davey is not installed" warnings.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(intents=make_intents(settings), allowed_mentions=NO_MENTIONS)
        self.settings = settings
        self.adapter = adapter or DiscordAdapter(core, settings)
        self.tree = app_commands.CommandTree(self)
        register_commands(self.tree, self.adapter)
        self.sync_on_start = sync_on_start

    async def setup_hook(self) -> None:
        if not self.sync_on_start:
            return
        try:
            await startup_sync(self.tree, self.settings.discord.guild_id)
        except discord.HTTPException as exc:
            log.warning("could not register slash commands (%s); run `python -m bot sync-discord`", exc)

    async def on_ready(self) -> None:
        log.warning("Discord: connected as %s to %d server(s)", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message, self.user)

    async def close(self) -> None:
        await super().close()
        self.adapter.close()


async def sync_tree(tree: app_commands.CommandTree, guild_id: int | None) -> list:
    """Register the commands: to one guild (instant) when ``guild_id`` is set, else globally."""
    if guild_id:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        return await tree.sync(guild=guild)
    return await tree.sync()


async def startup_sync(tree: app_commands.CommandTree, guild_id: int | None) -> None:
    """At start: sync to the test guild when set; globally only when the registered names differ (global
    syncs are rate limited, so a changed option needs ``python -m bot sync-discord``)."""
    if guild_id:
        synced = await sync_tree(tree, guild_id)
        log.info("synced %d command(s) to guild %s", len(synced), guild_id)
        return
    registered = {c.name for c in await tree.fetch_commands()}
    wanted = {c.name for c in tree.get_commands()}
    if registered != wanted:
        synced = await sync_tree(tree, None)
        log.warning("registered %d global command(s); Discord may take a while to show them", len(synced))


# --- entry points ---------------------------------------------------------------------------------------


def _fail(message: str, token: str = "") -> int:
    if token:
        message = message.replace(token, "[token]")
    print(f"error: {message}", file=sys.stderr)
    return 1


def _describe(exc: BaseException, token: str) -> str:
    text = str(exc).replace(token, "[token]") if token else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _login(client: DiscordBot, token: str) -> int:
    """Log in; 0, or the exit code after printing one line."""
    try:
        await client.login(token)
    except discord.LoginFailure:
        return _fail("Discord rejected DISCORD_TOKEN (invalid or revoked token); check the bot token.")
    except discord.HTTPException as exc:
        return _fail(f"could not log in to Discord ({_describe(exc, token)})", token)
    except (TimeoutError, OSError) as exc:
        return _fail(f"cannot reach Discord ({_describe(exc, token)})", token)
    except Exception as exc:  # e.g. a malformed token rejected by the HTTP library
        return _fail(f"could not log in to Discord ({type(exc).__name__})", token)
    return 0


async def run_discord(core: BotCore, settings: Settings, *, stop_event: asyncio.Event | None = None) -> int:
    """Run the Discord bot until SIGTERM/SIGINT, or until ``stop_event`` is set; the exit code.

    Without ``stop_event`` it installs its own SIGTERM/SIGINT handlers. A caller running several adapters
    in one loop should pass one shared event instead (and handle the signals itself): a loop has a
    single handler per signal, so adapters installing their own would replace each other's."""
    token = settings.discord_token
    if not token:
        return _fail("DISCORD_TOKEN is not set; see docs/discord.md.")
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT) if stop_event is None else ():
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            pass
    client = DiscordBot(core, settings)
    try:
        async with client:
            code = await _login(client, token)
            if code:
                return code
            runner = asyncio.ensure_future(client.connect())
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
            if runner.done():
                exc = runner.exception()
                if isinstance(exc, discord.PrivilegedIntentsRequired):
                    return _fail(
                        "Discord refused the message-content intent: enable it for the bot in the Developer "
                        "Portal (Bot → Privileged Gateway Intents), or empty discord.ask_channels."
                    )
                if isinstance(exc, discord.LoginFailure):
                    return _fail("Discord rejected DISCORD_TOKEN (invalid or revoked token).")
                if exc is not None:
                    return _fail(f"the Discord connection failed ({_describe(exc, token)})", token)
                return 0
            log.warning("Discord: shutting down")
            await client.close()
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
            return 0
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def sync_commands(core: BotCore, settings: Settings) -> int:
    """Log in, register the slash commands (guild when DISCORD_GUILD_ID is set, else global), exit."""
    token = settings.discord_token
    if not token:
        return _fail("DISCORD_TOKEN is not set; see docs/discord.md.")
    client = DiscordBot(core, settings, sync_on_start=False)
    guild_id = settings.discord.guild_id
    async with client:
        code = await _login(client, token)
        if code:
            return code
        try:
            synced = await sync_tree(client.tree, guild_id)
        except discord.Forbidden:
            where = f"server {guild_id}" if guild_id else "this application"
            return _fail(
                f"Discord refused to register commands for {where}: is the bot in that server, invited "
                "with the `bot applications.commands` scopes?"
            )
        except discord.HTTPException as exc:
            return _fail(f"command sync failed ({_describe(exc, token)})", token)
    if guild_id:
        print(f"synced {len(synced)} command(s) to server {guild_id} (available now)")
    else:
        print(f"synced {len(synced)} command(s) globally (Discord may take a while to show them everywhere)")
    return 0
