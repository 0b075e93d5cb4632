"""The benchmark's generator and output format, on a tiny show (the real runs are `python -m benchmarks`)."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from benchmarks import synth
from benchmarks.__main__ import FIGURES, main, spread_indices
from benchmarks.systems import SYSTEMS, Fts5Trigram, trigram_query
from bot.content import load_valid_content

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.yaml"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_show(tmp_path_factory) -> Path:
    return synth.generate_show(tmp_path_factory.mktemp("a"), 3, seed=7)


def test_same_seed_same_files(tiny_show: Path, tmp_path: Path):
    again = synth.generate_show(tmp_path, 3, seed=7)
    assert _files(again) == _files(tiny_show)
    other = synth.generate_show(tmp_path / "other", 3, seed=8)
    t = Path("episodes") / "ep-0001" / "transcript.txt"
    assert (other / t).read_bytes() != (tiny_show / t).read_bytes()
    # Generated once, then reused.
    mtime = (again / t).stat().st_mtime_ns
    assert synth.generate_show(tmp_path, 3, seed=7) == again
    assert (again / t).stat().st_mtime_ns == mtime


def test_show_is_valid_content_with_the_real_episode(tiny_show: Path):
    content = load_valid_content(tiny_show)
    assert list(content.episodes) == ["ep-0001", "ep-0002", synth.REAL_EPISODE]
    real = (synth.REAL_CONTENT / "episodes" / synth.REAL_EPISODE / "transcript.txt").read_bytes()
    assert (tiny_show / "episodes" / synth.REAL_EPISODE / "transcript.txt").read_bytes() == real
    for name in ("faq.yaml", "glossary.yaml", "lexicon.yaml"):
        assert (tiny_show / name).exists()


def test_lines_look_like_the_recognizer(tiny_show: Path):
    for ep in ("ep-0001", "ep-0002"):
        lines = (tiny_show / "episodes" / ep / "transcript.txt").read_text(encoding="utf-8").split("\n")
        assert lines[-1] == ""
        lines = lines[:-1]
        assert synth.LINES_MIN <= len(lines) <= synth.LINES_MAX
        lengths = [len(line) for line in lines]
        assert 170 <= statistics.median(lengths) <= 280
        assert max(lengths) <= 700 and max(lengths) >= 450
        assert all(line.strip() for line in lines)
        text = "\n".join(lines)
        assert ", " in text and "。 " in text
        assert 0.05 <= sum(line.endswith("?") for line in lines) / len(lines) <= 0.3
        words = text.split()
        assert 1.5 <= statistics.mean(len(w.strip(",。?")) for w in words) <= 3.5
        assert any(w.isascii() and w.isalpha() for w in words)  # a few Latin words


def test_synthetic_questions_are_deterministic_phrases(tiny_show: Path):
    qs = synth.synthetic_questions(tiny_show, 20, seed=3)
    assert qs == synth.synthetic_questions(tiny_show, 20, seed=3)
    assert len(qs) == 20
    for q in qs:
        line = (tiny_show / "episodes" / q["episode"] / "transcript.txt").read_text(encoding="utf-8")
        assert 1 <= q["line"] <= len(line.split("\n"))
        assert not re.search("[\u4e00-\u9fff] [\u4e00-\u9fff]", q["q"])  # typed without the spaces


def test_trigram_query_and_fts5_rank(tiny_show: Path):
    assert trigram_query("参数量, 多？") == '"参数量"'
    assert trigram_query("参数量 多大") == '"参数量" OR "数量多" OR "量多大"'
    assert trigram_query("ab") == ""
    fts = Fts5Trigram()
    fts.build(load_valid_content(tiny_show))
    line = (tiny_show / "episodes" / "ep-0002" / "transcript.txt").read_text(encoding="utf-8").split("\n")[9]
    phrase = "".join(line.split(", ")[0].split()[:6])
    assert ("ep-0002", 10) in fts.ask(phrase)[:3]


def test_bm25_jieba_baseline(tiny_show: Path):
    pytest.importorskip("bm25s")
    from benchmarks.systems import Bm25Jieba

    bm = Bm25Jieba()
    bm.build(load_valid_content(tiny_show))
    line = (tiny_show / "episodes" / "ep-0001" / "transcript.txt").read_text(encoding="utf-8").split("\n")[4]
    phrase = "".join(line.split()[:8]).strip(",。?")
    assert ("ep-0001", 5) in bm.ask(phrase)[:3]


def test_spread_indices():
    assert spread_indices(5, 10) == [0, 1, 2, 3, 4]
    assert spread_indices(100, 4) == [0, 25, 50, 75]


@pytest.mark.skipif(not DEV.exists(), reason="needs ../shared/eval/dev.yaml")
def test_json_schema_of_a_tiny_run(tmp_path: Path, capsys):
    out = tmp_path / "bench.json"
    code = main(
        [
            "--episodes", "2", "--queries", "60", "--out-dir", str(tmp_path / "out"),
            "--systems", "engine,fts5_trigram", "--json", str(out), "--dev", str(DEV),
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert list(report) == ["episodes", "single_episode", *SYSTEMS]
    assert report["episodes"] == 2
    assert set(report["single_episode"]) == {"hit1", "hit3"}
    for system in SYSTEMS:
        assert list(report[system]) == list(FIGURES)
    for system in ("engine", "fts5_trigram"):
        for figure in ("build_s", "startup_s", "p50_ms", "p99_ms", "qps", "peak_rss_mb", "hit1", "hit3"):
            assert isinstance(report[system][figure], int | float), (system, figure)
        assert 0 <= report[system]["hit3"] <= 1 and report[system]["hit1"] <= report[system]["hit3"]
    assert all(v is None for v in report["naive_wratio"].values())
    printed = capsys.readouterr().out
    assert "build_s" in printed and ("PASS" in printed or "FAIL" in printed)
    assert "naive_wratio: all figures null: not run (--systems)" in printed
