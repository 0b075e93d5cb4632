"""Deterministic synthetic shows in the real content format.

A show of ``N`` episodes is the real episode (``content/episodes/sora-discussion``, id unchanged) plus
``N - 1`` synthetic episodes ``ep-0001`` … written as ``content/episodes/<id>/episode.yaml`` +
``transcript.txt``, with the real ``faq.yaml``, ``glossary.yaml`` and ``lexicon.yaml`` copied next to
them so the engine runs exactly as it does on the real content.

Each synthetic transcript imitates the speech recognizer's output of the real one:

* about 270 lines (250–290); line lengths drawn from a log-normal fitted to the real transcript
  (median ≈ 220 characters counting spaces, 90th percentile ≈ 440, at most 650), with short host
  questions ending in ``?`` now and then;
* words separated by spaces, clauses by ``", "``, sentences by ``"。 "`` (sometimes ``"? "``);
* words drawn by frequency from jieba's dictionary (``dict.txt``: word, frequency, part of speech), so
  function words dominate as in speech; each episode also has a topic vocabulary (dictionary nouns and
  verbs, plus single words of the real episode's vocabulary) that recurs through it, and a few Latin
  words (the real episode's own Latin words, by their frequency there). Other episodes therefore compete
  with the real one for *words*, never for whole sentences.

Generation is seeded per episode (``seed``, episode number), so the 100-episode show is the first 99
synthetic episodes of the 1,000-episode one. A show is generated once per (N, seed) and reused while its
``show.json`` manifest matches.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REAL_CONTENT = ROOT / "content"
REAL_EPISODE = "sora-discussion"
GENERATOR_VERSION = 1
SHOW_NAME = "张小珺商业访谈录"

# Line lengths (characters with spaces) of the real transcript: median 222, p90 434, max 653.
LEN_MEDIAN = 222.0
LEN_SIGMA = 0.55
LEN_MAX = 650
LINES_MIN, LINES_MAX = 250, 290

P_TOPIC = 0.16  # share of words from the episode's topic vocabulary
P_LATIN = 0.04  # share of Latin words (the real transcript has ~4.5%)
TOPIC_SIZE = 300
TOPIC_FROM_REAL = 0.3  # share of the topic vocabulary taken from the real episode's words
P_QUESTION_LINE = 0.12  # short host questions, the whole line ending in "?"
P_QUESTION_SENTENCE = 0.06  # a sentence inside a line ending in "?"

_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]+$")
_LATIN_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def jieba_dict_path() -> Path:
    import jieba  # the benchmark's `bench` extra

    return Path(jieba.__file__).resolve().parent / "dict.txt"


class Vocabulary:
    """Words to draw from: the jieba dictionary by frequency, topic candidates, Latin words."""

    def __init__(self, real_transcript: Path | None = None):
        words: list[str] = []
        freqs: list[float] = []
        topic: list[str] = []
        with open(jieba_dict_path(), encoding="utf-8") as f:
            for row in f:
                parts = row.split()
                if len(parts) < 2 or not _CJK_WORD.match(parts[0]):
                    continue
                word, freq = parts[0], float(parts[1])
                pos = parts[2] if len(parts) > 2 else ""
                words.append(word)
                freqs.append(freq)
                # Topic candidates: content words of middling frequency, 2-4 characters.
                if pos in ("n", "v", "vn", "nz", "a") and 2 <= len(word) <= 4 and 50 <= freq <= 20000:
                    topic.append(word)
        p = np.asarray(freqs, dtype=np.float64)
        self.words = words
        self.cdf = np.cumsum(p / p.sum())
        self.topic_candidates = topic
        real_path = real_transcript or REAL_CONTENT / "episodes" / REAL_EPISODE / "transcript.txt"
        real_cjk: dict[str, int] = {}
        latin: dict[str, int] = {}
        if real_path.exists():
            for token in real_path.read_text(encoding="utf-8").split():
                token = token.strip(",。?？、")
                if _CJK_WORD.match(token) and len(token) >= 2:
                    real_cjk[token] = real_cjk.get(token, 0) + 1
                elif _LATIN_WORD.match(token) and len(token) >= 2:
                    latin[token] = latin.get(token, 0) + 1
        self.real_words = sorted(real_cjk)
        self.latin = sorted(latin) or ["OK", "app", "model"]
        lp = np.asarray([latin.get(w, 1) for w in self.latin], dtype=np.float64)
        self.latin_cdf = np.cumsum(lp / lp.sum())


def _draw(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def _episode_transcript(vocab: Vocabulary, rng: np.random.Generator) -> list[str]:
    # The topic vocabulary: Zipf-weighted within the episode.
    n_real = int(TOPIC_SIZE * TOPIC_FROM_REAL) if vocab.real_words else 0
    topic_idx = rng.choice(len(vocab.topic_candidates), size=TOPIC_SIZE - n_real, replace=False)
    topic = [vocab.topic_candidates[i] for i in topic_idx]
    if n_real:
        real_idx = rng.choice(len(vocab.real_words), size=min(n_real, len(vocab.real_words)), replace=False)
        topic += [vocab.real_words[i] for i in real_idx]
    order = rng.permutation(len(topic))
    topic = [topic[i] for i in order]
    tw = 1.0 / np.arange(1, len(topic) + 1)
    topic_cdf = np.cumsum(tw / tw.sum())

    n_lines = int(rng.integers(LINES_MIN, LINES_MAX + 1))
    lines = []
    for _ in range(n_lines):
        question_line = rng.random() < P_QUESTION_LINE
        if question_line:
            target = int(min(LEN_MAX, max(12, rng.lognormal(math.log(60), 0.6))))
        else:
            target = int(min(LEN_MAX, max(20, rng.lognormal(math.log(LEN_MEDIAN), LEN_SIGMA))))
        # Words average ~3 characters with their space; draw a generous batch and cut at the target.
        n = target // 2 + 8
        kind = rng.random(n)
        base = _draw(vocab.cdf, rng.random(n))
        top = _draw(topic_cdf, rng.random(n))
        lat = _draw(vocab.latin_cdf, rng.random(n))
        clause_len = rng.integers(3, 13, size=n)
        sentence_clauses = rng.integers(1, 5, size=n)
        q_sentence = rng.random(n) < P_QUESTION_SENTENCE
        parts: list[str] = []
        length = 0
        in_clause = in_sentence = clauses = 0
        for i in range(n):
            k = kind[i]
            if k < P_LATIN:
                w = vocab.latin[lat[i]]
            elif k < P_LATIN + P_TOPIC:
                w = topic[top[i]]
            else:
                w = vocab.words[base[i]]
            in_clause += 1
            end_clause = in_clause >= clause_len[clauses % n]
            last = length + len(w) + 1 >= target
            if end_clause or last:
                in_clause = 0
                in_sentence += 1
                if last or in_sentence >= sentence_clauses[clauses % n]:
                    in_sentence = 0
                    mark = "?" if (question_line and last) or q_sentence[clauses % n] else "。"
                else:
                    mark = ","
                clauses += 1
                w += mark
            parts.append(w)
            length += len(w) + 1
            if last:
                break
        line = " ".join(parts)
        if not line.endswith(("。", "?", ",")):
            line += "?" if question_line else "。"
        lines.append(line)
    return lines


def _episode_yaml(ep_id: str, number: int, rng: np.random.Generator, vocab: Vocabulary) -> str:
    title_words = [vocab.topic_candidates[int(i)] for i in rng.integers(0, len(vocab.topic_candidates), 4)]
    title = "".join(title_words[:2]) + "与" + "".join(title_words[2:])
    year = 2019 + number % 6
    month = 1 + number % 12
    day = 1 + number % 28
    return (
        f"id: {ep_id}\n"
        f"show: {SHOW_NAME}\n"
        f'title: "第 {number} 期：{title}"\n'
        f"date: {year:04d}-{month:02d}-{day:02d}\n"
        "host: 张小珺\n"
        "guests: []\n"
        'link: ""\n'
        "language: zh\n"
        "summary: >\n"
        "  合成的基准测试节目（benchmarks/synth.py 生成），不是真实节目。\n"
    )


def synthetic_id(number: int) -> str:
    return f"ep-{number:04d}"


def show_dir(out_dir: Path, episodes: int, seed: int) -> Path:
    return Path(out_dir) / f"show-{episodes}-seed{seed}"


def sync_real_files(content: Path) -> bool:
    """Copy the real episode, FAQ, glossary and lexicon again where they changed since the show was made
    (other people edit ``content/``). True when anything was copied."""
    changed = False
    pairs = [(REAL_CONTENT / n, content / n) for n in ("faq.yaml", "glossary.yaml", "lexicon.yaml")]
    real_ep = REAL_CONTENT / "episodes" / REAL_EPISODE
    pairs += [
        (p, content / "episodes" / REAL_EPISODE / p.name) for p in sorted(real_ep.iterdir()) if p.is_file()
    ]
    for src, dst in pairs:
        if not src.exists():
            continue
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            changed = True
    return changed


def _manifest(episodes: int, seed: int) -> dict:
    return {"generator": GENERATOR_VERSION, "episodes": episodes, "seed": seed, "real": REAL_EPISODE}


def generate_show(out_dir: Path, episodes: int, seed: int = 0, force: bool = False, log=None) -> Path:
    """The content folder of a show of ``episodes`` episodes (the real one included); reused if present."""
    if episodes < 1:
        raise ValueError("a show needs at least one episode (the real one)")
    root = show_dir(out_dir, episodes, seed)
    content = root / "content"
    manifest_path = root / "show.json"
    if not force and manifest_path.exists():
        try:
            if json.loads(manifest_path.read_text(encoding="utf-8")) == _manifest(episodes, seed):
                sync_real_files(content)
                return content
        except (OSError, ValueError):
            pass
    if root.exists():
        shutil.rmtree(root)
    tmp = root.with_name(root.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp_content = tmp / "content"
    (tmp_content / "episodes").mkdir(parents=True)
    for name in ("faq.yaml", "glossary.yaml", "lexicon.yaml"):
        if (REAL_CONTENT / name).exists():
            shutil.copy2(REAL_CONTENT / name, tmp_content / name)
    shutil.copytree(REAL_CONTENT / "episodes" / REAL_EPISODE, tmp_content / "episodes" / REAL_EPISODE)
    vocab = Vocabulary()
    for number in range(1, episodes):
        rng = np.random.default_rng([seed, number])
        ep_id = synthetic_id(number)
        folder = tmp_content / "episodes" / ep_id
        folder.mkdir()
        (folder / "episode.yaml").write_text(_episode_yaml(ep_id, number, rng, vocab), encoding="utf-8")
        lines = _episode_transcript(vocab, rng)
        (folder / "transcript.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if log and number % 100 == 0:
            log(f"  generated {number}/{episodes - 1} synthetic episodes")
    (tmp / "show.json").write_text(json.dumps(_manifest(episodes, seed)), encoding="utf-8")
    os.replace(tmp, root)
    return content


# --- synthetic questions ---------------------------------------------------------------------------------

_SPLIT_PUNCT = re.compile(r"[,。?？!！]")


def _typed(words: list[str]) -> str:
    """Words as a listener types them: no spaces between Chinese words, spaces around Latin ones."""
    out = words[0]
    for prev, word in itertools.pairwise(words):
        out += word if _CJK_WORD.match(prev[-1]) and _CJK_WORD.match(word[0]) else " " + word
    return out


def synthetic_questions(content: Path, count: int, seed: int = 0) -> list[dict]:
    """``count`` questions: a phrase of 3-8 words from a random line, typed without the recognizer's
    spaces, sometimes with a question word. Each carries the line it came from (``episode``, ``line``).
    """
    rng = np.random.default_rng([seed, 1_000_003])
    ep_root = Path(content) / "episodes"
    episodes = sorted(p.name for p in ep_root.iterdir() if p.is_dir())
    cache: dict[str, list[str]] = {}
    out: list[dict] = []
    tails = ["", "", "", "是谁说的", "怎么说的", "?", "吗"]
    attempts = 0
    while len(out) < count and attempts < count * 20:
        attempts += 1
        ep = episodes[int(rng.integers(0, len(episodes)))]
        if ep not in cache:
            text = (ep_root / ep / "transcript.txt").read_text(encoding="utf-8")
            cache[ep] = text.split("\n")
        lines = cache[ep]
        n = int(rng.integers(0, len(lines)))
        words = [w for w in _SPLIT_PUNCT.sub(" ", lines[n]).split() if w]
        if len(words) < 4:
            continue
        size = int(rng.integers(3, min(8, len(words)) + 1))
        start = int(rng.integers(0, len(words) - size + 1))
        phrase = _typed(words[start : start + size])
        if len(phrase) < 4:
            continue
        q = phrase + tails[int(rng.integers(0, len(tails)))]
        out.append({"q": q, "episode": ep, "line": n + 1})
    return out
