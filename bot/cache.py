"""The engine's on-disk cache: built once, next to the content, rebuilt whenever anything it depends on changes.

The key hashes every content file's path, size and modification time, the matcher's own source code and the
settings that shape the index. A cache whose key differs is stale and is replaced; one that cannot be read
(truncated, corrupt, from another version) is rebuilt, never trusted. Writes are atomic (temporary file,
then rename), so a crash mid-write leaves the old cache or none.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .config import MatchSettings
from .content import Content

log = logging.getLogger(__name__)

CACHE_DIR_NAME = ".index-cache"
FORMAT = 1
_SOURCES = ("analysis.py", "index.py", "search.py", "glossary.py", "text.py", "cache.py", "content.py")
# Settings that change what is built (the rest only change how it is scored).
_BUILD_SETTINGS = ("synonyms",)


def content_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and CACHE_DIR_NAME not in p.parts and not p.name.startswith(".")
    )


def cache_key(content: Content, settings: MatchSettings, extra_names: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    h.update(f"format {FORMAT}\n".encode())
    here = Path(__file__).resolve().parent
    for name in _SOURCES:
        h.update(name.encode() + b"\0" + (here / name).read_bytes())
    values = asdict(settings)
    h.update(repr([(k, values[k]) for k in _BUILD_SETTINGS]).encode())
    h.update(repr(sorted(extra_names)).encode())
    root = Path(content.root).resolve()
    for path in content_files(root):
        st = path.stat()
        h.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def _path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"engine-{key}.pickle"


def load_cache(cache_dir: Path, key: str, n_lines: int) -> dict[str, Any] | None:
    """The cached engine state for ``key``, or None (missing, stale, or unreadable: then it is rebuilt)."""
    path = _path(cache_dir, key)
    if not path.exists():
        return None
    try:
        with path.open("rb") as f:
            state = pickle.load(f)  # our own file, written by save_cache
        if not isinstance(state, dict) or state.get("key") != key or state["lines"].n_docs != n_lines:
            raise ValueError("cache does not match the content")
        return state
    except Exception as exc:  # any failure means: rebuild
        log.warning("index cache %s unreadable (%s): rebuilding", path, exc)
        try:
            path.unlink()
        except OSError:
            pass
        return None


def save_cache(cache_dir: Path, key: str, state: dict[str, Any]) -> None:
    """Write the state atomically and remove older caches. A read-only content folder just means no cache."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as f:
            pickle.dump({**state, "key": key}, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, _path(cache_dir, key))
        for old in cache_dir.glob("engine-*.pickle"):
            if old.name != _path(cache_dir, key).name:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not write the index cache in %s: %s", cache_dir, exc)
