"""Parsing a collection of messy model outputs, and grounding its sentences in the given sources."""

from __future__ import annotations

import pytest

from rag.answer.assemble import assemble
from rag.answer.ground import NO_SUPPORT, NUMBERS_MISSING, Grounder
from rag.answer.lexical import answer_sentences
from rag.answer.models import AnswerSection, Grounding, Reference
from rag.answer.parse import parse_answer
from rag.config import VerificationSettings
from rag.contract import NO_GUIDELINE, Source
from rag.testing import LexicalJudge

MESSY = {
    "markdown": "## From the Guidelines\nNo exosome product is approved [1].\n\n## From the Research\n"
                "PRP improved acne scars by 62.20% [3].\n\n## Limitations\nSmall trials [3].",
    "bold-inline": "**From the Guidelines:** No exosome product is approved (1).\n**From the Research:** PRP "
                   "improved acne scars by 62.20% (3).\n**Limitations:** Small trials.",
    "plain-colon": "Guidelines:\nNo exosome product is approved [1]\n\nResearch:\nPRP improved acne scars by "
                   "62.20% [3]\n\nLimitations:\nSmall trials.",
    "lists": "## From the Guidelines\nNo exosome product is approved [1, 2].\n## From the Research\nPRP improved "
             "acne scars by 62.20% [3-4].",
    "preamble-and-references": "Sure! Here is the answer.\n### From the Guidelines\nNo exosome product is approved "
                               "[Source 1].\n### From the Research\nPRP improved acne scars by 62.20% [S3].\n"
                               "### References\n1. FDA notice\n3. Asif 2016",
    "source-tag-attribute": "## From the Guidelines\nNo exosome product is approved [source n=1].\n"
                            "## From the Research\nPRP improved acne scars by 62.20% [n=3].",
    "source-tag-echoed": "## From the Guidelines\nNo exosome product is approved [source-4f1c9a2e7b3d n=\"1\"].\n"
                         "## From the Research\nPRP improved acne scars by 62.20% [source-4f1c9a2e7b3d n=3].",
    "fenced": "```markdown\n## From the Guidelines\nNo exosome product is approved [^1].\n## From the Research\n"
              "PRP improved acne scars by 62.20% [3].\n```",
}


@pytest.mark.parametrize("name", sorted(MESSY))
def test_messy_outputs_parse_into_the_two_sections(name: str, sources: list[Source]) -> None:
    parsed = parse_answer(MESSY[name], sources)
    assert parsed.headings_found
    assert parsed.sections["guidelines"].startswith("No exosome product is approved [1]")
    assert "PRP improved acne scars by 62.20% [3]" in parsed.sections["research"]
    assert "Asif" not in parsed.sections["research"] and "Here is the answer" not in parsed.sections["guidelines"]
    assert parsed.dangling == []


def test_ranges_lists_and_invented_numbers(sources: list[Source]) -> None:
    parsed = parse_answer("## From the Research\nA [1–3]. B [2; 4]. C [7]. D [3, 9]. E (12).", sources)
    research = parsed.sections["research"]
    assert research.startswith("A [1][2][3]. B [2][4]. C. D [3]. E (12).")
    assert parsed.dangling == [7, 9, 12]
    huge = parse_answer("## From the Research\nX [1-1000].", sources)
    assert huge.sections["research"] == "X [1]." and huge.dangling == [], "an absurd range keeps its first number"


def test_no_headings_routes_sentences_by_cited_kind(sources: list[Source]) -> None:
    parsed = parse_answer("The FDA has approved no exosome product [1]. PRP improved scars [3]. Both [1][3].",
                          sources)
    assert not parsed.headings_found
    assert parsed.sections["guidelines"] == "The FDA has approved no exosome product [1]."
    assert parsed.sections["research"] == "PRP improved scars [3]. Both [1][3]."


def ground(raw: str, sources: list[Source]) -> tuple[list[AnswerSection], list[Reference], Grounding]:
    parsed = parse_answer(raw, sources)
    grounded = Grounder(LexicalJudge(), VerificationSettings()).ground(parsed.draft(), sources)
    assembled = assemble(grounded, sources, parsed.dangling)
    return assembled.sections, assembled.references, assembled.grounding


def test_grounding_moves_removes_renumbers_and_quotes(sources: list[Source]) -> None:
    raw = ("## From the Guidelines\nNo exosome product is approved by the FDA [1]. PRP improved acne scars by "
           "62.20% [3].\n## From the Research\nExosome gel reduced ECCA scores by 32.5% versus 19.9% [4]. "
           "PRP with microneedling improved acne scars by 90% [3]. Unsourced claim about laser outcomes here.\n"
           "## Limitations\nSmall.")
    sections, references, grounding = ground(raw, sources)
    assert [r.n for r in references] == [1, 2, 3] and [r.doc_id for r in references] == ["doc1", "doc4", "doc3"]
    assert sections[0].text == "No exosome product is approved by the FDA [1]."
    assert sections[1].text == ("Exosome gel reduced ECCA scores by 32.5% versus 19.9% [2]. "
                                "PRP improved acne scars by 62.20% [3]."), "the study sentence moved to research"
    assert grounding.misrouted == [3], "the model cited a study in the guidelines section"
    assert [(r.sentence, r.reason) for r in grounding.removed] == [
        ("PRP with microneedling improved acne scars by 90%.", NUMBERS_MISSING),
        ("Unsourced claim about laser outcomes here.", NO_SUPPORT)]
    assert [a.refs for a in grounding.attributed] == [[3]] and grounding.verified
    exosome = references[1]
    assert exosome.quote.startswith("Exosome gel after fractional CO2 laser reduced ECCA scores")
    assert exosome.span == (100, 100 + len(exosome.quote)) and exosome.quotes[0].text == exosome.quote


def test_clean_answer_is_verified_and_no_evidence_is_recognised(sources: list[Source]) -> None:
    raw = (f"## From the Guidelines\n{NO_GUIDELINE} No guideline covers acne scar devices.\n## From the Research\n"
           "In 50 patients, PRP with microneedling improved acne scars by 62.20% against 45.84% [3].")
    sections, references, grounding = ground(raw, sources)
    assert sections[0].evidence_found is False and sections[1].evidence_found is True
    assert sections[0].text.startswith(NO_GUIDELINE)
    assert grounding.verified and grounding.removed == [] and [r.n for r in references] == [1]
    assert references[0].quote.startswith("In a split-face trial of 50 patients")
    empty, _, _ = ground("## From the Research\n", sources)
    assert empty[0].text == NO_GUIDELINE and not empty[1].evidence_found


def test_citations_after_the_full_stop_belong_to_the_sentence_before() -> None:
    assert answer_sentences("First claim. [1] Second claim. [2][3] Third [4].") == [
        "First claim. [1]", "Second claim. [2][3]", "Third [4].",
    ]
    # a graded recommendation cited after its grade stays one sentence, and a marker's full stop is not another
    assert answer_sentences("Screen adults. (B recommendation) [1]. Fourth. [2]. Fifth [3]. (A recommendation) [4]. "
                            "in which case [4].") == [
        "Screen adults. (B recommendation) [1].", "Fourth. [2]", "Fifth [3]. (A recommendation) [4].",
        "in which case [4].",
    ]
