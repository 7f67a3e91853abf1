"""The answer as Markdown, laid out like a published answer page: question, the two sections (each with its
evidence certainty and, for yes/no questions, consensus), limitations, numbered references with year, identifiers,
an evidence line and the quoted passages, then the disclaimer.

The page carries model text, quotes and document fields, and leaves the server (chat completions, ``rag ask``):
it is made inert (:func:`rag.text.inert.inert_markdown`), so nothing in it renders as an image, raw HTML or a link;
a reference's web address is shown as plain text, and only when it is http(s)."""

from __future__ import annotations

from rag.answer.models import Answer, Reference
from rag.appraisal import SourceAppraisal
from rag.text.inert import inert_markdown, plain_url


def render_markdown(answer: Answer) -> str:
    """The answer page in Markdown (what `rag ask` prints and chat completions return)."""
    lines = [f"# {answer.question}", ""]
    if answer.standalone_question:
        lines += [f"*Follow-up, searched as: {answer.standalone_question}*", ""]
    for section in answer.sections:
        lines += [f"## {section.title}", ""]
        if section.certainty is not None:
            lines += [f"*Certainty of evidence (GRADE-inspired): {section.certainty.reason}*", ""]
        if section.consensus is not None:
            lines += [f"*{section.consensus.summary}*", ""]
        lines += [section.text if section.evidence_found else f"*{section.text}*", ""]
    lines += ["## Limitations", "", answer.limitations, ""]
    return inert_markdown("\n".join(lines + _closing(answer)))


def render_references(answer: Answer) -> str:
    """The end of the answer page: the references, notices, disclaimer and status line (what a streamed chat
    completion sends after the model's draft)."""
    return inert_markdown("\n".join(_closing(answer)))


def _closing(answer: Answer) -> list[str]:
    lines: list[str] = []
    if answer.references:
        lines += ["## References", ""]
        lines += [_reference(r) for r in answer.references]
        lines.append("")
    if answer.notices:
        lines += [f"> **Note:** {notice}" for notice in answer.notices] + [""]
    footer = [answer.backend, _status(answer), f"{answer.timings_ms.get('total', 0):.0f} ms"]
    if answer.conversation_id:
        footer.append(f"conversation {answer.conversation_id}")
    return [*lines, "---", "", f"*{answer.disclaimer}*", "", f"*{' · '.join(footer)}*"]


def _reference(reference: Reference) -> str:
    origin = ", ".join(str(x) for x in (reference.source, reference.year) if x)
    ids = " ".join(
        f"{label} {value}" for label, value in (("PMID", reference.pmid), ("DOI", reference.doi)) if value
    )
    kind = "Guideline" if reference.kind == "guideline" else "Study"
    head = f"{reference.n}. **{reference.title}**" + (f" — {origin}" if origin else "") + f". {kind}."
    if ids:
        head += f" {ids}."
    if (url := plain_url(reference.url)) and not reference.doi:
        head += f" {url}"
    lines = [head]
    if reference.appraisal is not None and (line := evidence_line(reference.appraisal)):
        lines.append(f"   *Evidence:* {line}")
    if reference.notes:
        note = " ".join(reference.notes.split())
        lines.append(f"   *Note on our record:* {note[:300]}{'…' if len(note) > 300 else ''}")
    quotes = [f"   > “{' '.join(quote.text.split())}”" for quote in reference.quotes]
    return "  \n".join(lines) + "\n" + "\n   >\n".join(quotes)


_DESIGNS = {
    "systematic-review": "systematic review", "meta-analysis": "meta-analysis", "rct": "randomised trial",
    "non-randomized-trial": "non-randomised trial", "cohort": "cohort study", "case-control": "case-control study",
    "cross-sectional": "cross-sectional study", "case-series": "case series", "case-report": "case report",
    "narrative-review": "narrative review", "position-statement": "position statement", "regulatory": "regulatory",
}
_DIRECTIONS = {"supports": "finding supports the question", "no_difference": "finding: no difference",
               "against": "finding against the question"}


def evidence_line(appraisal: SourceAppraisal) -> str:
    """One line on how strong a reference is: "randomised trial (level 2) · n = 50 · 9 years old · finding: no
    difference ("equally") · recommendation B · outdated"."""
    parts = []
    if appraisal.design:
        design = _DESIGNS.get(appraisal.design, appraisal.design)
        parts.append(f"{design} (level {appraisal.level})" if appraisal.level else design)
    if appraisal.sample_size:
        parts.append(f"n = {appraisal.sample_size}")
    if appraisal.age_years is not None:
        parts.append("this year" if appraisal.age_years == 0 else
                     f"{appraisal.age_years} year{'s' if appraisal.age_years != 1 else ''} old")
    if appraisal.direction in _DIRECTIONS:
        words = ", ".join(f"“{w}”" for w in appraisal.direction_words[:2])
        parts.append(_DIRECTIONS[appraisal.direction] + (f" ({words})" if words else ""))
    if appraisal.recommendation_strength:
        parts.append(" ".join(filter(None, ("recommendation", appraisal.recommendation_strength,
                                            appraisal.recommendation_direction))))
    parts += [flag.replace("_", " ") for flag in appraisal.flags]
    return " · ".join(parts)


def _status(answer: Answer) -> str:
    """What verification found, in a few words: "all citations verified", and what was repaired."""
    grounding = answer.grounding
    parts = [] if not grounding.verified else ["all citations verified"]
    if grounding.attributed:
        parts.append(f"{len(grounding.attributed)} citation(s) added by the system")
    if grounding.removed:
        parts.append(f"{len(grounding.removed)} unsupported or repeated sentence(s) removed")
    if grounding.dangling:
        parts.append(f"{len(grounding.dangling)} invented citation number(s) dropped")
    if grounding.unsupported_sentences:
        parts.append(f"{len(grounding.unsupported_sentences)} sentence(s) not supported by their sources")
    if grounding.uncited_sentences:
        parts.append(f"{len(grounding.uncited_sentences)} uncited sentence(s)")
    return "; ".join(parts) or "not verified"
