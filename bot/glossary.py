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
        self._canon = [match_form(t.term) for t in terms]
        self._misheard = [[normalize(f) for f in t.misheard] for t in terms]
        self._query_pairs = [
            (normalize(form), canon)
            for t, canon in zip(terms, self._canon, strict=True)
            for form in (t.term, *t.aliases)
        ]
        self._query = Replacer(self._query_pairs)
        # Episodes that share the same applicable terms share their replacers (most episodes of a long
        # back catalogue are named by no term's `episodes`).
        scoped: dict[str, list[int]] = {}
        for i, t in enumerate(terms):
            for ep in t.episodes:
                scoped.setdefault(ep, []).append(i)
        self._global = tuple(i for i, t in enumerate(terms) if not t.episodes)
        self._key = {ep: self._global + tuple(scoped.get(ep, ())) for ep in episode_ids}
        self._built: dict[tuple[int, ...], tuple[Replacer, Replacer]] = {}

    def _replacers(self, episode_id: str) -> tuple[Replacer, Replacer]:
        key = self._key.get(episode_id, self._global)
        built = self._built.get(key)
        if built is None:
            pairs: list[tuple[str, str]] = []
            shown: list[tuple[str, str]] = []
            for i in key:
                for form in self._misheard[i]:
                    pairs.append((form, self._canon[i]))
                    if self.terms[i].display:
                        shown.append((form, self.terms[i].term))
            # Misheard forms first: a longer misheard form wins over an alias inside it.
            built = (Replacer(pairs + self._query_pairs), Replacer(shown, ignore_case=True))
            self._built[key] = built
        return built

    def for_query(self, normalized: str) -> str:
        return self._query.sub(normalized)

    def for_segment(self, episode_id: str, normalized: str) -> str:
        return self._replacers(episode_id)[0].sub(normalized)

    def for_display(self, episode_id: str, text: str) -> str:
        return self._replacers(episode_id)[1].sub(text)

    def canonical_terms(self) -> set[str]:
        return set(self._canon)
