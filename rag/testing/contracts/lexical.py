"""The LexicalIndex contract: keyword search over passages, with the metadata filters of retrieval."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from rag.filters import Filters
from rag.store.protocols import LexicalIndex
from rag.testing.fakes import IndexedPassage

PASSAGES = (
    IndexedPassage("g1#0", "No exosome product is approved by the FDA for any use.", "g1", "guideline", 2019),
    IndexedPassage("s1#0", "Platelet-rich plasma with microneedling improved acne scars in a split-face trial.", "s1",
                   "study", 2016, "rct"),
    IndexedPassage("s1#1", "Patients preferred the platelet-rich plasma side of the face.", "s1", "study", 2016, "rct"),
    IndexedPassage("s2#0", "Exosome gel after fractional laser reduced acne scar scores in a cohort.", "s2", "study",
                   2020, "cohort"),
    IndexedPassage("s3#0", "Home blood pressure monitoring in adults with hypertension.", "s3", "study"),
)


class LexicalIndexContract:
    """Implement :meth:`make_index`."""

    def make_index(self, tmp_path: Path, passages: Sequence[IndexedPassage]) -> LexicalIndex:
        """An index holding exactly ``passages`` (files, if any, under ``tmp_path``)."""
        raise NotImplementedError

    @pytest.fixture
    def index(self, tmp_path: Path) -> LexicalIndex:
        return self.make_index(tmp_path, PASSAGES)

    def found(self, index: LexicalIndex, query: str, k: int = 10, **filters: object) -> set[str]:
        return {chunk_id for chunk_id, _ in index.search(query, k, Filters.model_validate(filters))}

    def test_it_is_a_lexical_index(self, index: LexicalIndex) -> None:
        assert isinstance(index, LexicalIndex)

    def test_an_empty_index_finds_nothing(self, tmp_path: Path) -> None:
        empty = self.make_index(tmp_path, [])
        assert empty.count() == 0 and empty.search("exosome", 5) == []
        assert set(empty.term_weights(["exosome"])) == {"exosome"}

    def test_count_is_the_passages_indexed(self, index: LexicalIndex) -> None:
        assert index.count() == len(PASSAGES)

    def test_search_finds_the_passages_holding_a_query_word(self, index: LexicalIndex) -> None:
        assert self.found(index, "exosome") == {"g1#0", "s2#0"}
        assert self.found(index, "EXOSOME") == {"g1#0", "s2#0"}
        assert self.found(index, "exosome hypertension") == {"g1#0", "s2#0", "s3#0"}
        assert self.found(index, "influenza vaccination") == set()

    def test_results_come_best_first_with_at_most_k(self, index: LexicalIndex) -> None:
        results = index.search("platelet rich plasma acne", 10)
        scores = [score for _, score in results]
        assert scores == sorted(scores, reverse=True)
        assert all(isinstance(chunk_id, str) and isinstance(score, float) for chunk_id, score in results)
        assert results[0][0] == "s1#0", "the passage holding every query word ranks first"
        assert len(index.search("platelet rich plasma acne", 2)) == 2 and index.search("acne", 0) == []

    def test_a_rare_word_outweighs_a_common_one(self, index: LexicalIndex) -> None:
        assert index.search("acne hypertension", 1)[0][0] == "s3#0"
        weights = index.term_weights(["acne", "hypertension", "influenza"])
        assert weights["influenza"] >= weights["hypertension"] > weights["acne"] >= 0

    def test_term_weights_answer_every_term(self, index: LexicalIndex) -> None:
        terms = ["Exosome", "platelet-rich", "--", "%"]
        weights = index.term_weights(terms)
        assert set(weights) == set(terms) and all(isinstance(w, float) for w in weights.values())
        assert weights["--"] == weights["%"] == index.term_weights(["neverseen"])["neverseen"]

    def test_filters_restrict_the_results(self, index: LexicalIndex) -> None:
        assert self.found(index, "exosome", kinds=["guideline"]) == {"g1#0"}
        assert self.found(index, "exosome acne", year_from=2017) == {"g1#0", "s2#0"}
        assert self.found(index, "exosome acne", year_to=2016) == {"s1#0"}
        assert self.found(index, "plasma acne", study_designs=["rct"]) == {"s1#0", "s1#1"}
        assert self.found(index, "plasma acne", doc_ids=["s2", "s3"]) == {"s2#0"}
        assert self.found(index, "acne hypertension", year_from=2000) == {"s1#0", "s2#0"}, "no year: filtered out"
        assert self.found(index, "acne", kinds=["study"], year_from=2018) == {"s2#0"}

    def test_filters_that_pass_nothing_find_nothing(self, index: LexicalIndex) -> None:
        assert self.found(index, "exosome", kinds=[]) == set()
        assert self.found(index, "exosome", doc_ids=[]) == set()
        assert self.found(index, "exosome", doc_ids=["missing"]) == set()

    @pytest.mark.parametrize("query", ["", "   ", "?!", "--"])
    def test_a_query_without_words_finds_nothing(self, index: LexicalIndex, query: str) -> None:
        assert index.search(query, 5) == []

    @pytest.mark.parametrize("query", ['exosome"', "exosome*", "exosome OR", "NEAR(exosome", "exosome) --",
                                       "'exosome'; DROP TABLE chunks", "exosome:gel", "^exosome", "exosome AND -acne"])
    def test_query_syntax_is_searched_as_words(self, index: LexicalIndex, query: str) -> None:
        assert {"g1#0", "s2#0"} <= self.found(index, query)
