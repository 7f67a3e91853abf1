"""The Judge seam: does a passage support a claim? One judge decides it for answer verification and for the evals,
so an answer the API calls verified is one the harness scores as supported."""

from rag.judge.protocol import Judge, Judgment

__all__ = ["Judge", "Judgment"]
