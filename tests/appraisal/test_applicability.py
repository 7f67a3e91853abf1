"""Whether a recommendation's population includes the patient a question describes, and what the appraisal does
when it does not: no direction from it, a flag naming the bound the patient misses, a consensus line saying so."""

from __future__ import annotations

import math
from datetime import date

import pytest

from rag.appraisal import appraise_source
from rag.appraisal.applicability import describe, includes, mismatches, narrows_to, patient_of, population_of
from rag.appraisal.consensus import consensus
from rag.models import DocumentMeta

TODAY = date(2026, 12, 1)
LUNG = ("A 62-year-old woman smoked a pack a day for 35 years and quit 18 years ago. Should I order a low-dose CT "
        "to screen her for lung cancer?")
LUNG_ADVICE = ("The USPSTF recommends annual screening for lung cancer with low-dose computed tomography (LDCT) in "
               "adults aged 55 to 80 years who have a 30 pack-year smoking history and currently smoke or have quit "
               "within the past 15 years. (B recommendation)")
LUNG_PROGRAM = ("A program that annually screens adults aged 55 to 80 years who have a 30 pack-year smoking history "
                "and currently smoke or have quit within the past 15 years is projected to have a reasonable balance "
                "of benefits and harms.")
STATIN_B = ("The USPSTF recommends that adults without a history of cardiovascular disease use a low- to "
            "moderate-dose statin when they are aged 40 to 75 years and have 1 or more risk factors. (B "
            "recommendation)")
STATIN_I = ("The USPSTF concludes that the current evidence is insufficient to assess the balance of benefits and "
            "harms of initiating statin use in adults 76 years and older. (I statement)")


def guideline() -> DocumentMeta:
    return DocumentMeta.model_validate({"id": "g1", "kind": "guideline", "title": "Screening guideline",
                                        "organization": "USPSTF", "year": 2021})


def test_a_questions_patient_is_read_from_its_numbers() -> None:
    assert patient_of(LUNG) == {"age": (62.0, 62.0, "62-year-old"), "quit": (18.0, 18.0, "quit 18 years ago"),
                                "pack_years": (35.0, 35.0, "a pack a day for 35 years")}
    assert patient_of("45 yo, 20-pack-year history, BMI of 31.5") == {
        "age": (45.0, 45.0, "45 yo"), "pack_years": (20.0, 20.0, "20-pack-year"), "bmi": (31.5, 31.5, "BMI of 31.5")}
    assert patient_of("An 18-month-old with a fever")["age"][0] == pytest.approx(1.5)
    assert patient_of("Should my 3-year-old child get a vision screen?")["age"][0] == 3.0  # one patient, named twice
    assert patient_of("My patient is 78 and not on a statin.") == {"age": (78.0, 78.0, "patient is 78")}
    assert patient_of("The patient is 30% over her weight; she is 5 weeks pregnant.") == {}
    assert patient_of("two packs a day for 10 years")["pack_years"][0] == 20.0


def test_a_life_expectancy_is_read_as_a_number_or_a_bound() -> None:
    assert patient_of("84-year-old, advanced complications and maybe 3 years to live. What HbA1c range?")[
        "life_expectancy"] == (3.0, 3.0, "maybe 3 years to live")
    low, high, words = patient_of("A frail diabetic with a life expectancy under 5 years")["life_expectancy"]
    assert (low, words) == (0.0, "life expectancy under 5 years") and 4.99 < high < 5.0
    assert patient_of("She is expected to live more than 10 years.")["life_expectancy"][:2] == (10.0 + 1e-6, math.inf)
    targets = {"short": "HbA1c 8.0% to 9.0% for patients with life expectancy <5 years.",
               "middle": "HbA1c 7.0% to 8.5% for most patients with 5 to 10 years life expectancy.",
               "long": "HbA1c 6.0% to 7.0% for patients with a life expectancy greater than 10 to 15 years."}
    for patient in (patient_of("maybe 3 years to live"), patient_of("life expectancy is under 5 years")):
        assert [name for name, sentence in targets.items() if includes(patient, sentence)] == ["short"]
        assert [name for name, sentence in targets.items() if mismatches(patient, sentence)] == ["middle", "long"]
    assert not includes(patient_of("maybe 3 years to live"), "Screen adults aged 40 to 70 years.")  # states none


def test_of_two_values_the_asked_sentences_is_the_patients() -> None:
    """A premise states one population's value, the question asks about the patient's: "VA/DoD suggests ... for life
    expectancy over 10-15 years. What range do they suggest when life expectancy is under 5 years?"."""
    premise = ("VA/DoD suggests an HbA1c of 6.0-7.0% for life expectancy over 10-15 years. What range do they suggest "
               "when life expectancy is under 5 years?")
    assert patient_of(premise)["life_expectancy"][2] == "life expectancy is under 5 years"
    assert "age" not in patient_of("Her sister is 60-year-old. Should I screen the 45-year-old and 50-year-old?")


def test_a_weight_class_is_a_body_mass_index_range() -> None:
    """A second-corpus dev question: a 47-year-old with BMI 34 and sleep apnea; the obesity guideline offers "obese
    patients" a lifestyle intervention (A) and finds the evidence insufficient for "overweight patients" (I)."""
    patient = patient_of("47M BMI 34, OSA on CPAP. Should I offer him a weight-loss program?")
    obese = "Offer obese patients comprehensive lifestyle intervention for weight loss to reduce harms of sleep apnea."
    overweight = "Evidence is insufficient to recommend lifestyle intervention to overweight patients with sleep apnea."
    assert population_of(obese)["bmi"] == [(30.0, math.inf, "obese patients")]
    assert includes(patient, obese) and not includes(patient, overweight)
    assert [m.stated for m in mismatches(patient, overweight)] == ["overweight patients"]
    assert population_of("Screen adults who are overweight or obese.")["bmi"][0][:2] == (25.0, math.inf)
    assert "bmi" not in population_of("The USPSTF recommends screening for obesity in adults.")  # a condition asked


def test_a_sentence_narrows_to_the_population_a_claim_names() -> None:
    claim = "VA/DoD says long-term opioid therapy is fine for chronic pain patients under 30"
    assert population_of(claim)["age"] == [(0.0, 29.0, "patients under 30")]
    assert narrows_to(claim, "The Work Group recommends against long-term opioid therapy for patients less than 30 "
                             "years of age.")
    assert not narrows_to(claim, "Screen adults 18 years or older.")  # wider than the claim's
    assert not narrows_to(claim, "The Work Group recommends against initiation of long-term opioid therapy.")


@pytest.mark.parametrize("question", [
    "Should I screen women aged 40 to 49 for breast cancer?",  # a population asked about, not a patient
    "Is there a recommendation for babies and 2-year-olds?",  # a group
    "Screen the 30-year-old mother and her 60-year-old father?",  # two patients: whose age?
    "What BMI of 30 or greater counts as obesity?",  # a threshold, not a patient's value
    "Counsel a fair-skinned teenager about sun protection? What about a fair-skinned 40-year-old?",  # two patients
])
def test_no_patient_is_read_where_the_question_describes_none(question: str) -> None:
    assert patient_of(question) == {}


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Screen adults aged 40 to 70 years who are overweight.", [(40.0, 70.0, "aged 40 to 70 years")]),
    ("Counsel young adults, adolescents, children, and parents of young children aged 6 months to 24 years.",
     [(0.5, 24.0, "aged 6 months to 24 years")]),
    ("Screen adults 65 years or older.", [(65.0, float("inf"), "65 years or older")]),
    ("Screen girls 24 years or younger.", [(0.0, 24.0, "24 years or younger")]),
    ("Screening could begin at age 15 years.", [(15.0, float("inf"), "begin at age 15 years")]),
    ("The USPSTF recommends screening starting at age 50 years and continuing until age 75 years.",
     [(50.0, 75.0, "starting at age 50 years and continuing until age 75 years")]),
    ("Screening women prior to age 50 years should be an individual decision.",
     [(0.0, 49.0, "prior to age 50 years")]),
    # "younger than 15 years and older than 65 years": two groups, not "15 years and older"
    ("For patients younger than 15 years and older than 65 years, it would be reasonable to screen.",
     [(0.0, 14.0, "younger than 15 years"), (66.0, float("inf"), "older than 65 years")]),
])
def test_a_sentences_age_ranges(sentence: str, expected: list[tuple[float, float, str]]) -> None:
    assert population_of(sentence)["age"] == expected


def test_an_unnumbered_age_group_leaves_the_age_open() -> None:
    chlamydia = ("The USPSTF recommends screening for chlamydia in sexually active females aged 24 years or younger "
                 "and in older women who are at increased risk for infection. (B recommendation)")
    assert "age" not in population_of(chlamydia)
    assert mismatches(patient_of("Should I screen my 30-year-old patient?"), chlamydia) == []


def test_every_bound_the_patient_misses_is_named_with_the_sources_words() -> None:
    patient = patient_of(LUNG)
    found = mismatches(patient, LUNG_ADVICE)
    assert [(m.measure, m.stated, m.patient) for m in found] == [
        ("quit", "quit within the past 15 years", "quit 18 years ago")]  # age 62 and 35 pack-years are inside
    assert describe(found) == '"quit within the past 15 years" while the question\'s patient is "quit 18 years ago"'
    stop = ("Screening should be discontinued once a person has not smoked for 15 years. (B recommendation)")
    assert [m.measure for m in mismatches(patient, stop)] == ["quit"]
    assert mismatches(patient_of("A 50-year-old who quit 5 years ago"), LUNG_ADVICE)[0].measure == "age"
    assert mismatches(patient_of("A 60-year-old, 30 pack-years, quit 3 years ago"), LUNG_ADVICE) == []
    assert mismatches(patient_of("BMI 26, should I refer?"), "Refer adults with a body mass index of 30 kg/m2 or "
                                                             "greater to intensive counseling.")[0].measure == "bmi"


def test_advice_for_another_population_sets_no_direction_and_is_flagged() -> None:
    before = appraise_source(guideline(), LUNG_ADVICE, [LUNG_ADVICE, LUNG_PROGRAM], "Should I order a low-dose CT "
                             "to screen for lung cancer?", TODAY)
    assert before.direction == "supports" and "outside_population" not in before.flags
    found = appraise_source(guideline(), LUNG_ADVICE, [LUNG_ADVICE, LUNG_PROGRAM], LUNG, TODAY)
    assert found.direction == "unclear"  # "yes, screen her" is not what it says for this patient
    assert found.recommendation_strength == "B"  # still the strength of the advice quoted
    assert found.flag_reasons["outside_population"] == (
        'Its quoted advice is for "quit within the past 15 years" while the question\'s patient is "quit 18 years '
        'ago".')


def test_advice_including_the_patient_decides_when_other_advice_excludes_her() -> None:
    question = "80-year-old with no heart disease: should I start a statin?"
    found = appraise_source(guideline(), STATIN_B, [STATIN_B, STATIN_I], question, TODAY)
    assert found.recommendation_strength == "I"  # the statement for adults 76 and older, not "several"
    assert "partly_outside_population" in found.flags and "outside_population" not in found.flags
    assert '"aged 40 to 75 years" while the question\'s patient is "80-year-old"' in \
        found.flag_reasons["partly_outside_population"]
    younger = appraise_source(guideline(), STATIN_B, [STATIN_B, STATIN_I], "58-year-old with hypertension: should "
                              "I start a statin?", TODAY)
    assert younger.direction == "supports" and younger.recommendation_strength == "B"  # the I statement is not his


def test_the_consensus_line_says_why_a_guideline_gave_no_direction() -> None:
    assert consensus(["unclear"], ("guideline", "guidelines"), [True]).summary == (
        "The one guideline gave advice for a population the question's patient is outside.")
    assert consensus(["supports", "unclear"], ("guideline", "guidelines"), [False, True]).summary == (
        "1 of 2 guidelines found what the question asks about; 1 gave advice for a population the question's "
        "patient is outside.")
    assert consensus(["unclear"], ("guideline", "guidelines")).summary == (
        "The one guideline stated no finding read as for or against.")
