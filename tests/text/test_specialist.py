"""Which words of a question are specialist terms: rare in general English, written in lower case, not framing."""

from __future__ import annotations

from rag.text.specialist import acronyms, most_specific, specialist_terms


def test_drug_and_condition_names_are_specialist_terms_and_everyday_words_are_not() -> None:
    question = ("Newly diagnosed open-angle glaucoma - is a prostaglandin analog like latanoprost or timolol the "
                "better first-line drop?")
    assert specialist_terms(question) == {"prostaglandin", "latanoprost", "timolol"}
    assert specialist_terms("Breastfeeding mom with lactational mastitis - which antibiotic do you choose?") == {
        "lactational", "mastitis"}
    assert specialist_terms("How big are the trials, and did the patients want to keep going?") == frozenset()


def test_acronyms_identifiers_numbers_and_framing_words_are_not_specialist_terms() -> None:
    assert specialist_terms("Is TDF/FTC PrEP with HbA1c monitoring at 3 months enough for SGLT2 users?") == frozenset()
    assert acronyms("Is TDF/FTC PrEP with HbA1c monitoring at 3 months enough for SGLT2 users?") == {
        "tdf", "ftc", "prep", "hba1c", "sglt2"}
    assert "efficacy" not in specialist_terms("What is the comparative efficacy of exosomes?")


def test_a_specialist_term_is_normalised_and_a_word_rare_only_as_a_plural_is_common() -> None:
    assert specialist_terms("Are severe hypos on basal insulin linked to cardiovascular death?") == {"hypo"}
    assert "serum" not in specialist_terms("Since exosome serums are now approved, what concentration?")
    assert specialist_terms("Since exosome serums are now approved, what concentration?") == {"exosome"}


def test_contractions_are_skipped_and_a_possessive_is_read_as_its_word() -> None:
    question = "Which patients shouldn't get donepezil for Alzheimer's dementia, and aren't trials ramped up?"
    assert specialist_terms(question) == {"donepezil", "alzheimer"}


def test_an_inflection_of_a_common_word_is_not_a_specialist_term() -> None:
    assert specialist_terms("Are beneficiaries getting sicker since campaigns ramped up?") == frozenset()
    assert specialist_terms("Was the dermaroller or the nebulizer titrated?") == {"dermaroller", "nebulizer", "titrated"}


def test_a_verb_closed_with_its_particle_is_not_a_specialist_term() -> None:
    """"At his checkup" had every guideline on childhood depression vetoed for not naming "checkup"."""
    assert specialist_terms("Should he be screened for depression at his checkup or with a handout?") == frozenset()
    assert specialist_terms("Is biofeedback or latanoprost better?") == {"biofeedback", "latanoprost"}


def test_the_most_specific_words_of_a_phrase_are_its_rare_ones_or_else_its_rarest() -> None:
    assert most_specific(["screen", "sexually", "active", "young", "men", "chlamydia"]) == {"chlamydia"}
    assert most_specific(["annual", "screening", "pelvic", "exam", "adult", "women"]) == {"pelvic"}
    assert most_specific(["hsv-2", "serology", "pregnant", "women"]) == {"hsv-2", "serology"}
    assert most_specific(["one-time", "aaa", "ultrasound", "screening", "women", "ever", "smoked"]) == {
        "aaa", "ultrasound", "smoked"}, "none is rare: the uncommon ones"
    assert most_specific(["all", "adults", "every", "year"]) == {"adults"}, "none is uncommon: the rarest"
    assert most_specific([]) == frozenset()


def test_the_end_of_a_symbols_reading_is_not_a_word() -> None:
    """"9yo at >95th %ile" had given the specialist term "ile", which no source names: the question abstained."""
    assert specialist_terms("9yo at >95th %ile - how many contact hrs?") == frozenset()
    assert specialist_terms("BMI >95th %ile, on metformin") == {"metformin"}
    assert specialist_terms("Is dapsone contraindicated in pregnancy?") == {"dapsone"}  # the ask, not its topic

