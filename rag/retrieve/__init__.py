"""Retrieval: hybrid (dense + BM25, reciprocal rank fusion), per-section, filtered, diversified."""

from rag.retrieve.retriever import MODES, Mode, Retriever, SectionHits, check_mode, validate_query

__all__ = ["MODES", "Mode", "Retriever", "SectionHits", "check_mode", "validate_query"]
