"""The Judge seam: decides whether a passage supports a claim, with a score in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Judgment:
    """Whether the passage supports the claim, and how strongly (0 to 1)."""

    supported: bool
    score: float


@runtime_checkable
class Judge(Protocol):
    """Decides whether passages support claims (see rag.judge)."""

    @property
    def name(self) -> str:
        """A label for reports, e.g. ``offline`` or ``llm:model``."""
        ...

    @property
    def fingerprint(self) -> str:
        """Identifies what the decisions depend on (model, calibration, prompt, threshold): it changes whenever the
        judge's decisions could change, so a measured agreement is only shown for the judge it was measured on."""
        ...

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        """One judgment per (claim, passage) pair, in order."""
        ...
