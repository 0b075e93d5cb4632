"""Evaluation on question sets (format: ``../shared/eval/README.md``).

Metrics over the bot's ranked quoted lines: hit@1, hit@3, MRR@10 on answerable questions; rejection
(share of negative questions declined); false answers (answerable questions answered with no gold line in
the top 3); answer rate (answerable questions answered, not just suggested).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .core import BotCore
from .yamlio import Problem, load_yaml


@dataclass
class EvalItem:
    id: str
    q: str
    lines: list[int]
    style: str
    episode: str | None = None  # the episode the lines are in; default: the set's episode


def load_questions(path: Path) -> list[EvalItem]:
    problems: list[Problem] = []
    data = load_yaml(path, problems)
    if problems:
        raise ValueError("\n".join(map(str, problems)))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of questions")
    items = []
    for i, d in enumerate(data):
        if not isinstance(d, dict) or "q" not in d:
            raise ValueError(f"{path}:{data.line_of(i)}: each question needs at least 'q'")
        items.append(
            EvalItem(
                str(d.get("id", i + 1)), str(d["q"]), list(d.get("lines") or []), str(d.get("style", "?"))
            )
        )
    return items


def score(
    core: BotCore, items: list[EvalItem], episode: str | None = None
) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """Metrics overall and per style, plus one row per question for inspection.

    A quoted line is a hit when it is a gold line *of the question's episode* (``episode``, or the item's
    own; with a single episode, that one)."""
    if episode is None and len(core.content.episodes) == 1:
        episode = next(iter(core.content.episodes))
    rows = []
    for it in items:
        ep = it.episode or episode
        if ep is None:
            raise ValueError(
                "the content has several episodes: say which one the questions are about (--episode)"
            )
        reply = core.ask(it.q)
        ranked = [h.line if h.episode_id == ep else -1 for h in reply.hits[:10]]
        gold = set(it.lines)
        rank = next((i + 1 for i, ln in enumerate(ranked) if ln in gold), None)
        rows.append(
            {
                "id": it.id,
                "style": it.style,
                "q": it.q,
                "gold": it.lines,
                "ranked": ranked[:5],
                "rank": rank,
                "answered": reply.answered,
                "kind": reply.kind,
                "source": reply.source,
                "confidence": round(reply.hits[0].score, 3) if reply.hits else 0.0,
            }
        )
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups["all"].append(r)
        groups[r["style"]].append(r)
    return {name: _metrics(rs) for name, rs in groups.items()}, rows


def _metrics(rows: list[dict]) -> dict[str, float]:
    pos = [r for r in rows if r["gold"]]
    neg = [r for r in rows if not r["gold"]]
    m: dict[str, float] = {"n": len(rows)}
    if pos:
        m["hit1"] = sum(1 for r in pos if r["rank"] == 1) / len(pos)
        m["hit3"] = sum(1 for r in pos if r["rank"] and r["rank"] <= 3) / len(pos)
        m["mrr10"] = sum(1 / r["rank"] for r in pos if r["rank"]) / len(pos)
        m["false_answers"] = sum(
            1 for r in pos if r["answered"] and not (r["rank"] and r["rank"] <= 3)
        ) / len(pos)
        m["answer_rate"] = sum(1 for r in pos if r["answered"]) / len(pos)
    if neg:
        m["rejection"] = sum(1 for r in neg if not r["answered"]) / len(neg)
    return m


COLUMNS = ("n", "hit1", "hit3", "mrr10", "rejection", "false_answers", "answer_rate")


def format_table(metrics: dict[str, dict[str, float]]) -> str:
    names = ["all", *sorted(k for k in metrics if k != "all")]
    lines = [f"{'style':<12}" + "".join(f"{c:>14}" for c in COLUMNS)]
    for name in names:
        m = metrics[name]
        cells = []
        for c in COLUMNS:
            v = m.get(c)
            cells.append(f"{'-':>14}" if v is None else (f"{int(v):>14}" if c == "n" else f"{v:>14.3f}"))
        lines.append(f"{name:<12}" + "".join(cells))
    return "\n".join(lines)
