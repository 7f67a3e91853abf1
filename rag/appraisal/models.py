"""The appraisal's typed results: per-source findings, section certainty, consensus and disagreements."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.config import AppraisalSettings
from rag.models import StudyDesign

AppraisalOptions = AppraisalSettings
"""The appraisal's thresholds: the ``appraisal`` settings group (RAG_APPRAISAL__*)."""
Direction = Literal["supports", "no_difference", "against", "unclear"]
DIRECTIONS: tuple[Direction, ...] = ("supports", "no_difference", "against", "unclear")
DesignSource = Literal["metadata", "publication_types", "text"]
SampleSizeSource = Literal["metadata", "text"]
RecommendationStrength = Literal["strong", "conditional", "A", "B", "C", "D", "I"]
"""GRADE-style strengths (strong, conditional = weak) and USPSTF-style grades; ``I`` is "insufficient evidence"."""
CertaintyLevel = Literal["high", "moderate", "low", "very low"]
CERTAINTY_LEVELS: tuple[CertaintyLevel, ...] = ("high", "moderate", "low", "very low")
ConsensusLabel = Literal["yes", "no", "maybe"]
Flag = Literal["retracted", "outdated", "superseded", "design_conflict", "design_unknown", "several_recommendations",
               "secondhand", "bias_unclear", "data_missing", "outside_population",
               "partly_outside_population"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)



class DesignFinding(_Frozen):
    """A study design and where it was read: front matter, PubMed publication types, or a quoted sentence."""

    design: StudyDesign | None = None
    level: int | None = Field(None, ge=1, le=5)
    source: DesignSource | None = None
    quote: str | None = None


class SampleSizeFinding(_Frozen):
    """The number of participants and where it was read."""

    value: int | None = Field(None, ge=1)
    source: SampleSizeSource | None = None
    quote: str | None = None


class RecommendationFinding(_Frozen):
    """The strength of a guideline recommendation as the text states it, with the sentence that states it."""

    strength: RecommendationStrength | None = None
    quote: str | None = None
    several: bool = Field(False, description="The text grades several recommendations differently and the quote "
                                             "does not say which one is cited.")


class DirectionFinding(_Frozen):
    """How a cited finding answers the question, with the sentence and the words that decided it."""

    direction: Direction = "unclear"
    quote: str | None = None
    words: tuple[str, ...] = ()


class SourceAppraisal(_Frozen):
    """Everything judged about one cited publication; every value points at metadata or a quoted sentence."""

    design: StudyDesign | None = None
    level: int | None = None
    design_source: DesignSource | None = None
    design_quote: str | None = None
    sample_size: int | None = None
    sample_size_source: SampleSizeSource | None = None
    sample_size_quote: str | None = None
    randomised_included: tuple[int, int] | None = Field(
        None, description="For a review: how many of the studies it pooled were randomised, and how many it pooled, "
                          "as its record states (4 of 14); a review of mostly non-randomised studies is rated as "
                          "they are.")
    randomised_included_quote: str | None = None
    year: int | None = None
    age_years: int | None = None
    direction: Direction = "unclear"
    direction_quote: str | None = None
    direction_words: tuple[str, ...] = ()
    recommendation_strength: RecommendationStrength | None = None
    recommendation_quote: str | None = None
    recommendation_direction: Literal["for", "against"] | None = Field(
        None, description="Which way the quoted recommendation goes, for a strength that does not say it (GRADE's "
                          "strong or conditional): 'Strong against ketamine' is strong, against.")
    evidence_grade: str | None = Field(None, description="A level or quality of evidence the guideline states, as "
                                                         "written ('ii-2', 'moderate'), lowercased.")
    evidence_grade_quote: str | None = None
    issuer: str | None = Field(None, description="The issuing organisation of a guideline, or the journal.")
    flags: tuple[Flag, ...] = ()
    flag_reasons: dict[Flag, str] = Field(default_factory=dict, description="One sentence per flag: why it is set.")


class Certainty(_Frozen):
    """Certainty of a section's evidence: GRADE-inspired, not a formal GRADE rating."""

    level: CertaintyLevel
    reason: str


class Consensus(_Frozen):
    """How many cited publications found what, and the yes/no/maybe it adds up to."""

    supports: int = Field(0, ge=0)
    no_difference: int = Field(0, ge=0)
    against: int = Field(0, ge=0)
    unclear: int = Field(0, ge=0)
    label: ConsensusLabel
    summary: str


class Disagreement(_Frozen):
    """Cited publications whose findings point different ways."""

    refs: tuple[int, ...]
    about: str
