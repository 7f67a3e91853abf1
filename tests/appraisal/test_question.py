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


def test_frame_movement_equivalence_negation_safety() -> None:
    assert frame_question("Does smoking increase the risk of psoriasis?").movement == "up"
    assert frame_question("Does aspirin reduce colorectal cancer?").movement == "down"
    assert frame_question("Does PRP improve scars?").movement is None
    assert frame_question("Is exosome as effective as PRP?").equivalence
    assert frame_question("Is routine radiography unnecessary?").negated
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
