"""The answer vocabulary shared by the generators, the answer service, the API and the evals: section kinds and
titles, the "no evidence" statements, audiences, backends, disclaimers, the numbered sources a generator is given,
and the one citation marker ``[n]`` with its helpers.

These are named constants because prompts, the extractive generator, the parser and the tests must agree on them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.errors import UserError
from rag.models import Hit, Kind

SectionKind = Literal["guidelines", "research"]
SECTION_KINDS: tuple[SectionKind, ...] = ("guidelines", "research")
Audience = Literal["clinician", "patient"]
AUDIENCES: tuple[Audience, ...] = ("clinician", "patient")
Backend = Literal["extractive", "openai"]
"""extractive: offline, quotes the sources; openai: any OpenAI-compatible chat endpoint."""
BACKENDS: tuple[Backend, ...] = ("extractive", "openai")

SECTION_TITLES: dict[SectionKind, str] = {"guidelines": "From the Guidelines", "research": "From the Research"}
LIMITATIONS_TITLE = "Limitations"
#: Which document kind each section may cite.
SECTION_SOURCE_KIND: dict[SectionKind, Kind] = {"guidelines": "guideline", "research": "study"}

#: Said when a section has no evidence. The generator may name the topic after these words.
NO_GUIDELINE = "No guideline in the sources addresses this question."
NO_RESEARCH = "There are no direct studies in the sources that address this question."
UNNAMED_TERMS_NOTICE = "No retrieved source names {terms}, so none was quoted for the question."
UNNAMED_AND_NO_DOSE_NOTICE = ("No retrieved source names {terms}, and none states a dose, so none was quoted for the "
                              "question.")
NO_DOSE_NOTICE = "No retrieved source states a dose, so none was quoted for the question."
"""Said when nothing was quoted for a question asking for a dose although sources address its topic: the offline
answer quotes only sentences stating a dose (rag.generate.extractive). With unnamed terms too,
:data:`UNNAMED_AND_NO_DOSE_NOTICE` names both reasons."""
"""Said when every section abstains and the question names specialist terms (drug names, procedures: "latanoprost",
"timolol") that no retrieved passage names (rag.meaning): the sources found share its topic, not its subject."""
PREMISE_NOTICE = ("The question takes for granted that {premise}; the sources cited below may not bear that out, "
                  "so check it against them before relying on it.")
"""Said when a question states an assumption before asking ("Since the FDA approved exosome serums, ..."): an
extractive answer quotes what its sources say on it first, but quotes do not say whether it holds."""
PREMISE_CONTRADICTED_NOTICE = ("The question takes for granted that {premise}, but the sources state otherwise: "
                               "[{n}]{dated} \"{quote}\"")
"""Said when a cited guideline sentence addressing the assumption states the contrary position (a grade, "recommends
against", an I statement, "not FDA-approved"; rag.appraisal.recommendation). ``dated`` is " (2016):" with the source's
year, so that a premise about what a guideline "now" says is seen against the date of the statement that answers it
(a reader took a 2016 "Strong against ketamine" for the current position); empty when the year is unknown."""
PREMISE_CONFIRMED_NOTICE = ("The question takes for granted that {premise}; the cited guideline states the same "
                            "position: [{n}]{dated} \"{quote}\" Check that it covers the same patients.")
"""Said when cited guideline sentences addressing the assumption state the position it claims and none states the
contrary: the claim's direction is borne out; whether the guideline's population, ages and intervals are the ones
the question means is for the reader to check against the quote."""
PREMISE_CORRECTION_ADDED_NOTICE = ("A guideline contradicts what the question takes for granted and the model's answer "
                                   "did not say so; its sentence was put first in 'From the Guidelines'.")
"""Said when a model's answer to a question built on a false premise left out the guideline sentence the extractive
composer leads with to correct it, and that sentence was added."""
PREMISE_CORRECTION_MOVED_NOTICE = ("A guideline contradicts what the question takes for granted; the model's answer "
                                   "said so further down, and that sentence was put first in 'From the Guidelines'.")
"""Said when a model's answer to a question built on a false premise stated the guideline sentence that corrects it,
but not first, and that sentence was moved to lead its section."""
PREMISE_QUOTE_NOTICE = ("The question takes for granted that {premise}; the cited sentence closest to it is [{n}]: "
                        "\"{quote}\" Check the assumption against the sources before relying on it.")
""":data:`PREMISE_NOTICE` when a cited sentence addresses the assumption by meaning: that sentence, which may well
contradict it ("Strong against ketamine ..." for "the VA/DoD guideline now recommends ketamine"), is named, not
judged."""
EMPTY_INDEX_NOTICE = ("The index holds no documents yet, so nothing could be cited: the missing evidence "
                      "says nothing about the literature. Ingest a corpus first.")
NO_EVIDENCE_STATEMENTS: dict[SectionKind, str] = {"guidelines": NO_GUIDELINE, "research": NO_RESEARCH}
NOT_AS_CLOSE_STATEMENTS: dict[SectionKind, str] = {
    "guidelines": "No guideline in the sources addresses this question as closely as the research below.",
    "research": "No study in the sources addresses this question as closely as the guidelines above."}
"""An offline section that quotes nothing because its sources on the topic score well below the other section's
(rag.generate.extractive): they exist, and were set aside rather than quoted in front of the answer."""
#: Prefixes that mark a section's text as a "no evidence" statement (LLM wording may continue after them).
NO_EVIDENCE_PREFIXES = ("no guideline", "there are no", "no studies", "no study", "no direct", "no research")

DISCLAIMER = (
    "This answer is generated from the sources cited and is not medical advice. It may be incomplete or out of "
    "date; check the original publications and use clinical judgement."
)
PATIENT_DISCLAIMER = (
    "This is general information from published sources, not advice about your own care. Please talk to your "
    "doctor or nurse before making any decision about treatment."
)


def check_backend(value: object) -> Backend | None:
    """A backend from user input: None (the configured default), 'extractive' or 'openai'."""
    if value is None:
        return None
    if value not in BACKENDS:
        raise UserError(f"llm must be 'extractive' or 'openai', got {value!r}")
    return value


class Source(BaseModel):
    """A passage given to the generator under the number ``n`` (numbers are per answer, from 1)."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1)
    hit: Hit
    text: str = Field(description="The text shown to the generator: the passage, possibly cut at a sentence end.")

    @property
    def kind(self) -> Kind:
        """The kind of the passage's document."""
        return self.hit.kind


#: The one citation marker of answer text: ``[n]``. Other styles are normalised to it when an answer is parsed.
CITATION = re.compile(r"\[(\d+)\]")
#: A marker and the blanks before it; blanks are taken from where their run starts, and whole (a search from inside
#: a long run of blanks read the rest of the run again at every position).
_SPACED_CITATION = re.compile(r"(?<!\s)\s*+\[\d++\]")
_CITATION_TOKEN = re.compile(r"\[|\]|\d+|[^\[\]\d]+")
MAX_CITATION_DIGITS = 18
"""Longer numbers are no source's number; they are dropped, not converted (int() refuses over 4300 digits)."""


def citation_number(digits: str) -> int | None:
    """The number of a citation's digits, or None when it is too long to be any source's."""
    return int(digits) if len(digits) <= MAX_CITATION_DIGITS else None


def citations_in(text: str) -> list[int]:
    """The numbers of the [n] markers in ``text``, in order."""
    return [n for digits in CITATION.findall(text) if (n := citation_number(digits)) is not None]


def keep_citations(text: str, valid: set[int], dropped: list[int]) -> str:
    """Remove every [n] whose n is not in ``valid`` (appending it to ``dropped``), including the ones that removing
    others brings together: "[9[7]]" becomes "[9]" once [7] is gone, and is removed in turn. One pass with a stack,
    however deep the nesting."""
    out: list[str] = []
    for token in _CITATION_TOKEN.findall(text):
        if token == "]" and len(out) >= 2 and out[-2] == "[" and out[-1].isdecimal():
            number = citation_number(out[-1])
            del out[-2:]
            if number in valid:
                out.append(f"[{number}]")  # kept as one token: a later "]" cannot join it
            elif number is not None:
                dropped.append(number)
        elif token.isdecimal() and out and out[-1].isdecimal():
            out[-1] += token  # digits brought together by a removal
        else:
            out.append(token)
    return "".join(out)


def strip_citations(text: str) -> str:
    """The text without its [n] markers (nor the ones their removal brings together)."""
    return keep_citations(_SPACED_CITATION.sub("", text), set(), []).strip()


def cite(sentence: str, numbers: int | list[int]) -> str:
    """The sentence with its citations before the closing punctuation: 'It helped [3].'"""
    marks = "".join(f"[{n}]" for n in ([numbers] if isinstance(numbers, int) else numbers))
    if not marks:
        return sentence
    if sentence[-1:] in ".!?":
        return f"{sentence[:-1].rstrip()} {marks}{sentence[-1]}"
    return f"{sentence} {marks}"
