"""Runtime state in SQLite: the questions the bot could not answer, for the community team to curate.

Every chat question that ends in "did you mean" or "not found" is recorded (platform, chat, the text, the
best confidence); ``python -m bot unanswered`` lists the most frequent ones, which is where the next FAQ
entries come from. The store is optional: a path that cannot be opened just means nothing is recorded.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    platform TEXT NOT NULL,
    chat TEXT NOT NULL,
    question TEXT NOT NULL,
    kind TEXT NOT NULL,
    confidence REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS unanswered_question ON unanswered (question);
"""


class Store:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()  # adapters may call from a worker thread
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._db.commit()

    @classmethod
    def open(cls, path: Path | str | None) -> Store | None:
        if not path:
            return None
        try:
            return cls(path)
        except (OSError, sqlite3.Error) as exc:
            log.warning("cannot open the store %s (%s): unanswered questions will not be recorded", path, exc)
            return None

    def record_unanswered(
        self, platform: str, chat: str, question: str, kind: str, confidence: float
    ) -> None:
        question = " ".join(question.split())[:500]
        if not question:
            return
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO unanswered (at, platform, chat, question, kind, confidence) VALUES (?, ?, ?, ?, ?, ?)",
                    (time.time(), platform, chat, question, kind, float(confidence)),
                )
                self._db.commit()
        except sqlite3.Error as exc:  # a full disk must not take the bot down
            log.warning("could not record an unanswered question: %s", exc)

    def top_unanswered(self, limit: int = 20) -> list[tuple[str, int, float]]:
        """(question, times asked, best confidence), most asked first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT question, COUNT(*), MAX(confidence) FROM unanswered GROUP BY question "
                "ORDER BY COUNT(*) DESC, MAX(at) DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [(q, int(n), float(c)) for q, n, c in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
