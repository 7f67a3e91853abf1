"""How much of what a correct answer says this answer says: claim recall in the manner of RAGChecker (Ru et al.,
2024). The reference answer is split into sentences (each a claim; without one, each gold snippet is a claim), and
the same judge that scores citations decides, claim by claim, whether the answer's sections (citations stripped)
state it. A fully cited answer can still miss what was asked; this is the metric that sees it."""

from __future__ import annotations

from dataclasses import dataclass

from evals.context import EvalContext
from rag.answer.lexical import answer_sentences
from rag.contract import strip_citations

Scores = dict[str, float | None]


def reference_claims(ctx: EvalContext) -> list[str]:
    """The sentences of the case's reference answer, else its gold snippets (empty when it has neither)."""
    if ctx.case.reference_answer and ctx.case.reference_answer.strip():
        return [s.strip() for s in answer_sentences(ctx.case.reference_answer) if s.strip()]
    return [s.strip() for s in ctx.case.gold.snippets if s.strip()]


@dataclass(frozen=True)
class AnswerCorrectness:
    """Share of the reference claims the answer states (None when the case has no reference answer or snippets)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Claim recall of this case's answer against its reference answer or gold snippets."""
        claims = reference_claims(ctx)
        if not claims:
            return {"answer_correctness": None}
        answer = "\n\n".join(strip_citations(s.text) for s in ctx.answer.sections if s.evidence_found)
        if not answer.strip():
            judged = [False] * len(claims)
        else:
            judged = [j.supported for j in ctx.judge_pairs([(claim, answer) for claim in claims])]
        for claim, stated in zip(claims, judged, strict=True):
            if not stated:
                ctx.failures.append({"check": "answer_correctness", "sentence": f"not stated: {claim}"})
        return {"answer_correctness": sum(judged) / len(claims)}
