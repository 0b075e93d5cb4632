"""The bot core: platform-neutral requests in, platform-neutral replies out.

Adapters (console, Discord, Telegram) turn their events into a :class:`Request`, await
:meth:`BotCore.handle` and render the :class:`Reply` their own way. The core never imports an adapter.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cache import CACHE_DIR_NAME
from .config import Settings
from .content import Content, ContentError, load_content
from .search import Engine, Hit, SearchResult
from .store import Store
from .text import CJK_RE, normalize
from .yamlio import Problem

log = logging.getLogger(__name__)

COMMANDS = ("ask", "quote", "faq", "episodes", "help")
_REF_RE = re.compile(r"^\s*(?:([a-z0-9][a-z0-9\-]*)\s*[:#]\s*)?(\d{1,6})\s*$", re.IGNORECASE)
_EP_FILTER_RE = re.compile(r"(?:^|\s)ep:([a-z0-9][a-z0-9\-]*)(?=\s|$)", re.IGNORECASE)


@dataclass
class Request:
    """What any platform asks of the core."""

    text: str
    command: str = "ask"
    user_id: str = ""
    chat_id: str = ""
    platform: str = "console"
    private: bool = True


@dataclass
class Quote:
    episode_id: str
    line: int
    text: str
    score: float
    show: str = ""
    title: str = ""
    link: str = ""

    @property
    def citation(self) -> str:
        return f"{self.show}《{self.title}》第 {self.line} 行 ({self.episode_id}:{self.line})"


@dataclass
class Suggestion:
    """A follow-up the user can pick (a button on Discord and Telegram): runs ``command argument``."""

    label: str
    command: str
    argument: str


@dataclass
class Reply:
    kind: str  # answer | suggest | not_found | list | help | error
    text: str = ""  # the main message: FAQ answer, intro, or what went wrong
    quotes: list[Quote] = field(default_factory=list)  # first is the answer's quote; the rest "see also"
    suggestions: list[Suggestion] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # list replies (FAQ topics, episodes)
    footer: str = ""
    faq_id: str | None = None
    source: str = "none"  # faq | transcript | none
    hits: list[Hit] = field(default_factory=list)
    lang: str = "zh"

    @property
    def answered(self) -> bool:
        return self.kind == "answer"


def _lang(text: str) -> str:
    return "zh" if CJK_RE.search(normalize(text)) or not re.search(r"[A-Za-z]", text) else "en"


_MSG = {
    "zh": {
        "intro_transcript": "节目里是这么说的：",
        "suggest": "没找到确切的答案。你是不是想问：",
        "not_found": "抱歉，节目里好像没有聊到这个。可以换个说法，或者用 /faq 看看常见问题。",
        "empty": "请在命令后面写上你的问题，例如：/ask Sora 的参数量大概多大？",
        "see_also": "另见",
        "same_episode": "同一期第 {line} 行 ({ep}:{line})",
        "no_line": "找不到 {ref}：{detail}",
        "faq_topics": "常见问题（用 /faq 编号或关键词查看）：",
        "faq_none": "没有找到相关的常见问题。",
        "episodes": "节目列表：",
        "quote_none": "没有找到包含这些词的片段。",
        "error": "抱歉，处理这条消息时出了点问题，请稍后再试。",
        "page": "第 {page}/{pages} 页，用 /episodes {next} 看下一页",
    },
    "en": {
        "intro_transcript": "Here is what the episode says:",
        "suggest": "I'm not sure I found it. Did you mean:",
        "not_found": "Sorry, the episodes don't seem to cover that. Try other words, or /faq for common questions.",
        "empty": "Please add your question after the command, e.g. /ask How big is the Sora model?",
        "see_also": "See also",
        "same_episode": "same episode, line {line} ({ep}:{line})",
        "no_line": "Can't find {ref}: {detail}",
        "faq_topics": "Common questions (use /faq NUMBER or a keyword):",
        "faq_none": "No matching FAQ entry.",
        "episodes": "Episodes:",
        "quote_none": "No quote contains those words.",
        "error": "Sorry, something went wrong with that message. Please try again later.",
        "page": "Page {page}/{pages}; /episodes {next} for the next page",
    },
}

HELP = {
    "zh": (
        "我会用节目原话回答关于节目的问题，并注明出处。\n"
        "• /ask 问题 —— 例如：/ask Sora 的参数量大概多大？（私聊或 @我 时直接发问题也行）\n"
        "• /quote 关键词 | 节目:行号 | 留空随机 —— 找一段原话\n"
        "• /faq [编号或关键词] —— 常见问题\n"
        "• /episodes —— 节目列表\n"
        "在问题里加 ep:节目编号 只搜这一期。"
    ),
    "en": (
        "I answer questions about the show by quoting the episodes, with the line I quote.\n"
        "• /ask QUESTION — e.g. /ask how big is the Sora model? (in private chat or with a mention, just ask)\n"
        "• /quote WORDS | EPISODE:LINE | nothing for a random quote\n"
        "• /faq [NUMBER or WORDS] — common questions\n"
        "• /episodes — the list of episodes\n"
        "Add ep:EPISODE-ID to a question to search one episode only."
    ),
}


def _freeze_heap() -> None:
    """Move the index's millions of long-lived objects out of the garbage collector's sight: otherwise an
    occasional full collection walks them all and one unlucky question waits hundreds of milliseconds."""
    gc.collect()
    gc.freeze()


def make_engine(content: Content, settings: Settings) -> Engine:
    """The engine for ``content``, from the on-disk index cache when it is current."""
    cache_dir = Path(content.root) / CACHE_DIR_NAME if settings.index_cache else None
    return Engine(content, settings.match, tuple(settings.bot_names), cache_dir=cache_dir)


class BotCore:
    """Holds the content and the engine; swaps both atomically on reload."""

    def __init__(
        self, settings: Settings, content: Content, engine: Engine | None = None, store: Store | None = None
    ):
        self.settings = settings
        self.content = content
        self.store = store  # where unanswered chat questions are recorded (None: nowhere)
        self.engine = engine or make_engine(content, settings)
        self.rng = random.Random()
        _freeze_heap()

    @classmethod
    def from_settings(cls, settings: Settings) -> BotCore:
        content, problems = load_content(settings.content_path)
        if problems:
            raise ContentError(problems)
        return cls(settings, content)

    # --- reload -----------------------------------------------------------------------------------------

    async def reload(self) -> list[Problem]:
        """Re-read content. On any problem the old content keeps serving and the problems are returned."""
        content, problems = await asyncio.to_thread(load_content, self.settings.content_path)
        if problems:
            log.warning("reload refused: %d problem(s) in content", len(problems))
            return problems
        engine = await asyncio.to_thread(make_engine, content, self.settings)
        self.content, self.engine = content, engine
        _freeze_heap()
        log.info("content reloaded: %d episodes, %d FAQ entries", len(content.episodes), len(content.faq))
        return []

    # --- dispatch ---------------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Reply:
        """Answer one request. Never raises: a failure becomes a polite error reply."""
        lang = _lang(request.text)
        try:
            command = request.command if request.command in COMMANDS else "ask"
            text = (request.text or "")[:4000]
            if command == "ask":
                reply = self.ask(text)
                if self.store is not None and reply.kind in ("suggest", "not_found"):
                    conf = reply.hits[0].score if reply.hits else 0.0
                    self.store.record_unanswered(request.platform, request.chat_id, text, reply.kind, conf)
                return reply
            if command == "quote":
                return self.quote(text)
            if command == "faq":
                return self.faq(text)
            if command == "episodes":
                return self.episodes(text)
            return self.help(lang)
        except Exception:  # the one place that turns a bug into a polite reply
            log.exception("failed to handle %r", request.text[:200] if request.text else request.text)
            return Reply("error", _MSG[lang]["error"], lang=lang)

    def help(self, lang: str = "zh") -> Reply:
        return Reply("help", HELP[lang], lang=lang)

    # --- ask --------------------------------------------------------------------------------------------

    def _episode_filter(self, text: str) -> tuple[str, str | None, str | None]:
        """Pull ``ep:<id>`` out of a question. Returns (text, episode, error)."""
        m = _EP_FILTER_RE.search(text)
        if not m:
            return text, None, None
        ep = m.group(1).lower()
        text = (text[: m.start()] + " " + text[m.end() :]).strip()
        if ep not in self.content.episodes:
            known = ", ".join(list(self.content.episodes)[:10])
            return text, None, f"unknown episode {ep!r} (known: {known})"
        return text, ep, None

    def search(self, question: str) -> tuple[SearchResult, str | None]:
        text, episode, error = self._episode_filter(question)
        if error:
            return SearchResult(question), error
        return self.engine.search(text, episode=episode), None

    def ask(self, question: str) -> Reply:
        lang = _lang(question)
        msg = _MSG[lang]
        if not normalize(question):
            return Reply("help", msg["empty"], lang=lang)
        result, error = self.search(question)
        if error:
            return Reply("error", error, lang=lang)
        st = self.settings.match
        hits = result.hits
        conf = result.confidence
        if conf >= st.answer_threshold:
            top = hits[0]
            quotes = [self._quote(top)]
            for h in hits[1:]:
                if len(quotes) > st.see_also or h.score < st.see_also_min:
                    break
                if (h.episode_id, h.line) != (top.episode_id, top.line):
                    quotes.append(self._quote(h))
            if top.source == "faq":
                entry = self.content.faq_by_id(top.faq_id or "")
                text = entry.answer if entry else ""
                return Reply("answer", text, quotes, faq_id=top.faq_id, source="faq", hits=hits, lang=lang)
            return Reply("answer", msg["intro_transcript"], quotes, source="transcript", hits=hits, lang=lang)
        if conf >= st.suggest_threshold:
            return Reply(
                "suggest", msg["suggest"], suggestions=self._suggestions(result), hits=hits, lang=lang
            )
        return Reply("not_found", msg["not_found"], hits=hits, lang=lang)

    def _suggestions(self, result: SearchResult, limit: int = 3) -> list[Suggestion]:
        st = self.settings.match
        out: list[Suggestion] = []
        seen_lines = set()
        for fm in result.faq:
            if fm.score < st.suggest_threshold or len(out) >= limit:
                break
            out.append(Suggestion(fm.entry.questions[0], "faq", fm.entry.id))
            seen_lines.update((c.episode_id, n) for c in fm.entry.citations for n in c.lines[:1])
        for h in result.hits:
            if len(out) >= limit or h.score < st.suggest_threshold:
                break
            if (h.episode_id, h.line) in seen_lines:
                continue
            seen_lines.add((h.episode_id, h.line))
            label = self.engine.excerpt(h.episode_id, h.line, h.sentence, 60)
            out.append(Suggestion(label, "quote", f"{h.episode_id}:{h.line}"))
        return out

    def _quote(self, hit: Hit, max_chars: int | None = None) -> Quote:
        ep = self.content.episodes[hit.episode_id]
        text = self.engine.excerpt(
            hit.episode_id, hit.line, hit.sentence, max_chars or self.settings.match.excerpt_chars
        )
        return Quote(hit.episode_id, hit.line, text, round(hit.score, 4), ep.show, ep.title, ep.link)

    # --- quote ------------------------------------------------------------------------------------------

    def quote(self, query: str) -> Reply:
        lang = _lang(query)
        msg = _MSG[lang]
        query = query.strip()
        if not query:
            ep, line = self.engine.random_line(self.rng)
            return Reply("answer", "", [self._quote(Hit(ep, line, 1.0))], source="transcript", lang=lang)
        m = _REF_RE.match(query)
        if m:
            ep = (m.group(1) or "").lower()
            line = int(m.group(2))
            if not ep:
                if len(self.content.episodes) != 1:
                    return Reply("error", msg["no_line"].format(ref=query, detail="episode:line"), lang=lang)
                ep = next(iter(self.content.episodes))
            if ep not in self.content.episodes:
                return Reply(
                    "error", msg["no_line"].format(ref=query, detail=f"unknown episode {ep!r}"), lang=lang
                )
            count = len(self.content.segments[ep])
            if not 1 <= line <= count:
                detail = f"{ep} has lines 1–{count}"
                return Reply("error", msg["no_line"].format(ref=query, detail=detail), lang=lang)
            if not self.content.segments[ep][line - 1].raw.strip():
                return Reply("error", msg["no_line"].format(ref=query, detail="empty line"), lang=lang)
            hit = Hit(ep, line, 1.0)
            quote = self._quote(hit, max_chars=self.settings.max_reply_chars - 200)
            return Reply("answer", "", [quote], source="transcript", hits=[hit], lang=lang)
        text, episode, error = self._episode_filter(query)
        if error:
            return Reply("error", error, lang=lang)
        hits = self.engine.quote_lookup(text, episode=episode)
        if not hits or hits[0].score < self.settings.match.suggest_threshold:
            return Reply("not_found", msg["quote_none"], hits=hits, lang=lang)
        quotes = [self._quote(hits[0])]
        quotes += [
            self._quote(h)
            for h in hits[1 : 1 + self.settings.match.see_also]
            if h.score >= hits[0].score * 0.8
        ]
        return Reply("answer", "", quotes, source="transcript", hits=hits, lang=lang)

    # --- faq and episodes -------------------------------------------------------------------------------

    def faq(self, topic: str) -> Reply:
        lang = _lang(topic)
        msg = _MSG[lang]
        topic = topic.strip()
        entries = self.content.faq
        if not topic:
            items = [f"{i}. {e.questions[0]}" for i, e in enumerate(entries, 1)]
            return Reply("list", msg["faq_topics"], items=items, lang=lang)
        entry = None
        if topic.isdigit() and 1 <= int(topic) <= len(entries):
            entry = entries[int(topic) - 1]
        entry = entry or self.content.faq_by_id(topic.lower())
        if entry is None:
            result = self.engine.search(topic)
            st = self.settings.match
            if result.faq and result.faq[0].score >= st.suggest_threshold:
                best = result.faq[0]
                if best.score >= st.answer_threshold:
                    entry = best.entry
                else:
                    sugg = [Suggestion(f.entry.questions[0], "faq", f.entry.id) for f in result.faq[:3]]
                    return Reply("suggest", msg["suggest"], suggestions=sugg, lang=lang)
        if entry is None:
            return Reply("not_found", msg["faq_none"], lang=lang)
        quotes = []
        for c in entry.citations:
            for n in c.lines[:1]:
                quotes.append(
                    self._quote(Hit(c.episode_id, n, 1.0, self._keyword_sentence(entry, c.episode_id, n)))
                )
        return Reply("answer", entry.answer, quotes[:3], faq_id=entry.id, source="faq", lang=lang)

    def _keyword_sentence(self, entry, ep: str, line: int) -> int:
        keys = [normalize(k).replace(" ", "") for k in entry.keywords]
        for i, s in enumerate(self.engine.sentences(ep, line)):
            if any(k and k in s.norm.replace(" ", "") for k in keys):
                return i
        return 0

    def episodes(self, arg: str = "", per_page: int = 10) -> Reply:
        lang = _lang(arg) if arg.strip() else "zh"
        msg = _MSG[lang]
        eps = list(self.content.episodes.values())
        pages = max(1, -(-len(eps) // per_page))
        page = int(arg) if arg.strip().isdigit() else 1
        page = min(max(page, 1), pages)
        chunk = eps[(page - 1) * per_page : page * per_page]
        items = []
        for ep in chunk:
            date = "" if ep.date == "unknown" else f" · {ep.date}"
            guests = f" · {'、'.join(ep.guests)}" if ep.guests else ""
            items.append(
                f"{ep.id}: {ep.show}《{ep.title}》{date}{guests} · {len(self.content.segments[ep.id])} lines"
            )
        footer = msg["page"].format(page=page, pages=pages, next=page + 1) if page < pages else ""
        return Reply("list", msg["episodes"], items=items, footer=footer, lang=lang)


# --- plain-text rendering (console, JSON "reply") --------------------------------------------------------


def render_text(reply: Reply, limit: int = 1900) -> str:
    """The reply as plain text, at most ``limit`` characters (see-also quotes go first, then cut)."""
    for quotes in range(len(reply.quotes), 0, -1):
        text = _render(reply, quotes)
        if len(text) <= limit:
            return text
    text = _render(reply, 1 if reply.quotes else 0)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(reply: Reply, n_quotes: int) -> str:
    parts: list[str] = []
    if reply.text:
        parts.append(reply.text)
    msg = _MSG[reply.lang]
    for i, q in enumerate(reply.quotes[:n_quotes]):
        if i == 1:
            parts.append(f"{msg['see_also']}:")
        same_episode = i > 0 and q.episode_id == reply.quotes[0].episode_id
        cite = msg["same_episode"].format(line=q.line, ep=q.episode_id) if same_episode else q.citation
        parts.append(f"「{q.text}」\n—— {cite}")
    for i, s in enumerate(reply.suggestions, 1):
        parts.append(f"  {i}. {s.label}  (/{s.command} {s.argument})")
    parts.extend(reply.items)
    if reply.footer:
        parts.append(reply.footer)
    return "\n".join(parts)


class Cooldown:
    """Per-key cooldown (a user, or a user in a chat): adapters use it for questions."""

    def __init__(self, seconds: float, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._last: dict[str, float] = {}

    def retry_after(self, key: str) -> float:
        """0 when ``key`` may go ahead now (and records it); otherwise the seconds left to wait."""
        if self.seconds <= 0:
            return 0.0
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        self._last[key] = now
        if len(self._last) > 10000:
            cutoff = now - self.seconds
            self._last = {k: t for k, t in self._last.items() if t >= cutoff}
        return 0.0
