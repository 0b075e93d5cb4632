"""The local console chat: each input line is a message, replies print as plain text.

Lines that start with ``/`` are commands (``/quote 大力出奇迹``, ``/faq``, ``/episodes``, ``/help``);
anything else is a question. It ends cleanly at end of input (Ctrl-D) or on ``/quit``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from ..core import COMMANDS, BotCore, Request, render_text


def parse_line(line: str) -> Request | None:
    """A console line → a request; ``None`` for a blank line."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("/"):
        head, _, rest = text[1:].partition(" ")
        command = head.lower().split("@", 1)[0]
        if command in COMMANDS:
            return Request(rest.strip(), command=command, platform="console", user_id="console")
        if command == "start":
            return Request("", command="help", platform="console", user_id="console")
    return Request(text, command="ask", platform="console", user_id="console")


async def run_console(core: BotCore, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    interactive = stdin.isatty()
    if interactive:
        eps = len(core.content.episodes)
        print(
            f"播客问答 console — {eps} episode(s), {len(core.content.faq)} FAQ entries. "
            "Ask a question, /help for commands, Ctrl-D to quit.",
            file=stdout,
        )
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        if line.strip() in ("/quit", "/exit"):
            break
        request = parse_line(line)
        if request is None:
            continue
        reply = await core.handle(request)
        print(render_text(reply, core.settings.max_reply_chars), file=stdout)
        print(file=stdout, flush=True)
    return 0
