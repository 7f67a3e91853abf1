"""What a section of a publication is for, from its title."""

from __future__ import annotations

from rag.text.sections import describes, states_findings


def test_sections_that_describe_the_study_and_those_that_state_findings() -> None:
    for title in ("Design", "Design and participants", "Methods", "Background", "Objective"):
        assert describes(title) and not states_findings(title), title
    for title in ("Results", "Conclusions", "Recommendations", "Adverse events"):
        assert states_findings(title) and not describes(title), title
    assert not describes("Notes") and not states_findings("Notes"), "a title of no known role is neither"
