"""A compact inverted index with BM25 weights, the cheap candidate stage of the matcher.

Terms are stored as 64-bit codes, not strings: a Chinese bigram is its two code points side by side, any
other term a stable 56-bit hash. The vocabulary is then a sorted integer array (8 bytes a term instead of a
Python string in a dict, which matters with millions of distinct bigrams across a back catalogue), and the
postings are flat numpy arrays, one contiguous slice per term, with the BM25 term-frequency part
precomputed. Scoring a question is a handful of vectorized adds over the postings of its terms.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterable, Mapping

import numpy as np

_CJK_LO, _CJK_HI = 0x3400, 0xFAFF
_HASHED = 1 << 62


def term_code(term: str) -> int:
    """A stable integer for a term: exact for Chinese bigrams and single characters, hashed otherwise."""
    if len(term) == 2 and _CJK_LO <= ord(term[0]) <= _CJK_HI and _CJK_LO <= ord(term[1]) <= _CJK_HI:
        return (ord(term[0]) << 21) | ord(term[1])
    if len(term) == 1:
        return ord(term)
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=7).digest()
    return _HASHED | int.from_bytes(digest, "little")


class TermIndex:
    def __init__(self, docs: Iterable[Mapping[str, int]], k1: float = 1.2, b: float = 0.75):
        # Compact typed arrays while reading: a back catalogue has tens of millions of postings.
        codes = array("q")
        doc_ids = array("i")
        tfs = array("H")
        lengths = array("I")
        self.latin_terms: set[str] = set()  # terms that are not Chinese (for spelling corrections)
        for d, counts in enumerate(docs):
            total = 0
            for term, tf in counts.items():
                code = term_code(term)
                if code >= _HASHED:
                    self.latin_terms.add(term)
                codes.append(code)
                doc_ids.append(d)
                tfs.append(min(tf, 65535))
                total += tf
            lengths.append(total)
        self.n_docs = len(lengths)
        c = np.frombuffer(codes, dtype=np.int64) if len(codes) else np.zeros(0, dtype=np.int64)
        order = np.argsort(c, kind="stable")
        sorted_codes = c[order]
        del c, codes
        self._docs = (np.frombuffer(doc_ids, dtype=np.int32) if len(doc_ids) else np.zeros(0, np.int32))[
            order
        ]
        del doc_ids
        tf_raw = (np.frombuffer(tfs, dtype=np.uint16) if len(tfs) else np.zeros(0, np.uint16))[order]
        del order, tfs
        starts = np.flatnonzero(np.diff(sorted_codes)) + 1 if len(sorted_codes) else np.zeros(0, np.int64)
        starts = np.concatenate(([0], starts)) if len(sorted_codes) else starts
        self._keys = sorted_codes[starts].copy()
        del sorted_codes
        self._offsets = np.append(starts, len(self._docs)).astype(np.int64)
        self._df = np.diff(self._offsets).astype(np.int32)
        dl = (
            np.frombuffer(lengths, dtype=np.uint32).astype(np.float32)
            if len(lengths)
            else np.zeros(0, np.float32)
        )
        avgdl = float(dl.mean()) if self.n_docs else 1.0
        # BM25's term-frequency part, precomputed per posting, a slice at a time to bound memory.
        self._weights = np.empty(len(self._docs), dtype=np.float32)
        step = 1 << 22
        for lo in range(0, len(self._docs), step):
            tf = tf_raw[lo : lo + step].astype(np.float32)
            norm = k1 * (1 - b + b * dl[self._docs[lo : lo + step]] / max(avgdl, 1e-9))
            self._weights[lo : lo + step] = tf * (k1 + 1) / (tf + norm)
        self.idf_max = self._idf(0)

    def __len__(self) -> int:
        return len(self._keys)

    def _slot(self, term: str) -> int:
        code = term_code(term)
        i = int(np.searchsorted(self._keys, code))
        return i if i < len(self._keys) and self._keys[i] == code else -1

    def __contains__(self, term: str) -> bool:
        return self._slot(term) >= 0

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def df(self, term: str) -> int:
        i = self._slot(term)
        return 0 if i < 0 else int(self._df[i])

    def idf(self, term: str) -> float:
        return self._idf(self.df(term))

    def df_in_ranges(self, term: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """For each document range [starts[k], ends[k]), how many of its documents contain ``term``."""
        i = self._slot(term)
        if i < 0:
            return np.zeros(len(starts), dtype=np.int64)
        docs = self._docs[self._offsets[i] : self._offsets[i + 1]]
        return np.searchsorted(docs, ends) - np.searchsorted(docs, starts)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        i = self._slot(term)
        if i < 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        lo, hi = self._offsets[i], self._offsets[i + 1]
        return self._docs[lo:hi], self._weights[lo:hi]

    def scores(self, weighted_terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every document for terms weighted by the question."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term, qw in weighted_terms.items():
            docs, w = self.postings(term)
            if len(docs):
                out[docs] += w * np.float32(qw * self._idf(len(docs)))
        return out

    def top(
        self,
        weighted_terms: dict[str, float],
        k: int,
        mask: np.ndarray | None = None,
        scores: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` best documents with a positive score, best first (``scores``: already computed)."""
        if scores is None:
            scores = self.scores(weighted_terms)
        if mask is not None:
            scores = np.where(mask, scores, 0)
        n = len(scores)
        k = min(k, n)
        if k <= 0:
            return []
        idx = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [(int(i), float(scores[i])) for i in idx if scores[i] > 0]
