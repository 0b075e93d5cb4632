"""Text normalization shared by the index (transcripts, FAQ) and the questions.

Both sides go through the same steps so that like is compared with like:

* NFKC: full-width letters, digits and punctuation become half-width;
* lower case; traditional characters become simplified (OpenCC ``t2s``);
* chat noise goes: Discord/Telegram mentions, emoji, control characters;
* the spaces the speech recognizer put between Chinese words go, but a boundary stays between Latin words
  and digits ("take report" does not become "takereport");
* letters spelled one by one ("A G I", "C M U") are joined ("agi", "cmu").

Glossary replacement happens on top of this (``bot.glossary``).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from opencc import OpenCC

_T2S = OpenCC("t2s")

# CJK ideographs (basic block, extension A, compatibility) — the characters we bigram.
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{_CJK}]")
_CJK_SPACE_RE = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_CJK_PUNCT_SPACE_RE = re.compile(r"\s*([，。！？；：、“”‘’（）《》])\s*")
# ASCII punctuation loses its spaces only next to Chinese ("模型 , 数据" → "模型,数据"); between Latin words
# the space stays ("compute, sixteen").
_ASCII_PUNCT_SPACE_RE = re.compile(f"(?<=[{_CJK}])\\s*([,.!?;:])\\s*|\\s*([,.!?;:])\\s*(?=[{_CJK}])")

# Discord: <@123>, <@!123>, <@&123>, <#123>, <:name:123>, <a:name:123>; Telegram/others: @name.
_MENTION_RE = re.compile(r"<(?:@[!&]?|#|a?:\w+:)\d+>|@[\w.\-]+")
_URL_RE = re.compile(r"https?://\S+")
# Two to four letters spelled one by one ("A I", "G P U"); a longer run is more likely several words
# ("M I T C M U" is MIT and CMU).
_SPELLED_RE = re.compile(r"(?<![A-Za-z])[A-Za-z](?: [A-Za-z])+(?![A-Za-z])")
_SPACES_RE = re.compile(r"\s+")

SENTENCE_END = "。！？!?；;"
_SENTENCE_RE = re.compile(r"[^。！？!?；;]*[。！？!?；;]+|[^。！？!?；;]+$")


def _is_noise_char(ch: str) -> bool:
    """Emoji, symbols, control and format characters, variation selectors."""
    if ch in "\n\t ":
        return False
    cat = unicodedata.category(ch)
    return cat in ("So", "Sk", "Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me") or 0xFE00 <= ord(ch) <= 0xFE0F


# Characters that are never noise: printable ASCII, CJK punctuation, ideographs, full/half-width forms.
_PLAIN_RE = re.compile(r"[^\x20-\x7e\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uffef\s]")


def strip_noise(text: str) -> str:
    """Remove mentions, URLs, emoji, control characters; keep everything a person reads."""
    if "@" in text or "<" in text:
        text = _MENTION_RE.sub(" ", text)
    if "://" in text:
        text = _URL_RE.sub(" ", text)
    if not _PLAIN_RE.search(text):
        return text
    return "".join(" " if _is_noise_char(ch) else ch for ch in text)


def _join_spelled(m: re.Match[str]) -> str:
    run = m.group(0)
    return run.replace(" ", "") if len(run) <= 7 else run


def join_spelled_letters(text: str) -> str:
    """'A G I' → 'AGI', 'C M U' → 'CMU' (runs of two to four single letters)."""
    return _SPELLED_RE.sub(_join_spelled, text)


def collapse_cjk_spaces(text: str) -> str:
    """Remove spaces between Chinese characters and around Chinese punctuation; keep Latin word gaps."""
    text = _CJK_SPACE_RE.sub("", text)
    text = _CJK_PUNCT_SPACE_RE.sub(lambda m: m.group(1), text)
    return _ASCII_PUNCT_SPACE_RE.sub(lambda m: m.group(1) or m.group(2), text)


@functools.lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    return _T2S.convert(text)


def normalize(text: str) -> str:
    """The matching form of a text: half-width, lower case, simplified, no chat noise, no CJK spacing.

    Punctuation stays (sentence boundaries are needed later); runs of spaces become one.
    """
    text = unicodedata.normalize("NFKC", text)
    text = strip_noise(text)
    text = join_spelled_letters(text)
    text = to_simplified(text.lower())
    text = collapse_cjk_spaces(text)
    return _SPACES_RE.sub(" ", text).strip()


def display_text(raw: str) -> str:
    """A transcript line cleaned for reading: no spaces between Chinese words, spelled letters joined."""
    text = join_spelled_letters(raw)
    text = collapse_cjk_spaces(text)
    # The recognizer writes ", " and "。 " after Chinese clauses: use Chinese punctuation there.
    text = re.sub(f"(?<=[{_CJK}]),\\s*", "，", text)
    text = re.sub(f",\\s*(?=[{_CJK}])", "，", text)
    text = re.sub(f"(?<=[{_CJK}])\\?", "？", text)
    return _SPACES_RE.sub(" ", text).strip()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in ``text``; the end includes the closing punctuation."""
    spans = []
    for m in _SENTENCE_RE.finditer(text):
        if m.group(0).strip():
            spans.append((m.start(), m.end()))
    return spans or [(0, len(text))]


def is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith(("?", "？"))
