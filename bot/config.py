"""Settings: ``config/bot.yaml`` (validated, ``file:line`` errors) plus tokens from the environment.

Tokens never live in files: ``DISCORD_TOKEN`` and ``TELEGRAM_TOKEN`` come from the environment only.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .yamlio import LineDict, Problem, load_yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "bot.yaml"
DEFAULT_CONTENT = ROOT / "content"


@dataclass
class MatchSettings:
    """How questions are matched and when the bot answers. See config/bot.yaml for the meaning."""

    answer_threshold: float = 0.42
    suggest_threshold: float = 0.3
    max_hits: int = 5
    see_also: int = 2
    see_also_min: float = 0.3
    excerpt_chars: int = 300
    max_question_chars: int = 500
    candidates: int = 80
    faq_candidates: int = 60
    window: int = 1
    w_window: float = 0.5
    w_sentence: float = 0.3
    w_line: float = 0.2
    question_penalty: float = 0.8
    question_transfer: float = 0.95
    question_line_chars: int = 150  # a line this short that contains a question is treated as asking
    faq_w_fuzzy: float = 0.1
    faq_beta: float = 1.25  # FAQ match: F-beta of question coverage (recall) and phrasing coverage
    faq_w_answer: float = 0.1
    faq_line_step: float = 0.02
    agreement_bonus: float = 0.1
    episode_prior: float = 0.05  # ranking bonus x FAQ score for lines of the episode the FAQ points to
    episode_candidates: int = 30  # extra candidates from that episode
    synonyms: str = "cilin"  # "" to turn off
    synonym_credit: float = 0.5
    hint_weight: float = 0.5
    typo_correction: bool = True  # homophone (pinyin) and spelling corrections of unknown words
    sentence_cache_lines: int = 20000  # lines kept read sentence by sentence (memory bound at scale)


@dataclass
class DiscordSettings:
    ask_channels: list[int] = field(default_factory=list)  # channels where every message is a question
    moderator_roles: list[str] = field(default_factory=list)
    cooldown_seconds: float = 10.0
    guild_id: int | None = None  # also DISCORD_GUILD_ID


@dataclass
class TelegramSettings:
    admin_ids: list[int] = field(default_factory=list)
    cooldown_seconds: float = 5.0
    inline_cache_seconds: int = 300
    mode: str = "polling"  # or "webhook"
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str = ""  # also TELEGRAM_WEBHOOK_SECRET


@dataclass
class Settings:
    bot_names: list[str] = field(default_factory=lambda: ["bot"])
    content_dir: str = ""
    store_path: str = ""
    max_reply_chars: int = 1900
    index_cache: bool = True  # keep the built index in content/.index-cache (rebuilt when content changes)
    match: MatchSettings = field(default_factory=MatchSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    # From the environment only:
    discord_token: str = field(default="", repr=False)
    telegram_token: str = field(default="", repr=False)

    @property
    def store_file(self) -> Path | None:
        if not self.store_path:
            return None
        p = Path(self.store_path)
        return p if p.is_absolute() else ROOT / p

    @property
    def content_path(self) -> Path:
        p = Path(self.content_dir) if self.content_dir else DEFAULT_CONTENT
        return p if p.is_absolute() else ROOT / p


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(str(p) for p in problems))


def _fill(obj: Any, data: LineDict, shown: str, problems: list[Problem], prefix: str = "") -> None:
    fields = {f.name: f for f in dataclasses.fields(obj)}
    for key, value in data.items():
        where = data.line_of(key)
        f = fields.get(key)
        if f is None or key.endswith("_token"):
            allowed = ", ".join(n for n in fields if not n.endswith("_token"))
            problems.append(Problem(shown, where, f"unknown setting {prefix}{key!r} (allowed: {allowed})"))
            continue
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, LineDict):
                problems.append(Problem(shown, where, f"{prefix}{key} must be a mapping"))
            else:
                _fill(current, value, shown, problems, f"{prefix}{key}.")
            continue
        expected = type(current) if current is not None else int
        if f.type in ("int | None",) and value is None:
            setattr(obj, key, None)
            continue
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is list:
            if not isinstance(value, list):
                problems.append(Problem(shown, where, f"{prefix}{key} must be a list"))
                continue
            value = list(value)
        elif not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            problems.append(
                Problem(
                    shown, where, f"{prefix}{key} must be {expected.__name__}, not {type(value).__name__}"
                )
            )
            continue
        setattr(obj, key, value)


def _check(settings: Settings, shown: str, problems: list[Problem]) -> None:
    m = settings.match
    if not 0 <= m.suggest_threshold <= m.answer_threshold <= 1:
        problems.append(Problem(shown, 0, "match: need 0 <= suggest_threshold <= answer_threshold <= 1"))
    if not 200 <= settings.max_reply_chars <= 4000:
        problems.append(Problem(shown, 0, "max_reply_chars must be between 200 and 4000"))
    if settings.telegram.mode not in ("polling", "webhook"):
        problems.append(Problem(shown, 0, "telegram.mode must be 'polling' or 'webhook'"))


def load_settings(path: Path | str | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read settings; raise :class:`ConfigError` listing every problem."""
    env = dict(os.environ) if env is None else env
    settings = Settings()
    problems: list[Problem] = []
    path = Path(path) if path else Path(env.get("BOT_CONFIG", DEFAULT_CONFIG))
    shown = str(path)
    if path.exists():
        data = load_yaml(path, problems, shown)
        if data is not None and not isinstance(data, LineDict):
            problems.append(Problem(shown, 1, "the configuration must be a mapping of settings"))
        elif data:
            _fill(settings, data, shown, problems)
    elif path != DEFAULT_CONFIG:
        problems.append(Problem(shown, 0, "configuration file not found"))
    _check(settings, shown, problems)
    if problems:
        raise ConfigError(problems)
    settings.discord_token = env.get("DISCORD_TOKEN", "").strip()
    settings.telegram_token = env.get("TELEGRAM_TOKEN", "").strip()
    if env.get("DISCORD_GUILD_ID", "").strip().isdigit():
        settings.discord.guild_id = int(env["DISCORD_GUILD_ID"])
    if env.get("TELEGRAM_WEBHOOK_SECRET"):
        settings.telegram.webhook_secret = env["TELEGRAM_WEBHOOK_SECRET"]
    if env.get("BOT_CONTENT"):
        settings.content_dir = env["BOT_CONTENT"]
    return settings
