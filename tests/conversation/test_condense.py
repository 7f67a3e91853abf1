"""Follow-ups condensed without a model: one self-contained question naming the earlier topic once, however long
the chain."""

from __future__ import annotations

from rag.conversation import condense_by_rule, question_topic_phrase

FIRST = "Is there randomised evidence for stem-cell exosomes with microneedling for facial ageing?"


def test_a_chain_stays_flat() -> None:
    second = condense_by_rule("What treatment schedule did it use?", FIRST)
    third = condense_by_rule("Were there any safety problems in that trial?", second)
    assert second == ("What treatment schedule did it use, regarding randomised evidence for stem-cell exosomes "
                      "with microneedling for facial ageing?")
    assert third.startswith("Were there any safety problems in that trial, regarding randomised evidence")
    assert third.count("regarding") == 1 and "follow-up" not in third and "schedule" not in third


def test_a_follow_up_without_a_pronoun_still_carries_the_topic() -> None:
    second = condense_by_rule("If there's only a partial response, when should I switch?",
                              "Which drugs does the VA/DoD list as first-line options for major depression?")
    assert second.endswith("regarding drugs does the VA/DoD list as first-line options for major depression?")
    assert condense_by_rule("Who shouldn't get bupropion?", second) == (
        "Who shouldn't get bupropion, regarding drugs does the VA/DoD list as first-line options for major "
        "depression?")


def test_a_new_question_in_full_is_kept() -> None:
    new = "How often should adults be screened for high blood pressure in primary care?"
    assert condense_by_rule(new, FIRST) == new
    same_topic = "Did stem-cell exosomes with microneedling improve facial ageing?"
    assert condense_by_rule(same_topic, FIRST) == same_topic
    assert condense_by_rule("And did they improve it?", FIRST).endswith(", regarding randomised evidence for "
                                                                        "stem-cell exosomes with microneedling for "
                                                                        "facial ageing?")


def test_topic_phrase() -> None:
    assert question_topic_phrase("Does team-based care help control blood pressure?") == (
        "team-based care help control blood pressure")
    assert question_topic_phrase("What about harms, regarding team-based care?") == "team-based care"
    assert question_topic_phrase("Why?") == "Why"
    told = "A patient got firm red bumps on her cheeks after a needling facial with a serum. Has this been described?"
    assert question_topic_phrase(told) == "patient got firm red bumps on her cheeks after a needling facial with a serum"
    assert condense_by_rule("How many patients did the review collect?", told).endswith(
        ", regarding patient got firm red bumps on her cheeks after a needling facial with a serum?")
