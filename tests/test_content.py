"""Loading and validation: every kind of problem is reported with file:line, and the shipped content is valid."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentError, load_content, load_valid_content
from bot.text import normalize

CONTENT = Path(__file__).resolve().parent.parent / "content"

EPISODE = """\
id: demo
show: Demo Show
title: A demo
date: unknown
host: Host
guests: [Guest]
link: ""
language: zh
"""
TRANSCRIPT = "第一 行 我们 聊 模型。\n第二 行 讲 数据 和 算力。\n第三 行 说 结束。\n"


def make(
    tmp_path: Path, faq: str = "", glossary: str = "", episode: str = EPISODE, transcript=TRANSCRIPT
) -> Path:
    root = tmp_path / "content"
    ep = root / "episodes" / "demo"
    ep.mkdir(parents=True)
    (ep / "episode.yaml").write_text(episode, encoding="utf-8")
    if isinstance(transcript, bytes):
        (ep / "transcript.txt").write_bytes(transcript)
    else:
        (ep / "transcript.txt").write_text(transcript, encoding="utf-8")
    if faq:
        (root / "faq.yaml").write_text(faq, encoding="utf-8")
    if glossary:
        (root / "glossary.yaml").write_text(glossary, encoding="utf-8")
    return root


def problems_of(root: Path) -> list[str]:
    return [str(p) for p in load_content(root)[1]]


def test_minimal_content_loads(tmp_path):
    content = load_valid_content(make(tmp_path))
    assert list(content.episodes) == ["demo"]
    assert [s.line for s in content.segments["demo"]] == [1, 2, 3]


def test_unknown_and_missing_keys(tmp_path):
    faq = "- id: a\n  questions: [问题]\n  answer: 答案\n  cite: [{episode: demo, lines: [1]}]\n  colour: red\n- id: b\n  questions: [问题]\n"
    probs = problems_of(make(tmp_path, faq=faq))
    assert any(p.startswith("content/faq.yaml:5:") and "unknown key 'colour'" in p for p in probs), probs
    assert any(p.startswith("content/faq.yaml:6:") and "missing key 'answer'" in p for p in probs), probs


def test_duplicate_faq_id(tmp_path):
    entry = "- id: same\n  questions: [问题]\n  answer: 答案\n  cite: [{episode: demo, lines: [1]}]\n"
    probs = problems_of(make(tmp_path, faq=entry + entry))
    assert any(
        p.startswith("content/faq.yaml:5:") and "duplicate FAQ id 'same' (first at line 1)" in p
        for p in probs
    )


def test_citation_to_a_missing_line_or_episode(tmp_path):
    faq = (
        "- id: a\n  questions: [问题]\n  answer: 答案\n  cite:\n    - episode: demo\n      lines: [2, 9]\n"
        "- id: b\n  questions: [问题]\n  answer: 答案\n  cite:\n    - episode: nope\n      lines: [1]\n"
    )
    probs = problems_of(make(tmp_path, faq=faq))
    assert any(
        p.startswith("content/faq.yaml:6:") and "line 9 does not exist in demo (it has 3 lines)" in p
        for p in probs
    )
    assert any(p.startswith("content/faq.yaml:11:") and "unknown episode 'nope'" in p for p in probs)


def test_bad_encoding_names_the_line(tmp_path):
    root = make(tmp_path, transcript="好的 一行\n第二 行\n".encode() + b"\xff\xfe bad\n")
    probs = problems_of(root)
    assert any(p.startswith("content/episodes/demo/transcript.txt:3:") and "UTF-8" in p for p in probs), probs


def test_yaml_syntax_error_names_the_line(tmp_path):
    probs = problems_of(make(tmp_path, faq="- id: a\n  questions: [unclosed\n  answer: x\n"))
    assert len(probs) == 1 and probs[0].startswith("content/faq.yaml:") and "YAML syntax" in probs[0]


def test_episode_id_must_match_folder_and_date_format(tmp_path):
    bad = EPISODE.replace("id: demo", "id: other").replace("date: unknown", "date: Feb 2024")
    probs = problems_of(make(tmp_path, episode=bad))
    assert any(
        p.startswith("content/episodes/demo/episode.yaml:1:") and "differs from its folder" in p
        for p in probs
    )
    assert any(p.startswith("content/episodes/demo/episode.yaml:4:") and "YYYY-MM-DD" in p for p in probs)


def test_glossary_problems(tmp_path):
    glossary = (
        "- term: Sora\n  misheard: [骚扰]\n  episodes: [demo]\n"
        "- term: Other\n  misheard: [骚扰]\n  episodes: [demo]\n"
        "- term: X\n  episodes: [missing]\n  display: maybe\n"
    )
    probs = problems_of(make(tmp_path, glossary=glossary))
    assert any(
        p.startswith("content/glossary.yaml:5:") and "already belongs to 'Sora'" in p for p in probs
    ), probs
    assert any(
        p.startswith("content/glossary.yaml:8:") and "unknown episode 'missing'" in p for p in probs
    ), probs
    assert any(
        p.startswith("content/glossary.yaml:9:") and "'display' must be true or false" in p for p in probs
    )


def test_all_problems_are_reported_at_once(tmp_path):
    faq = "- id: Bad Id\n  questions: []\n  answer: ''\n  cite: [{episode: demo, lines: [0]}]\n"
    probs = problems_of(make(tmp_path, faq=faq))
    assert len(probs) >= 3


def test_load_valid_content_raises_with_every_problem(tmp_path):
    with pytest.raises(ContentError) as err:
        load_valid_content(make(tmp_path, episode="id: [unclosed\n"))
    assert "episode.yaml:2: YAML syntax" in str(err.value) and "started at line 1" in str(err.value)


# --- the shipped content ------------------------------------------------------------------------------------


def test_shipped_content_is_valid():
    content, problems = load_content(CONTENT)
    assert problems == []
    assert content.segment_count >= 270


def test_first_episode_transcript_is_the_seed_verbatim():
    seed = CONTENT.parent.parent / "shared" / "seeds" / "000_857b724a314cae7f.txt"
    if not seed.exists():
        pytest.skip("shared seeds not beside the checkout")
    assert (CONTENT / "episodes" / "sora-discussion" / "transcript.txt").read_bytes() == seed.read_bytes()


def test_every_faq_citation_line_contains_a_key_term(core):
    content = core.content
    engine = core.engine
    assert len(content.faq) >= 40
    for entry in content.faq:
        assert len(entry.questions) >= 3, entry.id
        assert entry.keywords, entry.id
        keys = [normalize(k).replace(" ", "") for k in entry.keywords]
        for cite in entry.citations:
            for line in cite.lines:
                raw = content.segment(cite.episode_id, line).raw
                text = engine.glossary.for_segment(cite.episode_id, normalize(raw)).replace(" ", "")
                text_raw = normalize(raw).replace(" ", "")
                assert any(k in text or k in text_raw for k in keys), (entry.id, line, entry.keywords)


def test_glossary_has_the_curated_terms(core):
    terms = {t.term for t in core.content.glossary}
    assert len(terms) >= 60
    assert {"Sora", "OpenAI", "文生视频"} <= terms


def test_copy_of_shipped_content_validates_elsewhere(tmp_path):
    shutil.copytree(CONTENT, tmp_path / "content")
    assert load_content(tmp_path / "content")[1] == []
