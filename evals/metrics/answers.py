"""Answer metrics, each a small evaluator with one ``evaluate(ctx)`` returning {metric: value or None}.

None means "not applicable to this case" (e.g. no citations, no expectation); it is left out of the means.
"""

from __future__ import annotations

from dataclasses import dataclass

from evals.context import EvalContext
from evals.metrics.content import ForbiddenStatements, LeadAndCitedGold, PremiseCorrected, RequiredFacts
from evals.metrics.correctness import AnswerCorrectness
from evals.metrics.retrieval import ndcg_at, recall_at, reciprocal_rank
from rag.answer.lexical import answer_sentences, is_no_evidence
from rag.contract import SECTION_SOURCE_KIND, citations_in, strip_citations

Scores = dict[str, float | None]


def claims(ctx: EvalContext) -> list[tuple[str, str, list[int]]]:
    """(section kind, sentence, cited numbers) for every answer sentence that is not a "no evidence" statement."""
    found: list[tuple[str, str, list[int]]] = []
    for section in ctx.answer.sections:
        if not section.evidence_found:
            continue
        for sentence in answer_sentences(section.text):
            if not is_no_evidence(sentence) and strip_citations(sentence):
                found.append((section.kind, sentence, list(dict.fromkeys(citations_in(sentence)))))
    return found


@dataclass(frozen=True)
class CitationValidity:
    """Share of citations that resolve to a passage that was given (a reference with that number and text)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Citation validity of this case's answer (None without citations)."""
        cited = [n for _, _, numbers in claims(ctx) for n in numbers]
        if not cited:
            return {"citation_validity": None}
        valid = sum(1 for n in cited if ctx.passages.get(n))
        for n in sorted({n for n in cited if not ctx.passages.get(n)}):
            ctx.failures.append({"check": "citation_validity", "sentence": f"[{n}] resolves to no given passage"})
        return {"citation_validity": valid / len(cited)}


@dataclass(frozen=True)
class CitationRecallPrecision:
    """ALCE (Gao et al., 2023). Recall: share of sentences whose cited passages together support them (no citation
    scores 0). Precision: share of citations that are not irrelevant; following ALCE's reference implementation a
    citation counts as precise only when its sentence is supported by all its citations together and the citation
    either supports the sentence alone or is needed (the others without it do not)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Citation recall and precision of this case's answer (None without claims)."""
        items = claims(ctx)
        if not items:
            return {"citation_recall": None, "citation_precision": None}
        recall_hits, precise, total_citations = 0, 0, 0
        for _, sentence, numbers in items:
            passages = [ctx.passages[n] for n in numbers if ctx.passages.get(n)]
            total_citations += len(numbers)
            if not passages:
                ctx.failures.append({"check": "citation_recall", "sentence": sentence, "quotes": []})
                continue
            claim = strip_citations(sentence)
            joint = ctx.judge_pairs([(claim, "\n\n".join(passages))])[0].supported
            if not joint:
                ctx.failures.append({"check": "citation_recall", "sentence": sentence,
                                     "quotes": self._quotes(ctx, numbers)})
                continue
            recall_hits += 1
            precise += self._precise(ctx, claim, numbers)
        return {"citation_recall": recall_hits / len(items),
                "citation_precision": precise / total_citations if total_citations else None}

    @staticmethod
    def _precise(ctx: EvalContext, claim: str, numbers: list[int]) -> int:
        usable = [n for n in numbers if ctx.passages.get(n)]
        if len(usable) == 1:
            return 1
        alone = ctx.judge_pairs([(claim, ctx.passages[n]) for n in usable])
        count = 0
        for n, single in zip(usable, alone, strict=True):
            if single.supported:
                count += 1
                continue
            rest = "\n\n".join(ctx.passages[m] for m in usable if m != n)
            if not ctx.judge_pairs([(claim, rest)])[0].supported:
                count += 1  # needed: without it the others do not support the sentence
        return count

    @staticmethod
    def _quotes(ctx: EvalContext, numbers: list[int]) -> list[str]:
        by_number = {r.n: r.quote for r in ctx.answer.references}
        return [f"[{n}] {by_number.get(n, '(no such reference)')}" for n in numbers]


@dataclass(frozen=True)
class SectionRouting:
    """Share of citations whose source kind matches their section (guidelines -> guideline, research -> study)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Section routing of this case's answer (None without citations)."""
        kinds = {r.n: r.kind for r in ctx.answer.references}
        checked = [(section, n) for section, _, numbers in claims(ctx) for n in numbers if n in kinds]
        if not checked:
            return {"section_routing": None}
        right = [kinds[n] == SECTION_SOURCE_KIND[section] for section, n in checked]  # type: ignore[index]
        for (section, n), ok in zip(checked, right, strict=True):
            if not ok:
                ctx.failures.append({"check": "section_routing", "sentence": f"[{n}] ({kinds[n]}) in {section}"})
        return {"section_routing": sum(right) / len(right)}


@dataclass(frozen=True)
class UncitedRate:
    """Share of answer sentences (outside "no evidence" statements) that carry no citation."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """The share of uncited claims (None without claims)."""
        items = claims(ctx)
        if not items:
            return {"uncited_rate": None}
        return {"uncited_rate": sum(1 for _, _, numbers in items if not numbers) / len(items)}


@dataclass(frozen=True)
class Abstention:
    """Share of the case's expectations met: a section says "no evidence" exactly when the corpus has none."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Whether each expected "evidence"/"none" section is what the answer says."""
        expected = {"guidelines": ctx.case.expect.guidelines, "research": ctx.case.expect.research}
        sections = {s.kind: s for s in ctx.answer.sections}
        checks = []
        for kind, expectation in expected.items():
            if expectation is None or kind not in sections:
                continue
            ok = sections[kind].evidence_found == (expectation == "evidence")
            checks.append(ok)
            if not ok:
                ctx.failures.append({"check": "abstention", "sentence": f"{kind}: expected {expectation}, answer "
                                     f"says {'evidence' if sections[kind].evidence_found else 'none'}"})
        return {"abstention_correct": sum(checks) / len(checks) if checks else None}


@dataclass(frozen=True)
class RetrievalQuality:
    """Recall@10, nDCG@10 and MRR of the retrieved documents against the case's gold documents."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Retrieval recall@10, nDCG@10 and MRR against the gold documents (None without gold)."""
        gold = ctx.case.gold.all_doc_ids()
        if not gold:
            return {"retrieval_recall@10": None, "retrieval_ndcg@10": None, "retrieval_mrr": None}
        ranked = list(dict.fromkeys(ctx.retrieved))
        return {"retrieval_recall@10": recall_at(ranked, gold, 10), "retrieval_ndcg@10": ndcg_at(ranked, gold, 10),
                "retrieval_mrr": reciprocal_rank(ranked, gold)}


@dataclass(frozen=True)
class LabelAccuracy:
    """For yes/no/maybe cases: whether the answer's label (when the system gives one) matches."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """1.0 when the answer's label is the case's, 0.0 when not (None when either has none)."""
        predicted = ctx.answer.label
        if ctx.case.label is None or predicted is None:
            return {"label_accuracy": None}
        return {"label_accuracy": float(predicted == ctx.case.label)}


@dataclass(frozen=True)
class EvidenceAppraisal:
    """Share of references that carry an appraisal with a known design, and how many disagreements the answer
    names (informational: a disagreement is a finding about the literature, not an error)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Appraised share of the references (None without references) and the answer's disagreements."""
        references = ctx.answer.references
        appraised = [r for r in references if r.appraisal is not None and r.appraisal.design is not None]
        for reference in references:
            if reference.appraisal is None:
                ctx.failures.append({"check": "appraisal", "sentence": f"[{reference.n}] has no appraisal"})
        return {"appraised_references": len(appraised) / len(references) if references else None,
                "disagreements": float(len(ctx.answer.disagreements))}


EVALUATORS = (CitationValidity(), CitationRecallPrecision(), SectionRouting(), UncitedRate(), Abstention(),
              RetrievalQuality(), LabelAccuracy(), EvidenceAppraisal(), RequiredFacts(), ForbiddenStatements(),
              LeadAndCitedGold(), PremiseCorrected(), AnswerCorrectness())
METRICS = ("citation_validity", "citation_recall", "citation_precision", "section_routing", "uncited_rate",
           "abstention_correct", "retrieval_recall@10", "retrieval_ndcg@10", "retrieval_mrr", "label_accuracy",
           "appraised_references", "disagreements", "required_facts", "forbidden_statements", "lead_correct",
           "gold_cited", "gold_precision", "premise_corrected", "premise_confirmed", "answer_correctness")
#: Metrics where lower is better (the gate then means "fail above").
LOWER_IS_BETTER = frozenset({"uncited_rate", "forbidden_statements"})
