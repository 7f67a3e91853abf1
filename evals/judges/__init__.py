"""Judges of "does this passage support this sentence", behind one protocol."""

from evals.judges.protocol import Judge, Judgment

__all__ = ["Judge", "Judgment"]
