"""Telegram rendering (pure functions): escaping, blockquotes, splitting within the limits, keyboards."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.adapters.telegram_bot import (
    MAX_CALLBACK_BYTES,
    MAX_MESSAGES_PER_REPLY,
    TELEGRAM_MAX_CHARS,
    CallbackStore,
    command_argument,
    keyboard_for,
    render_problems,
    render_reply,
    utf16_len,
)
from bot.core import Quote, Reply, Suggestion
from bot.yamlio import Problem

ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"}
_BAD_AMP = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")


class _TelegramHTML(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        if tag == "a" and not (len(attrs) == 1 and attrs[0][0] == "href" and attrs[0][1].startswith("http")):
            self.problems.append(f"link {attrs}")
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data):
        self.text.append(data)


def visible(html_text: str) -> str:
    """Check ``html_text`` is HTML Telegram accepts; return the text after entity parsing."""
    assert not _BAD_AMP.search(html_text), "an unescaped &"
    parser = _TelegramHTML()
    parser.feed(html_text)
    parser.close()
    assert not parser.problems, parser.problems
    assert not parser.stack, f"unclosed {parser.stack}"
    return "".join(parser.text)


def assert_within_limits(messages, limit):
    for m in messages:
        assert len(m.html) <= TELEGRAM_MAX_CHARS
        shown = visible(m.html)
        assert utf16_len(shown) <= min(limit, TELEGRAM_MAX_CHARS)
        assert shown == m.plain  # the plain-text fallback says exactly what the HTML shows


HOSTILE = '<b>bold</b> & <script>alert("x")</script> &amp; </blockquote> <a href="javascript:1">'


def hostile_reply() -> Reply:
    quote = Quote(
        "ep-1", 3, HOSTILE, 0.9, show="<i>Show</i>", title="A & B", link='https://example.com/?a=1&b="2"'
    )
    return Reply(
        "answer",
        HOSTILE,
        quotes=[
            quote,
            Quote("ep-1", 4, "second & <u>", 0.5, show="S", title="T", link="javascript:alert(1)"),
        ],
        suggestions=[Suggestion("<tg-spoiler>x</tg-spoiler>", "faq", "id")],
        items=["1. <pre>item</pre> &"],
        footer="</i> & more",
        lang="zh",
    )


def test_telegram_every_dynamic_string_is_escaped():
    rendered = render_reply(hostile_reply(), 1900, CallbackStore())
    assert len(rendered.messages) == 1
    html_text = rendered.messages[0].html
    shown = visible(html_text)
    assert HOSTILE in shown  # shown literally, not interpreted
    assert "<i>Show</i>" in shown and "A & B" in shown and "second & <u>" in shown
    assert "<tg-spoiler>x</tg-spoiler>" in shown and "1. <pre>item</pre> &" in shown
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text


def test_telegram_quotes_are_blockquotes_and_only_http_links_are_kept():
    html_text = render_reply(hostile_reply(), 1900).messages[0].html
    assert html_text.count("<blockquote>") == 2 == html_text.count("</blockquote>")
    assert '<a href="https://example.com/?a=1&amp;b=&quot;2&quot;">' in html_text
    assert "javascript:" not in html_text.replace("javascript:1", "")  # only inside escaped quote text
    assert html_text.count("<a href") == 1


def test_telegram_long_quote_is_split_on_lines_and_blockquote_reopened():
    text = "\n".join(f"第 {i} 句 & <这句话> 很长很长很长。" * 6 for i in range(60))
    reply = Reply("answer", "节目里是这么说的：", [Quote("ep", 1, text, 1.0, "S", "T")], lang="zh")
    messages = render_reply(reply, 1900).messages
    assert 2 <= len(messages) <= MAX_MESSAGES_PER_REPLY
    assert_within_limits(messages, 1900)
    assert messages[0].html.startswith("节目里是这么说的：\n<blockquote>")
    for m in messages[:-1]:
        assert m.html.endswith("</blockquote>")  # closed where the message ends...
    for m in messages[1:]:
        assert m.html.startswith("<blockquote>")  # ...and reopened in the next
    joined = "\n".join(m.plain for m in messages)
    for line in text.split("\n"):
        assert line in joined  # no line was cut: the split is between lines


def test_telegram_a_single_huge_line_is_cut_outside_entities():
    text = "&<>" * 3000  # every character escapes to 4-5 characters
    reply = Reply("answer", text, lang="zh")
    messages = render_reply(reply, 4000).messages
    assert len(messages) >= 2
    assert_within_limits(messages, 4000)
    assert "".join(m.plain for m in messages).startswith(text[:3000])


def test_telegram_limit_counts_utf16_units():
    text = "😀" * 3000  # 6000 UTF-16 units
    messages = render_reply(Reply("answer", text, lang="zh"), 4096).messages
    assert len(messages) == 2
    assert_within_limits(messages, 4096)
    assert "".join(m.plain for m in messages) == text


def test_telegram_list_items_are_never_split():
    items = [f"{i}. 问题 <{i}> & 答案" + "很长" * (i % 40) for i in range(200)]
    reply = Reply("list", "常见问题：", items=items, lang="zh")
    messages = render_reply(reply, 1900).messages
    assert_within_limits(messages, 1900)
    lines = [line for m in messages for line in m.plain.split("\n")]
    shown_items = [line for line in lines if line in items]
    assert shown_items == items[: len(shown_items)]
    assert messages[0].html.startswith("<b>常见问题：</b>")


def test_telegram_too_long_reply_is_capped_with_a_note():
    items = ["x" * 1000 for _ in range(40)]
    messages = render_reply(Reply("list", "t", items=items, lang="en"), 1900).messages
    assert len(messages) == MAX_MESSAGES_PER_REPLY
    assert_within_limits(messages, 1900)
    assert messages[-1].plain.endswith("(too long; the rest was left out)")


def test_telegram_callback_store_fits_64_bytes_and_round_trips():
    store = CallbackStore(size=2)
    short = store.encode("quote", "sora-discussion:57")
    assert short == "quote:sora-discussion:57"
    assert store.decode(short) == ("quote", "sora-discussion:57")
    long_arg = "很长的常见问题编号" * 5
    key = store.encode("faq", long_arg)
    assert len(key.encode()) <= MAX_CALLBACK_BYTES
    assert store.decode(key) == ("faq", long_arg)
    assert store.decode("rm:-rf") is None  # unknown command
    assert store.decode("#999") is None  # expired or forged key
    store.encode("faq", long_arg + "1")
    store.encode("faq", long_arg + "2")
    assert store.decode(key) is None  # bounded: the oldest key is gone


def test_telegram_keyboard_buttons_run_the_suggestion():
    reply = Reply(
        "suggest",
        "你是不是想问：",
        suggestions=[
            Suggestion("Sora 的参数量" * 10, "faq", "sora-params"),
            Suggestion("q", "quote", "ep:1"),
        ],
    )
    store = CallbackStore()
    markup = keyboard_for(reply, store)
    buttons = [row[0] for row in markup.inline_keyboard]
    assert [store.decode(b.callback_data) for b in buttons] == [("faq", "sora-params"), ("quote", "ep:1")]
    assert all(len(b.callback_data.encode()) <= MAX_CALLBACK_BYTES for b in buttons)
    assert buttons[0].text.startswith("1. ") and len(buttons[0].text) <= 45
    assert keyboard_for(Reply("answer", "x"), store) is None


def test_telegram_reload_problems_render_as_file_line_list():
    problems = [Problem("content/faq.yaml", 3, "bad <key> & such")] + [
        Problem("content/x.yaml", i, "oops") for i in range(40)
    ]
    reply = render_problems(problems, "en")
    messages = render_reply(reply, 1900).messages
    shown = "\n".join(m.plain for m in messages)
    assert "content/faq.yaml:3: bad <key> & such" in shown
    assert "... and 11 more" in shown
    assert_within_limits(messages, 1900)


def test_telegram_command_argument_keeps_the_question():
    assert command_argument("/ask@quote_bot  Sora 的参数量\n大概多大？") == "Sora 的参数量\n大概多大？"
    assert command_argument("/quote") == ""
    assert command_argument("/faq 3") == "3"


def test_telegram_real_answer_renders_quote_and_citation(core):
    reply = core.ask("大力出奇迹")
    assert reply.answered
    messages = render_reply(reply, core.settings.max_reply_chars).messages
    assert "<blockquote>" in messages[0].html
    q = reply.quotes[0]
    assert f"({q.episode_id}:{q.line})" in visible(messages[0].html)
    assert_within_limits(messages, core.settings.max_reply_chars)
