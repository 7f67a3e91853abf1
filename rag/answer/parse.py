"""Parse a generator's raw text into the answer's sections, tolerating messy model output.

Handles: headings as Markdown, bold or plain lines (with or without a colon, text on the same line or not), no
headings at all (sentences are then routed by the kind of the sources they cite), a reference list the model wrote
itself (its numbers are mapped to our sources where an entry names one; the list itself is dropped: the system
builds references), and citation styles [1], [1, 2], [1-3], [1–3], [Source 2], [S2], [^2], (1), (1, 2), superscripts
and author-year (rag.answer.styles). Numbers that match no given source are removed and reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.answer.lexical import answer_sentences
from rag.answer.styles import SourceNames, author_years_to_markers, reference_list_map, superscripts_to_markers
from rag.contract import (
    SECTION_KINDS,
    SECTION_SOURCE_KIND,
    SectionKind,
    Source,
    citation_number,
    citations_in,
    keep_citations,
    strip_citations,
)
from rag.generate.json_answer import cited_items
from rag.generate.protocol import Draft, DraftSentence
from rag.text.sentences import sentence_spans, tidy

_HEADINGS: dict[str, str] = {
    "guidelines": r"(?:from\s+the\s+)?guidelines?(?:\s+(?:and|&)\s+[\w\s]+)?",
    "research": r"(?:from\s+the\s+)?(?:research|studies|evidence\s+from\s+(?:the\s+)?studies|research\s+evidence)",
    "limitations": r"limitations?(?:\s+of\s+the\s+evidence)?|caveats",
    "references": r"references|sources|bibliography|citations|works\s+cited",
}
#: The opening is possessive: blanks, '#'s and '**' can never be part of the name, and letting the engine hand them
#: back made a line of blanks cost time quadratic in its length.
_HEADING_LINE = re.compile(
    r"^\s*+(?:#{1,6}+\s*+)?+(?:\*\*|__)?+\s*+(?P<name>" + "|".join(f"(?P<{k}>{v})" for k, v in _HEADINGS.items())
    + r")\s*(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?(?P<rest>(?:\s.*)?)$",
    re.IGNORECASE,
)
_NUMBER_LIST = r"\d+(?:\s*[-–—]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-–—]\s*\d+)?)*"
#: "[1]", "[^1]", "[Source 1]", "[S1]", "[ref. 1]", and "[source n=1]" or "[source-4f1c9a2e7b3d n="1"]" (our source
#: tag, echoed)
_BRACKET_CITATION = re.compile(
    r"\[\s*(?:\^|(?:source(?:-[0-9a-f]{1,32}+(?=\s))?|src)\s*(?:n\s*=\s*)?\"?|s|ref\.?\s*|n\s*=\s*\"?)?(" + _NUMBER_LIST
    + r")\"?\s*\]", re.IGNORECASE)
_PAREN_CITATION = re.compile(r"\s?\((" + _NUMBER_LIST + r")\)(?=\s*(?:[.;:,!?]|\[|$))")
_MAX_RANGE = 20
#: Separators inside a citation's number list, and blanks before punctuation or repeated. Blanks are taken from
#: where their run starts (``(?<!\s)``) and whole: tried from inside a long run, the run was read again and again.
_LIST_SEPARATOR = re.compile(r"(?:(?<!\s)\s++)?[,;]\s*+")
_RANGE_SEPARATOR = re.compile(r"(?:(?<!\s)\s++)?[-–—]\s*+")
_BLANKS_BEFORE_PUNCTUATION = re.compile(r"(?<![ \t])[ \t]++([.;:,!?])")
_REPEATED_BLANKS = re.compile(r"[ \t]{2,}")
_CITING_WORD = re.compile(r"\s(?:by|in|from|see|per)(?=\s?\[\d+\])", re.IGNORECASE)
"""A preposition whose object is a citation ("The study by [2] found ..."): it goes with the marker."""


@dataclass
class ParsedAnswer:
    """The answer's sections with every citation as a valid [n] marker, and the numbers that were dropped."""

    sections: dict[SectionKind, str]
    limitations: str
    dangling: list[int] = field(default_factory=list)
    headings_found: bool = False

    def citation_count(self) -> int:
        """How many [n] markers the sections hold."""
        return sum(len(citations_in(text)) for text in self.sections.values())

    def draft(self) -> Draft:
        """The sections as sentences, each with the sources it cites."""
        return Draft({kind: draft_sentences(self.sections.get(kind, "")) for kind in SECTION_KINDS},
                     self.limitations, tuple(self.dangling))


def parse_answer(raw: str, sources: Sequence[Source]) -> ParsedAnswer:
    """The sections of a generator's Markdown, citations normalised to the numbers of ``sources``."""
    text = _unwrap_code_fence(raw.replace("\r\n", "\n"))
    blocks, found = _split_headings(text)
    names = SourceNames(sources)
    renumber = reference_list_map(blocks.pop("references", ""), names)
    valid = {s.n for s in sources}
    dangling: list[int] = []
    cleaned = {name: _cleaned(body, names, valid, dangling, renumber) for name, body in blocks.items()}
    if not found:
        sections = _route_by_citations(cleaned.get("body", ""), {s.n: s.kind for s in sources})
        limitations = ""
    else:
        sections = {kind: cleaned.get(kind, "").strip() for kind in ("guidelines", "research")}
        limitations = cleaned.get("limitations", "").strip()
    return ParsedAnswer(sections=sections, limitations=strip_citations(limitations),
                        dangling=sorted(set(dangling)), headings_found=found)


def json_draft(data: dict[str, Any], sources: Sequence[Source]) -> Draft:
    """A model's JSON answer (rag.generate.json_answer) as sentences with their sources: each item's sentence is
    read on its own, its citations normalised as in Markdown (no headings or reference list to find)."""
    names = SourceNames(sources)
    valid = {s.n for s in sources}
    dangling: list[int] = []
    sections = {kind: [sentence for item in cited_items(data, kind)
                       for sentence in draft_sentences(_cleaned(item, names, valid, dangling, {}))]
                for kind in SECTION_KINDS}
    limitations = data.get("limitations")
    stated = _cleaned(limitations.strip(), names, valid, dangling, {}) if isinstance(limitations, str) else ""
    return Draft(sections, strip_citations(stated), tuple(sorted(set(dangling))))


def draft_sentences(text: str) -> list[DraftSentence]:
    """The sentences of a section's text, each tidied, without its [n] markers, with the sources they cite."""
    found = []
    for sentence in answer_sentences(text):
        plain = tidy(strip_citations(_CITING_WORD.sub("", sentence)))
        if plain:
            found.append(DraftSentence(plain, tuple(dict.fromkeys(citations_in(sentence)))))
    return found


def _cleaned(body: str, names: SourceNames, valid: set[int], dangling: list[int],
             renumber: dict[int, list[int]]) -> str:
    """A text's citations, in any style, as valid [n] markers (unknown numbers added to ``dangling``)."""
    return _normalise_citations(author_years_to_markers(superscripts_to_markers(body), names), valid, dangling,
                                renumber)


def _unwrap_code_fence(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        return stripped.split("\n", 1)[1].rsplit("```", 1)[0] if "\n" in stripped else ""
    return text


def _split_headings(text: str) -> tuple[dict[str, str], bool]:
    """Text per heading; before any heading it is 'body'."""
    blocks: dict[str, list[str]] = {"body": []}
    current = "body"
    found = False
    for line in text.split("\n"):
        match = _HEADING_LINE.match(line)
        if match and (len(line) < 80 or match.group("rest").strip() == "" or line.lstrip().startswith(("#", "**"))):
            current = next(k for k in _HEADINGS if match.group(k))
            found = found or current in ("guidelines", "research")
            blocks.setdefault(current, [])
            if match.group("rest").strip():
                blocks[current].append(match.group("rest").strip())
            continue
        blocks.setdefault(current, []).append(line)
    joined = {name: "\n".join(lines).strip() for name, lines in blocks.items()}
    if found and joined.get("body"):  # a preamble before the first heading is not part of any section
        joined.pop("body")
    return joined, found


def _normalise_citations(text: str, valid: set[int], dangling: list[int], renumber: dict[int, list[int]]) -> str:
    def expand(numbers: str) -> str:
        out: list[int] = []
        for part in _LIST_SEPARATOR.split(numbers.strip()):
            match [citation_number(x) for x in _RANGE_SEPARATOR.split(part) if x]:
                case [int(first), int(last)] if 0 <= last - first <= _MAX_RANGE:
                    out.extend(range(first, last + 1))
                case [int(first), *_]:
                    out.append(first)
        kept = []
        for n in (m for number in out for m in renumber.get(number, [number])):
            if n in valid:
                kept.append(f"[{n}]")
            else:
                dangling.append(n)
        return "".join(dict.fromkeys(kept))

    text = _BRACKET_CITATION.sub(lambda m: expand(m.group(1)), text)
    text = _PAREN_CITATION.sub(lambda m: (" " + expand(m.group(1))) if expand(m.group(1)) else m.group(0), text)
    text = keep_citations(text, valid, dangling)
    text = _BLANKS_BEFORE_PUNCTUATION.sub(r"\1", text)
    return _REPEATED_BLANKS.sub(" ", text)


def _route_by_citations(text: str, kinds: dict[int, str]) -> dict[SectionKind, str]:
    """Without headings: a sentence citing only guidelines goes to the guidelines section, anything else to
    research."""
    routed: dict[SectionKind, list[str]] = {"guidelines": [], "research": []}
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        cited = {kinds[n] for n in citations_in(sentence) if n in kinds}
        target: SectionKind = "guidelines" if cited == {SECTION_SOURCE_KIND["guidelines"]} else "research"
        routed[target].append(sentence)
    return {name: " ".join(sentences) for name, sentences in routed.items()}
