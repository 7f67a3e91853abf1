"""Sentences of a document with the role each plays: about this study ("self"), about other work ("background").

A design or a head count read from a sentence about *other* work ("previous randomised trials have shown...") would
be a confident wrong label, so every sentence gets a role from its section heading and its own words:

- ``self``: a methods-like heading (Methods, Design, Participants, ...), or first-person / "this study" wording, or
  a passive methods verb ("were randomised", "was conducted", "were enrolled");
- ``background``: a background-like heading (Background, Introduction, Context) or wording about earlier or missing
  work ("previously", "have shown", "et al", "few studies", "are needed"), with no self wording;
- ``neutral``: everything else (results, conclusions, text without headings).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rag.models import Section
from rag.text.sentences import sentence_spans

Role = Literal["self", "background", "neutral"]

_SELF = re.compile(
    r"\b(?:we|our|herein)\b"
    r"|\b(?:this|the present|the current|the|our) (?:\w+ ){0,2}?(?:study|trial|review|analysis|report|survey|"
    r"investigation|paper|work|meta-analysis)\b(?! (?:by|of \w+ et al))"
    r"|\b(?:was|were) (?:prospectively |retrospectively |then )?(?:randomi[sz]ed|randomly|enrolled|recruited|"
    r"conducted|performed|carried out|assigned|allocated|followed|studied|analy[sz]ed|divided|collected|reviewed|"
    r"identified|searched|surveyed|interviewed|included|screened|evaluated|assessed|examined|treated|eligible)\b"
    r"|\b(?:this|it) (?:is|was) an?\b",
    re.IGNORECASE,
)
_BACKGROUND = re.compile(
    r"\b(?:previous(?:ly)?|prior (?:studies|trials|research|work|reports|reviews)|earlier (?:studies|trials|work)"
    r"|recent (?:studies|trials|reviews|meta-analyses|evidence)|have (?:been )?(?:shown|demonstrated|reported|"
    r"suggested|found|established|confirmed)|has (?:been )?(?:shown|demonstrated|reported|suggested|established)"
    r"|(?:has|have) been (?:tested|studied|investigated|evaluated|examined)"
    r"|(?:the )?literature|et al|no (?:randomi[sz]ed|controlled|prospective|published|previous)"
    r"|(?:few|several|many|most|some|other|numerous) (?:[\w-]+ ){0,2}?(?:studies|trials|reports|reviews)"
    r"|lack of|limited (?:data|evidence)|(?:are|is|were) (?:needed|warranted|required)|future|"
    r"further (?:studies|trials|research)|remains? (?:unclear|unknown|controversial))\b",
    re.IGNORECASE,
)
_HEADING_LINE = re.compile(r"#{1,6}[ \t]*([^\n]{1,80})")
_INLINE_LABEL = re.compile(r"([A-Z][A-Z /&-]{2,40}):[ \t]")
_BACKGROUND_HEADINGS = ("background", "introduction", "context", "rationale", "importance")
_METHODS_HEADINGS = ("method", "design", "setting", "participant", "patient", "material", "subject", "intervention",
                     "data source", "search", "eligibility", "selection", "population", "procedure", "sample")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a text: its words, where it starts, the heading it sits under, and its role."""

    text: str
    start: int
    heading: str
    role: Role


def role_of(sentence: str, heading: str = "") -> Role:
    """The role of one sentence under a (lowercase) heading."""
    if _SELF.search(sentence):
        return "self"
    if _BACKGROUND.search(sentence) or _heading_kind(heading) == "background":
        return "background"
    return "self" if _heading_kind(heading) == "methods" else "neutral"


def _heading_kind(heading: str) -> str:
    if any(word in heading for word in _BACKGROUND_HEADINGS):
        return "background"
    if any(word in heading for word in _METHODS_HEADINGS):
        return "methods"
    return ""


@lru_cache(maxsize=512)
def sentences_of(text: str, sections: tuple[Section, ...] = ()) -> tuple[Sentence, ...]:
    """The sentences of ``text`` with headings from ``sections`` (when given) or from Markdown heading lines and
    "LABEL:" prefixes in the text. Cached: every reference of an answer may ask for the same document."""
    starts = [section.start for section in sections]
    found: list[Sentence] = []
    heading = ""
    for start, end in sentence_spans(text):
        body = text[start:end]
        if sections:
            index = bisect.bisect_right(starts, start) - 1
            heading = sections[index].title.lower() if index >= 0 else ""
        elif line := _HEADING_LINE.match(body):
            heading = line.group(1).lower()
            continue
        if label := _INLINE_LABEL.match(body):
            heading = label.group(1).lower()
            body, start = body[label.end():], start + label.end()
        found.append(Sentence(body, start, heading, role_of(body, heading)))
    return tuple(found)


def sentence_texts(sentences: Sequence[str]) -> list[str]:
    """Quoted passages split into their sentences (a quote may hold several)."""
    found: list[str] = []
    for passage in sentences:
        found.extend(passage[start:end] for start, end in sentence_spans(passage))
    return found
