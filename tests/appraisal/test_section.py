"""Section level: certainty (GRADE-inspired), consensus on yes/no questions, and disagreements."""

from __future__ import annotations

from rag.appraisal.certainty import describe, research_certainty
from rag.appraisal.consensus import consensus, disagreements
from rag.appraisal.models import AppraisalOptions, Direction, SourceAppraisal
from rag.appraisal.section import appraise_section

QUESTION = "Does PRP microneedling improve acne scars compared with microneedling alone?"
DIRECT = "PRP microneedling improved acne scars more than microneedling alone."


def source(design: str | None, n: int | None, direction: Direction = "supports", **extra: object) -> SourceAppraisal:
    return SourceAppraisal.model_validate({"design": design, "sample_size": n, "direction": direction, **extra})


def test_one_small_trial_is_downgraded_for_imprecision() -> None:
    found = research_certainty([source("rct", 20)], QUESTION, [DIRECT])
    assert found is not None and found.level == "moderate"
    assert found.reason.startswith("Moderate: one randomised trial of 20 participants, head to head;")
    assert "imprecision" in found.reason


def test_large_consistent_direct_trials_are_high() -> None:
    found = research_certainty([source("rct", 400), source("rct", 350)], QUESTION, [DIRECT, DIRECT])
    assert found is not None and found.level == "high"
    assert found.reason == ("High: two randomised trials (750 participants), two of them head to head; no serious "
                            "concern found.")


def test_a_review_of_mostly_non_randomised_studies_is_rated_as_they_are() -> None:
    """The tenth reading: "High" for a meta-analysis whose record says it pooled 14 studies, 4 of them randomised."""
    mostly = research_certainty([source("meta-analysis", 472, randomised_included=(4, 14))], QUESTION, [DIRECT])
    assert mostly is not None and mostly.level == "low"
    assert "rated by the studies it pooled (4 of 14 randomised)" in mostly.reason
    mainly = research_certainty([source("meta-analysis", 472, randomised_included=(9, 14))], QUESTION, [DIRECT])
    unknown = research_certainty([source("meta-analysis", 472)], QUESTION, [DIRECT])
    assert mainly is not None and unknown is not None and mainly.level == unknown.level == "high"


def test_observational_evidence_starts_low_and_inconsistency_lowers_it() -> None:
    found = research_certainty([source("cohort", 500), source("cohort", 800, "no_difference")], QUESTION,
                               [DIRECT, DIRECT])
    assert found is not None and found.level == "very low" and "inconsistency" in found.reason


def test_head_to_head_publications_set_the_start_when_only_some_compare_the_two() -> None:
    """A large trial of another comparison cannot lift a lone head-to-head cohort study to "high"."""
    other_comparison = "Collaborative care reduced disability compared with usual care."
    found = research_certainty([source("rct", 500), source("cohort", 800)], QUESTION, [other_comparison, DIRECT])
    assert found is not None and found.level == "low"
    assert found.reason == ("Low: one randomised trial and one cohort study (1300 participants), one of them head to "
                            "head, which sets the rating; no serious concern found.")
    retracted = source("rct", 500, flags=["retracted"])
    sections = appraise_section("research", QUESTION, {1: retracted, 2: source("cohort", 800), 3: source("rct", 400)},
                                [DIRECT, DIRECT, other_comparison])
    assert sections.certainty is not None and sections.certainty.level == "low", "the retracted trial counts for nothing"


def test_indirect_passages_and_missing_comparison_lower_certainty() -> None:
    off_topic = research_certainty([source("rct", 500)], QUESTION, ["Laser resurfacing helps wrinkles."])
    one_arm = research_certainty([source("rct", 500)], "Is PRP better than exosomes for acne scars?",
                                 ["PRP improved acne scars."])
    assert off_topic is not None and off_topic.level == "moderate" and "do not mention" in off_topic.reason
    assert one_arm is not None and "compares" in one_arm.reason and one_arm.level == "moderate"


def test_reviews_are_not_downgraded_for_unknown_size_but_primary_studies_are() -> None:
    review = research_certainty([source("meta-analysis", None)], QUESTION, [DIRECT])
    unsized = research_certainty([source("rct", None)], QUESTION, [DIRECT])
    assert review is not None and review.level == "high"
    assert unsized is not None and unsized.level == "moderate" and "no participant count found in the cited records" in unsized.reason


def test_unknown_design_is_very_low_and_threshold_is_an_option() -> None:
    unknown = research_certainty([source(None, 1000)], QUESTION, [DIRECT])
    strict = research_certainty([source("rct", 500)], QUESTION, [DIRECT], AppraisalOptions(small_sample=1000))
    assert unknown is not None and unknown.level == "very low"
    assert strict is not None and strict.level == "moderate"


def test_retracted_or_nothing_gives_no_certainty() -> None:
    assert research_certainty([], QUESTION, []) is None
    assert research_certainty([source("rct", 500, flags=("retracted",))], QUESTION, [DIRECT]) is None


def test_describe_counts_designs_strongest_first() -> None:
    text = describe([source("case-report", None), source("rct", 40), source("rct", 60), source(None, None)])
    assert text == "two randomised trials, one case report and one study of unstated design (100 participants " \
                   "where reported)"


def test_consensus_labels_and_summary() -> None:
    assert consensus(["supports", "supports", "no_difference"]).label == "yes"
    assert consensus(["supports", "no_difference", "against"]).label == "no"
    assert consensus(["supports", "no_difference"]).label == "maybe"
    assert consensus(["unclear", "unclear"]).label == "maybe"
    assert consensus([]).label == "maybe" and consensus([]).summary == "No studies cited."
    mixed = consensus(["supports", "supports", "no_difference"])
    assert (mixed.supports, mixed.no_difference, mixed.against, mixed.unclear) == (2, 1, 0, 0)
    assert mixed.summary == "2 of 3 studies found what the question asks about; 1 found no difference."
    assert consensus(["against"], ("guideline", "guidelines")).summary == "The one guideline found the opposite."
    assert consensus(["unclear", "supports"]).summary == ("1 of 2 studies found what the question asks about; 1 "
                                                          "stated no finding read as for or against.")


def test_disagreements_group_conflicting_references() -> None:
    found = disagreements({3: "supports", 4: "supports", 5: "no_difference", 6: "against", 7: "unclear"})
    assert [d.refs for d in found] == [(3, 4, 5), (3, 4, 6)]
    assert found[0].about == "[3], [4] found what the question asks about; [5] found no difference"
    assert disagreements({1: "no_difference", 2: "against"}) == []


def test_appraise_section_for_research_and_guidelines() -> None:
    references = {1: source("rct", 400), 2: source("rct", 300, "no_difference"),
                  3: source("rct", 900, "against", flags=("retracted",))}
    research = appraise_section("research", QUESTION, references, [DIRECT])
    assert research.certainty is not None and research.certainty.level == "moderate"
    assert research.consensus is not None and research.consensus.label == "maybe"
    assert research.consensus.against == 0  # the retracted reference is left out of every count
    assert [d.refs for d in research.disagreements] == [(1, 2)]
    guidelines = appraise_section("guidelines", QUESTION, {1: source("guideline", None)}, [DIRECT])
    assert guidelines.certainty is None and guidelines.consensus is not None
    open_question = appraise_section("research", "What is the best treatment for acne scars?", references, [DIRECT])
    assert open_question.consensus is None and open_question.certainty is not None
    assert appraise_section("research", QUESTION, {}, []).certainty is None


def test_indirectness_by_meaning_when_it_is_judged() -> None:
    """Given whether each cited publication clearly addresses the question (rag.meaning), that decides: a passage
    in other words is direct, and one holding the words but not answering is not."""
    question = "Does PRP microneedling improve acne scars?"
    other_words = "Platelet concentrate with needling lessened atrophic scarring."
    by_words = research_certainty([source("rct", 400)], question, [other_words])
    assert by_words is not None and "do not mention" in by_words.reason
    by_meaning = research_certainty([source("rct", 400)], question, [other_words], direct=[True])
    assert by_meaning is not None and "indirectness" not in by_meaning.reason
    unclear = research_certainty([source("rct", 400)], question, [DIRECT], direct=[False])
    assert unclear is not None and "no cited publication clearly addresses the question" in unclear.reason


def test_a_missing_comparison_is_named_as_asked_and_only_when_no_passage_compares_a_side() -> None:
    """The eighth reading found "no cited passage compares adding bedtime nph rather with switching directly" beside
    a trial of bedtime NPH with oral agents against insulin alone, and "compares darker skin with white" beside a
    series setting nonwhite against white patients: the sides were sorted word sets, and a passage naming a side in
    other words counted as no comparison."""
    question = "For acne scars, is injecting PRP intradermally better than just applying it on the skin?"
    elsewhere = "Acne scars improved after intradermal PRP in 30 patients."
    missing = research_certainty([source("rct", 400)], question, [elsewhere], direct=[True])
    assert missing is not None
    assert "(no cited passage compares injecting PRP intradermally with just applying it directly)" in missing.reason
    melanoma = "How does melanoma present in patients with darker skin compared with white patients: where?"
    other_words = "Nonwhite patients had thicker melanomas than white patients at diagnosis."
    compared = research_certainty([source("case-series", 357)], melanoma, [other_words], direct=[True])
    assert compared is not None and "compares" not in compared.reason
    not_compared = research_certainty([source("case-series", 357)], melanoma, ["Melanoma is rarer in nonwhite "
                                                                               "people."], direct=[True])
    assert not_compared is not None and "compares darker skin with white patients directly" in not_compared.reason


def test_a_reviews_pooled_participants_are_not_added_to_its_trials() -> None:
    review_and_trials = describe([source("meta-analysis", 472), source("rct", 30), source("rct", 100)])
    assert review_and_trials == ("one meta-analysis and two randomised trials (130 participants in the primary "
                                 "studies; the review pooled 472, possibly including them)")
    two_reviews = describe([source("meta-analysis", 472), source("meta-analysis", 311)])
    assert two_reviews == "two meta-analyses (pooling 472 and 311 participants, who may overlap)"
    assert describe([source("meta-analysis", 472)]) == "one meta-analysis of 472 participants"


def test_no_serious_concern_is_never_said_of_a_record_that_cannot_show_one() -> None:
    unclear = source("rct", 400, flags=["bias_unclear"])
    some = research_certainty([source("rct", 400), unclear], QUESTION, [DIRECT, DIRECT])
    assert some is not None and some.level == "high"
    assert "no serious concern" not in some.reason
    assert some.reason.endswith("not downgraded, but the risk of bias of one of them cannot be judged "
                                "from our record.")
    every = research_certainty([unclear, source("rct", 350, flags=["secondhand"])], QUESTION, [DIRECT, DIRECT])
    assert every is not None and every.level == "moderate" and "downgraded for risk of bias" in every.reason
    incomplete = research_certainty([source("rct", 214, flags=["data_missing"])], QUESTION, [DIRECT])
    assert incomplete is not None and incomplete.level == "high"
    assert incomplete.reason.endswith("not downgraded, but our record of it leaves out some of its data.")
    both = research_certainty([unclear, source("rct", 300, flags=["data_missing"])], QUESTION, [DIRECT, DIRECT])
    assert both is not None and both.reason.endswith(
        "but the risk of bias of one of them cannot be judged from our record and our record of one of them leaves "
        "out some of its data.")


def test_a_review_of_case_reports_starts_where_its_evidence_level_does() -> None:
    """A systematic review that collected 15 individual cases is recorded at level 4: it is rated from there, not
    as a review of trials ("Moderate: one systematic review of 15 participants" before)."""
    of_cases = research_certainty([source("systematic-review", 15, level=4)], QUESTION, [DIRECT])
    assert of_cases is not None and of_cases.level == "very low"
    assert "rated by its recorded evidence level (4)" in of_cases.reason
    of_trials = research_certainty([source("systematic-review", 900, level=1)], QUESTION, [DIRECT])
    assert of_trials is not None and of_trials.level == "high" and "recorded evidence level" not in of_trials.reason
    beside_a_trial = research_certainty([source("systematic-review", 15, level=4), source("rct", 400, level=2)],
                                        QUESTION, [DIRECT, DIRECT])
    assert beside_a_trial is not None and beside_a_trial.level == "high"
    assert "recorded evidence level" not in beside_a_trial.reason
    usual = research_certainty([source("cross-sectional", 400, level=4)], QUESTION, [DIRECT])  # its usual level
    assert usual is not None and usual.level == "low" and "recorded evidence level" not in usual.reason


def test_a_narrative_review_is_not_downgraded_for_a_size_it_cannot_have() -> None:
    found = research_certainty([source("narrative-review", None)], QUESTION, [DIRECT])
    assert found is not None and found.level == "very low" and "imprecision" not in found.reason


def test_head_to_head_is_the_test_direction_uses_word_forms_and_all() -> None:
    """Certainty asks "does this passage name both sides" exactly as direction does: "dermaroller alone" names the
    "needling alone" side (the old bare-word test dropped "alone" as a stopword and missed it)."""
    question = "Does adding PRP to dermaroller treatment cause more redness afterwards than needling alone?"
    trial = "Patients were randomised to PRP with a dermaroller or to the dermaroller alone; redness was similar."
    cohort = "Redness after dermaroller treatment with PRP was recorded in a cohort study."
    found = research_certainty([source("rct", 200), source("cohort", 300)], question, [trial, cohort])
    assert found is not None and "one of them head to head, which sets the rating" in found.reason
    assert found.level == "high"


def test_a_studys_own_caution_is_said_beside_the_level() -> None:
    """A cohort's authors warning of confounding by indication: "no serious concern found" beside it read as if they
    had none (a clinician reading). The level is not lowered (an observational start already counts confounding)."""
    cohort = [source("cohort", 60746)]
    warned = research_certainty(cohort, QUESTION, [DIRECT + " The design is observational and open to confounding "
                                                   "by indication; confirmation is needed."])
    assert warned is not None and warned.level == "low"
    assert warned.reason.endswith('not downgraded, but its authors caution on reading its findings ("confounding").')
    plain = research_certainty(cohort, QUESTION, [DIRECT])
    assert plain is not None and plain.reason.endswith("no serious concern found.")
    two = research_certainty([source("rct", 400), source("rct", 20)], QUESTION,
                             [DIRECT, DIRECT + " Selection bias may remain."])
    assert two is not None and "downgraded for" not in two.reason
    assert 'the authors of one of them caution on reading their findings ("selection bias")' in two.reason
    small = research_certainty([source("rct", 20)], QUESTION, [DIRECT + " Confirmation is needed."])
    assert small is not None and small.reason.endswith(
        'downgraded for imprecision (fewer than 100 participants in total); its authors caution on reading its '
        'findings ("confirmation is needed").')
