"""Question analysis: the premise a question takes for granted; the topic words a publication must hold."""

from __future__ import annotations

from rag.text.topic import premise_of, question_topic, stems


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


def test_a_hyphenated_word_is_read_as_its_parts_too() -> None:
    topic = question_topic("Are exosome serums FDA-approved for full-body use?")
    assert {"fda", "approv", "full", "body"} <= topic.topical
    assert not any("-" in word or word in {"fdaapp", "fullbo"} for word in topic.weights)
    # a passage writing the compound apart, or together, holds the same topic words
    assert topic.addresses(stems("No exosome product has been approved by the FDA."))
    assert topic.addresses(stems("The FDA-approved kits are cleared for bone graft."))
    assert not topic.addresses(stems("The kits are sold in full."))
