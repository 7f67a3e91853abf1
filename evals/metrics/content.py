"""What an answer says, against what a clinician needs it to say: the case's required facts (``gold.must_say``), its
forbidden statements (``gold.must_not_say``), which publication leads each section (``gold.lead``), whether a gold
publication is cited in its section, and, for a question built on a false premise, whether a section opens with the
correction (for one built on a true premise, whether a section opens with what bears it out).

Phrases are matched on normalised text: case, ``**``, citation markers and runs of blanks are ignored, and hyphens
and dashes read as spaces ("micro-needling" matches "micro needling", not "microneedling": a case lists such variants
as alternatives).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evals.context import EvalContext
from rag.answer.lexical import answer_sentences
from rag.contract import citations_in, strip_citations

Scores = dict[str, float | None]

_DASHES = re.compile(r"[-‐‑‒–—]")
FALSE_PREMISE = "false-premise"
TRUE_PREMISE = "true-premise"
_QUOTED = re.compile(r'"[^"]*+"')


def normalised(text: str) -> str:
    """Lower case, no emphasis or citation markers, dashes as spaces, single blanks."""
    plain = strip_citations(text.replace("**", "")).lower()
    return " ".join(_DASHES.sub(" ", plain).split())


def says(text: str, fact: str | tuple[str, ...]) -> bool:
    """Whether normalised ``text`` holds the fact (one of its alternative phrasings)."""
    alternatives = (fact,) if isinstance(fact, str) else fact
    return any(normalised(phrase) in text for phrase in alternatives if phrase.strip())


def _sections_text(ctx: EvalContext) -> str:
    return normalised(" ".join(s.text for s in ctx.answer.sections if s.evidence_found))


def _first_sentences(ctx: EvalContext) -> list[str]:
    """The opening sentence of each section that found evidence."""
    firsts = []
    for section in ctx.answer.sections:
        sentences = answer_sentences(section.text) if section.evidence_found else []
        if sentences:
            firsts.append(sentences[0])
    return firsts


@dataclass(frozen=True)
class RequiredFacts:
    """Share of the case's required facts that the answer's sections state (None when the case lists none)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """The share of ``gold.must_say`` present; each missing fact is a failure."""
        facts = ctx.case.gold.must_say
        if not facts:
            return {"required_facts": None}
        text = _sections_text(ctx)
        present = [says(text, fact) for fact in facts]
        for fact, ok in zip(facts, present, strict=True):
            if not ok:
                ctx.failures.append({"check": "required_facts", "sentence": f"missing: {fact!r}"})
        return {"required_facts": sum(present) / len(present)}


@dataclass(frozen=True)
class ForbiddenStatements:
    """How many of the case's forbidden phrases the answer states (its sections, limitations and notices: a reader
    reads the notice that calls a premise false as the answer's own word)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """The count of ``gold.must_not_say`` phrases present (None when the case lists none)."""
        phrases = ctx.case.gold.must_not_say
        if not phrases:
            return {"forbidden_statements": None}
        text = _stated(ctx)
        said = [phrase for phrase in phrases if says(text, phrase)]
        for phrase in said:
            ctx.failures.append({"check": "forbidden_statements", "sentence": f"states: {phrase!r}"})
        return {"forbidden_statements": float(len(said))}


@dataclass(frozen=True)
class LeadAndCitedGold:
    """``lead_correct``: share of the case's lead sections whose first citation is one of its lead documents.
    ``gold_cited``: share of the sections with gold documents in which the answer cites one of them.
    ``gold_precision``: share of the publications cited in those sections that are among their gold documents (a
    measure of padding; a lower bound where the gold lists are not exhaustive)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Both shares (None where the case gives no lead or no per-section gold)."""
        doc_of = {r.n: r.doc_id for r in ctx.answer.references}
        sections = {s.kind: s for s in ctx.answer.sections}
        leads = []
        for kind, wanted in ctx.case.gold.lead.items():
            cited = citations_in(sections[kind].text) if kind in sections else []
            first = doc_of.get(cited[0]) if cited else None
            leads.append(first in wanted)
            if first not in wanted:
                ctx.failures.append({"check": "lead_correct", "sentence": f"{kind} opens with {first or 'nothing'}, "
                                     f"not one of {', '.join(wanted)}"})
        gold = {"guidelines": ctx.case.gold.guideline_doc_ids, "research": ctx.case.gold.study_doc_ids}
        found = []
        cited_gold = cited_all = 0
        for section, gold_ids in gold.items():
            if gold_ids and section in sections:
                cited_docs = {doc_of.get(n) for n in citations_in(sections[section].text)} - {None}
                found.append(bool(cited_docs & set(gold_ids)))
                cited_gold += len(cited_docs & set(gold_ids))
                cited_all += len(cited_docs)
        return {"lead_correct": sum(leads) / len(leads) if leads else None,
                "gold_cited": sum(found) / len(found) if found else None,
                "gold_precision": cited_gold / cited_all if cited_all else None}


@dataclass(frozen=True)
class PremiseCorrected:
    """For a question built on a false premise (tag ``false-premise``), ``premise_corrected``: 1 when a section opens
    with a sentence stating a required fact (the correction), cited, and no forbidden phrase is stated; else 0. For
    one built on a true premise (tag ``true-premise``), ``premise_confirmed``, by the same test: a section opens with
    what bears the premise out (a required fact), and nothing forbidden is said (such as a notice that the sources
    state otherwise)."""

    def evaluate(self, ctx: EvalContext) -> Scores:
        """Whether the premise is met up front (None for other cases)."""
        metric = ("premise_corrected" if FALSE_PREMISE in ctx.case.tags
                  else "premise_confirmed" if TRUE_PREMISE in ctx.case.tags else None)
        if metric is None or not ctx.case.gold.must_say:
            return {"premise_corrected": None, "premise_confirmed": None}
        leading = [s for s in _first_sentences(ctx) if citations_in(s)]
        met = any(says(normalised(s), fact) for s in leading for fact in ctx.case.gold.must_say)
        text = _stated(ctx)
        repeated = any(says(text, phrase) for phrase in ctx.case.gold.must_not_say)
        if not met:
            ctx.failures.append({"check": metric, "sentence": "no section opens with "
                                 + ("the correction" if metric == "premise_corrected" else "what bears it out")})
        return {"premise_corrected": None, "premise_confirmed": None, metric: float(met and not repeated)}


def _stated(ctx: EvalContext) -> str:
    """What the answer states, normalised: its sections, limitations and notices, less what a notice quotes (the
    question's premise, a source's sentence)."""
    return normalised(" ".join([*(s.text for s in ctx.answer.sections), ctx.answer.limitations,
                                *(_QUOTED.sub(" ", notice) for notice in ctx.answer.notices)]))
