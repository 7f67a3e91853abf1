"""Follow-ups condensed without a model: one self-contained question naming the question that opened the topic once,
in its own words, however long the chain."""

from __future__ import annotations

from rag.conversation import condense_by_rule, own_ask, topic_question

FIRST = "Is there randomised evidence for stem-cell exosomes with microneedling for facial ageing?"
FOLLOWS_FIRST = f' (following the question "{FIRST}")'


def test_a_chain_stays_flat() -> None:
    second = condense_by_rule("What treatment schedule did it use?", FIRST)
    third = condense_by_rule("Were there any safety problems in that trial?", second)
    assert second == "What treatment schedule did it use?" + FOLLOWS_FIRST
    assert third == "Were there any safety problems in that trial?" + FOLLOWS_FIRST
    assert own_ask(third) == "Were there any safety problems in that trial?" and own_ask(FIRST) is None


def test_a_follow_up_without_a_pronoun_still_carries_the_topic() -> None:
    opening = "Which drugs does the VA/DoD list as first-line options for major depression?"
    second = condense_by_rule("If there's only a partial response, when should I switch?", opening)
    assert second == f'If there\'s only a partial response, when should I switch? (following the question "{opening}")'
    assert condense_by_rule("Who shouldn't get bupropion?", second) == (
        f'Who shouldn\'t get bupropion? (following the question "{opening}")')


def test_a_new_question_in_full_is_kept() -> None:
    new = "How often should adults be screened for high blood pressure in primary care?"
    assert condense_by_rule(new, FIRST) == new
    same_topic = "Did stem-cell exosomes with microneedling improve facial ageing?"
    assert condense_by_rule(same_topic, FIRST) == same_topic
    assert condense_by_rule("And did they improve it?", FIRST) == "And did they improve it?" + FOLLOWS_FIRST


def test_topic_question() -> None:
    assert topic_question("Does team-based care help control blood pressure?") == (
        "Does team-based care help control blood pressure?")
    assert topic_question('What about harms? (following the question "Does team-based care work?")') == (
        "Does team-based care work?")
    told = "A patient got firm red bumps on her cheeks after a needling facial with a serum. Has this been described?"
    assert topic_question(told) == "A patient got firm red bumps on her cheeks after a needling facial with a serum."
    assert condense_by_rule("How many patients did the review collect?", told) == (
        'How many patients did the review collect? (following the question "A patient got firm red bumps on her '
        'cheeks after a needling facial with a serum.")')
