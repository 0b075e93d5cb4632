"""``python -m benchmarks.ablation``: what each piece of the matcher is worth, on the question sets.

Two baselines (a naive rapidfuzz WRatio scan and BM25 over character bigrams of the raw lines), then the
engine with its content pieces added one at a time, then the full engine with one piece taken out at a
time. Quality only (hit@1, hit@3, rejection, false answers, answer rate), on the shipped single episode.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rapidfuzz import fuzz, process

from bot.config import DEFAULT_CONFIG, DEFAULT_CONTENT, load_settings
from bot.content import load_valid_content
from bot.core import BotCore
from bot.evaluate import EvalItem, _metrics, load_questions, score
from bot.index import TermIndex

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETS = [
    ROOT.parent / "shared" / "eval" / "dev.yaml",
    ROOT / "eval" / "own.yaml",
    ROOT / "eval" / "own2.yaml",
]


def _ranked_metrics(rank, items: list[EvalItem]) -> dict[str, float]:
    rows = []
    for it in items:
        ranked = rank(it.q)[:10]
        hit = next((i + 1 for i, line in enumerate(ranked) if line in set(it.lines)), None)
        rows.append({"gold": it.lines, "rank": hit, "answered": False})
    m = _metrics(rows)
    for key in ("answer_rate", "false_answers", "rejection"):
        m.pop(key, None)
    return m


def _bigrams(text: str) -> dict[str, int]:
    t = "".join(text.split())
    return {t[i : i + 2]: 1 for i in range(len(t) - 1)}


def _cell(m: dict[str, float]) -> str:
    out = f"h1={m['hit1']:.3f} h3={m['hit3']:.3f}"
    if "answer_rate" in m:
        out += f" rej={m.get('rejection', 0):.2f} fa={m['false_answers']:.3f} ans={m['answer_rate']:.2f}"
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ablation", description=__doc__)
    p.add_argument("sets", nargs="*", type=Path, default=[s for s in DEFAULT_SETS if s.exists()])
    args = p.parse_args(argv)
    sets = [(path.stem, load_questions(path)) for path in args.sets]
    content = load_valid_content(DEFAULT_CONTENT)
    if len(content.episodes) != 1:
        raise SystemExit("the ablation runs on a single-episode content folder")
    (episode,) = content.episodes
    raw = [s.raw for s in content.segments[episode]]
    print("| system | " + " | ".join(name for name, _ in sets) + " |")
    print("|---|" + "---|" * len(sets))

    def row(label: str, per: list[dict[str, float]]) -> None:
        print(f"| {label} | " + " | ".join(_cell(m) for m in per) + " |", flush=True)

    def wratio(q: str) -> list[int]:
        return [i + 1 for _, _, i in process.extract(q, raw, scorer=fuzz.WRatio, limit=10)]

    row("naive WRatio over raw lines", [_ranked_metrics(wratio, items) for _, items in sets])
    bigram_index = TermIndex(_bigrams(r) for r in raw)

    def bm25(q: str) -> list[int]:
        return [d + 1 for d, _ in bigram_index.top(_bigrams(q), 10)]

    row("BM25 over character bigrams", [_ranked_metrics(bm25, items) for _, items in sets])

    def engine(label: str, pieces, **match) -> None:
        settings = load_settings(DEFAULT_CONFIG, env={})
        settings.index_cache = False
        for key, value in match.items():
            setattr(settings.match, key, value)
        core = BotCore(settings, pieces)
        row(label, [score(core, items)[0]["all"] for _, items in sets])

    engine(
        "engine, no FAQ / glossary / lexicon", dataclasses.replace(content, faq=[], glossary=[], lexicon={})
    )
    engine("+ glossary", dataclasses.replace(content, faq=[], lexicon={}))
    engine("+ glossary + lexicon", dataclasses.replace(content, faq=[]))
    engine("+ curated FAQ (the shipped bot)", content)
    engine("shipped − synonyms (词林)", content, synonyms="")
    engine("shipped − question-word hints", content, hint_weight=0.0)
    engine("shipped − typo corrections", content, typo_correction=False)
    engine(
        "shipped − host-question transfer",
        content,
        question_penalty=1.0,
        question_transfer=0.0,
        question_line_chars=0,
    )
    engine("shipped − FAQ answer text", content, faq_w_answer=0.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
