from __future__ import annotations

import pytest

from rag.text.sentences import list_items, quotable_sentences, sentence_spans, statement_spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_clinical_abbreviations_numbers_and_initials_do_not_split() -> None:
    text = ("ECCA fell 32.5% vs. 19.9% (p<0.01). Kwon et al. reported it, e.g. in Fig. 2. "
            "J. Smith agreed! Was it real? Yes.")
    assert sentences(text) == [
        "ECCA fell 32.5% vs. 19.9% (p<0.01).",
        "Kwon et al. reported it, e.g. in Fig. 2.",
        "J. Smith agreed!",
        "Was it real?",
        "Yes.",
    ]


def test_blocks_bullets_and_headings_start_new_units() -> None:
    text = "Intro line one\ncontinues here.\n\n- First item. Second part.\n- Item two\n### Sub\nBody after."
    assert sentences(text) == [
        "Intro line one\ncontinues here.", "- First item.", "Second part.", "- Item two", "### Sub", "Body after.",
    ]
    items = list_items(text)
    assert len(items) == len(sentences(text))
    assert items[0] is None and items[1] == items[2] is not None and items[3] not in (None, items[1])
    assert items[4:] == [None, None]  # the heading and the paragraph after it are outside the list


def test_us_is_an_abbreviation() -> None:
    text = "Tests approved by the U.S. Food and Drug Administration. The U.S. Preventive Services Task Force agreed."
    assert sentences(text) == ["Tests approved by the U.S. Food and Drug Administration.",
                               "The U.S. Preventive Services Task Force agreed."]


def test_lowercase_after_full_stop_is_not_a_boundary() -> None:
    assert sentences("The dose was 5 mg. and then stopped. Next one.") == [
        "The dose was 5 mg. and then stopped.", "Next one.",
    ]


def test_a_grade_after_a_full_stop_stays_with_its_recommendation() -> None:
    """Guideline summaries grade a recommendation after its full stop; read as the start of the next sentence, the
    grade would be quoted with the wrong recommendation ("(I statement) The USPSTF recommends against ...")."""
    text = ("The USPSTF recommends screening adults for alcohol misuse. (B recommendation) The evidence in "
            "adolescents is insufficient. (I statement)\nAvoid nephrotoxic drugs. (Carryover modified from the 2008 "
            "CPG.) (Strong For)\n\nReview doses. (A recommendation)")
    assert sentences(text) == [
        "The USPSTF recommends screening adults for alcohol misuse. (B recommendation)",
        "The evidence in adolescents is insufficient. (I statement)",
        "Avoid nephrotoxic drugs. (Carryover modified from the 2008 CPG.) (Strong For)",
        "Review doses. (A recommendation)",
    ]
    # a bracket that opens its own sentence, or is followed by lower case, is not a label of the one before
    assert sentences("Results were mixed. (Table 2) shows why. (B recommendation) adults aged 40 years.") == [
        "Results were mixed.", "(Table 2) shows why.", "(B recommendation) adults aged 40 years."]


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_text_has_no_sentences(text: str) -> None:
    assert sentence_spans(text) == []


def test_spans_respect_bounds_and_are_trimmed() -> None:
    text = "XXX  First one. Second one.  YYY"
    spans = sentence_spans(text, 3, len(text) - 3)
    assert [text[s:e] for s, e in spans] == ["First one.", "Second one."]


def test_a_sentence_pointing_elsewhere_is_not_quotable() -> None:
    passage = ("The USPSTF recommends screening for HIV in adolescents and adults aged 15 to 65 years. "
               "See the Clinical Considerations below for more information about screening intervals. "
               "Refer to the original guideline document for the full algorithm. "
               "For more information on the evidence, see the Supporting Documents field. "
               "Seeing the patient again in 4 weeks is advised.")
    assert [text for _, text in quotable_sentences(passage)] == [
        "The USPSTF recommends screening for HIV in adolescents and adults aged 15 to 65 years.",
        "Seeing the patient again in 4 weeks is advised.",
    ]


def test_an_opening_that_ends_in_a_colon_is_quoted_with_its_list_or_not_at_all() -> None:
    """"... the Work Group recommends against using the following tests:" was quoted alone, announcing advice it did
    not give; its tests are list items that are not sentences of their own."""
    closed = ("- The Work Group recommends against using the following tests in routine care of mTBI:\n"
              " - Comprehensive neuropsychological testing, including ANAM or ImPACT\n"
              " (Strong Against; Reviewed, New-replaced)\n"
              " - For new symptoms, the Work Group suggests a focused work-up. (Weak For; Not reviewed)")
    texts = [text for _, text in quotable_sentences(closed)]
    assert texts[0] == ("The Work Group recommends against using the following tests in routine care of mTBI: "
                        "Comprehensive neuropsychological testing, including ANAM or ImPACT (Strong Against; "
                        "Reviewed, New-replaced)")
    start, end, _ = statement_spans(closed)[0]
    assert closed[start:end].endswith("New-replaced)"), "the quote's span reaches the end of the list"
    cut = "- The Work Group suggests against using the following tests to diagnose mTBI:\n - Neuroimaging"
    assert quotable_sentences(cut) == [], "the passage ends inside the list: its items go on in the next passage"
    counted = ("A review tabulates four categories on the platelet axis:\n\n- P1: at or below the baseline count.\n"
               "- P2: up to 750×10³/µL.\n- P3: 750-1,250×10³/µL.\n- P4: above 1,250×10³/µL.")
    assert quotable_sentences(counted)[0][1] == (
        "A review tabulates four categories on the platelet axis: P1: at or below the baseline count; P2: up to "
        "750×10³/µL; P3: 750-1,250×10³/µL; P4: above 1,250×10³/µL."), "the opening said how many follow"
    bracketed = ("- Patients considered for statins are assessed for other risk factors, including the following:\n"
                 " - Age (males >35 and females >45)\n - Family history of premature CVD")
    assert [text for _, text in quotable_sentences(bracketed)] == [
        "Age (males >35 and females >45)", "Family history of premature CVD"], "a bracket on an item's line is content"
    prose = "The trial had two arms:\n\n- The first arm received PRP with microneedling over four monthly sessions."
    assert "The trial had two arms:" not in [text for _, text in quotable_sentences(prose)]


def test_a_heading_written_as_a_line_of_its_own_is_not_quotable() -> None:
    """A guideline summary's heading lines have no closing punctuation: quoted, "Screening in Women Aged 65 to 75
    Years Who Have Ever Smoked [1]" led an answer about a woman who never smoked, as if the source said it."""
    passage = ("Screening in Women Aged 65 to 75 Years Who Have Ever Smoked\n\n"
               "The task force recommends against routine screening for AAA in women who have never smoked.\n\n"
               "Behavioral couples therapy for alcohol use disorder\n\n"
               "Management of Pharmacotherapy for Secondary Prevention (patients with a history of ASCVD or ACS)\n")
    assert [text for _, text in quotable_sentences(passage)] == [
        "The task force recommends against routine screening for AAA in women who have never smoked.",
        "Behavioral couples therapy for alcohol use disorder"]
