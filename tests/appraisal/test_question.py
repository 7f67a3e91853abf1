"""Questions: yes/no detection and the frame that direction judgments depend on."""

from __future__ import annotations

import pytest

from rag.appraisal.question import frame_question, is_yes_no_question


@pytest.mark.parametrize(
    "question",
    [
        "Does PRP improve acne scars?",
        "Is microneedling safe in darker skin types?",
        "In adults with acne, should isotretinoin be used first?",
        "Double balloon enteroscopy: is it efficacious and safe in a community setting?",
        "Prostate-specific antigen: a reliable marker?",
        "Can exosomes replace PRP",
        "And does it last?",
        "Does adding PRP cause more redness or swelling than needling alone?",  # "than": whether, not which
        "Does PRP improve acne scars or not?",
        "A 62-year-old quit smoking 18 years ago. Should I order a low-dose CT?",  # the case, then whether
        "Is severe hypoglycaemia linked to cardiovascular death? How strong was the association?",
    ],
)
def test_yes_no_questions(question: str) -> None:
    assert is_yes_no_question(question)


@pytest.mark.parametrize(
    "question",
    [
        "What is the comparative efficacy of PRP versus exosome microneedling?",
        "How effective is PRP for acne scars?",
        "In children, which antibiotic is preferred?",
        "Is PRP or exosome microneedling better for acne scars?",
        # a choice put with a comparative: a reader found "1 found the opposite" under it
        "Did intradermal PRP or topical PRP show the bigger Goodman-Baron reduction?",
        "Does glargine or bedtime NPH cause more hypoglycaemia?",
        # the case told, then an open question: "supports ('greater')" had been shown under it
        "84-year-old with type 2 diabetes and maybe 3 years to live. What HbA1c range does the VA/DoD suggest?",
        "Treatment of acne scars",
        "",
    ],
)
def test_open_questions(question: str) -> None:
    assert not is_yes_no_question(question)


def test_frame_of_a_comparison() -> None:
    frame = frame_question("What is the comparative efficacy of PRP micro-needling versus exosome micro-needling "
                           "for facial skin improvement?")
    assert frame.arms == (frozenset({"prp"}), frozenset({"exosome"}))
    assert {"prp", "exosome", "micro-needling", "facial", "skin"} <= frame.topic
    assert "efficacy" not in frame.topic and not frame.yes_no
    rather = frame_question("Is there evidence for adding bedtime NPH rather than switching to insulin alone?")
    assert rather.arms is not None and "rather" not in rather.arms[0], "'rather than' is the comparator, whole"
    assert rather.sides == ("adding bedtime NPH", "switching to insulin alone")


@pytest.mark.parametrize(("question", "sides"), [
    ("How does melanoma present in patients with darker skin compared with white patients: where, and at what "
     "stage?", ("darker skin", "white patients")),
    ("Patient with mild depression wants acupuncture rather than meds. Any guideline or trial support?",
     ("acupuncture", "meds")),
    ("For acne scars, is injecting PRP intradermally better than just applying it on the skin after microneedling?",
     ("injecting PRP intradermally", "just applying it")),
    ("In the study of intradermal PRP versus 50% TCA CROSS for atrophic acne scars, what were the scar scores?",
     ("intradermal PRP", "50% TCA CROSS")),
    ("What was the pooled odds ratio for more than 50% improvement with PRP versus microneedling alone?",
     ("PRP", "microneedling alone")),
    # a side stated as an outcome, or a change, is not quoted back; "older than 65" is a threshold
    ("If I add PRP to microneedling, will patients get more severe redness than with needling alone?", ("", "")),
    ("If I start an SSRI, how much does her risk of low sodium go up compared with periods off antidepressants?",
     ("", "")),
    ("Are women older than 65 screened for osteoporosis?", ("", "")),
])
def test_the_sides_of_a_comparison_as_the_question_writes_them(question: str, sides: tuple[str, str]) -> None:
    assert frame_question(question).sides == sides


def test_frame_movement_equivalence_negation_safety() -> None:
    assert frame_question("Does smoking increase the risk of psoriasis?").movement == "up"
    assert frame_question("Does aspirin reduce colorectal cancer?").movement == "down"
    assert frame_question("Does PRP improve scars?").movement is None
    assert frame_question("Is exosome as effective as PRP?").equivalence
    assert frame_question("Is routine radiography unnecessary?").negated
    assert frame_question("Is she too young for glucose screening?").negated
    assert not frame_question("Is it too hard to tell?").negated
    assert frame_question("Is laser treatment safe in pregnancy?").safety


def test_acronyms_of_question_words_count_as_the_topic() -> None:
    frame = frame_question("Is small for gestational age a risk factor for retinopathy of prematurity?")
    assert frame.is_about("SGA infants had more ROP.")
    assert not frame.is_about("Birth weight was recorded.")


def test_the_outcome_a_question_asks_to_move() -> None:
    painful = frame_question("Is microneedling with PRP more painful than microneedling alone?")
    assert painful.outcomes == {"painfu"}
    assert painful.names_outcome("Patients reported less pain on the PRP side.")
    assert not painful.names_outcome("Patient satisfaction was higher on the PRP side.")
    assert frame_question("Do ART patients face higher C-section rates?").names_outcome(
        "Patients after ART had higher C-section rates."), "a hyphenated outcome matches itself"
    assert frame_question("Is the h-index predictive of greater NIH funding success?").names_outcome(
        "Having an NIH grant was associated with a higher h-index."), "any word of the phrase; a short one exactly"
    for question in ("Does X make Y more likely?", "Is X more effective than Y?", "Does X increase the risk of Y?"):
        assert frame_question(question).outcomes == frozenset(), question
