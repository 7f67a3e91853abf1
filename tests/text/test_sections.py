"""What a section of a publication is for, from its title."""

from __future__ import annotations

from rag.text.sections import describes, states_findings


def test_sections_that_describe_the_study_and_those_that_state_findings() -> None:
    for title in ("Design", "Design and participants", "Methods", "Background", "Objective"):
        assert describes(title) and not states_findings(title), title
    for title in ("Results", "Conclusions", "Recommendations", "Adverse events"):
        assert states_findings(title) and not describes(title), title
    assert not describes("Notes") and not states_findings("Notes"), "a title of no known role is neither"


def test_a_heading_that_names_a_topic_does_not_make_its_recommendations_a_methods_section() -> None:
    for title in ("Recommendations: Patients Who Refuse Care", "Recommendations: Screening Methods",
                  "Harms: Preventive Interventions", "Recommendations: Prevention of Contrast-Induced Nephropathy "
                  "(CIN) in Patients with CKD"):
        assert states_findings(title) and not describes(title), title
    assert describes("Recommendations: Grade Definitions"), "a definition is background under any field"
    assert describes("Methods: Patient Selection") and not states_findings("Methods: Patient Selection")
