"""The systems under test, behind one small interface.

Each system answers a question with transcript lines ranked best first, as ``(episode_id, line)`` pairs.
It is built from validated content (``build``), may save what it built next to the benchmark's show
(``save``) and start from that later (``start``: the warm start-up the issue asks about).

* ``engine``: the bot itself, ``BotCore.ask`` end to end (``Reply.hits``).
* ``naive_wratio``: ``rapidfuzz.process.extract`` with ``fuzz.WRatio`` over the raw segment texts.
* ``bm25_jieba``: ``bm25s`` over jieba tokens of the normalized segments.
* ``fts5_trigram``: SQLite FTS5, ``tokenize='trigram'``, ranked by ``bm25()``; the question's normalized
  text becomes its distinct trigrams, each a quoted string, OR-ed (a trigram table matches a quoted
  string of three or more characters as a substring; shorter strings match nothing).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "bot.yaml"
TOP_K = 10

Ranked = list[tuple[str, int]]


def load_content(content_dir: Path):
    from bot.content import load_valid_content

    return load_valid_content(content_dir)


def segments_of(content) -> tuple[list[tuple[str, int]], list[str]]:
    keys: list[tuple[str, int]] = []
    texts: list[str] = []
    for ep_id, segs in content.segments.items():
        for seg in segs:
            if seg.raw.strip():
                keys.append((ep_id, seg.line))
                texts.append(seg.raw)
    return keys, texts


class System:
    name = ""
    #: Why ``start`` cannot give a warm start, or "" when it can.
    no_warm_start = ""

    def build(self, content) -> None:
        raise NotImplementedError

    def save(self, cache_dir: Path) -> bool:
        """Persist the index; False when the system has nothing to persist."""
        return False

    def start(self, content_dir: Path, cache_dir: Path) -> None:
        """Become ready from what ``save`` wrote (the warm start-up); loads and validates the content
        too, as a bot must before it can quote it."""
        raise NotImplementedError

    def ask(self, question: str) -> Ranked:
        raise NotImplementedError


# --- the bot's engine -------------------------------------------------------------------------------------


def engine_settings(content_dir: Path):
    from bot.config import load_settings

    settings = load_settings(CONFIG, env={})
    settings.content_dir = str(Path(content_dir).resolve())
    return settings


# The engine's warm start-up. ``BotCore(settings, content)`` writes the on-disk index cache
# (``content/.index-cache/``, ``bot/cache.py``); the benchmark detects it by the files the build leaves in
# the content folder and then starts a fresh process through ``ENGINE_STARTUP``, which reads it. If the
# cache moves behind a different call, change this one function (and ``CACHE_GLOBS``).
def _engine_startup(settings):
    from bot.core import BotCore

    return BotCore.from_settings(settings)


ENGINE_STARTUP: Callable = _engine_startup
CACHE_GLOBS = (".index-cache*", "**/.index-cache*")


def engine_cache_files(content_dir: Path) -> list[Path]:
    found: set[Path] = set()
    for pattern in CACHE_GLOBS:
        found.update(Path(content_dir).glob(pattern))
    return sorted(found)


def clear_engine_cache(content_dir: Path) -> None:
    for p in engine_cache_files(content_dir):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


class EngineSystem(System):
    name = "engine"

    def __init__(self, content_dir: Path):
        self.content_dir = Path(content_dir)
        self.settings = engine_settings(content_dir)
        self.core = None

    def build(self, content) -> None:
        from bot.core import BotCore

        self.core = BotCore(self.settings, content)

    def start(self, content_dir: Path, cache_dir: Path) -> None:
        self.core = ENGINE_STARTUP(self.settings)

    def ask(self, question: str) -> Ranked:
        reply = self.core.ask(question)
        return [(h.episode_id, h.line) for h in reply.hits[:TOP_K]]


# --- naive rapidfuzz WRatio scan ----------------------------------------------------------------------------


class NaiveWRatio(System):
    name = "naive_wratio"
    no_warm_start = "no index to save: start-up = loading the content"

    def build(self, content) -> None:
        self.keys, self.texts = segments_of(content)

    def start(self, content_dir: Path, cache_dir: Path) -> None:
        self.build(load_content(content_dir))

    def ask(self, question: str) -> Ranked:
        from rapidfuzz import fuzz, process

        found = process.extract(question, self.texts, scorer=fuzz.WRatio, limit=TOP_K)
        return [self.keys[i] for _text, score, i in found if score > 0]


# --- BM25 over jieba tokens -------------------------------------------------------------------------------

_PUNCT_RE = re.compile(r"^[\s,.!?;:，。！？；：、“”‘’（）《》()\"'\-]+$")


def jieba_tokens(text: str) -> list[str]:
    import jieba

    from bot.text import normalize

    return [t for t in jieba.lcut(normalize(text)) if t.strip() and not _PUNCT_RE.match(t)]


class Bm25Jieba(System):
    name = "bm25_jieba"

    def build(self, content) -> None:
        import bm25s
        import jieba

        jieba.setLogLevel(60)
        jieba.initialize()
        self.keys, texts = segments_of(content)
        corpus = [jieba_tokens(t) for t in texts]
        self.retriever = bm25s.BM25()
        self.retriever.index(corpus, show_progress=False)

    def save(self, cache_dir: Path) -> bool:
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.retriever.save(str(cache_dir / "bm25s"))
        (cache_dir / "keys.json").write_text(json.dumps(self.keys), encoding="utf-8")
        return True

    def start(self, content_dir: Path, cache_dir: Path) -> None:
        import bm25s
        import jieba

        load_content(content_dir)
        jieba.setLogLevel(60)
        jieba.initialize()
        self.retriever = bm25s.BM25.load(str(cache_dir / "bm25s"))
        self.keys = [tuple(k) for k in json.loads((cache_dir / "keys.json").read_text(encoding="utf-8"))]

    def ask(self, question: str) -> Ranked:
        vocab = self.retriever.vocab_dict
        tokens = [t for t in jieba_tokens(question) if t in vocab]
        if not tokens:
            return []
        k = min(TOP_K, len(self.keys))
        docs, scores = self.retriever.retrieve([tokens], k=k, show_progress=False)
        return [self.keys[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


# --- SQLite FTS5 trigram ----------------------------------------------------------------------------------

_RUN_SPLIT_RE = re.compile(r"[\s,.!?;:，。！？；：、“”‘’（）《》()\"']+")


def trigram_query(question: str) -> str:
    """The normalized question's distinct trigrams, each a quoted FTS5 string, OR-ed ("" when none)."""
    from bot.text import normalize

    grams: dict[str, None] = {}
    for run in _RUN_SPLIT_RE.split(normalize(question)):
        for i in range(len(run) - 2):
            grams[run[i : i + 3]] = None
    return " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)


class Fts5Trigram(System):
    name = "fts5_trigram"

    def __init__(self):
        self.db: sqlite3.Connection | None = None
        self.path: Path | None = None

    def build(self, content, path: Path | None = None) -> None:
        from bot.text import normalize

        keys, texts = segments_of(content)
        target = ":memory:" if path is None else str(path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
        self.db = sqlite3.connect(target)
        self.path = path
        self.db.execute(
            "CREATE VIRTUAL TABLE seg USING fts5(body, ep UNINDEXED, line UNINDEXED, tokenize='trigram')"
        )
        self.db.executemany(
            "INSERT INTO seg(body, ep, line) VALUES (?, ?, ?)",
            ((normalize(t), ep, line) for (ep, line), t in zip(keys, texts, strict=True)),
        )
        self.db.execute("INSERT INTO seg(seg) VALUES ('optimize')")
        self.db.commit()

    def save(self, cache_dir: Path) -> bool:
        return self.path is not None  # built straight into the file

    def start(self, content_dir: Path, cache_dir: Path) -> None:
        load_content(content_dir)
        self.db = sqlite3.connect(str(cache_dir / "fts5.sqlite3"))
        self.db.execute("SELECT count(*) FROM seg WHERE rowid = 1").fetchone()

    def ask(self, question: str) -> Ranked:
        query = trigram_query(question)
        if not query:
            return []
        rows = self.db.execute(
            "SELECT ep, line FROM seg WHERE seg MATCH ? ORDER BY rank LIMIT ?", (query, TOP_K)
        ).fetchall()
        return [(ep, int(line)) for ep, line in rows]


SYSTEMS = ("engine", "naive_wratio", "bm25_jieba", "fts5_trigram")
PACKAGES = {"bm25_jieba": ("bm25s", "jieba"), "naive_wratio": ("rapidfuzz",)}
