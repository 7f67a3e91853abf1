"""The lexical (BM25) index: SQLite FTS5 over the catalog's chunks, kept in step with it by the same transactions."""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Sequence

from rag.errors import StoreError
from rag.filters import Filters
from rag.store.catalog import Catalog
from rag.text.stopwords import STOPWORDS


class SqliteLexicalIndex:
    """BM25 over the catalog's FTS5 table (porter stemming, diacritics folded); see :class:`LexicalIndex`.

    FTS5 scores every chunk that contains any query term, so a query's cost grows with the posting lists of its most
    common terms. On an index of at least ``prune_from`` chunks, ``max_df`` (0-1] drops query terms that occur in
    more than that share of chunks (their IDF is low: they barely move the ranking but dominate the cost), and
    ``max_postings`` (0: no cap) keeps the rarest of the remaining terms while their passages add up to at most that
    many, so a query's work stays bounded as the index grows. The term that occurs least is always kept. Smaller
    indexes, and ``max_df`` 1.0 with ``max_postings`` 0, get exact BM25.
    """

    _TOKEN = re.compile(r"\w+", re.UNICODE)

    def __init__(self, catalog: Catalog, max_df: float = 1.0, prune_from: int = 0, max_postings: int = 0) -> None:
        self._catalog = catalog
        self._max_df = max_df
        self._prune_from = prune_from
        self._max_postings = max_postings
        self._df: dict[str, int] = {}
        self._df_key: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """``(chunk id, BM25 score)`` of the best ``k`` chunks for the query's words (stopwords dropped; common
        terms pruned on large indexes, see the class docstring); a SQLite failure is a :class:`StoreError`."""
        terms = sorted({t for t in self._TOKEN.findall(query.lower()) if t not in STOPWORDS})
        if not terms or (filters is not None and filters.is_empty_set()):
            return []
        try:
            if self._max_df < 1.0 or self._max_postings > 0:
                terms = self._prune(terms)
            return self._catalog.fts_search(" OR ".join(f'"{t}"' for t in terms), k, filters)
        except sqlite3.Error as exc:
            raise StoreError(f"lexical search failed: {exc}") from exc

    def term_weights(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each word in the chunks, ``log((N + 1) / (df + 1))``: rare words weigh
        more. A word the index cannot search for (no letters or digits) gets the weight of an unseen word."""
        frequencies, key = self._frequencies([t for t in terms if self._TOKEN.fullmatch(t.replace("-", "_"))])
        unseen = math.log(key[0] + 1)
        return {t: math.log((key[0] + 1) / (frequencies[t] + 1)) if t in frequencies else unseen for t in terms}

    def _frequencies(self, terms: Sequence[str]) -> tuple[dict[str, int], tuple[int, int]]:
        """Chunks holding each term, remembered until the index changes; and the index's size key."""
        with self._lock:
            key = self._catalog.size_key()
            if key != self._df_key:
                self._df, self._df_key = {}, key
            for term in terms:
                if term not in self._df:
                    self._df[term] = self._catalog.fts_document_frequency(term)
            return {t: self._df[t] for t in terms}, key

    def _prune(self, terms: list[str]) -> list[str]:
        frequencies, key = self._frequencies(terms)
        if key[0] < self._prune_from:
            return terms
        limit = self._max_df * max(key[0], 1)
        rarest_first = sorted(terms, key=lambda t: (frequencies[t], t))
        kept, postings = rarest_first[:1], frequencies[rarest_first[0]]
        for term in rarest_first[1:]:
            postings += frequencies[term]
            if frequencies[term] > limit or (self._max_postings and postings > self._max_postings):
                break
            kept.append(term)
        return sorted(kept)

    def count(self) -> int:
        """Rows of the FTS5 index."""
        return self._catalog.fts_count()


