"""Command line: ``python -m bot [run|ask|quote|faq|episodes|check|eval] ...``.

With no command it runs the bot: Discord and/or Telegram when their tokens are in the environment,
otherwise the local console chat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from .config import ConfigError, Settings, load_settings
from .content import ContentError, load_content
from .core import BotCore, Request, render_text
from .store import Store

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", default=argparse.SUPPRESS, help="settings file (default: config/bot.yaml)"
    )
    common.add_argument("--content", default=argparse.SUPPRESS, help="content folder (default: content/)")
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )
    p = argparse.ArgumentParser(prog="python -m bot", description="Podcast quote bot.", parents=[common])
    sub = p.add_subparsers(dest="command")
    _add = sub.add_parser

    def add_parser(name: str, **kw):
        return _add(name, parents=[common], **kw)

    sub.add_parser = add_parser  # every command takes --config/--content/-v too
    r = sub.add_parser("run", help="run the bot (Discord/Telegram with tokens, else the console)")
    r.add_argument("--console", action="store_true", help="run the console chat even when tokens are set")
    a = sub.add_parser("ask", help="ask a question (or one per line from standard input)")
    a.add_argument("question", nargs="*", help="the question; none: read questions from standard input")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    q = sub.add_parser("quote", help="a quote by words, by EPISODE:LINE, or random with no argument")
    q.add_argument("query", nargs="*")
    f = sub.add_parser("faq", help="list FAQ topics or show one")
    f.add_argument("topic", nargs="*")
    e = sub.add_parser("episodes", help="list episodes")
    e.add_argument("page", nargs="?", default="")
    sub.add_parser("check", help="validate content and settings; exit 1 on any problem")
    un = sub.add_parser("unanswered", help="the chat questions the bot could not answer, most asked first")
    un.add_argument("--limit", type=int, default=20)
    sub.add_parser(
        "sync-discord",
        help="register the Discord slash commands now (to DISCORD_GUILD_ID when set, else globally)",
    )
    ev = sub.add_parser("eval", help="evaluate on question files (see ../shared/eval/README.md)")
    ev.add_argument("files", nargs="+", type=Path)
    ev.add_argument("--details", action="store_true", help="print every question's outcome")
    ev.add_argument(
        "--episode", help="the episode the questions' line numbers refer to (default: the only one)"
    )
    return p


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "config", None))
    if getattr(args, "content", None):
        settings.content_dir = str(Path(args.content).resolve())
    return settings


def _core(settings: Settings) -> BotCore:
    return BotCore.from_settings(settings)


def _ask_json(core: BotCore, question: str) -> str:
    reply = core.ask(question)
    hits = [
        {
            "episode": h.episode_id,
            "line": h.line,
            "score": round(float(h.score), 4),
            "text": core.engine.excerpt(h.episode_id, h.line, h.sentence, core.settings.match.excerpt_chars),
        }
        for h in reply.hits[:5]
    ]
    obj = {
        "question": question,
        "answered": reply.answered,
        "kind": reply.source if reply.answered else "none",
        "faq_id": reply.faq_id if reply.answered else None,
        "hits": hits,
        "reply": render_text(reply, core.settings.max_reply_chars),
    }
    return json.dumps(obj, ensure_ascii=False)


def cmd_check(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except ConfigError as exc:
        for p in exc.problems:
            print(p)
        return 1
    content, problems = load_content(settings.content_path)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    print(
        f"ok: {len(content.episodes)} episode(s), {content.segment_count} segments, "
        f"{len(content.faq)} FAQ entries, {len(content.glossary)} glossary terms, "
        f"{len(content.lexicon)} lexicon entries"
    )
    return 0


def cmd_unanswered(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    path = settings.store_file
    if path is None or not path.exists():
        print("nothing recorded yet (the store is written while the bot runs)")
        return 0
    store = Store.open(path)
    if store is None:
        return 1
    rows = store.top_unanswered(args.limit)
    store.close()
    if not rows:
        print("nothing recorded yet")
    for question, times, conf in rows:
        print(f"{times:>4}×  best {conf:.2f}  {question}")
    return 0


async def _run(settings: Settings, force_console: bool) -> int:
    core = _core(settings)
    core.store = Store.open(settings.store_file)
    runners = []
    if not force_console and settings.discord_token:
        from .adapters.discord_bot import run_discord

        runners.append(run_discord)
    if not force_console and settings.telegram_token:
        from .adapters.telegram_bot import run_telegram

        runners.append(run_telegram)
    if not runners:
        from .adapters.console import run_console

        return await run_console(core)
    # One stop signal for every adapter: a loop keeps one handler per signal, so adapters must not each
    # install their own when they run side by side.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(run(core, settings, stop_event=stop)) for run in runners]
    codes = []
    for finished in asyncio.as_completed(tasks):
        code = await finished
        codes.append(code)
        if code:  # one adapter failed (bad token...): stop the others too
            stop.set()
    return max(codes)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    command = args.command or "run"
    if command == "check":
        return cmd_check(args)
    if command == "unanswered":
        return cmd_unanswered(args)
    try:
        settings = _settings(args)
        if command == "run":
            return asyncio.run(_run(settings, getattr(args, "console", False)))
        core = _core(settings)
    except (ConfigError, ContentError) as exc:
        print(f"error: the bot cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if command == "sync-discord":
        from .adapters.discord_bot import sync_commands

        return asyncio.run(sync_commands(core, settings))
    if command == "ask":
        questions = [" ".join(args.question)] if args.question else None
        if questions is None:
            questions = [line.rstrip("\n") for line in sys.stdin]
        for q in questions:
            if args.json:
                print(_ask_json(core, q), flush=True)
            else:
                print(render_text(core.ask(q), settings.max_reply_chars))
                print()
        return 0
    if command in ("quote", "faq", "episodes"):
        arg = " ".join(getattr(args, {"quote": "query", "faq": "topic", "episodes": "page"}[command]) or "")
        if command == "episodes":
            arg = args.page
        reply = asyncio.run(core.handle(Request(arg, command=command)))
        print(render_text(reply, settings.max_reply_chars))
        return 0 if reply.kind not in ("error",) else 1
    if command == "eval":
        from .evaluate import format_table, load_questions, score

        for path in args.files:
            try:
                items = load_questions(path)
            except (OSError, ValueError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            try:
                metrics, rows = score(core, items, args.episode)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            if args.details:
                for r in rows:
                    mark = "ok " if r["rank"] == 1 or (not r["gold"] and not r["answered"]) else "-- "
                    print(
                        f"{mark}{r['id']:<6}{r['style']:<11} rank={r['rank']} ans={int(r['answered'])} "
                        f"{r['source']:<10} conf={r['confidence']:.2f} gold={r['gold']} got={r['ranked']} {r['q']}"
                    )
            print(f"{path} ({len(items)} questions)")
            print(format_table(metrics))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
