"""Design and evidence level: metadata first, then publication types, then this study's own words in the text."""

from __future__ import annotations

import pytest

from rag.appraisal.design import design_from_text, design_of, included_randomised
from rag.models import DocumentMeta, Section


def meta(**fields: object) -> DocumentMeta:
    return DocumentMeta.model_validate({"id": "doc-1", "kind": "study", "title": "A study", **fields})


@pytest.mark.parametrize(
    ("text", "design"),
    [
        ("Methods: We conducted a randomized, double-blind, placebo-controlled trial in 120 adults.", "rct"),
        ("Patients were randomly assigned to laser or cream.", "rct"),
        ("We performed a systematic review and meta-analysis of randomised controlled trials.", "meta-analysis"),
        ("We systematically searched MEDLINE and Embase; 12 studies were included.", "systematic-review"),
        ("This retrospective cohort study followed 3,000 nurses for ten years.", "cohort"),
        ("In this case-control study, 80 cases were matched to 160 controls.", "case-control"),
        ("A cross-sectional survey of 400 dermatologists was conducted.", "cross-sectional"),
        ("We report a case series of eight women with granulomas.", "case-series"),
        ("We describe a 45-year-old woman who developed necrosis after injection.", "case-report"),
        ("This split-face study compared both treatments in 20 patients; the sides were not randomised.",
         "non-randomized-trial"),
        ("Tumour growth was measured in mice after injection.", "other"),
    ],
)
def test_design_from_own_methods_sentence(text: str, design: str) -> None:
    found = design_from_text(text)
    assert found.design == design
    assert found.source == "text" and found.quote is not None


@pytest.mark.parametrize(
    "text",
    [
        "Previous randomized trials have shown that PRP improves scars. We treated 20 patients with PRP.",
        "Several randomised controlled trials suggest a benefit. The effect in practice is unknown.",
        "Further randomized trials are needed to confirm these findings.",
        "Platelet-rich plasma is prepared from the patient's own blood and injected into the skin.",
        "",
    ],
)
def test_background_mentions_or_no_design_words_are_unknown(text: str) -> None:
    found = design_from_text(text)
    assert found.design is None and found.level is None and found.quote is None


def test_a_review_silences_the_designs_it_reviews() -> None:
    found = design_from_text("This meta-analysis pooled 14 randomized controlled trials of microneedling.")
    assert found.design == "meta-analysis" and found.level == 1


def test_denied_designs_do_not_count() -> None:
    text = ("The record does not say whether the sides were randomised, so we class it as a non-randomised "
            "comparison rather than a randomised trial.")
    assert design_from_text(text).design == "non-randomized-trial"


def test_background_heading_outweighs_wording() -> None:
    text = "Randomised trials of PRP exist.\n\nPatients were treated on one half of the face (split-face design)."
    sections = (Section(title="Background", start=0, end=31), Section(title="Methods", start=33, end=len(text)))
    assert design_from_text(text, sections=sections).design == "non-randomized-trial"


def test_title_counts_as_this_study() -> None:
    assert design_from_text("Scars improved.", title="PRP for acne scars: a randomized controlled trial").design == "rct"


def test_front_matter_wins_and_keeps_its_level() -> None:
    found, conflict = design_of(meta(study_design="cohort", evidence_level=3),
                                "We conducted a randomized controlled trial.")
    assert (found.design, found.level, found.source, conflict) == ("cohort", 3, "metadata", None)


def test_publication_types_when_front_matter_is_silent() -> None:
    found, _ = design_of(meta(publication_types=("Journal Article", "Randomized Controlled Trial")), "")
    assert (found.design, found.level, found.source) == ("rct", 2, "publication_types")


def test_conflicting_metadata_keeps_front_matter_and_names_both() -> None:
    found, conflict = design_of(meta(study_design="rct", publication_types=("Case Reports",)), "")
    assert found.design == "rct" and found.source == "metadata"
    assert conflict is not None and "rct" in conflict and "case-report" in conflict and "Case Reports" in conflict


def test_agreeing_metadata_is_credited_to_publication_types() -> None:
    found, conflict = design_of(meta(study_design="rct", publication_types=("Randomized Controlled Trial",)), "")
    assert found.source == "publication_types" and conflict is None


def test_text_is_read_only_when_metadata_is_silent() -> None:
    found, _ = design_of(meta(publication_types=("Journal Article",)), "Participants were randomized to A or B.")
    assert found.design == "rct" and found.source == "text"


def test_metadata_level_without_design_is_kept() -> None:
    found, _ = design_of(meta(evidence_level=4), "Nothing about design here.")
    assert found.design is None and found.level == 4 and found.source == "metadata"


def test_how_many_of_a_reviews_studies_were_randomised() -> None:
    kang = ("Kang and Lu (Front Med 2022) pooled 14 studies, 4 of them randomised, with 472 patients in total. The "
            "pooled odds ratio was 2.97.")
    assert included_randomised(kang) == (4, 14, "Kang and Lu (Front Med 2022) pooled 14 studies, 4 of them "
                                                "randomised, with 472 patients in total.")
    found = included_randomised("We included 12 trials (5 RCTs) of acupuncture.")
    assert found is not None and found[:2] == (5, 12)
    assert included_randomised("Nine randomised trials were examined.") is None  # a count, not a share
    assert included_randomised("We pooled 3 studies, 5 of them randomised.") is None  # more than pooled: misread

