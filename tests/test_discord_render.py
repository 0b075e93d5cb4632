"""Discord rendering: Reply → embeds/content, escaping, and Discord's limits (pure functions, no mocks)."""

from __future__ import annotations

import re

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord_bot import (
    AUTOCOMPLETE_MAX_CHOICES,
    BUTTON_LABEL_LIMIT,
    CHOICE_NAME_LIMIT,
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    MAX_SUGGESTIONS,
    block_quote,
    escape,
    faq_choices,
    fit,
    format_problems,
    parse_message_text,
    render_plain,
    render_reply,
)
from bot.core import Quote, Reply, Suggestion
from bot.yamlio import Problem

HOSTILE = "@everyone @here <@&123> <@456> <#789> **bold** __u__ `code` ||spoiler|| [x](https://evil.example) # h\n> q\\"
RAW_PINGS = re.compile(r"@(everyone|here)|<@[!&]?\d|<#\d")


def assert_embed_within_limits(embed: discord.Embed) -> None:
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert len(embed.title or "") <= EMBED_TITLE_LIMIT
    assert len(embed.description or "") <= EMBED_DESCRIPTION_LIMIT
    assert len(embed.footer.text or "") <= EMBED_FOOTER_LIMIT
    for f in embed.fields:
        assert len(f.name) <= EMBED_FIELD_NAME_LIMIT
        assert len(f.value) <= EMBED_FIELD_VALUE_LIMIT


def ends_mid_escape(text: str) -> bool:
    """True when the text ends in an unpaired backslash (it would escape whatever follows)."""
    body = text.removesuffix("…")
    return (len(body) - len(body.rstrip("\\"))) % 2 == 1


def hostile_quote(i: int, n: int = 5000) -> Quote:
    return Quote(
        "ep-x", i, (HOSTILE * (n // len(HOSTILE) + 1))[:n], 0.9, show=HOSTILE, title="*t*" * 200, link=""
    )


def test_discord_escape_defuses_mentions_and_markdown():
    out = escape(HOSTILE)
    assert not RAW_PINGS.search(out)
    assert "\\*\\*bold\\*\\*" in out and "\\`code\\`" in out and "\\|\\|spoiler" in out
    assert "\\[x](https://evil.example)" in out  # masked link shown as text
    assert escape("# 标题") == "\\# 标题"  # no heading
    assert escape("-# small") == "\\-# small"


def test_discord_block_quote_quotes_every_line_and_escapes():
    out = block_quote("第一行 **x**\n\n> 第二行 @everyone")
    lines = out.split("\n")
    assert lines == ["> 第一行 \\*\\*x\\*\\*", "> \\> 第二行 @\u200beveryone"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab *_`|~>\\#-[]()@<&1\n大力", max_size=400), st.integers(min_value=5, max_value=300))
def test_discord_fit_stays_within_limit_and_never_cuts_mid_escape(raw, limit):
    out = fit(raw, limit)
    assert len(out) <= limit
    assert not ends_mid_escape(out)
    out = fit(raw, limit, block_quote)
    assert len(out) <= limit
    assert not ends_mid_escape(out)


def test_discord_fit_cuts_cleanly_at_punctuation():
    raw = "第一句话说完了。" + "第二句很长" * 50
    out = fit(raw, 40)
    assert len(out) <= 40 and out.endswith("…")
    assert fit("short", 40) == "short"
    assert fit("好" * 100 + "。" + "好" * 10, 105).endswith("。…")


def test_discord_answer_embed_has_block_quote_and_citation_footer(core):
    reply = core.ask("大力出奇迹")
    assert reply.answered
    out = render_reply(reply)
    assert not out.ephemeral and out.content is None
    embed = out.embed
    assert "> " in embed.description
    assert embed.footer.text == reply.quotes[0].citation
    assert_embed_within_limits(embed)


def test_discord_answer_embed_links_the_episode_when_it_has_a_link():
    q = Quote("ep", 3, "说的话", 1.0, show="节目", title="一期", link="https://example.com/ep")
    embed = render_reply(Reply("answer", "答案", [q], source="faq")).embed
    assert embed.url == "https://example.com/ep" and "一期" in embed.title
    assert embed.description.startswith("答案") and "> 说的话" in embed.description
    assert render_reply(Reply("answer", "", [Quote("ep", 3, "x", 1.0, link="")])).embed.url is None


def test_discord_not_found_is_a_short_ephemeral_message(core):
    reply = core.ask("今晚有人一起开黑吗")
    assert reply.kind == "not_found"
    out = render_reply(reply)
    assert out.ephemeral and out.embed is None and 0 < len(out.content) <= CONTENT_LIMIT
    # Replies to messages cannot be ephemeral.
    assert not render_reply(reply, interaction=False).ephemeral


def test_discord_hostile_answer_is_escaped_and_within_every_limit():
    reply = Reply("answer", HOSTILE * 100, [hostile_quote(i) for i in range(1, 6)], lang="en")
    embed = render_reply(reply).embed
    assert_embed_within_limits(embed)
    for text in [embed.description, *(f.value for f in embed.fields), *(f.name for f in embed.fields)]:
        assert not RAW_PINGS.search(text)
        assert not ends_mid_escape(text)
    assert embed.description.count("> ") >= 1  # the quote survived the trimming


def test_discord_long_lists_keep_whole_lines_and_say_how_many_more():
    items = [f"{i}. 问题 **{i}** @everyone " + "长" * 40 for i in range(1, 501)]
    embed = render_reply(Reply("list", "常见问题：", items=items, footer="第 1/9 页")).embed
    assert_embed_within_limits(embed)
    lines = embed.description.split("\n")
    assert "还有" in lines[-1]
    assert all(line.endswith("长") for line in lines[:-1])  # no line was cut
    assert not RAW_PINGS.search(embed.description)


def test_discord_suggestions_render_numbered_and_fit_buttons():
    sugg = [Suggestion("建议 " + "很长" * 100, "faq", f"id-{i}") for i in range(15)]
    out = render_reply(Reply("suggest", "你是不是想问：", suggestions=sugg))
    assert out.ephemeral and len(out.suggestions) == MAX_SUGGESTIONS
    assert_embed_within_limits(out.embed)
    assert "1. 建议" in out.embed.description


def test_discord_help_is_an_ephemeral_embed(core):
    out = render_reply(core.help("en"))
    assert out.ephemeral and "/ask" in out.embed.description


def test_discord_plain_text_fallback_is_escaped_and_within_limit():
    reply = Reply("answer", HOSTILE * 50, [hostile_quote(1, 3000)])
    text = render_plain(reply)
    assert len(text) <= CONTENT_LIMIT and not RAW_PINGS.search(text)


def test_discord_reload_problems_are_whole_lines_within_limit():
    problems = [Problem(f"faq_{i}.yaml", i, "bad *value* " + "x" * 80) for i in range(1, 300)]
    text = format_problems(problems)
    assert len(text) <= CONTENT_LIMIT
    lines = text.split("\n")
    assert re.search(r"faq\\_1\.yaml:1: bad", lines[1])
    assert "more" in lines[-1]
    assert format_problems(problems[:2]).count("\n") == 2


def test_discord_faq_autocomplete_caps_at_25_and_filters(core):
    entries = core.content.faq
    everything = faq_choices(entries, "")
    assert len(everything) == min(AUTOCOMPLETE_MAX_CHOICES, len(entries))
    typed = faq_choices(entries, "Sora")
    assert 0 < len(typed) <= AUTOCOMPLETE_MAX_CHOICES
    assert all(0 < len(c.name) <= CHOICE_NAME_LIMIT for c in typed)
    ids = {e.id for e in entries}
    assert all(c.value in ids for c in typed)
    assert "sora" in typed[0].name.lower()
    assert faq_choices(entries, "zzzzqqqq完全无关的字") == []


def test_discord_typed_commands_in_messages():
    assert parse_message_text("/quote 大力出奇迹") == ("quote", "大力出奇迹")
    assert parse_message_text("/faq") == ("faq", "")
    assert parse_message_text("/unknown x") == ("ask", "/unknown x")
    assert parse_message_text(" 谁说的大力出奇迹 ") == ("ask", "谁说的大力出奇迹")


def test_discord_button_labels_are_trimmed():
    # Labels are checked where the view is built (see the adapter tests); fit keeps them within 80.
    assert len(fit("标签" * 100, BUTTON_LABEL_LIMIT, str)) <= BUTTON_LABEL_LIMIT
