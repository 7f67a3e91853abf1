"""Sentences of a document with the role each plays: about this study ("self"), about other work ("background").

A design or a head count read from a sentence about *other* work ("previous randomised trials have shown...") would
be a confident wrong label, so every sentence gets a role from its section heading and its own words:

- ``self``: a methods-like heading (Methods, Design, Participants, ...), or first-person / "this study" wording, or
  a passive methods verb ("were randomised", "was conducted", "were enrolled");
- ``background``: a background-like heading (Background, Introduction, Context) or wording about earlier or missing
  work ("previously", "have shown", "et al", "few studies", "are needed"), with no self wording;
- ``neutral``: everything else (results, conclusions, text without headings).

Only part of a long document is read: its methods-like and abstract-like sections first, then the others in order,
up to a character budget (the cost of sentence splitting grows with the text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rag.appraisal.cues import cue, word_cue, words_of
from rag.models import Section
from rag.text.sentences import sentence_spans

Role = Literal["self", "background", "neutral"]

#: Default number of characters of a document read for its design and sample size (see AppraisalOptions).
DEFAULT_BUDGET = 6000
#: Longest quote read for a direction; longer quotes are cut (a cited quote is a sentence or a few).
MAX_QUOTE_CHARS = 5000
_PIECE = 800

_SELF_CUES = (
    word_cue("we our herein"),
    cue(r"\b(?:this|the present|the current|the|our) (?:\w+ ){0,2}?(?:study|trial|review|analysis|report|survey|"
        r"investigation|paper|work|meta-analysis)\b(?! (?:by|of \w+ et al))|\b(?:this|it) (?:is|was) an?\b",
        "study trial review analysis report survey investigation paper work meta this it"),
    cue(r"\b(?:was|were) (?:prospectively |retrospectively |then )?(?:randomi[sz]ed|randomly|enrolled|recruited|"
        r"conducted|performed|carried out|assigned|allocated|followed|studied|analy[sz]ed|divided|collected|reviewed|"
        r"identified|searched|surveyed|interviewed|included|screened|evaluated|assessed|examined|treated|eligible)\b",
        "was were"),
)
_BACKGROUND = cue(
    r"\b(?:previous(?:ly)?|prior (?:studies|trials|research|work|reports|reviews)|earlier (?:studies|trials|work)"
    r"|recent (?:studies|trials|reviews|meta-analyses|evidence)|have (?:been )?(?:shown|demonstrated|reported|"
    r"suggested|found|established|confirmed)|has (?:been )?(?:shown|demonstrated|reported|suggested|established)"
    r"|(?:has|have) been (?:tested|studied|investigated|evaluated|examined)"
    r"|(?:the )?literature|et al|no (?:randomi[sz]ed|controlled|prospective|published|previous)"
    r"|(?:few|several|many|most|some|other|numerous) (?:[\w-]+ ){0,2}?(?:studies|trials|reports|reviews)"
    r"|lack of|limited (?:data|evidence)|(?:are|is|were) (?:needed|warranted|required)|future|"
    r"further (?:studies|trials|research)|remains? (?:unclear|unknown|controversial))\b",
    "previous previously prior earlier recent have has literature et no few several many most some other numerous "
    "lack limited are is were future further remain remains",
)
_HEADING_LINE = re.compile(r"#{1,6}[ \t]*([^\n]{1,80})")
#: "Results: ..." at a sentence's start; a label starts where a run of label characters starts and is taken whole
#: (":" ends it), so searching a long run costs one pass, not 40 reads from each of its characters.
_INLINE_LABEL = re.compile(r"(?<![A-Za-z /&-])([A-Z][A-Za-z /&-]{2,40}+):[ \t]")
_BACKGROUND_HEADINGS = ("background", "introduction", "context", "rationale", "importance")
_METHODS_HEADINGS = ("method", "design", "setting", "participant", "patient", "material", "subject", "intervention",
                     "data source", "search", "eligibility", "selection", "population", "procedure", "sample")
_ABSTRACT_HEADINGS = ("abstract", "summary", "title", "objective", "aim", "purpose")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a text: its words, where it starts, and the (lowercase) heading it sits under."""

    text: str
    start: int
    heading: str
    words: frozenset[str]

    @classmethod
    def of(cls, text: str, start: int, heading: str) -> Sentence:
        """A sentence of ``text`` at ``start`` under ``heading``, with its words."""
        return cls(text, start, heading, words_of(text.lower()))

    @property
    def role(self) -> Role:
        """Whether the sentence is about this study, about other work, or neither (see role_of)."""
        return role_of(self.text, self.heading)


@lru_cache(maxsize=4096)
def role_of(sentence: str, heading: str = "") -> Role:
    """The role of one sentence under a (lowercase) heading."""
    lowered = sentence.lower()
    words = words_of(lowered)
    if any(self_cue.search(lowered, words) for self_cue in _SELF_CUES):
        return "self"
    if _BACKGROUND.search(lowered, words) or _heading_kind(heading) == "background":
        return "background"
    return "self" if _heading_kind(heading) == "methods" else "neutral"


def _heading_kind(heading: str) -> str:
    if any(word in heading for word in _BACKGROUND_HEADINGS):
        return "background"
    if any(word in heading for word in _METHODS_HEADINGS):
        return "methods"
    if any(word in heading for word in _ABSTRACT_HEADINGS):
        return "abstract"
    return ""


@lru_cache(maxsize=256)
def sentences_of(text: str, sections: tuple[Section, ...] = (), budget: int = DEFAULT_BUDGET) -> tuple[Sentence, ...]:
    """The sentences of ``text`` (at most ``budget`` characters of it) with headings from ``sections`` when given,
    else from Markdown heading lines and "LABEL:" prefixes in the text. With sections, methods-like and
    abstract-like sections are read first. Cached: every reference of an answer may ask for the same document."""
    if not sections:
        return _split(text, 0, min(len(text), budget), "")
    found: list[Sentence] = []
    for section in _sections_within(sections, budget):
        found.extend(_split(text, section.start, section.end, section.title.lower()))
    return tuple(found)


def _sections_within(sections: tuple[Section, ...], budget: int) -> list[Section]:
    """Sections to read, most informative first, cut at the budget, returned in document order."""
    ranked = sorted(sections, key=lambda s: (_heading_kind(s.title.lower()) not in ("methods", "abstract"), s.start))
    chosen, used = [], 0
    for section in ranked:
        length = min(section.end - section.start, budget - used)
        if length <= 0:
            break
        chosen.append(Section(title=section.title, start=section.start, end=section.start + length))
        used += length
    return sorted(chosen, key=lambda s: s.start)


def _split(text: str, start: int, end: int, heading: str) -> tuple[Sentence, ...]:
    found: list[Sentence] = []
    for s, e in spans(text, start, end):
        body = text[s:e]
        if line := _HEADING_LINE.match(body):
            heading = line.group(1).lower()
            continue
        if label := _INLINE_LABEL.match(body):
            heading = label.group(1).lower()
            body, s = body[label.end():], s + label.end()
        found.append(Sentence.of(body, s, heading))
    return tuple(found)


def sentence_texts(passages: Sequence[str]) -> list[str]:
    """Quoted passages split into their sentences (a quote may hold several)."""
    found: list[str] = []
    for passage in passages:
        found.extend(passage[start:end] for start, end in spans(passage, 0, min(len(passage), MAX_QUOTE_CHARS)))
    return found


def text_sentences(text: str) -> list[str]:
    """The sentences of a text, split as :func:`spans` does."""
    return [text[start:end] for start, end in spans(text, 0, len(text))]


def spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``, split in pieces of at most ``_PIECE`` characters cut after a full
    stop where possible. The shared splitter's cost grows with the square of a run of abbreviation-like full stops
    ("A. A. A. ..."), so no piece may be long; real sentences are far shorter than a piece."""
    found: list[tuple[int, int]] = []
    while start < end:
        cut = end if end - start <= _PIECE else _cut(text, start, start + _PIECE)
        found.extend(sentence_spans(text, start, cut))
        start = cut
    return found


def _cut(text: str, start: int, limit: int) -> int:
    for mark in (". ", "\n", " "):
        position = text.rfind(mark, start + _PIECE // 2, limit)
        if position != -1:
            return position + len(mark)
    return limit

