"""Question analysis: the topic words a publication must hold."""

from __future__ import annotations

from rag.text.topic import question_topic, stems


def test_a_hyphenated_word_is_read_as_its_parts_too() -> None:
    topic = question_topic("Are exosome serums FDA-approved for full-body use?")
    assert {"fda", "approv", "full", "body"} <= topic.topical
    assert not any("-" in word or word in {"fdaapp", "fullbo"} for word in topic.weights)
    # a passage writing the compound apart, or together, holds the same topic words
    assert topic.addresses(stems("No exosome product has been approved by the FDA."))
    assert topic.addresses(stems("The FDA-approved kits are cleared for bone graft."))
    assert not topic.addresses(stems("The kits are sold in full."))
