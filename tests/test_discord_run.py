"""Discord entry points (token handling, shutdown, command sync) and one real Interaction end to end."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from types import SimpleNamespace

import discord
import pytest
from discord.webhook.async_ import async_context

from bot.adapters import discord_bot
from bot.adapters.discord_bot import DiscordBot, run_discord, sync_commands

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.secret-token-value.do-not-print"


def with_token(settings, token=TOKEN, guild_id=None):
    return dataclasses.replace(
        settings, discord_token=token, discord=dataclasses.replace(settings.discord, guild_id=guild_id)
    )


@pytest.fixture
def offline(monkeypatch):
    """Log in and connect without a network: login succeeds, connect waits until closed."""
    calls = {"login": 0, "synced": []}

    async def login(self, token):
        calls["login"] += 1

    async def connect(self, *, reconnect=True):
        await asyncio.Event().wait()

    async def sync(self, *, guild=None):
        calls["synced"].append(guild.id if guild else None)
        return self.get_commands(guild=guild)

    monkeypatch.setattr(DiscordBot, "login", login)
    monkeypatch.setattr(DiscordBot, "connect", connect)
    monkeypatch.setattr(discord.app_commands.CommandTree, "sync", sync)
    return calls


async def test_discord_missing_token_is_one_clear_line(core, settings, capsys):
    assert await run_discord(core, with_token(settings, "")) != 0
    assert await sync_commands(core, with_token(settings, "")) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "DISCORD_TOKEN" in err and "Traceback" not in err


async def test_discord_invalid_token_is_one_line_and_never_printed(core, settings, capsys, monkeypatch):
    async def rejected(self, token):
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(DiscordBot, "login", rejected)
    assert await run_discord(core, with_token(settings)) == 1
    out = capsys.readouterr()
    assert out.err.count("\n") == 1 and "DISCORD_TOKEN" in out.err
    assert TOKEN not in out.err + out.out and "Traceback" not in out.err

    async def broken(self, token):
        raise ValueError(f"Invalid header value {token!r}")

    monkeypatch.setattr(DiscordBot, "login", broken)
    assert await sync_commands(core, with_token(settings)) == 1
    out = capsys.readouterr()
    assert out.err.count("\n") == 1 and TOKEN not in out.err + out.out


async def test_discord_stops_cleanly_when_asked(core, settings, offline):
    before = signal.getsignal(signal.SIGTERM)
    stop = asyncio.Event()
    task = asyncio.create_task(run_discord(core, with_token(settings), stop_event=stop))
    await asyncio.sleep(0.05)
    assert not task.done() and offline["login"] == 1
    assert signal.getsignal(signal.SIGTERM) == before  # the caller owns the signals
    stop.set()
    assert await asyncio.wait_for(task, 5) == 0


async def test_discord_stops_cleanly_on_sigterm(core, settings, offline):
    before = signal.getsignal(signal.SIGTERM)
    task = asyncio.create_task(run_discord(core, with_token(settings)))
    await asyncio.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 5) == 0
    assert signal.getsignal(signal.SIGTERM) == before  # the handler was removed again


async def test_discord_sync_to_a_guild_or_globally(core, settings, offline, capsys):
    assert await sync_commands(core, with_token(settings, guild_id=1234)) == 0
    assert offline["synced"] == [1234]
    assert "synced 7 command(s) to server 1234" in capsys.readouterr().out
    assert await sync_commands(core, with_token(settings)) == 0
    assert offline["synced"] == [1234, None]
    assert "synced 7 command(s) globally" in capsys.readouterr().out


async def test_discord_startup_sync_only_when_needed(core, settings, monkeypatch):
    synced, registered = [], []

    async def sync(self, *, guild=None):
        synced.append(guild.id if guild else None)
        return []

    async def fetch(self, *, guild=None):
        return [SimpleNamespace(name=name) for name in registered]

    monkeypatch.setattr(discord.app_commands.CommandTree, "sync", sync)
    monkeypatch.setattr(discord.app_commands.CommandTree, "fetch_commands", fetch)
    tree = DiscordBot(core, settings).tree
    await discord_bot.startup_sync(tree, 42)  # a test guild: always, it is instant
    await discord_bot.startup_sync(tree, None)  # nothing registered globally yet
    assert synced == [42, None]
    registered.extend(c.name for c in tree.get_commands())
    await discord_bot.startup_sync(tree, None)  # already registered: no rate-limited global sync
    assert synced == [42, None]


class RecordingWebhookAdapter:
    """Stands in for discord.py's HTTP adapter for interaction responses; records the raw payloads."""

    def __init__(self) -> None:
        self.payloads: list[dict] = []

    async def create_interaction_response(self, interaction_id, token, *, session, params, **kwargs):
        self.payloads.append(params.payload)
        return {"interaction": {"id": str(interaction_id), "type": 2}}


def command_interaction(client: discord.Client, name: str, **options: str) -> discord.Interaction:
    """A real Interaction built from a gateway payload (a slash command used in a DM)."""
    data = {
        "id": "1000000000000000001",
        "application_id": "1000000000000000002",
        "token": "interaction-token",
        "version": 1,
        "type": 2,
        "channel_id": "1000000000000000003",
        "user": {"id": "1000000000000000004", "username": "listener", "discriminator": "0", "avatar": None},
        "locale": "zh-CN",
        "attachment_size_limit": 10_485_760,
        "authorizing_integration_owners": {},
        "data": {
            "id": "1000000000000000005",
            "type": 1,
            "name": name,
            "options": [{"type": 3, "name": k, "value": v} for k, v in options.items()],
        },
    }
    return discord.Interaction(data=data, state=client._connection)


async def test_discord_real_interaction_payloads_end_to_end(core, settings):
    client = DiscordBot(core, settings)
    recorder = RecordingWebhookAdapter()
    token = async_context.set(recorder)
    try:
        await client.tree._call(command_interaction(client, "ask", question="@everyone 大力出奇迹"))
        await client.tree._call(command_interaction(client, "quote", query="今晚有人一起开黑吗 xyzzy"))
    finally:
        async_context.reset(token)
        await client.close()
    answer, not_found = recorder.payloads
    assert answer["type"] == 4 and not answer["data"].get("flags")  # public
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    embed = answer["data"]["embeds"][0]
    assert embed["description"] and embed["footer"]["text"]
    assert not_found["data"]["flags"] == 64  # ephemeral
    assert not_found["data"]["allowed_mentions"] == {"parse": []}
