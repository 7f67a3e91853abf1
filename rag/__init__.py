"""rag: cited, guideline-first answers to clinical questions from a local corpus."""

__version__ = "0.1.0"
