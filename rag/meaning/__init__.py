"""Judgments by meaning: whether a sentence or passage addresses a question, from the packaged encoder's sentence
vectors (and a trained cross-encoder where it wins held out). Low in the layers (it needs only settings and an
encoder passed in), so the composer, grounding, the judge and the appraisal share one judgment."""

from rag.meaning.vectors import SentenceEncoder, SentenceVectors

__all__ = ["SentenceEncoder", "SentenceVectors"]
