"""The answer contract: section names and titles, the "no evidence" statements, audiences, the disclaimer.

These are named constants because prompts, the extractive generator, the parser and the tests must agree on them.
"""

from __future__ import annotations

from typing import Literal

SectionKind = Literal["guidelines", "research"]
Audience = Literal["clinician", "patient"]
AUDIENCES: tuple[Audience, ...] = ("clinician", "patient")

SECTION_TITLES: dict[SectionKind, str] = {"guidelines": "From the Guidelines", "research": "From the Research"}
LIMITATIONS_TITLE = "Limitations"
#: Which document kind each section may cite.
SECTION_SOURCE_KIND: dict[SectionKind, str] = {"guidelines": "guideline", "research": "study"}

#: Said when a section has no evidence. The generator may name the topic after these words.
NO_GUIDELINE = "No guideline in the sources addresses this question."
NO_RESEARCH = "There are no direct studies in the sources that address this question."
EMPTY_INDEX_NOTICE = ("The index holds no documents yet, so nothing could be cited: the missing evidence "
                      "says nothing about the literature. Ingest a corpus first.")
NO_EVIDENCE_STATEMENTS: dict[SectionKind, str] = {"guidelines": NO_GUIDELINE, "research": NO_RESEARCH}
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
