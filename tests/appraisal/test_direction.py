"""Direction of a cited finding relative to the question, with the words that decided it."""

from __future__ import annotations

import pytest

from rag.appraisal.direction import direction_of, finds_no_difference_in, states_result

PRP = "Does platelet-rich plasma improve acne scars?"


@pytest.mark.parametrize(
    ("question", "sentence", "direction"),
    [
        (PRP, "Platelet-rich plasma significantly improved acne scars compared with saline (p < 0.01).", "supports"),
        (PRP, "Acne scars improved more on the platelet-rich plasma side.", "supports"),
        (PRP, "Platelet-rich plasma did not improve acne scars.", "no_difference"),
        (PRP, "There was no significant difference in scar scores between plasma and saline.", "no_difference"),
        (PRP, "Platelet-rich plasma failed to reduce the severity of acne scars.", "no_difference"),
        (PRP, "Scar grades after platelet-rich plasma were similar to those after saline.", "no_difference"),
        (PRP, "Acne scars were worse after platelet-rich plasma than after saline.", "against"),
        (PRP, "Platelet-rich plasma is not a clinically useful treatment for acne scars.", "no_difference"),
        (PRP, "Whether platelet-rich plasma helps acne scars remains unclear.", "unclear"),
        (PRP, "Direct evidence that platelet-rich plasma improves acne scars is limited.", "unclear"),
        (PRP, "Platelet-rich plasma improved acne scars in patients with limited scarring.", "supports"),
        (PRP, "Microneedling devices are widely sold online.", "unclear"),
        # whom a result applies to is not a finding of no difference
        (PRP, "The platelet-rich plasma results for acne scars may not generalise to patients with darker skin.",
         "unclear"),
        (PRP, "Whether platelet-rich plasma improves acne scars in older patients does not apply here.", "unclear"),
        ("Does smoking increase the risk of psoriasis?",
         "Smoking was associated with a higher risk of psoriasis.", "supports"),
        ("Does smoking increase the risk of psoriasis?",
         "Smoking was associated with a lower incidence of psoriasis.", "against"),
        ("Does smoking increase the risk of psoriasis?",
         "Smoking was not associated with psoriasis.", "no_difference"),
        ("Does aspirin reduce the risk of colorectal cancer?",
         "Aspirin use reduced colorectal cancer incidence by 24%.", "supports"),
        ("Does aspirin reduce the risk of colorectal cancer?",
         "Aspirin use increased colorectal cancer incidence.", "against"),
        ("Is exosome microneedling as effective as PRP microneedling?",
         "Exosome and PRP microneedling produced comparable improvement.", "supports"),
        ("Is exosome microneedling as effective as PRP microneedling?",
         "PRP microneedling gave significantly greater improvement than exosome microneedling.", "against"),
        ("Is day-case laparoscopic cholecystectomy safe?",
         "Day-case laparoscopic cholecystectomy had no serious complications and no deaths.", "supports"),
        ("In older people, are SSRIs safer than tricyclic antidepressants?",
         "In older people, SSRIs were linked to more adverse outcomes than tricyclic antidepressants.", "against"),
        ("Is routine chest radiography unnecessary after chest tube removal?",
         "Routine chest radiography did not change management after chest tube removal.", "supports"),
        ("Is routine chest radiography unnecessary after chest tube removal?",
         "Routine chest radiography was useful and changed management after chest tube removal.", "against"),
        ("Should adults be screened for vitamin D deficiency?",
         "The Task Force recommends against screening adults for vitamin D deficiency.", "against"),
        ("Should adults be screened for vitamin D deficiency?",
         "Clinicians should screen adults for vitamin D deficiency (B recommendation).", "supports"),
        ("Should adults be screened for vitamin D deficiency?",
         "The evidence is insufficient to assess screening adults for vitamin D deficiency.", "unclear"),
        ("Does retinopathy of prematurity depend on being small for gestational age?",
         "Being SGA was not a significant risk factor for ROP.", "no_difference"),
    ],
)
def test_direction_of_one_sentence(question: str, sentence: str, direction: str) -> None:
    found = direction_of(question, [sentence])
    assert found.direction == direction
    if direction == "unclear" and "sold" in sentence:
        assert found.words == () and found.quote is None  # not about the question: nothing decided it
    else:
        assert found.quote == sentence and found.words


def test_words_say_what_decided() -> None:
    found = direction_of(PRP, ["Platelet-rich plasma did not improve acne scars."])
    assert any("not improve" in word for word in found.words)


def test_mixed_findings_in_one_sentence_are_unclear() -> None:
    sentence = "Platelet-rich plasma improved acne scar texture, but it did not change acne scar depth."
    found = direction_of(PRP, [sentence])
    assert found.direction == "unclear" and found.words[0] == "mixed:"


def test_majority_of_sentences_wins_and_the_quote_is_the_first_winning_sentence() -> None:
    sentences = [
        "Platelet-rich plasma did not improve acne scars at one month.",
        "At six months acne scars improved significantly with platelet-rich plasma.",
        "Patients rated acne scars better after platelet-rich plasma.",
    ]
    found = direction_of(PRP, sentences)
    assert found.direction == "supports" and found.quote == sentences[1]


def test_nothing_quoted_is_unclear() -> None:
    assert direction_of(PRP, []).direction == "unclear"
    assert direction_of(PRP, [""]).quote is None


SSRI = "Are SSRIs safer than tricyclic antidepressants for treating depression?"


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        # the USPSTF statement a real answer cited for this question: about antidepressants, not the comparison
        (SSRI, "Treating screen-detected depression in primary care with antidepressants, psychotherapy or both "
               "reduces morbidity."),
        (SSRI, "SSRIs reduced depressive symptoms in adults."),
        ("What is the comparative efficacy of PRP micro-needling versus exosome micro-needling?",
         "Global aesthetic improvement favoured the exosome side over the saline side (p=0.005)."),
    ],
)
def test_a_comparison_is_answered_only_by_a_sentence_naming_both_sides(question: str, sentence: str) -> None:
    assert direction_of(question, [sentence]).direction == "unclear"


@pytest.mark.parametrize(("question", "sentence"), [
    (SSRI, "SSRIs were linked to fewer falls than tricyclic antidepressants in older people."),
    ("Is platelet-rich plasma better than hyaluronic acid for knee osteoarthritis?",
     "PRP relieved knee pain significantly more than HA at 12 months."),  # both sides by their initials
])
def test_a_sentence_naming_both_sides_answers_the_comparison(question: str, sentence: str) -> None:
    assert direction_of(question, [sentence]).direction == "supports"


def test_support_as_a_noun_is_not_a_finding() -> None:
    found = direction_of("Does screening for depression improve outcomes in adults?",
                         ["Screening for depression in adults needs adequate support systems in place."])
    assert found.direction == "unclear" and "support" not in found.words


SCREEN = "Should clinicians screen adults for skin cancer with a visual skin examination?"


@pytest.mark.parametrize(
    ("sentence", "direction"),
    [
        ("I statement, adults: the evidence is insufficient to weigh the benefits of a clinician's visual skin "
         "examination to screen adults for skin cancer, which reduces deaths in some studies.", "unclear"),
        ("C recommendation, adults: clinicians should offer a visual skin examination to screen for skin cancer "
         "selectively.", "unclear"),
        ("D recommendation: clinicians should screen adults for skin cancer with a visual skin examination only in "
         "research settings.", "against"),
        ("B recommendation, adults: clinicians should screen adults for skin cancer with a visual skin "
         "examination.", "supports"),
    ],
)
def test_a_graded_recommendation_is_read_by_its_grade(sentence: str, direction: str) -> None:
    """An I statement's or a C grade's "should" or "reduces" does not make it support the question."""
    assert direction_of(SCREEN, [sentence]).direction == direction


def test_a_question_asking_whether_not_to_is_answered_the_other_way() -> None:
    """The ninth reading found a "yes" consensus on "Is she too young for glucose screening?" beside the
    recommendation to screen her: a recommendation for screening answers it no, and one against answers it yes,
    graded or not."""
    too_young = "Is a 32-year-old woman with prior gestational diabetes too young for glucose screening?"
    assert direction_of(too_young, ["The USPSTF recommends glucose screening for women with prior gestational "
                                    "diabetes."]).direction == "against"
    unneeded = "Is visual skin examination to screen adults for skin cancer unnecessary?"
    assert direction_of(unneeded, ["D recommendation: clinicians should screen adults for skin cancer with a visual "
                                   "skin examination only in research settings."]).direction == "supports"


PAINFUL = "Is microneedling with platelet-rich plasma more painful than microneedling alone?"


@pytest.mark.parametrize(
    ("sentence", "direction"),
    [
        # a finding on another outcome says nothing of which way pain went, whatever its "more" or "higher"
        ("Patient satisfaction was higher with microneedling plus platelet-rich plasma than with microneedling "
         "alone.", "unclear"),
        ("Microneedling plus platelet-rich plasma made a good response more likely than microneedling alone.",
         "unclear"),
        ("Pain was greater with microneedling plus platelet-rich plasma than with microneedling alone.", "supports"),
        ("Pain scores did not differ between microneedling plus platelet-rich plasma and microneedling alone.",
         "no_difference"),
    ],
)
def test_a_finding_must_name_the_outcome_the_question_asks_to_move(sentence: str, direction: str) -> None:
    assert direction_of(PAINFUL, [sentence]).direction == direction


META = ("Microneedling plus PRP made a good response more likely than microneedling alone (odds ratio 2.97). Patient "
        "satisfaction was higher with microneedling plus PRP (odds ratio 4.15). Severe erythema (odds ratio 1.59, "
        "P=0.24) and severe edema (odds ratio 1.14, P=0.77) did not differ between microneedling plus PRP and "
        "microneedling alone.")


@pytest.mark.parametrize(("claim", "found"), [
    ("The meta-analysis found a better response, with higher satisfaction and fewer severe erythema and edema "
     "than with microneedling alone.", True),
    ("Microneedling plus PRP gave higher patient satisfaction than microneedling alone.", False),
    ("Severe erythema did not differ between the two treatments.", False),
    ("Microneedling plus PRP caused less bleeding than microneedling alone.", False),  # nothing names bleeding
])
def test_a_claim_that_makes_a_null_result_an_effect(claim: str, found: bool) -> None:
    assert finds_no_difference_in(claim, [META]) is found


def test_only_a_null_result_between_groups_contradicts_a_claimed_effect() -> None:
    claim = "Parental satisfaction was greater on the short-stay ward."
    assert not finds_no_difference_in(claim, ["There were no adverse events, with parental satisfaction high."])
    assert not finds_no_difference_in(claim, ["Parental satisfaction was significantly greater on the ward "
                                              "(p = 0.01), though length of stay was similar."])


def test_a_sentence_that_reports_a_result() -> None:
    assert states_result("Acne scars improved in both groups.")
    assert states_result("Severe erythema did not differ between the groups (P=0.24).")
    assert not states_result("Wazir and colleagues randomised 100 patients with acne scars to two arms.")


OPIOIDS_FIRST = "Should adults with chronic low back pain be given opioids first?"
OPIOID_DISABILITY = ("In the setting of low back injuries, a prescription for more than seven days of opioids is "
                     "associated with an approximate doubling of disability one year later.")


def test_more_of_a_harm_answers_whether_to_do_it_no_and_whether_it_goes_with_the_harm_yes() -> None:
    """A pain guideline's cohort finding had read as "found what the question asks about" for giving opioids first:
    "associated with" alone set "supports"."""
    assert direction_of(OPIOIDS_FIRST, [OPIOID_DISABILITY]).direction == "against"
    assert direction_of("Is early opioid prescribing associated with disability after back injury?",
                        [OPIOID_DISABILITY]).direction == "supports"
    assert direction_of("Does opioid therapy improve function in chronic low back pain?",
                        ["Opioid therapy reduced disability scores in chronic low back pain."]).direction == "supports"


@pytest.mark.parametrize(("question", "sentence"), [
    # who a recommendation is for, not a finding of an increase
    ("Should I screen a 70-year-old man for HIV?",
     "Older adults who are at increased risk for HIV infection should also be screened."),
    # risk factors named in an intervention's description, where the question asks of none
    ("Does integrated collaborative care improve quality of life in depressed patients with diabetes?",
     "The intervention combined collaborative care for depression with a programme for diabetes and coronary risk "
     "factors."),
    # "significant" describing a thing, not a result
    ("Any concerns with St John's wort for mild depression?",
     "Weak for: couples therapy for patients with mild depression and significant relationship distress."),
    # "the same" naming a thing, not a finding of sameness
    ("Is one office reading enough to diagnose hypertension?",
     "Against the same ambulatory threshold, office readings for hypertension had a sensitivity of 74.6%."),
    # a recommendation of something else than the question's topic
    ("Should I order a lumbar MRI for acute low back pain?",
     "For patients with low back pain, the Work Group recommends that clinicians take a history and examine."),
])
def test_words_that_describe_rather_than_find_set_no_direction(question: str, sentence: str) -> None:
    assert direction_of(question, [sentence]).direction == "unclear", direction_of(question, [sentence])


def test_a_negation_describing_the_people_asked_about_is_not_the_questions() -> None:
    """"For women who didn't exercise before pregnancy, did ... lower their risk of depression?" had been read as
    asking whether it did not, and the trial's p = 0.25 then "supported" it."""
    question = ("For women who didn't exercise before pregnancy, did a supervised exercise class lower their risk of "
                "postnatal depression?")
    found = direction_of(question, ["Postnatal depression occurred in 1.2% of the exercise group and 2.4% of the "
                                    "control group (p=0.25)."])
    assert found.direction == "no_difference", found
    assert direction_of("Is exercise not helpful for postnatal depression?", [
        "Exercise did not reduce postnatal depression (p=0.25)."]).direction == "supports"  # a negated question
