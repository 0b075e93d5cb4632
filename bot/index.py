"""A compact inverted index with BM25 weights, the cheap candidate stage of the matcher.

Postings live in flat numpy arrays (one slice per term), with the BM25 term-frequency part precomputed,
so scoring a question is a handful of vectorized adds over the postings of its terms, whatever the number
of documents.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable

import numpy as np


class TermIndex:
    def __init__(self, docs: Iterable[Counter[str]], k1: float = 1.2, b: float = 0.75):
        vocab: dict[str, int] = {}
        # Compact typed arrays while reading: a back catalogue has tens of millions of postings.
        term_ids = array("i")
        doc_ids = array("i")
        tfs = array("H")
        lengths = array("I")
        for d, counts in enumerate(docs):
            total = 0
            for term, tf in counts.items():
                tid = vocab.get(term)
                if tid is None:
                    tid = vocab[term] = len(vocab)
                term_ids.append(tid)
                doc_ids.append(d)
                tfs.append(min(tf, 65535))
                total += tf
            lengths.append(total)
        self.n_docs = len(lengths)
        self.vocab = vocab
        t = np.frombuffer(term_ids, dtype=np.int32)
        counts = np.bincount(t, minlength=len(vocab)) if len(vocab) else np.zeros(0, dtype=np.int64)
        order = np.argsort(t, kind="stable").astype(np.int32)
        del term_ids, t
        self._docs = np.frombuffer(doc_ids, dtype=np.int32)[order]
        del doc_ids
        tf_raw = np.frombuffer(tfs, dtype=np.uint16)[order]
        del order, tfs
        dl = np.frombuffer(lengths, dtype=np.uint32).astype(np.float32)
        avgdl = float(dl.mean()) if self.n_docs else 1.0
        # BM25's term-frequency part, precomputed per posting, a slice at a time to bound memory.
        self._weights = np.empty(len(self._docs), dtype=np.float32)
        step = 1 << 22
        for lo in range(0, len(self._docs), step):
            tf = tf_raw[lo : lo + step].astype(np.float32)
            norm = k1 * (1 - b + b * dl[self._docs[lo : lo + step]] / max(avgdl, 1e-9))
            self._weights[lo : lo + step] = tf * (k1 + 1) / (tf + norm)
        del tf_raw
        self._offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._offsets[1:])
        self._df = counts.astype(np.int32)
        self.idf_max = self._idf(0)

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def df(self, term: str) -> int:
        tid = self.vocab.get(term)
        return 0 if tid is None else int(self._df[tid])

    def idf(self, term: str) -> float:
        return self._idf(self.df(term))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        tid = self.vocab.get(term)
        if tid is None:
            empty = np.zeros(0, dtype=np.int32)
            return empty, np.zeros(0, dtype=np.float32)
        lo, hi = self._offsets[tid], self._offsets[tid + 1]
        return self._docs[lo:hi], self._weights[lo:hi]

    def scores(self, weighted_terms: dict[str, float]) -> np.ndarray:
        """BM25 score of every document for terms weighted by the question."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term, qw in weighted_terms.items():
            docs, w = self.postings(term)
            if len(docs):
                out[docs] += w * np.float32(qw * self.idf(term))
        return out

    def top(
        self, weighted_terms: dict[str, float], k: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best documents with a positive score, best first."""
        scores = self.scores(weighted_terms)
        if mask is not None:
            scores = np.where(mask, scores, 0)
        k = min(k, self.n_docs)
        if k <= 0:
            return []
        idx = np.argpartition(-scores, k - 1)[:k] if k < self.n_docs else np.arange(self.n_docs)
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [(int(i), float(scores[i])) for i in idx if scores[i] > 0]
