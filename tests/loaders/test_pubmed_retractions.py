"""Retractions in PubMed XML: a retracted paper loads flagged, a retraction notice loads as an ordinary record."""

from __future__ import annotations

from pathlib import Path

from rag.errors import InputError
from rag.loaders import LoadOptions, load_file
from rag.models import Document

MAX = 10_000_000


def _article(pmid: str, types: list[str], corrections: str = "", abstract: str = "Some text.") -> str:
    type_list = "".join(f"<PublicationType>{t}</PublicationType>" for t in types)
    abstract_xml = f"<Abstract><AbstractText>{abstract}</AbstractText></Abstract>" if abstract else ""
    return f"""<PubmedArticle><MedlineCitation><PMID Version="1">{pmid}</PMID><Article>
 <Journal><JournalIssue><PubDate><Year>2015</Year></PubDate></JournalIssue><Title>J Tests</Title></Journal>
 <ArticleTitle>Article {pmid}</ArticleTitle>{abstract_xml}
 <PublicationTypeList>{type_list}</PublicationTypeList>
</Article>{corrections}</MedlineCitation></PubmedArticle>"""


def _load(tmp_path: Path, *articles: str) -> list[Document | InputError]:
    path = tmp_path / "set.xml"
    path.write_text(f"<PubmedArticleSet>{''.join(articles)}</PubmedArticleSet>", encoding="utf-8")
    return list(load_file(path, "pubmed-xml", LoadOptions(), MAX))


def _only_document(items: list[Document | InputError]) -> Document:
    assert len(items) == 1
    document = items[0]
    assert isinstance(document, Document), document
    return document


def test_retracted_publication_type_marks_the_paper_retracted(tmp_path: Path) -> None:
    document = _only_document(_load(tmp_path, _article(
        "101", ["Journal Article", "Randomized Controlled Trial", "Retracted Publication"])))
    assert document.meta.retracted is True
    assert document.meta.study_design == "rct"  # the design it claimed is kept; the flag says not to trust it


def test_retraction_in_comment_marks_the_paper_retracted(tmp_path: Path) -> None:
    corrections = """<CommentsCorrectionsList>
  <CommentsCorrections RefType="Cites"><RefSource>Other</RefSource><PMID>5</PMID></CommentsCorrections>
  <CommentsCorrections RefType="RetractionIn"><RefSource>J Tests. 2016</RefSource><PMID>999</PMID></CommentsCorrections>
</CommentsCorrectionsList>"""
    document = _only_document(_load(tmp_path, _article("102", ["Journal Article"], corrections)))
    assert document.meta.retracted is True


def test_ordinary_paper_with_other_comments_is_not_retracted(tmp_path: Path) -> None:
    corrections = """<CommentsCorrectionsList>
  <CommentsCorrections RefType="CommentIn"><RefSource>J Tests. 2016</RefSource><PMID>7</PMID></CommentsCorrections>
  <CommentsCorrections RefType="ErratumIn"><RefSource>J Tests. 2016</RefSource></CommentsCorrections>
</CommentsCorrectionsList>"""
    document = _only_document(_load(tmp_path, _article("103", ["Journal Article"], corrections)))
    assert document.meta.retracted is False


def test_retraction_notice_without_a_target_loads_as_an_unretracted_notice(tmp_path: Path) -> None:
    corrections = """<CommentsCorrectionsList>
  <CommentsCorrections RefType="RetractionOf"><RefSource>J Tests. 2014;3:1-2</RefSource></CommentsCorrections>
</CommentsCorrectionsList>"""
    notice = _article("104", ["Retraction of Publication"], corrections, abstract="")
    document = _only_document(_load(tmp_path, notice))
    assert document.meta.retracted is False
    assert document.meta.study_design == "other" and document.meta.evidence_level is None
    assert document.kind == "study"
    assert document.text == "Article 104"  # no abstract: the title is the text


def test_notice_and_retracted_paper_in_one_set(tmp_path: Path) -> None:
    notice = _article("105", ["Journal Article", "Retraction of Publication"], """<CommentsCorrectionsList>
  <CommentsCorrections RefType="RetractionOf"><RefSource>J Tests</RefSource><PMID>106</PMID></CommentsCorrections>
</CommentsCorrectionsList>""")
    paper = _article("106", ["Journal Article", "Retracted Publication"])
    documents = _load(tmp_path, notice, paper)
    assert [(d.id, d.meta.retracted) for d in documents if isinstance(d, Document)] == [
        ("pmid:105", False), ("pmid:106", True)]
