"""Deterministic evidence appraisal of cited sources: design, sample size, age, direction of findings, guideline
recommendation strength, and per section a GRADE-inspired certainty, a consensus and disagreements.

Every judgment points at the metadata or the quoted sentence it came from; what is not stated stays unknown.
See docs/APPRAISAL.md for how each judgment is decided and where it fails.
"""

from rag.appraisal.certainty import research_certainty
from rag.appraisal.consensus import consensus, disagreements
from rag.appraisal.design import design_from_text, design_of
from rag.appraisal.direction import direction_of, finds_no_difference_in, states_result
from rag.appraisal.models import (
    AppraisalOptions,
    Certainty,
    Consensus,
    DesignFinding,
    Direction,
    DirectionFinding,
    Disagreement,
    RecommendationFinding,
    SampleSizeFinding,
    SourceAppraisal,
)
from rag.appraisal.question import is_yes_no_question
from rag.appraisal.recommendation import misstates_position, recommendation_of
from rag.appraisal.sample_size import sample_size_from_text, sample_size_of
from rag.appraisal.section import SectionAppraisal, appraise_section
from rag.appraisal.source import age_in_years, appraise_source

__all__ = [
    "AppraisalOptions",
    "Certainty",
    "Consensus",
    "DesignFinding",
    "Direction",
    "DirectionFinding",
    "Disagreement",
    "RecommendationFinding",
    "SampleSizeFinding",
    "SectionAppraisal",
    "SourceAppraisal",
    "age_in_years",
    "appraise_section",
    "appraise_source",
    "consensus",
    "design_from_text",
    "design_of",
    "direction_of",
    "disagreements",
    "finds_no_difference_in",
    "is_yes_no_question",
    "misstates_position",
    "recommendation_of",
    "research_certainty",
    "sample_size_from_text",
    "sample_size_of",
    "states_result",
]
