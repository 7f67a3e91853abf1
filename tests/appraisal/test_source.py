"""Per-source appraisal end to end: every value traceable, flags explained, unknown stays unknown."""

from __future__ import annotations

from datetime import date

from rag.appraisal import AppraisalOptions, appraise_source
from rag.appraisal.source import age_in_years
from rag.models import Document, DocumentMeta

TODAY = date(2026, 12, 1)
QUESTION = "Does platelet-rich plasma improve acne scars?"


def study(**fields: object) -> DocumentMeta:
    return DocumentMeta.model_validate({"id": "s1", "kind": "study", "title": "A study", "journal": "J Derm", **fields})


def guideline(**fields: object) -> DocumentMeta:
    return DocumentMeta.model_validate({"id": "g1", "kind": "guideline", "title": "Acne guideline",
                                        "organization": "AAD", **fields})


def test_study_from_its_text() -> None:
    document = Document.from_sections(study(year=2019), [
        ("Background", "Previous randomized trials of lasers were small."),
        ("Methods", "A total of 40 patients were randomly assigned to platelet-rich plasma or saline."),
        ("Results", "Platelet-rich plasma significantly improved acne scars (p < 0.01)."),
    ], "s1.md")
    quote = "Platelet-rich plasma significantly improved acne scars (p < 0.01)."
    found = appraise_source(document.meta, document.text, [quote], QUESTION, TODAY, document.sections)
    assert (found.design, found.level, found.design_source) == ("rct", 2, "text")
    assert found.design_quote == "A total of 40 patients were randomly assigned to platelet-rich plasma or saline."
    assert (found.sample_size, found.sample_size_source) == (40, "text")
    assert found.sample_size_quote == found.design_quote
    assert (found.year, found.age_years) == (2019, 7)
    assert (found.direction, found.direction_quote) == ("supports", quote)
    assert "significantly" in found.direction_words
    assert found.issuer == "J Derm" and found.flags == () and found.recommendation_strength is None


def test_contradictory_metadata_is_flagged_with_both_named() -> None:
    found = appraise_source(study(study_design="rct", publication_types=("Case Reports",)), "", [], QUESTION, TODAY)
    assert found.design == "rct" and found.flags == ("design_conflict",)
    assert "rct" in found.flag_reasons["design_conflict"] and "case-report" in found.flag_reasons["design_conflict"]


def test_text_without_design_words_is_unknown_and_flagged() -> None:
    found = appraise_source(study(), "PRP is made from blood. It contains platelets.", [], QUESTION, TODAY)
    assert found.design is None and found.level is None and found.design_source is None
    assert found.flags == ("design_unknown",) and found.sample_size is None and found.age_years is None


def test_retracted_study_is_flagged() -> None:
    found = appraise_source(study(retracted=True, study_design="rct"), "", [], QUESTION, TODAY)
    assert "retracted" in found.flags and found.flag_reasons["retracted"]


def test_retraction_notice_without_target_appraises_as_other() -> None:
    notice = study(study_design="other", publication_types=("Retraction of Publication",), year=2020)
    found = appraise_source(notice, "Retraction notice.", ["Retraction notice."], QUESTION, TODAY)
    assert found.design == "other" and found.level is None and "retracted" not in found.flags
    assert found.direction == "unclear"


def test_guideline_strength_age_and_outdated_flag() -> None:
    text = "Acne: isotretinoin for severe acne (strong recommendation). Topical dapsone: conditional recommendation."
    quote = "Acne: isotretinoin for severe acne (strong recommendation)."
    found = appraise_source(guideline(year=2016, study_design="guideline"), text, [quote], QUESTION, TODAY)
    assert (found.recommendation_strength, found.recommendation_quote) == ("strong", quote)
    assert found.flags == ("outdated",) and "10 years" in found.flag_reasons["outdated"]
    assert found.issuer == "AAD" and found.sample_size is None
    recent = appraise_source(guideline(year=2024), text, [quote], QUESTION, TODAY)
    assert "outdated" not in recent.flags
    lenient = appraise_source(guideline(year=2016), text, [quote], QUESTION, TODAY,
                              options=AppraisalOptions(outdated_after_years=20))
    assert "outdated" not in lenient.flags


def test_studies_are_not_outdated_by_default() -> None:
    old = study(year=1990, study_design="rct")
    assert "outdated" not in appraise_source(old, "", [], QUESTION, TODAY).flags
    flagged = appraise_source(old, "", [], QUESTION, TODAY, options=AppraisalOptions(flag_outdated_studies=True))
    assert "outdated" in flagged.flags


def test_age_is_relative_to_today_given() -> None:
    assert age_in_years(2020, date(2026, 1, 1)) == 6
    assert age_in_years(2020, date(2030, 1, 1)) == 10
    assert age_in_years(2027, date(2026, 1, 1)) == 0
    assert age_in_years(None, date(2026, 1, 1)) is None


def test_serialises_to_the_design_shape() -> None:
    found = appraise_source(study(study_design="rct", sample_size=20, year=2025), "", [], QUESTION, TODAY)
    dumped = found.model_dump(mode="json")
    for key in ("design", "level", "sample_size", "sample_size_quote", "age_years", "direction", "direction_quote",
                "recommendation_strength", "flags"):
        assert key in dumped
    assert dumped["sample_size"] == 20 and dumped["flags"] == []


def test_a_record_written_from_a_summary_or_silent_on_allocation_is_flagged() -> None:
    def flags(notes: str) -> tuple[str, ...]:
        return appraise_source(study(study_design="rct", notes=notes), "", [], QUESTION, TODAY).flags

    assert flags("The findings were recorded from a news summary of the paper, not from the paper.") == ("secondhand",)
    assert flags("The facts come from a Canfield Scientific research story about the paper.") == ("secondhand",)
    assert flags("The record does not say whether sides were allocated at random or assessors blinded.") == (
        "bias_unclear",)
    assert flags("The title is descriptive; only the first author was recorded.") == ()
    assert flags("The citation was seen on a third-party repost of the PubMed record.") == (), "a copy, not an account"
    assert flags("Patients were randomised; the record does not give the scores.") == ("data_missing",)
    assert flags("The record gives no year, authors or journal. The DOI was not recorded.") == (), "citation gaps"
    assert flags("The record does not say whether sides were randomised, and gives the direction of the differences "
                 "but not the scores or adverse events.") == ("bias_unclear", "data_missing")
    assert flags("The record does not list the included studies or give heterogeneity statistics.") == (
        "data_missing",)


def test_a_guideline_known_only_from_press_accounts_is_flagged_secondhand() -> None:
    notes = "Every point is a press account (trade news or a lawyer's column); the documents were not reviewed."
    assert "secondhand" in appraise_source(guideline(year=2025, notes=notes), "", [], QUESTION, TODAY).flags
    assert "secondhand" not in appraise_source(guideline(year=2025, notes="The title is descriptive."), "", [],
                                               QUESTION, TODAY).flags
    # an account that added details the record keeps apart does not make the record an account (the FDA notice,
    # counted an error by two readings)
    detail = ("Secondary press reports, not the notification, said that fewer than 5 people became seriously ill "
              "and that the product came from placentas collected at caesarean delivery.")
    assert "secondhand" not in appraise_source(guideline(year=2019, notes=detail), "", [], QUESTION, TODAY).flags


def test_a_review_says_how_many_of_its_studies_were_randomised() -> None:
    text = "Kang and Lu pooled 14 studies, 4 of them randomised, with 472 patients in total."
    review = appraise_source(study(study_design="meta-analysis"), text, [text], "Does PRP help acne scars?", TODAY)
    assert review.randomised_included == (4, 14) and review.randomised_included_quote == text
    trial = appraise_source(study(study_design="rct"), text, [text], "Does PRP help acne scars?", TODAY)
    assert trial.randomised_included is None  # only a review pools studies
