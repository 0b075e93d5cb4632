"""Whatever a chat sends, `ask` answers politely within the length limit and never raises."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import Request, render_text

HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "\x00\x01\x02",
        "🤔🤔🤔",
        "@everyone",
        "<@&123> <@!456> <#789>",
        "<b>bold</b> & <script>alert(1)</script>",
        "**__~~`||markdown||`~~__**",
        "ep:",
        "ep:nope Sora",
        "/quote",
        "\u202e\u200b\ufeff",
        "Ｓｏｒａ" * 300,
        "大" * 5000,
    ]
)
TEXT = st.one_of(
    HOSTILE, st.text(max_size=300), st.text(alphabet=st.characters(codec="utf-8"), max_size=3000)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT, command=st.sampled_from(["ask", "quote", "faq", "episodes", "help"]))
def test_any_input_gets_a_reply_within_limits(core, text, command):
    reply = asyncio.run(core.handle(Request(text, command=command)))
    assert reply.kind in {"answer", "suggest", "not_found", "list", "help", "error"}
    assert len(render_text(reply, 1900)) <= 1900


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_ask_never_raises(core, text):
    reply = core.ask(text)
    assert len(render_text(reply, 1900)) <= 1900
