"""The Judge seam: decides whether a passage supports a claim, with a score in [0, 1]."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Judgment:
    supported: bool
    score: float


@runtime_checkable
class Judge(Protocol):
    @property
    def name(self) -> str: ...

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        """One judgment per (claim, passage) pair, in order."""
        ...
