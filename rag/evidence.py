"""The evidence hierarchy: study designs, their evidence levels, and how publication types map onto them."""

from __future__ import annotations

from rag.models import StudyDesign

#: Evidence level (1 strongest .. 5 weakest) of each design, as documented in corpus/README.md.
LEVEL_BY_DESIGN: dict[str, int] = {
    "systematic-review": 1,
    "meta-analysis": 1,
    "rct": 2,
    "non-randomized-trial": 3,
    "cohort": 3,
    "case-control": 4,
    "cross-sectional": 4,
    "case-series": 4,
    "case-report": 4,
    "narrative-review": 5,
}

#: PubMed publication types, most specific first; the first one present decides the design.
_DESIGN_BY_PUBLICATION_TYPE: tuple[tuple[str, StudyDesign], ...] = (
    ("practice guideline", "guideline"),
    ("guideline", "guideline"),
    ("consensus development conference", "consensus"),
    ("meta-analysis", "meta-analysis"),
    ("systematic review", "systematic-review"),
    ("randomized controlled trial", "rct"),
    ("controlled clinical trial", "non-randomized-trial"),
    ("clinical trial", "non-randomized-trial"),
    ("multicenter study", "cohort"),
    ("observational study", "cohort"),
    ("comparative study", "cohort"),
    ("case reports", "case-report"),
    ("review", "narrative-review"),
)

GUIDELINE_DESIGNS = frozenset({"guideline", "consensus", "position-statement", "regulatory", "classification"})


def design_from_publication_types(types: list[str] | tuple[str, ...]) -> StudyDesign | None:
    """The study design that PubMed publication types imply, or None when they say nothing about design."""
    lowered = {t.strip().lower() for t in types}
    for publication_type, design in _DESIGN_BY_PUBLICATION_TYPE:
        if publication_type in lowered:
            return design
    return None
