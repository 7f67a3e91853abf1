"""What an evaluator sees for one case: the case, the answer, the passages its references resolve to, the retrieved
documents, and the judge."""

from __future__ import annotations

from dataclasses import dataclass, field

from evals.cases import EvalCase
from rag.answer.models import Answer
from rag.judge.protocol import Judge, Judgment


@dataclass
class EvalContext:
    """One case as every evaluator sees it; judgments of (claim, passage) pairs are memoised across them."""

    case: EvalCase
    answer: Answer
    passages: dict[int, str]
    """Reference number -> the full passage text it resolves to (missing when it does not resolve)."""
    retrieved: list[str]
    """Document ids in retrieval order (for recall@k, nDCG@10, MRR)."""
    judge: Judge
    failures: list[dict[str, object]] = field(default_factory=list)
    """Sentences that failed a check, with the quotes they cite (shown in the report)."""
    _memo: dict[tuple[str, str], Judgment] = field(default_factory=dict)

    def judge_pairs(self, pairs: list[tuple[str, str]]) -> list[Judgment]:
        """Judge (claim, passage) pairs once per context, in one batch."""
        missing = [p for p in dict.fromkeys(pairs) if p not in self._memo]
        for pair, judgment in zip(missing, self.judge.judge_many(missing), strict=True):
            self._memo[pair] = judgment
        return [self._memo[p] for p in pairs]
