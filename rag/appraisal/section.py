"""Section-level appraisal: certainty, consensus and disagreements of the publications one section cites."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from rag.appraisal.certainty import research_certainty
from rag.appraisal.consensus import consensus, disagreements
from rag.appraisal.models import AppraisalOptions, Certainty, Consensus, Disagreement, SourceAppraisal
from rag.appraisal.question import is_yes_no_question

SectionKind = Literal["guidelines", "research"]


class SectionAppraisal(BaseModel):
    """What the answer service puts on a section (certainty, consensus) and on the answer (disagreements)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    certainty: Certainty | None = None
    consensus: Consensus | None = None
    disagreements: tuple[Disagreement, ...] = ()


def appraise_section(
    kind: SectionKind,
    question: str,
    references: Mapping[int, SourceAppraisal],
    passages: Sequence[str],
    options: AppraisalOptions | None = None,
    direct: Mapping[int, bool] | None = None,
) -> SectionAppraisal:
    """Appraise one section from its references' appraisals (keyed by reference number) and the text of the
    passages it cites (one text per reference, in the same order, lets certainty tell head-to-head publications
    from the others). Retracted references are left out of every count. Consensus is given for yes/no questions
    only; certainty for research sections only (see :mod:`rag.appraisal.certainty`). ``direct``: per reference,
    whether its publication clearly addresses the question (judged by meaning)."""
    cited = {ref: appraisal for ref, appraisal in references.items() if "retracted" not in appraisal.flags}
    if not cited:
        return SectionAppraisal()
    if len(passages) == len(references):  # one per reference: keep them beside their publications
        passages = [text for text, appraisal in zip(passages, references.values(), strict=True)
                    if "retracted" not in appraisal.flags]
    noun = ("guideline", "guidelines") if kind == "guidelines" else ("study", "studies")
    return SectionAppraisal(
        certainty=research_certainty(list(cited.values()), question, passages, options,
                                     [direct.get(ref, False) for ref in cited] if direct is not None else None)
        if kind == "research" else None,
        consensus=consensus([a.direction for a in cited.values()], noun,
                            ["outside_population" in a.flags for a in cited.values()])
        if is_yes_no_question(question) else None,
        disagreements=tuple(disagreements({ref: appraisal.direction for ref, appraisal in cited.items()})),
    )
