"""Discord handlers with mocks whose spec comes from real discord.py classes (no live Discord).

``spec_set`` makes a test fail when the adapter touches an attribute discord.py does not have, and async
methods of the spec become ``AsyncMock`` so their calls can be inspected. The core is the real one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import time
from pathlib import Path
from unittest.mock import MagicMock

import discord
import pytest

from bot.adapters.discord_bot import (
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    NO_MENTIONS,
    DiscordAdapter,
    DiscordBot,
    SuggestionView,
    faq_choices,
    make_intents,
    render_reply,
)
from bot.core import BotCore, Reply, Suggestion

BOT_ID = 999_000_000_000_000_001
GUILD_ID = 111_000_000_000_000_001
CHANNEL_ID = 222_000_000_000_000_001
ASK_CHANNEL_ID = 333_000_000_000_000_001
RAW_PINGS = re.compile(r"@(everyone|here)|<@[!&]?\d|<#\d")


# --- mocks ----------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_role(name: str, role_id: int) -> MagicMock:
    role = MagicMock(spec_set=discord.Role)
    role.name, role.id = name, role_id
    return role


def make_member(user_id: int = 42, roles=(), bot: bool = False) -> MagicMock:
    member = MagicMock(spec_set=discord.Member)
    member.id, member.bot, member.roles = user_id, bot, list(roles)
    member.mention = f"<@{user_id}>"
    return member


def make_channel(channel_id: int = CHANNEL_ID, embed_links: bool = True) -> MagicMock:
    channel = MagicMock(spec_set=discord.TextChannel)
    channel.id = channel_id
    channel.mention = f"<#{channel_id}>"
    channel.permissions_for.return_value = discord.Permissions(send_messages=True, embed_links=embed_links)
    sent = MagicMock(spec_set=discord.Message)
    sent.jump_url = f"https://discord.com/channels/{GUILD_ID}/{channel_id}/1"
    channel.send.return_value = sent
    return channel


def make_guild(self_role=None) -> MagicMock:
    guild = MagicMock(spec_set=discord.Guild)
    guild.id = GUILD_ID
    guild.self_role = self_role
    guild.me = make_member(BOT_ID, bot=True)
    return guild


def make_interaction(
    *, user=None, permissions: discord.Permissions | None = None, guild: bool = True
) -> MagicMock:
    """An application-command (or button) interaction that records what the adapter sends."""
    interaction = MagicMock(spec_set=discord.Interaction)
    done = {"value": False}

    def mark_done(*args, **kwargs):
        done["value"] = True

    response = MagicMock(spec_set=discord.InteractionResponse)
    response.is_done.side_effect = lambda: done["value"]
    response.send_message.side_effect = mark_done
    response.defer.side_effect = mark_done
    interaction.response = response
    interaction.followup = MagicMock(spec_set=discord.Webhook)
    interaction.user = user or make_member()
    interaction.permissions = permissions or discord.Permissions.none()
    interaction.guild_id = GUILD_ID if guild else None
    interaction.channel_id = CHANNEL_ID
    interaction.locale = discord.Locale.american_english
    return interaction


def make_message(content: str, *, author=None, guild=True, channel=None, self_role=None) -> MagicMock:
    message = MagicMock(spec_set=discord.Message)
    message.content = content
    message.author = author or make_member()
    message.guild = make_guild(self_role) if guild else None
    message.channel = channel or make_channel()
    return message


def bot_user() -> MagicMock:
    me = MagicMock(spec_set=discord.ClientUser)
    me.id = BOT_ID
    return me


def sent_kwargs(mock) -> dict:
    """The keyword arguments of the one call made to ``mock``."""
    mock.assert_awaited_once()
    return mock.await_args.kwargs


def only_send(interaction) -> tuple[str, dict]:
    """Which of response.send_message / followup.send was used, and its arguments."""
    calls = [
        ("response", interaction.response.send_message),
        ("followup", interaction.followup.send),
    ]
    used = [(name, m) for name, m in calls if m.await_count]
    assert len(used) == 1, used
    name, m = used[0]
    return name, sent_kwargs(m)


def assert_safe(kwargs: dict) -> None:
    assert kwargs["allowed_mentions"] is NO_MENTIONS
    content = kwargs.get("content") or ""
    assert len(content) <= CONTENT_LIMIT and not RAW_PINGS.search(content)
    embed = kwargs.get("embed")
    if embed is not None:
        assert len(embed) <= EMBED_TOTAL_LIMIT
        assert len(embed.description or "") <= EMBED_DESCRIPTION_LIMIT
        assert not RAW_PINGS.search(embed.description or "")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def adapter(core, settings, clock):
    a = DiscordAdapter(core, settings, clock=clock, defer_after=2.0)
    yield a
    a.close()


class SlowCore:
    """The real core behind a delay, to make an interaction wait long enough to be deferred."""

    def __init__(self, core: BotCore, delay: float) -> None:
        self._core, self.delay = core, delay
        self.settings, self.content = core.settings, core.content
        self.requests = []

    async def handle(self, request):
        self.requests.append(request)
        time.sleep(self.delay)  # runs in the adapter's worker thread
        return await self._core.handle(request)


# --- slash commands -------------------------------------------------------------------------------------


async def test_discord_ask_answers_publicly_with_an_embed(adapter):
    interaction = make_interaction()
    await adapter.ask(interaction, "大力出奇迹")
    where, kw = only_send(interaction)
    assert where == "response" and kw["ephemeral"] is False
    assert "> " in kw["embed"].description and kw["embed"].footer.text
    assert_safe(kw)
    interaction.response.defer.assert_not_awaited()


async def test_discord_ask_not_found_is_ephemeral(adapter):
    interaction = make_interaction()
    await adapter.ask(interaction, "今晚有人一起开黑吗")
    _, kw = only_send(interaction)
    assert kw["ephemeral"] is True and "embed" not in kw and kw["content"]
    assert_safe(kw)


async def test_discord_slow_answer_is_deferred_then_followed_up(core, settings):
    slow = SlowCore(core, 0.3)
    a = DiscordAdapter(slow, settings, defer_after=0.05)  # type: ignore[arg-type]
    try:
        interaction = make_interaction()
        await a.ask(interaction, "大力出奇迹")
        interaction.response.defer.assert_awaited_once_with(thinking=True)
        where, kw = only_send(interaction)
        assert where == "followup" and kw["ephemeral"] is False and kw["embed"].description
        assert_safe(kw)
        assert slow.requests[0].platform == "discord" and slow.requests[0].user_id == "42"

        # A deferred "not found" must still be ephemeral: the public "thinking…" message goes away.
        interaction = make_interaction(user=make_member(43))
        await a.ask(interaction, "今晚有人一起开黑吗")
        interaction.delete_original_response.assert_awaited_once()
        where, kw = only_send(interaction)
        assert where == "followup" and kw["ephemeral"] is True
    finally:
        a.close()


async def test_discord_ask_cooldown_is_per_user_and_friendly(adapter, clock, settings):
    first, second, other = make_interaction(), make_interaction(), make_interaction(user=make_member(7))
    await adapter.ask(first, "大力出奇迹")
    await adapter.ask(second, "大力出奇迹")
    _, kw = only_send(second)
    assert kw["ephemeral"] is True and "秒" in kw["content"]
    await adapter.ask(other, "大力出奇迹")  # someone else is not slowed down
    assert "embed" in only_send(other)[1]
    clock.now += settings.discord.cooldown_seconds + 0.1
    again = make_interaction()
    await adapter.ask(again, "大力出奇迹")
    assert "embed" in only_send(again)[1]


async def test_discord_quote_by_words_by_line_and_random(adapter):
    for query, expect in [("大力出奇迹", "大力出奇迹"), ("sora-discussion:57", ":57)"), (None, "")]:
        interaction = make_interaction()
        await adapter.quote(interaction, query)
        _, kw = only_send(interaction)
        embed = kw["embed"]
        assert kw["ephemeral"] is False and embed.description.startswith("> ")
        assert expect in embed.description + embed.footer.text
        assert_safe(kw)


async def test_discord_faq_picked_from_autocomplete_and_topic_list(adapter, core):
    choices = await adapter.faq_autocomplete(make_interaction(), "Sora")
    assert choices and len(choices) <= 25
    interaction = make_interaction()
    await adapter.faq(interaction, choices[0].value)
    _, kw = only_send(interaction)
    assert kw["ephemeral"] is False and kw["embed"].description
    entry = core.content.faq_by_id(choices[0].value)
    assert kw["embed"].description.startswith(entry.answer[:10])

    listing = make_interaction()
    await adapter.faq(listing, None)
    _, kw = only_send(listing)
    assert kw["ephemeral"] is True and kw["embed"].title
    assert_safe(kw)


async def test_discord_episodes_and_help(adapter):
    interaction = make_interaction()
    await adapter.episodes(interaction, None)
    _, kw = only_send(interaction)
    assert kw["ephemeral"] is True and "sora-discussion" in kw["embed"].description
    interaction = make_interaction()
    await adapter.help(interaction)
    _, kw = only_send(interaction)
    assert kw["ephemeral"] is True and "/quote" in kw["embed"].description


async def test_discord_did_you_mean_buttons_answer_when_clicked(adapter):
    reply = Reply(
        "suggest",
        "你是不是想问：",
        suggestions=[
            Suggestion("大力出奇迹那段", "quote", "sora-discussion:73"),
            Suggestion("x", "faq", "nope"),
        ],
    )
    interaction = make_interaction()
    await adapter.send(interaction, render_reply(reply))
    _, kw = only_send(interaction)
    view = kw["view"]
    assert isinstance(view, SuggestionView) and kw["ephemeral"] is True
    buttons = [c for c in view.children if isinstance(c, discord.ui.Button)]
    assert [b.label for b in buttons] == ["1. 大力出奇迹那段", "2. x"]

    click = make_interaction()
    await buttons[0].callback(click)
    _, kw = only_send(click)
    assert kw["ephemeral"] is False and ":73)" in kw["embed"].footer.text

    # Buttons go grey when the view times out.
    await view.on_timeout()
    assert all(b.disabled for b in buttons)
    interaction.edit_original_response.assert_awaited_once_with(view=view)


# --- moderators -----------------------------------------------------------------------------------------


async def test_discord_post_quote_refuses_a_non_moderator(adapter):
    channel = make_channel(444)
    interaction = make_interaction(user=make_member(roles=[make_role("listener", 5)]))
    await adapter.post_quote(interaction, "大力出奇迹", channel)
    channel.send.assert_not_awaited()
    _, kw = only_send(interaction)
    assert kw["ephemeral"] is True and "/post-quote" in kw["content"]


async def test_discord_post_quote_by_manage_messages_posts_an_embed(adapter):
    channel = make_channel(444)
    interaction = make_interaction(permissions=discord.Permissions(manage_messages=True))
    await adapter.post_quote(interaction, "大力出奇迹", channel)
    interaction.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    kw = sent_kwargs(channel.send)
    assert kw["allowed_mentions"] is NO_MENTIONS
    assert kw["embed"].description.startswith("> ") and "大力出奇迹" in kw["embed"].description
    assert not kw["embed"].fields
    confirm = sent_kwargs(interaction.followup.send)
    assert confirm["ephemeral"] is True and "/channels/" in interaction.followup.send.await_args.args[0]


async def test_discord_post_quote_by_configured_role(core, settings):
    custom = dataclasses.replace(
        settings, discord=dataclasses.replace(settings.discord, moderator_roles=["Show Mods"])
    )
    a = DiscordAdapter(core, custom)
    try:
        channel = make_channel(444)
        interaction = make_interaction(user=make_member(roles=[make_role("show mods", 9)]))
        await a.post_quote(interaction, "大力出奇迹", channel)
        channel.send.assert_awaited_once()
    finally:
        a.close()


async def test_discord_post_quote_reports_a_channel_it_cannot_post_in(adapter):
    channel = make_channel(444)
    channel.send.side_effect = discord.Forbidden(MagicMock(status=403, reason="Forbidden"), "Missing Access")
    interaction = make_interaction(permissions=discord.Permissions(manage_messages=True))
    await adapter.post_quote(interaction, "大力出奇迹", channel)
    text = interaction.followup.send.await_args.args[0]
    assert "<#444>" in text and interaction.followup.send.await_args.kwargs["ephemeral"] is True


async def test_discord_reload_refuses_a_non_admin(adapter):
    interaction = make_interaction(permissions=discord.Permissions(manage_messages=True))
    await adapter.reload(interaction)
    _, kw = only_send(interaction)
    assert kw["ephemeral"] is True and "administrator" in kw["content"]


async def test_discord_reload_with_broken_content_keeps_the_old_content(settings, tmp_path: Path):
    content_dir = tmp_path / "content"
    shutil.copytree(settings.content_path, content_dir)
    local = dataclasses.replace(settings, content_dir=str(content_dir))
    core = BotCore.from_settings(local)
    a = DiscordAdapter(core, local)
    try:
        old = core.content
        episode_yaml = next(content_dir.glob("episodes/*/episode.yaml"))
        good = episode_yaml.read_text(encoding="utf-8")
        episode_yaml.write_text("id: [unclosed\n", encoding="utf-8")
        interaction = make_interaction(permissions=discord.Permissions(administrator=True))
        await a.reload(interaction)
        interaction.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
        text = interaction.followup.send.await_args.args[0]
        assert interaction.followup.send.await_args.kwargs["ephemeral"] is True
        assert re.search(r"\S+:\d+: ", text) and len(text) <= CONTENT_LIMIT
        assert core.content is old
        answer = make_interaction()
        await a.ask(answer, "大力出奇迹")  # still answering from the old content
        assert "embed" in only_send(answer)[1]

        episode_yaml.write_text(good, encoding="utf-8")
        interaction = make_interaction(permissions=discord.Permissions(administrator=True))
        await a.reload(interaction)
        assert "reloaded" in interaction.followup.send.await_args.args[0]
        assert core.content is not old
    finally:
        a.close()


# --- messages -------------------------------------------------------------------------------------------


async def test_discord_mention_is_answered_with_the_mention_stripped(adapter):
    message = make_message(f"<@{BOT_ID}> 大力出奇迹")
    assert adapter.strip_mentions(message, bot_user()) == "大力出奇迹"
    await adapter.on_message(message, bot_user())
    kw = sent_kwargs(message.reply)
    assert kw["mention_author"] is False and "delete_after" not in kw
    assert "> " in kw["embed"].description
    assert_safe(kw)


async def test_discord_mention_of_the_bots_role_counts_and_nickname_form_too(adapter):
    role = make_role("PodcastBot", 555)
    message = make_message("<@&555> 大力出奇迹", self_role=role)
    await adapter.on_message(message, bot_user())
    assert "embed" in sent_kwargs(message.reply)
    message = make_message(f"<@!{BOT_ID}>   /quote 大力出奇迹")
    await adapter.on_message(message, bot_user())
    assert sent_kwargs(message.reply)["embed"].description.startswith("> ")


async def test_discord_ignores_unaddressed_messages_and_bots(adapter):
    for message in [
        make_message("大力出奇迹"),  # a normal channel, no mention
        make_message(f"<@{BOT_ID}> 大力出奇迹", author=make_member(5, bot=True)),
        make_message("@everyone 大力出奇迹"),  # @everyone is not a mention of the bot
    ]:
        await adapter.on_message(message, bot_user())
        message.reply.assert_not_awaited()


async def test_discord_direct_messages_are_answered(adapter):
    message = make_message("大力出奇迹", guild=False)
    await adapter.on_message(message, bot_user())
    assert "embed" in sent_kwargs(message.reply)
    message = make_message("今晚有人一起开黑吗", guild=False)
    await adapter.on_message(message, bot_user())
    kw = sent_kwargs(message.reply)
    assert "content" in kw and "delete_after" not in kw  # DMs: nothing to tidy up


async def test_discord_mention_not_found_tidies_itself_up(adapter):
    message = make_message(f"<@{BOT_ID}> 今晚有人一起开黑吗")
    await adapter.on_message(message, bot_user())
    kw = sent_kwargs(message.reply)
    assert kw["delete_after"] > 0 and kw["content"]


async def test_discord_ask_channels_on_and_off(core, settings):
    on = dataclasses.replace(
        settings, discord=dataclasses.replace(settings.discord, ask_channels=[ASK_CHANNEL_ID])
    )
    a = DiscordAdapter(core, on)
    try:
        assert make_intents(on).message_content and not make_intents(settings).message_content
        question = make_message("大力出奇迹", channel=make_channel(ASK_CHANNEL_ID))
        await a.on_message(question, bot_user())
        assert "embed" in sent_kwargs(question.reply)
        chatter = make_message(
            "今晚有人一起开黑吗", author=make_member(8), channel=make_channel(ASK_CHANNEL_ID)
        )
        await a.on_message(chatter, bot_user())
        chatter.reply.assert_not_awaited()  # ask channels answer questions, not chatter
        too_soon = make_message("大力出奇迹", channel=make_channel(ASK_CHANNEL_ID))
        await a.on_message(too_soon, bot_user())
        too_soon.reply.assert_not_awaited()  # and no cooldown notices in an ask channel either
        mentioned = make_message(
            f"<@{BOT_ID}> 今晚有人一起开黑吗", author=make_member(9), channel=make_channel(ASK_CHANNEL_ID)
        )
        await a.on_message(mentioned, bot_user())
        assert sent_kwargs(mentioned.reply)["content"]  # a mention is always answered
        elsewhere = make_message("大力出奇迹", channel=make_channel(CHANNEL_ID))
        await a.on_message(elsewhere, bot_user())
        elsewhere.reply.assert_not_awaited()
    finally:
        a.close()


async def test_discord_mention_cooldown(adapter, clock, settings):
    first = make_message(f"<@{BOT_ID}> 大力出奇迹")
    second = make_message(f"<@{BOT_ID}> Sora 的参数量大概多大？")
    await adapter.on_message(first, bot_user())
    await adapter.on_message(second, bot_user())
    kw = sent_kwargs(second.reply)
    assert "秒" in kw["content"] and kw["delete_after"] > 0
    clock.now += settings.discord.cooldown_seconds
    third = make_message(f"<@{BOT_ID}> 大力出奇迹")
    await adapter.on_message(third, bot_user())
    assert "embed" in sent_kwargs(third.reply)


async def test_discord_channel_without_embed_links_gets_plain_text(adapter):
    message = make_message(f"<@{BOT_ID}> 大力出奇迹", channel=make_channel(embed_links=False))
    await adapter.on_message(message, bot_user())
    kw = sent_kwargs(message.reply)
    assert "embed" not in kw and "「" in kw["content"]
    assert_safe(kw)


async def test_discord_hostile_input_is_rendered_safely(adapter, clock):
    hostile = "@everyone <@&123> **粗体** `code` ||x|| 大力出奇迹 " + "问" * 5000
    message = make_message(f"<@{BOT_ID}> {hostile}")
    await adapter.on_message(message, bot_user())
    assert_safe(sent_kwargs(message.reply))
    for text in [hostile, "@everyone <@&123> [点我](https://evil.example) **x**"]:
        clock.now += 100
        interaction = make_interaction()
        await adapter.ask(interaction, text)
        assert_safe(only_send(interaction)[1])
    interaction = make_interaction()
    await adapter.quote(interaction, hostile)
    assert_safe(only_send(interaction)[1])


# --- wiring ---------------------------------------------------------------------------------------------


async def test_discord_command_tree_wiring(core, settings):
    client = DiscordBot(core, settings)
    try:
        assert client.allowed_mentions is NO_MENTIONS
        commands = {c.name: c for c in client.tree.get_commands()}
        assert set(commands) == {"ask", "quote", "faq", "episodes", "help", "post-quote", "reload"}
        assert commands["post-quote"].default_permissions == discord.Permissions(manage_messages=True)
        assert commands["reload"].default_permissions == discord.Permissions(administrator=True)
        assert commands["post-quote"].guild_only and commands["reload"].guild_only
        assert commands["ask"].default_permissions is None
        topic = commands["faq"].get_parameter("topic")
        assert topic.autocomplete and not topic.required
        for c in commands.values():
            payload = c.to_dict(client.tree)
            assert 1 <= len(payload["description"]) <= 100
            assert all(len(o["description"]) <= 100 for o in payload.get("options", []))
        # The command callbacks delegate to the adapter.
        interaction = make_interaction()
        await commands["ask"].callback(interaction, question="大力出奇迹")
        assert "embed" in only_send(interaction)[1]
    finally:
        await client.close()


async def test_discord_autocomplete_through_the_command(core, settings):
    client = DiscordBot(core, settings)
    try:
        param = client.tree.get_command("faq").get_parameter("topic")
        assert param.autocomplete
        expected = faq_choices(core.content.faq, "Sora")
        got = await client.adapter.faq_autocomplete(make_interaction(), "Sora")
        assert [c.value for c in got] == [c.value for c in expected]
    finally:
        await client.close()


async def test_discord_event_loop_stays_free_while_the_core_works(core, settings):
    """The core runs in a worker thread: other coroutines (heartbeats, deferrals) keep running."""
    slow = SlowCore(core, 0.3)
    a = DiscordAdapter(slow, settings)  # type: ignore[arg-type]
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await a.run_core(a.request("大力出奇迹", "ask", make_member(), CHANNEL_ID, False))
        assert ticks >= 5
    finally:
        task.cancel()
        a.close()


async def test_discord_unexpected_errors_become_a_polite_ephemeral_message(adapter, caplog):
    fresh = make_interaction()
    await adapter.on_app_command_error(fresh, RuntimeError("boom"))
    _, kw = only_send(fresh)
    assert kw["ephemeral"] is True and kw["allowed_mentions"] is NO_MENTIONS

    answered = make_interaction()
    await adapter.ask(answered, "大力出奇迹")
    await adapter.on_app_command_error(answered, RuntimeError("boom"))
    answered.delete_original_response.assert_not_awaited()  # the answer already sent stays
    assert answered.followup.send.await_args.kwargs["ephemeral"] is True


async def test_discord_buttons_on_a_message_reply_grey_out_on_timeout(adapter):
    message = make_message(f"<@{BOT_ID}> 问题")
    reply = Reply(
        "suggest", "你是不是想问：", suggestions=[Suggestion("大力出奇迹那段", "quote", "sora-discussion:73")]
    )
    await adapter.reply_to(message, render_reply(reply, interaction=False))
    view = sent_kwargs(message.reply)["view"]
    assert view.message is message.reply.return_value
    await view.on_timeout()
    view.message.edit.assert_awaited_once_with(view=view)


async def test_discord_ask_with_an_episode_option_searches_that_episode(adapter, core, monkeypatch):
    seen = []
    real = core.handle

    async def spy(request):
        seen.append(request.text)
        return await real(request)

    monkeypatch.setattr(core, "handle", spy)
    interaction = make_interaction()
    await adapter.ask(interaction, "大力出奇迹", "sora-discussion")
    assert seen == ["大力出奇迹 ep:sora-discussion"]
    _, kwargs = only_send(interaction)
    assert kwargs["embed"].footer.text and "sora-discussion" in kwargs["embed"].footer.text


async def test_discord_episode_autocomplete_lists_matching_episodes(adapter):
    choices = await adapter.episode_autocomplete(make_interaction(), "sora")
    assert [c.value for c in choices] == ["sora-discussion"]
    assert await adapter.episode_autocomplete(make_interaction(), "no such thing") == []
    assert len(await adapter.episode_autocomplete(make_interaction(), "")) <= 25
