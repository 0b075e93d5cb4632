"""Glossary: canonical terms for the index, display corrections for quotes.

* In questions, ``aliases`` (and the term itself) become the canonical term.
* In transcripts, ``misheard`` forms become the canonical term too, only in the episodes a term names
  (or everywhere when it names none). A listener typing "sorry" means sorry: misheard forms never touch
  questions.
* In displayed quotes, misheard forms of ``display: true`` terms show the canonical spelling.

Forms are matched on normalized text (see :mod:`bot.text`); a form that starts or ends with a Latin
letter or digit only matches at a word boundary there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .content import GlossaryTerm
from .text import normalize

_LATIN = re.compile(r"[a-z0-9]", re.IGNORECASE)


def match_form(term: str) -> str:
    """How a canonical term is written in matching text: one token, even when it is several words
    ("Sam Altman" → "sam_altman"), so that it counts once."""
    return re.sub(r"(?<=[a-z0-9])\s+(?=[a-z0-9])", "_", normalize(term))


def _form_pattern(form: str) -> str:
    parts = [re.escape(p) for p in form.split()]
    body = r"\s*".join(parts)
    if _LATIN.match(form[0]):
        body = r"(?<![a-z0-9])" + body
    if _LATIN.match(form[-1]):
        body = body + r"(?![a-z0-9])"
    return body


class Replacer:
    """Replace many forms at once, longest first, in a single pass.

    One big alternation of hundreds of forms is slow to run over every line, so a text is first checked
    with plain substring tests (forms indexed by their first character) and only the forms it contains go
    into the pattern, compiled once per distinct set of forms.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]], ignore_case: bool = False):
        table: dict[str, str] = {}
        for form, target in pairs:
            key = form.lower() if ignore_case else form
            if key and key not in table:
                table[key] = target
        self._table = table
        self._squeezed = {}
        for form, target in table.items():
            self._squeezed.setdefault(form.replace(" ", ""), target)
        self._ignore_case = ignore_case
        self._by_first: dict[str, list[tuple[str, str]]] = {}
        for form in table:
            self._by_first.setdefault(form[0], []).append((form, form.replace(" ", "")))
        self._patterns: dict[frozenset[str], re.Pattern[str]] = {}

    def __bool__(self) -> bool:
        return bool(self._table)

    def _target(self, m: re.Match[str]) -> str:
        found = " ".join(m.group(0).split())
        key = found.lower() if self._ignore_case else found
        target = self._table.get(key) or self._squeezed.get(key.replace(" ", ""))
        return m.group(0) if target is None else target

    def _pattern(self, forms: frozenset[str]) -> re.Pattern[str]:
        rx = self._patterns.get(forms)
        if rx is None:
            ordered = sorted(forms, key=lambda f: (-len(f), f))
            flags = re.IGNORECASE if self._ignore_case else 0
            rx = re.compile("|".join(_form_pattern(f) for f in ordered), flags)
            if len(self._patterns) < 20000:
                self._patterns[forms] = rx
        return rx

    def sub(self, text: str) -> str:
        if not self._by_first or not text:
            return text
        folded = text.lower() if self._ignore_case else text
        squeezed = folded.replace(" ", "")
        candidates = [
            form
            for ch in set(folded).intersection(self._by_first)
            for form, bare in self._by_first[ch]
            if bare in squeezed
        ]
        if not candidates:
            return text
        return self._pattern(frozenset(candidates)).sub(self._target, text)


class Glossary:
    def __init__(self, terms: list[GlossaryTerm], episode_ids: Iterable[str]):
        self.terms = terms
        query_pairs: list[tuple[str, str]] = []
        for t in terms:
            canon = match_form(t.term)
            for form in (t.term, *t.aliases):
                query_pairs.append((normalize(form), canon))
        self._query = Replacer(query_pairs)
        self._segment: dict[str, Replacer] = {}
        self._display: dict[str, Replacer] = {}
        for ep in episode_ids:
            pairs = list(query_pairs)
            shown = []
            for t in terms:
                if t.episodes and ep not in t.episodes:
                    continue
                canon = match_form(t.term)
                for form in t.misheard:
                    pairs.append((normalize(form), canon))
                    if t.display:
                        shown.append((normalize(form), t.term))
            # Misheard forms first: a longer misheard form wins over an alias inside it.
            self._segment[ep] = Replacer(pairs[len(query_pairs) :] + query_pairs)
            self._display[ep] = Replacer(shown, ignore_case=True)

    def for_query(self, normalized: str) -> str:
        return self._query.sub(normalized)

    def for_segment(self, episode_id: str, normalized: str) -> str:
        rep = self._segment.get(episode_id)
        return rep.sub(normalized) if rep else self._query.sub(normalized)

    def for_display(self, episode_id: str, text: str) -> str:
        rep = self._display.get(episode_id)
        return rep.sub(text) if rep else text

    def canonical_terms(self) -> set[str]:
        return {match_form(t.term) for t in self.terms}
