"""Guideline recommendation strength and stated evidence grades, from the quote first, then the text."""

from __future__ import annotations

import pytest

from rag.answer.render import evidence_line
from rag.appraisal.models import SourceAppraisal
from rag.appraisal.recommendation import (
    claimed_object,
    claimed_stance,
    contradicted,
    contradicts,
    direction_of_recommendation,
    evidence_grade_of,
    position_on,
    premise_of,
    recommendation_of,
    speaks_to,
    stance_of,
    strengths_in,
)


@pytest.mark.parametrize(
    ("sentence", "strength"),
    [
        ("We make a strong recommendation for isotretinoin in severe acne.", "strong"),
        ("The panel strongly recommends sunscreen use.", "strong"),
        ("Strong for: screen with the PHQ-2.", "strong"),
        ("Conditional recommendation: offer topical retinoids.", "conditional"),
        ("We make a weak recommendation for oral antibiotics.", "conditional"),
        ("The USPSTF recommends screening for high blood pressure in adults (A recommendation).", "A"),
        ("**B recommendation, adults aged 40 to 70 years:** screen for abnormal glucose.", "B"),
        ("Counselling adults older than 24 years: grade C.", "C"),
        ("Grade D: do not use vitamin E for prevention.", "D"),
        ("I statement: the evidence is insufficient to assess the balance of benefits and harms.", "I"),
        ("The Task Force found insufficient evidence to recommend for or against screening.", "I"),
        ("Recommended (strong evidence of effectiveness), adults with hypertension: team-based care.", "strong"),
    ],
)
def test_stated_strengths(sentence: str, strength: str) -> None:
    assert strengths_in(sentence) == [strength]


@pytest.mark.parametrize(
    "sentence",
    [
        "A recommendation was made to repeat the test.",
        "Patients with grade 3 tumours were excluded.",
        "The evidence on PRP comes from small trials.",
        "Vitamin A recommendation levels differ by age.",
    ],
)
def test_no_strength_stated(sentence: str) -> None:
    assert strengths_in(sentence) == []


def test_the_quote_states_the_strength() -> None:
    found = recommendation_of(["For adults older than 24 years this is a C recommendation."])
    assert found.strength == "C" and found.quote is not None and "C recommendation" in found.quote


def test_a_strength_is_never_borrowed_from_the_rest_of_the_document() -> None:
    """Advice quoted from a guideline whose one graded recommendation is elsewhere gets no strength: the "A" of
    screening for high blood pressure is not the grade of how to measure it."""
    found = recommendation_of(["Rescreening should use a properly measured office reading."])
    assert found.strength is None and found.quote is None and not found.several


def test_quotes_stating_several_strengths_give_none() -> None:
    found = recommendation_of(["Children: B recommendation.", "Adults older than 24: C recommendation."])
    assert found.strength is None and found.quote is None and found.several
    opposite = recommendation_of(["Strong for, patients with mild MDD: CBT or IPT.",
                                  "Strong against ketamine outside research settings."])
    assert opposite.strength is None and opposite.several, "one strength, two directions: two recommendations"
    same = recommendation_of(["Strong for, patients with mild MDD: CBT or IPT.", "Strong for: screen with the PHQ-2."])
    assert same.strength == "strong" and not same.several


def test_evidence_grade() -> None:
    assert evidence_grade_of([], "Level of evidence: II-2. Recommendation: strong.") == (
        "ii-2", "Level of evidence: II-2.")
    assert evidence_grade_of(["Moderate-quality evidence supports this."], "")[0] == "moderate"
    assert evidence_grade_of([], "No grading here.") == (None, None)


@pytest.mark.parametrize(("sentence", "stance"), [
    ("The USPSTF recommends screening for chlamydia in sexually active women aged 24 or younger. (B recommendation)",
     "for"),
    ("The USPSTF recommends against screening for asymptomatic carotid artery stenosis. (D recommendation)", "against"),
    ("The Work Group suggests against using serum biomarkers in routine diagnosis.", "against"),
    ("The page lists exosomes among regenerative medicine products that are not FDA-approved.", "against"),
    ("The evidence is insufficient to assess screening for chlamydia in men. (I statement)", "insufficient"),
    ("The guideline found the evidence too limited to recommend chemical peels or microneedling for acne.",
     "insufficient"),
    ("C recommendation, adults older than 24 years with fair skin: offer UV-minimising counselling selectively.",
     "selective"),
    ("Age is a strong predictor of chlamydial infection.", None),
    ("The US FDA stated that there are no FDA-approved exosome products.", "against"),
    ("It applies to adults aged 40 to 70 years who do not have symptoms of diabetes and are overweight. "
     "(B recommendation)", "for"),
    ("The USPSTF does not recommend routine screening for ovarian cancer.", "against"),
    ("Given inconsistent evidence, the guideline panel does not recommend for or against the routine use of it.",
     "insufficient"),
])
def test_the_position_a_sentence_states(sentence: str, stance: str | None) -> None:
    assert stance_of(sentence) == stance


@pytest.mark.parametrize(("claim", "stance"), [
    ("USPSTF now says to screen all sexually active young men for chlamydia", "for"),
    ("PRP kits are FDA-approved for facial injection", "for"),
    ("USPSTF says not to screen pregnant women for depression", "against"),
    ("my patient is 50 and has a family history", None),
    ("no exosome product is FDA-approved", "against"),
    ("Vitamin E supplements got a B grade for heart disease prevention", "for"),
    ("routine PSA screening got a D grade", "against"),
])
def test_the_position_a_premise_claims(claim: str, stance: str | None) -> None:
    assert claimed_stance(claim) == stance


def test_which_stated_positions_contradict_a_claimed_one() -> None:
    assert contradicts("for", "against") and contradicts("for", "insufficient") and contradicts("against", "for")
    assert contradicts("for", "selective"), "offered selectively is not a recommendation for everyone"
    assert not contradicts("for", "for") and not contradicts("against", "insufficient")
    assert not contradicts(None, "against") and not contradicts("for", None)


def test_a_claim_is_contradicted_only_when_no_stated_position_agrees_with_it() -> None:
    assert contradicted("for", ["against", None, "insufficient"])
    assert not contradicted("for", ["selective", "for"]), "a B grade for the young beside a C grade for older adults"
    assert contradicted("against", ["selective", "for"])
    assert not contradicted("for", [None, None]) and not contradicted(None, ["against"])


def test_what_a_claim_takes_a_position_on() -> None:
    assert claimed_object("USPSTF endorses carotid ultrasound screening for adults over 65").strip() == \
        "carotid ultrasound screening for adults over 65"
    assert claimed_object("USPSTF says not to screen pregnant women").strip() == "not to screen pregnant women"
    assert claimed_object("my patient is 50") == "my patient is 50"


def test_which_way_a_graded_recommendation_goes() -> None:
    against = recommendation_of(["Strong against ketamine and deep brain stimulation outside research settings."])
    assert direction_of_recommendation(against.strength, against.quote) == "against"
    keep = recommendation_of(["Strong for: continue the antidepressant for at least six months after remission."])
    assert direction_of_recommendation(keep.strength, keep.quote) == "for"
    graded = recommendation_of(["The USPSTF recommends against screening for carotid stenosis. (D recommendation)"])
    assert direction_of_recommendation(graded.strength, graded.quote) is None, "a letter grade says it already"


def test_the_evidence_line_shows_which_way_a_strong_recommendation_goes() -> None:
    appraisal = SourceAppraisal(recommendation_strength="strong", recommendation_direction="against")
    assert evidence_line(appraisal) == "recommendation strong against"
    assert evidence_line(SourceAppraisal(recommendation_strength="B")) == "recommendation B"


def test_a_sentence_speaks_to_a_claim_on_its_object_and_its_sex() -> None:
    claim = "USPSTF now says to screen all sexually active young men for chlamydia"
    assert speaks_to(claim, "The evidence is insufficient to assess screening men for chlamydia. (I statement)")
    assert not speaks_to(claim, "The USPSTF recommends screening for chlamydia in sexually active females aged 24.")
    assert speaks_to("the task force recommends chlamydia screening for young people",
                     "The USPSTF recommends screening for chlamydia in sexually active females aged 24.")
    assert not speaks_to("USPSTF endorses carotid ultrasound screening for adults over 65",
                         "The USPSTF recommends the use of aspirin for persons at increased cardiovascular risk.")


def test_a_sentence_speaks_to_a_claim_only_when_it_names_what_the_claim_is_most_specifically_about() -> None:
    claim = "USPSTF now says to screen all sexually active young men for chlamydia"
    assert not speaks_to(claim, "The USPSTF recommends high-intensity behavioral counseling for sexually active "
                                "young adults with recent STIs.")
    assert not speaks_to("The USPSTF endorses an annual screening pelvic exam for all adult women",
                         "The USPSTF recommends against screening for ovarian cancer in women. (D recommendation)")
    assert speaks_to("the task force recommends type-specific HSV-2 serology for all pregnant women",
                     "The USPSTF recommends against routine serologic screening for genital herpes in pregnant "
                     "women. (D recommendation)"), "the same root ('serolo') names it"


def test_only_stated_advice_bears_out_a_claimed_recommendation() -> None:
    claimed_for = "USPSTF endorses carotid ultrasound screening for asymptomatic adults over 65"
    modal = ("Clinicians considering ultrasonography to characterize carotid plaque should consider that the "
             "evidence for asymptomatic adults is weak.")
    assert stance_of(modal) == "for"
    assert position_on(claimed_for, modal) is None
    assert position_on(claimed_for, "The USPSTF recommends against screening for asymptomatic carotid artery "
                                    "stenosis. (D recommendation)") == "against"
    claimed_against = "USPSTF says not to screen adolescents for HIV"
    assert position_on(claimed_against, "Adolescents at increased risk for HIV should also be screened.") == "for"
    assert position_on(claimed_against, "Adults over 65 should have their blood pressure checked.") is None


def test_advice_on_how_to_give_a_thing_or_what_to_give_instead_is_no_endorsement_of_it() -> None:
    """The VA/DoD opioid guideline's "If prescribing opioid therapy ..., recommends a short duration" and "recommends
    alternatives to opioid therapy" had read as holding the claim that long-term opioid therapy is fine, so its
    "recommends against long-term opioid therapy for patients less than 30 years of age" did not correct it."""
    claim = "VA/DoD says long-term opioid therapy is fine for chronic pain patients"
    assert position_on(claim, "If prescribing opioid therapy for patients with chronic pain, the Work Group "
                              "recommends a short duration. (Strong for)") is None
    assert position_on(claim, "For patients currently on long-term opioid therapy, the Work Group recommends ongoing "
                              "risk mitigation. (Strong for)") is None
    assert position_on(claim, "The Work Group recommends alternatives to opioid therapy such as self-management "
                              "strategies for chronic pain. (Strong for)") == "against"
    assert position_on(claim, "When pharmacologic therapies are used for chronic pain, the Work Group recommends "
                              "non-opioids over opioids. (Strong for)") is None  # "when": how, not whether
    assert position_on(claim, "The Work Group recommends non-opioids over opioid therapy for chronic pain. (Strong "
                              "for)") == "against"
    assert position_on(claim, "The Work Group recommends long-term opioid therapy for chronic pain patients with "
                              "cancer. (Strong for)") == "for"


def test_a_sentence_on_the_other_side_of_a_qualifier_does_not_speak_to_a_claim() -> None:
    """Not in any eval set: "Since the USPSTF recommends one-time AAA ultrasound screening for women who have ever
    smoked, ..." was corrected with the D recommendation for women who have never smoked, 0.79 from it by meaning."""
    claim = "the USPSTF recommends one-time AAA ultrasound screening for women who have ever smoked"
    assert not speaks_to(claim, "The USPSTF recommends against routine screening for AAA in women who have never "
                                "smoked. (D recommendation)")
    assert speaks_to(claim, "The evidence is insufficient to assess screening for AAA in women aged 65 to 75 years "
                            "who have ever smoked. (I statement)"), "AAA is named though 'ultrasound' is not"
    assert speaks_to(claim, "Screening for AAA in women who have ever or never smoked is not recommended.")
    assert not speaks_to("USPSTF recommends AAA screening in smokers", "AAA screening is not advised in nonsmokers.")
    assert not speaks_to("the task force recommends HbA1c screening for adults without diabetes",
                         "Adults with diabetes should have their HbA1c measured every 3 months.")


def test_a_position_far_less_close_to_the_claim_does_not_keep_a_contrary_one_from_correcting_it() -> None:
    """"Vitamin E supplements got a B grade": the Dietary Guidelines' "suggest that nutrients come primarily from
    foods" (0.50) was read as bearing the claim out beside the D recommendation against vitamin E (0.66)."""
    assert contradicted("for", ["against", "for"], [0.66, 0.50])
    assert not contradicted("for", ["against", "for"], [0.69, 0.69]), "the B grade beside the C grade stays"
    assert not contradicted("for", ["against", "for"], [0.66, 0.58]), "within the margin, the claim is held"
    assert not contradicted("for", ["for"], [0.9]) and not contradicted(None, ["against"], [0.9])


def test_the_premise_a_question_takes_for_granted() -> None:
    assert premise_of("Since exosome serums are now FDA-approved for skin rejuvenation, what concentration should I "
                      "apply?") == "exosome serums are now FDA-approved for skin rejuvenation"
    assert premise_of("USPSTF says one high office reading is enough to diagnose hypertension, correct?") == (
        "USPSTF says one high office reading is enough to diagnose hypertension")
    assert premise_of("The 2024 AAD acne guideline recommends microneedling for scars - what protocol does it "
                      "endorse?") == "The 2024 AAD acne guideline recommends microneedling for scars"
    assert premise_of("Vitamin E supplements got a B grade for heart disease prevention - so what dose should I "
                      "start?") == "Vitamin E supplements got a B grade for heart disease prevention"
    for plain in ("What is the comparative efficacy of PRP versus exosomes?",
                  "In adults over 65, which antidepressant is safest?",
                  "How often should adults be screened - and at what age?"):
        assert premise_of(plain) is None, plain
    # the clause attributing a position is the premise, not the patient's scene before it
    assert premise_of("A woman shows up in active labor with no prenatal care and unknown HIV status - at that point "
                      "it's too late for HIV screening to matter per USPSTF, isn't it?") == (
        "A woman shows up in active labor with no prenatal care and unknown HIV status - at that point it's too late "
        "for HIV screening to matter per USPSTF")
    assert premise_of("A veteran hospitalised after a suicide attempt is being discharged next week - what should the "
                      "discharge plan include?") is None


def test_a_premise_attributed_with_per_is_read_as_a_position() -> None:
    assert claimed_stance("it's too late for HIV screening to matter per USPSTF") == "against"
    assert claimed_stance("according to the FDA, exosome serums are approved") == "for"


def test_an_approval_is_of_what_comes_before_it_and_only_a_sentence_on_approval_speaks_to_it() -> None:
    claim = "exosome serums are now FDA-approved for skin rejuvenation"
    assert "exosome serums" in claimed_object(claim) and "rejuvenation" in claimed_object(claim)
    assert position_on(claim, "The US FDA stated that there are no FDA-approved exosome products.") == "against"
    kits = "PRP kits are FDA-approved for facial injection"
    assert position_on(kits, "Injecting PRP in the office is therefore off-label use.") == "against"
    assert position_on(kits, "The authors advise clinicians who inject PRP to be well informed.") is None, \
        "advice on the product is not a position on its approval"
    assert claimed_object("USPSTF endorses carotid ultrasound screening for adults") == (
        " carotid ultrasound screening for adults"), "a recommendation is of what follows it"
