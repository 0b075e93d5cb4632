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

import heapq
import math
import random
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from .analysis import (
    QUESTION_HINTS,
    UNIGRAM_WEIGHT,
    Slot,
    add_words,
    doc_terms,
    english_bases,
    is_dictionary_word,
    load_synonyms,
    pinyin_key,
    split_words,
    stem,
    word_groups,
)
from .cache import cache_key, load_cache, save_cache
from .config import MatchSettings
from .content import Content, FaqEntry
from .glossary import Glossary
from .index import TermIndex
from .text import CJK_RE, display_text, is_question, normalize, split_sentences, to_simplified

# "..., 对吧?" closes a statement, it does not ask the other speaker anything.
_LATIN_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[._\-+][a-z0-9]+)*")
_HAS_LATIN = re.compile(r"[a-z0-9]")
_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
TAG_QUESTION_RE = re.compile(r"(对吧|是吧|对不对|是不是|好吧|right)\s*[?？]+\s*$")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a transcript line, in matching form (``norm``: normalized, glossary applied)."""

    piece: str  # the raw text
    norm: str
    latin: frozenset[str]  # its Latin words (stemmed); Chinese terms are found in ``norm`` by substring
    question: bool

    def present(self, cjk_terms: list[str], latin_terms: frozenset[str]) -> frozenset[str]:
        """The question's terms this sentence contains."""
        found = [t for t in cjk_terms if t in self.norm]
        if latin_terms and self.latin:
            found.extend(latin_terms & self.latin)
        return frozenset(found)


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


def _push(heap: list[float], value: float, size: int) -> None:
    if len(heap) < size:
        heapq.heappush(heap, value)
    elif value > heap[0]:
        heapq.heapreplace(heap, value)


class Engine:
    """Everything the matcher needs, built once from validated content (or read from the on-disk cache).

    Line-level postings, FAQ phrasings and the homophone table are built up front; the per-sentence reading
    of a line is done when a question first needs that line and kept in a bounded cache, so memory does
    not grow with the size of the back catalogue.
    """

    def __init__(
        self,
        content: Content,
        settings: MatchSettings,
        extra_names: tuple[str, ...] = (),
        cache_dir: Path | None = None,
    ):
        self.content = content
        self.settings = settings
        self.glossary = Glossary(content.glossary, content.episodes)
        # The segmenter's dictionary lacks the domain's words (大模型 comes out as 大/模型, or worse 碰大/模型):
        # teach it the glossary's terms, the lexicon's Chinese words and the FAQ's key terms.
        add_words(self._curated_words(content))
        self._strip_names = [normalize(n) for n in extra_names if normalize(n)]
        self._keep = frozenset(self.glossary.canonical_terms())
        self._lexicon_rx = self._compile_lexicon()
        self.synonyms = load_synonyms(settings.synonyms) if settings.synonyms else {}
        # Documents: one per transcript line, episode after episode, in a stable order.
        self._episodes = list(content.episodes)
        self._ep_index = {ep: i for i, ep in enumerate(self._episodes)}
        self._ep_start = np.zeros(len(self._episodes) + 1, dtype=np.int64)
        for i, ep in enumerate(self._episodes):
            self._ep_start[i + 1] = self._ep_start[i] + len(content.segments[ep])
        self.n_lines = int(self._ep_start[-1])
        self._doc_episode = np.repeat(
            np.arange(len(self._episodes), dtype=np.int32), np.diff(self._ep_start).astype(np.int64)
        )
        self._sent_cache: OrderedDict[tuple[str, int], list[Sentence]] = OrderedDict()
        self._sent_cache_size = max(settings.sentence_cache_lines, 1)
        state = None
        key = cache_key(content, settings, extra_names) if cache_dir else None
        if cache_dir and key:
            state = load_cache(cache_dir, key, self.n_lines)
        if state is None:
            state = self._build()
            if cache_dir and key:
                save_cache(cache_dir, key, state)
        self.lines: TermIndex = state["lines"]
        self.faq_index: TermIndex = state["faq_index"]
        self.answer_index: TermIndex = state["answer_index"]
        self._answer_terms: list[frozenset[str]] = state["answer_terms"]
        self._phrasings: list[tuple[int, str, list[Slot]]] = state["phrasings"]
        self._phrasing_term_sets: list[frozenset[str]] = state["phrasing_terms"]
        self._latin_vocab: list[str] = state["latin_vocab"]
        self._homophones: dict[str, list[str]] = state["homophones"]
        # Warm the lazy parts of the libraries (pypinyin's dictionaries, the segmenter) now rather than
        # in the first listener's question.
        self.analyze("预热 warm-up 算例")

    @staticmethod
    def _curated_words(content: Content) -> list[str]:
        """The words our content vouches for: glossary terms and aliases, lexicon translations, FAQ keys."""
        return (
            [t.term for t in content.glossary]
            + [a for t in content.glossary for a in t.aliases]
            + [w for words in content.lexicon.values() for w in words]
            + [k for e in content.faq for k in e.keywords]
        )

    def _build(self) -> dict:
        content = self.content
        # Bigrams inside a word (the recognizer's spaces are word boundaries): the only ones a homophone
        # correction may propose, so 营收 is not "corrected" to the 迎收 of 欢迎 收听.
        word_bigrams: set[str] = set()

        def line_terms():
            for ep_id in self._episodes:
                for seg in content.segments[ep_id]:
                    for run in _CJK_RUN_RE.findall(seg.raw):
                        word_bigrams.update(run[i : i + 2] for i in range(len(run) - 1))
                    terms = doc_terms(self.glossary.for_segment(ep_id, normalize(seg.raw)))
                    # Single characters stay out of the candidate index (half its postings, little
                    # recall); ranking still sees them in the sentences.
                    yield {t: n for t, n in terms.items() if len(t) > 1 or not CJK_RE.match(t)}

        lines = TermIndex(line_terms())
        self.lines = lines  # slots need idf while the FAQ is read
        phrasings: list[tuple[int, str]] = []
        for i, entry in enumerate(content.faq):
            for q in entry.questions:
                phrasings.append((i, self._normalize_question(q)))
        phrasing_terms = [doc_terms(norm) for _, norm in phrasings]
        faq_index = TermIndex(phrasing_terms)
        # Each entry's answer and keywords, in clean words of our own: more ways to recognize a question.
        answer_terms = [
            doc_terms(self._normalize_question(" ".join((e.answer, *e.keywords)))) for e in content.faq
        ]
        # Homophone candidates: two-character *words* (the segmenter's dictionary, or our curated words:
        # glossary terms, lexicon translations, FAQ key terms) found inside a word in at least two lines.
        # Not any bigram: 问芯 (of 无问芯穹) must not turn a question's 文心 into something it is not.
        curated = {normalize(w) for w in self._curated_words(content)}
        candidates = {
            b
            for b in map(to_simplified, word_bigrams)
            if (b in curated or is_dictionary_word(b)) and lines.df(b) >= 2
        }
        candidates.update(w for w in curated if len(w) == 2 and CJK_RE.match(w) and CJK_RE.match(w[1]))
        homophones: dict[str, list[str]] = {}
        for term in sorted(candidates):
            homophones.setdefault(pinyin_key(term), []).append(term)
        self.faq_index = faq_index
        self._homophones = homophones
        latin = {t for t in lines.latin_terms | faq_index.latin_terms if len(t) >= 3}
        self._latin_vocab = sorted(latin)
        return {
            "lines": lines,
            "faq_index": faq_index,
            "answer_index": TermIndex(answer_terms),
            "answer_terms": [frozenset(c) for c in answer_terms],
            # FAQ phrasings need slots too (to measure how much of a phrasing a question covers).
            "phrasings": [
                (
                    i,
                    norm,
                    self.slots_in(self.slots_of(norm, correct=False), content.faq[i].citations[0].episode_id),
                )
                for i, norm in phrasings
            ],
            "phrasing_terms": [frozenset(c) for c in phrasing_terms],
            "latin_vocab": self._latin_vocab,
            "homophones": homophones,
        }

    # --- reading ----------------------------------------------------------------------------------------

    def doc_key(self, doc: int) -> tuple[str, int]:
        """Document number → (episode id, line)."""
        i = int(np.searchsorted(self._ep_start, doc, side="right")) - 1
        return self._episodes[i], doc - int(self._ep_start[i]) + 1

    def has_line(self, episode_id: str, line: int) -> bool:
        segs = self.content.segments.get(episode_id)
        return bool(segs) and 1 <= line <= len(segs)

    def _read_line(self, ep_id: str, raw: str) -> list[Sentence]:
        out = []
        for start, end in split_sentences(raw):
            piece = raw[start:end]
            norm = self.glossary.for_segment(ep_id, normalize(piece))
            latin = (
                frozenset(stem(t) for t in _LATIN_TOKEN_RE.findall(norm))
                if _HAS_LATIN.search(norm)
                else frozenset()
            )
            asks = is_question(piece) and not TAG_QUESTION_RE.search(norm)
            out.append(Sentence(piece, norm, latin, asks))
        return out

    def sentences(self, episode_id: str, line: int) -> list[Sentence]:
        key = (episode_id, line)
        cached = self._sent_cache.get(key)
        if cached is not None:
            self._sent_cache.move_to_end(key)
            return cached
        seg = self.content.segment(episode_id, line)
        if seg is None:
            return []
        sents = self._read_line(episode_id, seg.raw)
        self._sent_cache[key] = sents
        if len(self._sent_cache) > self._sent_cache_size:
            self._sent_cache.popitem(last=False)
        return sents

    def display_sentences(self, episode_id: str, line: int) -> list[str]:
        """The line's sentences cleaned for reading, glossary display corrections applied."""
        return [
            self.glossary.for_display(episode_id, display_text(s.piece))
            for s in self.sentences(episode_id, line)
        ]

    def display_line(self, episode_id: str, line: int) -> str:
        return "".join(self.display_sentences(episode_id, line)).strip()

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
        # A single character is not in the candidate index: it weighs as a rare term would, and its slot's
        # weight is then scaled down by UNIGRAM_WEIGHT (measured better than weighing it by frequency).
        return self.lines.idf(term)

    def _rarity(self, alternatives, idf) -> float:
        alt_idf = []
        for alt, credit in alternatives:
            if credit < 1.0 or not alt:
                continue  # synonyms help a slot match; they don't decide what it weighs
            groups = [min(idf(t) for t in g) for g in alt]
            alt_idf.append(sum(groups) / len(groups))
        return min(alt_idf) if alt_idf else idf("\x00")

    def _slot(
        self,
        word: str,
        alternatives: list[tuple[tuple[frozenset[str], ...], float]],
        unigram: bool,
        scale: float = 1.0,
    ) -> Slot:
        scale *= UNIGRAM_WEIGHT if unigram else 1.0
        return Slot(word, tuple(alternatives), scale * self._rarity(alternatives, self._term_idf), scale)

    def slots_in(self, slots: list[Slot], episode: str, table: dict[str, float] | None = None) -> list[Slot]:
        """The question's slots weighed by rarity within ``episode``: how well an episode answers does not
        depend on what else is in the catalogue. (With one episode, this is the same weighing.)
        ``table``: the terms' idf in that episode, when already computed (see ``_episode_idf``)."""
        if len(self._episodes) == 1:
            return slots
        if table is None:
            table = self._episode_idf(slots, [episode])[episode]
        i = self._ep_index[episode]
        lines = float(self._ep_start[i + 1] - self._ep_start[i])
        rarest = math.log1p((lines + 0.5) / 0.5)  # a term the episode does not contain

        def idf(term: str) -> float:
            return table.get(term, rarest)

        return [
            Slot(s.word, s.alternatives, s.scale * self._rarity(s.alternatives, idf), s.scale) for s in slots
        ]

    def _episode_idf(self, slots: list[Slot], episodes: list[str]) -> dict[str, dict[str, float]]:
        """Each term's idf within each of ``episodes``, in one vectorized pass a term."""
        idx = np.asarray([self._ep_index[e] for e in episodes], dtype=np.int64)
        starts, ends = self._ep_start[idx], self._ep_start[idx + 1]
        n = (ends - starts).astype(np.float64)
        table: dict[str, dict[str, float]] = {e: {} for e in episodes}
        for term in frozenset().union(*(s.all_terms for s in slots)):
            df = self.lines.df_in_ranges(term, starts, ends).astype(np.float64)
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            for e, value in zip(episodes, idf.tolist(), strict=True):
                table[e][term] = value
        return table

    def _known(self, term: str) -> bool:
        return term in self.lines or term in self.faq_index

    def _correct(self, groups: tuple[frozenset[str], ...]) -> tuple[frozenset[str], ...]:
        """Add homophones (CJK) or close spellings (Latin) for terms no document contains."""
        out = []
        for g in groups:
            (term,) = tuple(g)
            if self._known(term):
                out.append(g)
            elif CJK_RE.match(term):
                if len(term) == 2:
                    alts = self._homophones.get(pinyin_key(term), [])
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
                alts = [(word_groups(w), 1.0) for w in [key.replace(" ", "")] if self._known(w)]
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
                slots.append(self._slot(h, alts, unigram=False, scale=self.settings.hint_weight))
        for word in words:
            groups = word_groups(word)
            if correct and self.settings.typo_correction:
                groups = self._correct(groups)
            unigram = len(word) == 1 and bool(CJK_RE.match(word))
            alts = [(groups, 1.0)]
            if not CJK_RE.match(word):  # an inflected English word whose base form the lexicon knows
                base = next((b for b in english_bases(word) if b in self.content.lexicon), None)
                for zh in self.content.lexicon.get(base or "", ()):
                    zn = normalize(zh)
                    if zn:
                        alts.append((word_groups(zn) if CJK_RE.match(zn) else (frozenset([zn]),), 1.0))
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

    @staticmethod
    def _split_terms(slots: list[Slot]) -> tuple[list[str], frozenset[str]]:
        terms = frozenset().union(*(s.all_terms for s in slots)) if slots else frozenset()
        cjk = sorted(t for t in terms if CJK_RE.match(t))
        return cjk, frozenset(t for t in terms if not CJK_RE.match(t))

    def _present(self, ep: str, line: int, split: tuple[list[str], frozenset[str]]) -> list[frozenset[str]]:
        """Per sentence of the line, the question's terms it contains."""
        cjk, latin = split
        return [s.present(cjk, latin) for s in self.sentences(ep, line)]

    def _score_line(
        self,
        slots: list[Slot],
        ep: str,
        line: int,
        split: tuple[list[str], frozenset[str]] | None = None,
        present: list[frozenset[str]] | None = None,
    ) -> tuple[float, int, bool]:
        sents = self.sentences(ep, line)
        if not sents:
            return 0.0, 0, False
        st = self.settings
        # Only the question's terms matter: find them once, then windows are unions of tiny sets.
        if present is None:
            present = self._present(ep, line, split or self._split_terms(slots))
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
        return best, best_i, sents[best_i].question or self._asks(ep, line, sents)

    def _asks(self, ep: str, line: int, sents: list[Sentence]) -> bool:
        """A short line with a real question in it is someone asking (the recognizer's punctuation often
        ends it with 。); its answer is in the next line."""
        if not any(s.question for s in sents):
            return False
        return (
            len(self.content.segments[ep][line - 1].raw.replace(" ", "")) <= self.settings.question_line_chars
        )

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
        split = self._split_terms(slots)
        mask = None if episode is None else self._doc_episode == self._ep_index[episode]
        result.faq = self._match_faq(norm, slots, qterms, episode)
        cited = {key for fm in result.faq[:3] for key in self._cited(fm.entry, episode)}
        # A line never scores above (sum of the weights) x its whole-line coverage, since each part of
        # the score is the coverage of a part of the line: read the candidates best bound first and skip
        # those that can no longer reach the hits kept. Exact, and most candidates are never read closely.
        factor = st.w_window + st.w_sentence + st.w_line
        # Episode prior: an episode whose curated FAQ matches the question is where its answer most likely
        # is. It only orders lines (and lets that episode bring its own candidates, so a catalogue full of
        # look-alike lines cannot crowd it out); it never changes a line's score, hence the confidence.
        prior: dict[str, float] = {}
        for fm in result.faq[:5]:
            for c in fm.entry.citations:
                if episode in (None, c.episode_id):
                    prior[c.episode_id] = max(prior.get(c.episode_id, 0.0), fm.score)

        def prior_bonus(ep: str) -> float:
            return st.episode_prior * prior.get(ep, 0.0)

        bm25 = self.lines.scores(qterms)
        docs = [doc for doc, _ in self.lines.top(qterms, st.candidates, mask, scores=bm25)]
        if prior and st.episode_prior > 0 and len(self._episodes) > 1:
            best_ep = max(prior, key=lambda e: (prior[e], e))
            i = self._ep_index[best_ep]
            lo, hi = int(self._ep_start[i]), int(self._ep_start[i + 1])
            own = self.lines.top(qterms, st.episode_candidates, scores=bm25[lo:hi])
            docs += [lo + doc for doc, _ in own]
        docs = list(dict.fromkeys(docs))
        weighed: dict[str, list[Slot]] = {}
        tables: dict[str, dict[str, float]] = {}
        if len(self._episodes) > 1 and docs:
            eps = {self.doc_key(d)[0] for d in docs}
            eps.update(c.episode_id for fm in result.faq[:3] for c in fm.entry.citations)
            tables = self._episode_idf(slots, sorted(eps))

        def slots_of_ep(ep: str) -> list[Slot]:
            if ep not in weighed:
                weighed[ep] = self.slots_in(slots, ep, tables.get(ep))
            return weighed[ep]

        bounded = []
        for doc in docs:
            ep, line = self.doc_key(doc)
            present = self._present(ep, line, split)
            bound = factor * self.coverage(slots_of_ep(ep), frozenset().union(*present)) if present else 0.0
            bounded.append((bound + prior_bonus(ep), ep, line, present))
        bounded.sort(key=lambda b: (-b[0], b[1], b[2]))
        depth = max(limit, 10) + 2
        best: list[float] = []  # min-heap of the best ranking values so far
        scored: dict[tuple[str, int], Hit] = {}
        for bound, ep, line, present in bounded:
            if len(best) >= depth and bound <= best[0] and (ep, line) not in cited:
                continue
            score, sent, is_q = self._score_line(slots_of_ep(ep), ep, line, split, present)
            if is_q:
                nxt = (ep, line + 1)
                if self.has_line(*nxt):
                    n_score, n_sent, _ = self._score_line(slots_of_ep(ep), *nxt, split)
                    moved = max(n_score, score * st.question_transfer)
                    old = scored.get(nxt)
                    if old is None or old.score < moved:
                        scored[nxt] = Hit(ep, line + 1, moved, n_sent)
                    _push(best, moved + prior_bonus(ep), depth)
                score *= st.question_penalty
            old = scored.get((ep, line))
            if old is None or old.score < score:
                scored[(ep, line)] = Hit(ep, line, score, sent)
            _push(best, score + prior_bonus(ep), depth)
        for fm in result.faq[:3]:
            for rank, (ep, line) in enumerate(self._cited(fm.entry, episode)):
                score = fm.score - st.faq_line_step * rank
                old = scored.get((ep, line))
                if old is not None and old.score >= score:
                    old.score += st.agreement_bonus * score
                    continue
                sent = old.sentence if old else self._best_sentence(slots_of_ep(ep), fm.entry, ep, line)
                bonus = st.agreement_bonus * old.score if old else 0.0
                scored[(ep, line)] = Hit(ep, line, score + bonus, sent, "faq", fm.entry.id)
        hits = sorted(
            scored.values(), key=lambda h: (-(h.score + prior_bonus(h.episode_id)), h.episode_id, h.line)
        )
        result.hits = hits[: max(limit, 10)]
        return result

    def _cited(self, entry: FaqEntry, episode: str | None) -> list[tuple[str, int]]:
        return [
            (c.episode_id, n) for c in entry.citations for n in c.lines if episode in (None, c.episode_id)
        ]

    def _best_sentence(self, slots: list[Slot], entry: FaqEntry, ep: str, line: int) -> int:
        sents = self.sentences(ep, line)
        keys = [normalize(k).replace(" ", "") for k in entry.keywords]
        cjk, latin = self._split_terms(slots)
        best, best_i = -1.0, 0
        for i, s in enumerate(sents):
            score = self.coverage(slots, s.present(cjk, latin)) + sum(
                0.5 for k in keys if k and k in s.norm.replace(" ", "")
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
        by_episode: dict[str, list[Slot]] = {}

        def weighed(entry_i: int) -> list[Slot]:
            ep = self.content.faq[entry_i].citations[0].episode_id
            if ep not in by_episode:
                by_episode[ep] = self.slots_in(slots, ep)
            return by_episode[ep]

        for doc, _ in self.faq_index.top(qterms, st.faq_candidates):
            entry_i, _p_norm, p_slots = self._phrasings[doc]
            p_terms = self._phrasing_terms(doc)
            q_cov = self.coverage(weighed(entry_i), p_terms)
            p_cov = self.coverage(p_slots, present)
            p_words = "".join(s.word for s in p_slots)
            ratio = fuzz.ratio(content_words, p_words) / 100 if content_words and p_words else 0.0
            # F-beta of "how much of the question the phrasing says" (recall) and "how much of the phrasing
            # the question says" (precision), recall weighted: a short phrasing inside a longer, more
            # specific question is not a match for it.
            b2 = st.faq_beta * st.faq_beta
            f = (1 + b2) * q_cov * p_cov / (b2 * p_cov + q_cov) if q_cov > 0 and p_cov > 0 else 0.0
            score = (1 - st.faq_w_fuzzy) * f + st.faq_w_fuzzy * ratio
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
            ans = self.coverage(weighed(entry_i), self._answer_terms[entry_i])
            score = (1 - st.faq_w_answer) * phr + st.faq_w_answer * ans
            shown = self._phrasings[doc][1] if doc >= 0 else entry.questions[0]
            out.append(FaqMatch(entry, score, shown))
        return sorted(out, key=lambda m: (-m.score, m.entry.id))

    def _phrasing_terms(self, doc: int) -> frozenset[str]:
        return self._phrasing_term_sets[doc]

    # --- quotes -----------------------------------------------------------------------------------------

    def excerpt(self, episode_id: str, line: int, sentence: int, max_chars: int) -> str:
        """At most ``max_chars`` of the line, centred on ``sentence``, with … where cut."""
        sents = [s.strip() for s in self.display_sentences(episode_id, line)]
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
        split = self._split_terms(slots)
        mask = None if episode is None else self._doc_episode == self._ep_index[episode]
        hits = []
        for doc, _ in self.lines.top(qterms, self.settings.candidates, mask):
            ep, line = self.doc_key(doc)
            score, sent, _ = self._score_line(slots, ep, line, split)
            hits.append(Hit(ep, line, score, sent))
        hits.sort(key=lambda h: (-h.score, h.episode_id, h.line))
        return hits[:limit]

    def random_line(self, rng: random.Random, min_chars: int = 40) -> tuple[str, int]:
        """A random line long enough to be worth quoting (a few tries, then any line)."""
        for _ in range(50):
            ep, line = self.doc_key(rng.randrange(self.n_lines))
            if len(self.content.segments[ep][line - 1].raw.replace(" ", "")) >= min_chars:
                return ep, line
        return self.doc_key(rng.randrange(self.n_lines))
