"""The matcher: a question in, ranked transcript lines and FAQ entries out, with a confidence in [0, 1].

Two stages, the way search engines are built:

1. **Candidates**: BM25 over line-level terms (``bot.index``) picks a few dozen lines out of any number
   of episodes, and BM25 over FAQ phrasings picks a few dozen phrasings.
2. **Ranking**: each candidate line is read sentence by sentence. A sentence window (the sentence and its
   neighbours) scores by *coverage*: the weighted share of the question's slots it says
   (``bot.analysis.Slot``). Coverage is an absolute measure, so it doubles as the confidence that the
   policy in ``bot.core`` compares with the thresholds in ``config/``. An FAQ phrasing scores by how much
   of the question it covers and how much of it the question covers, plus a fuzzy ratio (rapidfuzz) of
   the two texts; its cited lines then compete with transcript lines on the same scale.

The host's questions share the listener's words but do not answer them: a line whose best sentence is a
question passes most of its score to the next line, where the answer usually is.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from .analysis import (
    QUESTION_HINTS,
    UNIGRAM_WEIGHT,
    Slot,
    add_words,
    doc_terms,
    load_synonyms,
    pinyin_key,
    split_words,
    word_groups,
)
from .config import MatchSettings
from .content import Content, FaqEntry
from .glossary import Glossary
from .index import TermIndex
from .text import CJK_RE, display_text, is_question, normalize, split_sentences, to_simplified

# "..., 对吧?" closes a statement, it does not ask the other speaker anything.
_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
TAG_QUESTION_RE = re.compile(r"(对吧|是吧|对不对|是不是|好吧|right)\s*[?？]+\s*$")


@dataclass(frozen=True)
class Sentence:
    display: str
    terms: frozenset[str]
    question: bool


@dataclass
class Hit:
    episode_id: str
    line: int
    score: float
    sentence: int = 0
    source: str = "transcript"  # or "faq"
    faq_id: str | None = None


@dataclass
class FaqMatch:
    entry: FaqEntry
    score: float
    phrasing: str


@dataclass
class SearchResult:
    question: str
    hits: list[Hit] = field(default_factory=list)
    faq: list[FaqMatch] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return min(1.0, self.hits[0].score) if self.hits else 0.0


class Engine:
    """Everything the matcher needs, built once from validated content."""

    def __init__(self, content: Content, settings: MatchSettings, extra_names: tuple[str, ...] = ()):
        self.content = content
        self.settings = settings
        self.glossary = Glossary(content.glossary, content.episodes)
        # The segmenter's dictionary lacks the domain's words (大模型 comes out as 大/模型, or worse 碰大/模型):
        # teach it the glossary's terms, the lexicon's Chinese words and the FAQ's key terms.
        add_words(
            [t.term for t in content.glossary]
            + [a for t in content.glossary for a in t.aliases]
            + [w for words in content.lexicon.values() for w in words]
            + [k for e in content.faq for k in e.keywords]
        )
        self._strip_names = [normalize(n) for n in extra_names if normalize(n)]
        self._keep = frozenset(self.glossary.canonical_terms())
        # Documents: one per transcript line, in a stable order.
        self.docs: list[tuple[str, int]] = []
        self._ep_of_doc: list[str] = []
        line_terms: list[Counter[str]] = []
        self._sentences: dict[tuple[str, int], list[Sentence]] = {}
        # Bigrams inside a word (the recognizer's spaces are word boundaries): the only ones a homophone
        # correction may propose, so 营收 is not "corrected" to the 迎收 of 欢迎 收听.
        word_bigrams: set[str] = set()
        for ep_id, segments in content.segments.items():
            for seg in segments:
                for run in _CJK_RUN_RE.findall(seg.raw):
                    word_bigrams.update(run[i : i + 2] for i in range(len(run) - 1))
                sents = self._read_line(ep_id, seg.raw)
                self._sentences[(ep_id, seg.line)] = sents
                counts: Counter[str] = Counter()
                for s in sents:
                    counts.update(s.terms)
                self.docs.append((ep_id, seg.line))
                line_terms.append(counts)
        self.doc_of = {key: i for i, key in enumerate(self.docs)}
        self.lines = TermIndex(line_terms)
        self._doc_episode = np.asarray(
            [list(content.episodes).index(ep) for ep, _ in self.docs], dtype=np.int32
        )
        # FAQ phrasings: one document per phrasing.
        self._phrasings: list[tuple[int, str, list[Slot]]] = []
        phrasing_terms: list[Counter[str]] = []
        for i, entry in enumerate(content.faq):
            for q in entry.questions:
                norm = self._normalize_question(q)
                phrasing_terms.append(Counter(doc_terms(norm)))
                self._phrasings.append((i, norm, []))
        self.faq_index = TermIndex(phrasing_terms)
        # Each entry's answer and keywords, in clean words of our own: more ways to recognize a question.
        answer_terms = [
            Counter(doc_terms(self._normalize_question(" ".join((e.answer, *e.keywords)))))
            for e in content.faq
        ]
        self.answer_index = TermIndex(answer_terms)
        self._answer_terms = [frozenset(c) for c in answer_terms]
        vocab = set(self.lines.vocab) | set(self.faq_index.vocab)
        self._vocab = vocab
        self._latin_vocab = sorted(t for t in vocab if not CJK_RE.match(t) and len(t) >= 3)
        self._homophones: dict[str, list[str]] | None = None
        for t in content.glossary:
            for form in (t.term, *t.aliases):
                for run in _CJK_RUN_RE.findall(normalize(form)):
                    word_bigrams.update(run[i : i + 2] for i in range(len(run) - 1))
        self._word_bigrams = {to_simplified(b) for b in word_bigrams}
        self._homophone_map()
        self._lexicon_rx = self._compile_lexicon()
        self.synonyms = load_synonyms(settings.synonyms) if settings.synonyms else {}
        # FAQ phrasings need slots too (to measure how much of a phrasing a question covers).
        self._phrasings = [(i, norm, self.slots_of(norm, correct=False)) for i, norm, _ in self._phrasings]

    # --- reading ----------------------------------------------------------------------------------------

    def _read_line(self, ep_id: str, raw: str) -> list[Sentence]:
        out = []
        for start, end in split_sentences(raw):
            piece = raw[start:end]
            norm = self.glossary.for_segment(ep_id, normalize(piece))
            shown = self.glossary.for_display(ep_id, display_text(piece))
            asks = is_question(piece) and not TAG_QUESTION_RE.search(norm)
            out.append(Sentence(shown, frozenset(doc_terms(norm)), asks))
        return out

    def sentences(self, episode_id: str, line: int) -> list[Sentence]:
        return self._sentences.get((episode_id, line), [])

    def display_line(self, episode_id: str, line: int) -> str:
        return "".join(s.display for s in self.sentences(episode_id, line)).strip()

    # --- questions --------------------------------------------------------------------------------------

    def _normalize_question(self, text: str) -> str:
        norm = normalize(text)
        for name in self._strip_names:
            norm = norm.replace(name, " ")
        return self.glossary.for_query(norm)

    def _compile_lexicon(self) -> re.Pattern[str] | None:
        keys = sorted(self.content.lexicon, key=len, reverse=True)
        if not keys:
            return None
        body = "|".join(r"\s+".join(re.escape(p) for p in k.split()) for k in keys)
        return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")

    def _term_idf(self, term: str) -> float:
        df = self.lines.df(term)
        return self.lines.idf(term) if df else self.lines.idf_max

    def _slot(
        self, word: str, alternatives: list[tuple[tuple[frozenset[str], ...], float]], unigram: bool
    ) -> Slot:
        alt_idf = []
        for alt, credit in alternatives:
            if credit < 1.0 or not alt:
                continue  # synonyms help a slot match; they don't decide what it weighs
            groups = [min(self._term_idf(t) for t in g) for g in alt]
            alt_idf.append(sum(groups) / len(groups))
        weight = min(alt_idf) if alt_idf else self.lines.idf_max
        if unigram:
            weight *= UNIGRAM_WEIGHT
        return Slot(word, tuple(alternatives), weight)

    def _homophone_map(self) -> dict[str, list[str]]:
        """Toneless pinyin of every bigram in the index → the bigrams (built once, from per-character pinyin)."""
        if self._homophones is None:
            table: dict[str, list[str]] = {}
            for term in sorted(self._word_bigrams):
                table.setdefault(pinyin_key(term), []).append(term)
            self._homophones = table
        return self._homophones

    def _correct(self, groups: tuple[frozenset[str], ...]) -> tuple[frozenset[str], ...]:
        """Add homophones (CJK) or close spellings (Latin) for terms no document contains."""
        out = []
        for g in groups:
            (term,) = tuple(g)
            if term in self._vocab:
                out.append(g)
            elif CJK_RE.match(term):
                if len(term) == 2:
                    alts = self._homophone_map().get(pinyin_key(term), [])
                    out.append(frozenset([term, *alts[:4]]))
                else:
                    out.append(g)
            elif len(term) >= 4 and self._latin_vocab:
                close = process.extract(term, self._latin_vocab, scorer=fuzz.ratio, score_cutoff=80, limit=3)
                out.append(frozenset([term, *(c[0] for c in close)]))
            else:
                out.append(g)
        return tuple(out)

    def slots_of(self, normalized: str, correct: bool = True) -> list[Slot]:
        slots: list[Slot] = []
        text = normalized
        if self._lexicon_rx is not None:
            found = []
            for m in self._lexicon_rx.finditer(text):
                key = " ".join(m.group(0).split())
                found.append((m.start(), m.end(), key))
            for _, _, key in found:
                alts = [(word_groups(w), 1.0) for w in [key.replace(" ", "")] if w in self._vocab]
                for zh in self.content.lexicon[key]:
                    zn = normalize(zh)
                    if zn:
                        alts.append((word_groups(zn) if CJK_RE.match(zn) else (frozenset([zn]),), 1.0))
                slots.append(self._slot(key, alts, unigram=False))
            for start, end, _ in reversed(found):
                text = text[:start] + " " + text[end:]
        hints: list[str] = []
        words = split_words(text, self._keep, hints)
        if correct:
            for h in dict.fromkeys(hints):
                alts = [(word_groups(w), 1.0) for w in QUESTION_HINTS[h]]
                slot = self._slot(h, alts, unigram=False)
                slots.append(Slot(slot.word, slot.alternatives, slot.weight * self.settings.hint_weight))
        for word in words:
            groups = word_groups(word)
            if correct:
                groups = self._correct(groups)
            unigram = len(word) == 1 and bool(CJK_RE.match(word))
            alts = [(groups, 1.0)]
            if correct and self.synonyms:
                credit = self.settings.synonym_credit
                alts += [(word_groups(syn), credit) for syn in self.synonyms.get(word, ())]
            slots.append(self._slot(word, alts, unigram))
        # The same word twice counts once.
        seen: dict[str, Slot] = {}
        for s in slots:
            seen.setdefault(s.word, s)
        return list(seen.values())

    def analyze(self, question: str) -> tuple[str, list[Slot]]:
        norm = self._normalize_question(question[: self.settings.max_question_chars])
        return norm, self.slots_of(norm)

    # --- scoring ----------------------------------------------------------------------------------------

    @staticmethod
    def coverage(slots: list[Slot], present: set[str] | frozenset[str]) -> float:
        if not present:
            return 0.0
        total = 0.0
        said = 0.0
        for s in slots:
            total += s.weight
            said += s.weight * s.match(present)
        return said / total if total > 0 else 0.0

    def _score_line(
        self, slots: list[Slot], ep: str, line: int, qterms: frozenset[str] = frozenset()
    ) -> tuple[float, int, bool]:
        sents = self.sentences(ep, line)
        if not sents:
            return 0.0, 0, False
        st = self.settings
        if not qterms:
            qterms = frozenset().union(*(s.all_terms for s in slots))
        # Only the question's terms matter: intersect once, then windows are unions of tiny sets.
        present = [s.terms & qterms for s in sents]
        line_cov = self.coverage(slots, frozenset().union(*present))
        best, best_i = -1.0, 0
        for i, here in enumerate(present):
            lo, hi = max(0, i - st.window), min(len(sents), i + st.window + 1)
            window = frozenset().union(*present[lo:hi])
            score = st.w_window * self.coverage(slots, window) + st.w_line * line_cov
            if here:
                score += st.w_sentence * self.coverage(slots, here)
            if score > best:
                best, best_i = score, i
        return best, best_i, sents[best_i].question

    def _query_terms(self, slots: list[Slot]) -> dict[str, float]:
        terms: dict[str, float] = {}
        for s in slots:
            factor = UNIGRAM_WEIGHT if len(s.word) == 1 and CJK_RE.match(s.word) else 1.0
            for t in s.terms():
                terms[t] = max(terms.get(t, 0.0), factor)
        return terms

    def search(self, question: str, episode: str | None = None, limit: int | None = None) -> SearchResult:
        st = self.settings
        limit = limit or st.max_hits
        norm, slots = self.analyze(question)
        result = SearchResult(question, slots=slots)
        if not slots:
            return result
        qterms = self._query_terms(slots)
        mask = None
        if episode is not None:
            ep_index = list(self.content.episodes).index(episode)
            mask = self._doc_episode == ep_index
        scored: dict[tuple[str, int], Hit] = {}
        for doc, _bm25 in self.lines.top(qterms, st.candidates, mask):
            ep, line = self.docs[doc]
            score, sent, is_q = self._score_line(slots, ep, line)
            if is_q:
                nxt = (ep, line + 1)
                if nxt in self.doc_of:
                    n_score, n_sent, _ = self._score_line(slots, *nxt)
                    moved = max(n_score, score * st.question_transfer)
                    old = scored.get(nxt)
                    if old is None or old.score < moved:
                        scored[nxt] = Hit(ep, line + 1, moved, n_sent)
                score *= st.question_penalty
            old = scored.get((ep, line))
            if old is None or old.score < score:
                scored[(ep, line)] = Hit(ep, line, score, sent)
        result.faq = self._match_faq(norm, slots, qterms, episode)
        for fm in result.faq[:3]:
            for rank, (ep, line) in enumerate(self._cited(fm.entry, episode)):
                score = fm.score - st.faq_line_step * rank
                old = scored.get((ep, line))
                if old is not None and old.score >= score:
                    old.score += st.agreement_bonus * score
                    continue
                sent = old.sentence if old else self._best_sentence(slots, fm.entry, ep, line)
                bonus = st.agreement_bonus * old.score if old else 0.0
                scored[(ep, line)] = Hit(ep, line, score + bonus, sent, "faq", fm.entry.id)
        hits = sorted(scored.values(), key=lambda h: (-h.score, h.episode_id, h.line))
        result.hits = hits[: max(limit, 10)]
        return result

    def _cited(self, entry: FaqEntry, episode: str | None) -> list[tuple[str, int]]:
        return [
            (c.episode_id, n) for c in entry.citations for n in c.lines if episode in (None, c.episode_id)
        ]

    def _best_sentence(self, slots: list[Slot], entry: FaqEntry, ep: str, line: int) -> int:
        sents = self.sentences(ep, line)
        keys = [normalize(k) for k in entry.keywords]
        best, best_i = -1.0, 0
        for i, s in enumerate(sents):
            score = self.coverage(slots, s.terms) + sum(
                0.5 for k in keys if k and all(t in s.terms for t in doc_terms(k))
            )
            if score > best:
                best, best_i = score, i
        return best_i

    def _match_faq(
        self, norm: str, slots: list[Slot], qterms: dict[str, float], episode: str | None
    ) -> list[FaqMatch]:
        if not self._phrasings:
            return []
        st = self.settings
        present = set(qterms)
        content_words = "".join(s.word for s in slots)
        phrasing_score: dict[int, tuple[float, int]] = {}
        for doc, _ in self.faq_index.top(qterms, st.faq_candidates):
            entry_i, _p_norm, p_slots = self._phrasings[doc]
            p_terms = self._phrasing_terms(doc)
            q_cov = self.coverage(slots, p_terms)
            p_cov = self.coverage(p_slots, present)
            p_words = "".join(s.word for s in p_slots)
            ratio = fuzz.ratio(content_words, p_words) / 100 if content_words and p_words else 0.0
            score = st.faq_w_question * q_cov + st.faq_w_phrasing * p_cov + st.faq_w_fuzzy * ratio
            if score > phrasing_score.get(entry_i, (-1.0, 0))[0]:
                phrasing_score[entry_i] = (score, doc)
        candidates = set(phrasing_score)
        candidates.update(doc for doc, _ in self.answer_index.top(qterms, st.faq_candidates // 2))
        out = []
        for entry_i in candidates:
            entry = self.content.faq[entry_i]
            if episode and not any(c.episode_id == episode for c in entry.citations):
                continue
            phr, doc = phrasing_score.get(entry_i, (0.0, -1))
            ans = self.coverage(slots, self._answer_terms[entry_i])
            score = (1 - st.faq_w_answer) * phr + st.faq_w_answer * ans
            shown = self._phrasings[doc][1] if doc >= 0 else entry.questions[0]
            out.append(FaqMatch(entry, score, shown))
        return sorted(out, key=lambda m: (-m.score, m.entry.id))

    @functools.cache  # noqa: B019 - the engine lives as long as its content
    def _phrasing_terms(self, doc: int) -> frozenset[str]:
        return frozenset(doc_terms(self._phrasings[doc][1]))

    # --- quotes -----------------------------------------------------------------------------------------

    def excerpt(self, episode_id: str, line: int, sentence: int, max_chars: int) -> str:
        """At most ``max_chars`` of the line, centred on ``sentence``, with … where cut."""
        sents = [s.display.strip() for s in self.sentences(episode_id, line)]
        if not sents:
            return ""
        sentence = min(max(sentence, 0), len(sents) - 1)
        lo = hi = sentence
        text = sents[sentence]
        if len(text) > max_chars:
            return text[: max_chars - 1].rstrip() + "…"
        while True:
            grew = False
            if hi + 1 < len(sents) and len(text) + len(sents[hi + 1]) <= max_chars - 2:
                hi += 1
                text = text + sents[hi]
                grew = True
            if lo > 0 and len(text) + len(sents[lo - 1]) <= max_chars - 2:
                lo -= 1
                text = sents[lo] + text
                grew = True
            if not grew:
                break
        if lo > 0:
            text = "…" + text
        if hi < len(sents) - 1:
            text = text + "…"
        return text

    def quote_lookup(self, query: str, episode: str | None = None, limit: int = 5) -> list[Hit]:
        """Quotes by words: transcript lines only, ranked by how much of the query they say."""
        _norm, slots = self.analyze(query)
        if not slots:
            return []
        qterms = self._query_terms(slots)
        mask = None
        if episode is not None:
            mask = self._doc_episode == list(self.content.episodes).index(episode)
        hits = []
        for doc, _ in self.lines.top(qterms, self.settings.candidates, mask):
            ep, line = self.docs[doc]
            score, sent, _ = self._score_line(slots, ep, line)
            hits.append(Hit(ep, line, score, sent))
        hits.sort(key=lambda h: (-h.score, h.episode_id, h.line))
        return hits[:limit]

    def random_line(self, rng: random.Random, min_chars: int = 40) -> tuple[str, int]:
        choices = [(ep, ln) for ep, ln in self.docs if len(self.display_line(ep, ln)) >= min_chars]
        return rng.choice(choices or self.docs)
