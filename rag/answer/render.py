"""The answer as Markdown, laid out like a published answer page: question, the two sections, limitations,
numbered references with year and identifiers and the quoted passage, then the disclaimer."""

from __future__ import annotations

from rag.answer.models import Answer, Reference


def render_markdown(answer: Answer) -> str:
    """The answer page in Markdown (what `rag ask` prints and chat completions return)."""
    lines = [f"# {answer.question}", ""]
    if answer.standalone_question:
        lines += [f"*Follow-up, searched as: {answer.standalone_question}*", ""]
    for section in answer.sections:
        lines += [f"## {section.title}", "", section.text if section.evidence_found else f"*{section.text}*", ""]
    lines += ["## Limitations", "", answer.limitations, ""]
    if answer.references:
        lines += ["## References", ""]
        lines += [_reference(r) for r in answer.references]
        lines.append("")
    if answer.notices:
        lines += [f"> **Note:** {notice}" for notice in answer.notices] + [""]
    status = _status(answer)
    lines += ["---", "", f"*{answer.disclaimer}*", "", f"<sub>{answer.backend} · {status} · "
              f"{answer.timings_ms.get('total', 0):.0f} ms · conversation {answer.conversation_id}</sub>"]
    return "\n".join(lines)


def _reference(reference: Reference) -> str:
    origin = ", ".join(str(x) for x in (reference.source, reference.year) if x)
    ids = " ".join(
        f"{label} {value}" for label, value in (("PMID", reference.pmid), ("DOI", reference.doi)) if value
    )
    kind = "Guideline" if reference.kind == "guideline" else "Study"
    head = f"{reference.n}. **{reference.title}**" + (f" — {origin}" if origin else "") + f". {kind}."
    if ids:
        head += f" {ids}."
    if reference.url and not reference.doi:
        head += f" <{reference.url}>"
    lines = [head]
    if reference.notes:
        note = " ".join(reference.notes.split())
        lines.append(f"   *Note on our record:* {note[:300]}{'…' if len(note) > 300 else ''}")
    quotes = [f"   > “{' '.join(quote.text.split())}”" for quote in reference.quotes]
    lines.append("\n   >\n".join(quotes))
    return "\n".join(lines)


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
