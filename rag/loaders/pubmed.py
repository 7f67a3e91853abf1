"""PubMed/MEDLINE XML as efetch returns it: a PubmedArticleSet of many articles, structured abstracts as sections."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from rag.errors import InputError
from rag.evidence import GUIDELINE_DESIGNS, LEVEL_BY_DESIGN, design_from_publication_types
from rag.loaders.base import LoadItem, LoadOptions, build_meta
from rag.loaders.xmlutil import first_year, parse_xml, text_of
from rag.models import Document, StudyDesign

ABSTRACT_SECTION = "Abstract"
RETRACTED_TYPE = "retracted publication"
RETRACTION_NOTICE_TYPE = "retraction of publication"


def load_pubmed_xml(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """One document per PubmedArticle (id ``pmid:N``); a bad article is reported and the others still load."""
    root = parse_xml(path, raw)
    if root.tag != "PubmedArticleSet":
        raise InputError(str(path), f"expected a <PubmedArticleSet> root element, found <{root.tag}>")
    articles = root.findall("PubmedArticle")
    if not articles:
        raise InputError(str(path), "the PubmedArticleSet holds no PubmedArticle")
    for number, article in enumerate(articles, start=1):
        try:
            yield _article(path, number, article, options)
        except InputError as error:
            yield error


def _article(path: Path, number: int, article: ET.Element, options: LoadOptions) -> Document:
    citation = article.find("MedlineCitation")
    pmid = text_of(citation.find("PMID") if citation is not None else None)
    source = f"{path}#{'PMID ' + pmid if pmid else f'article {number}'}"
    body = citation.find("Article") if citation is not None else None
    if body is None or not pmid:
        raise InputError(source, "the article has no MedlineCitation/PMID or Article element")
    publication_types = tuple(text_of(t) for t in body.findall("PublicationTypeList/PublicationType"))
    design = _design(publication_types)
    fields: dict[str, object] = {
        "id": f"pmid:{pmid}",
        "title": text_of(body.find("ArticleTitle")) or text_of(body.find("VernacularTitle")),
        "journal": text_of(body.find("Journal/Title")) or None,
        "year": _year(body),
        "authors": _authors(body),
        "pmid": pmid,
        "doi": _article_id(article, body, "doi"),
        "pmcid": _article_id(article, body, "pmc"),
        "url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        "study_design": design,
        "evidence_level": LEVEL_BY_DESIGN.get(design or ""),
        "publication_types": publication_types,
        "retracted": _is_retracted(citation, publication_types),
    }
    if options.kind is None:
        fields["kind"] = "guideline" if design in GUIDELINE_DESIGNS else "study"
    meta = build_meta(source, {k: v for k, v in fields.items() if v not in (None, "", ())}, options)
    parts = _abstract_sections(body) or [("Title", meta.title)]
    return Document.from_sections(meta, parts, source)


def _design(publication_types: tuple[str, ...]) -> StudyDesign | None:
    """The design the publication types imply; a retraction notice is a notice (``other``), whatever it retracts."""
    if RETRACTION_NOTICE_TYPE in {t.lower() for t in publication_types}:
        return "other"
    return design_from_publication_types(publication_types)


def _is_retracted(citation: ET.Element | None, publication_types: tuple[str, ...]) -> bool:
    """PubMed marks a retracted paper twice: the publication type "Retracted Publication", and a
    ``CommentsCorrections RefType="RetractionIn"`` pointing at the notice. Either one is enough. A notice
    (``RetractionOf``, publication type "Retraction of Publication") is not itself retracted."""
    if RETRACTED_TYPE in {t.lower() for t in publication_types}:
        return True
    corrections = citation.findall("CommentsCorrectionsList/CommentsCorrections") if citation is not None else []
    return any(node.get("RefType") == "RetractionIn" for node in corrections)


def _abstract_sections(body: ET.Element) -> list[tuple[str, str]]:
    parts = []
    for node in body.findall("Abstract/AbstractText"):
        label = (node.get("Label") or node.get("NlmCategory") or ABSTRACT_SECTION).strip().capitalize()
        parts.append((label, text_of(node)))
    return [(label, text) for label, text in parts if text]


def _year(body: ET.Element) -> int | None:
    date = body.find("Journal/JournalIssue/PubDate")
    if date is not None:
        year = first_year(text_of(date.find("Year")) or text_of(date.find("MedlineDate")))
        if year is not None:
            return year
    return first_year(text_of(body.find("ArticleDate/Year")))


def _authors(body: ET.Element) -> tuple[str, ...]:
    names = []
    for author in body.findall("AuthorList/Author"):
        last, initials = text_of(author.find("LastName")), text_of(author.find("Initials"))
        name = f"{last} {initials}".strip() or text_of(author.find("CollectiveName"))
        if name:
            names.append(name)
    return tuple(names)


def _article_id(article: ET.Element, body: ET.Element, kind: str) -> str | None:
    for node in article.findall("PubmedData/ArticleIdList/ArticleId"):
        if node.get("IdType") == kind and text_of(node):
            value = text_of(node)
            return value if kind != "pmc" or value.startswith("PMC") else f"PMC{value}"
    if kind == "doi":
        for node in body.findall("ELocationID"):
            if node.get("EIdType") == "doi" and text_of(node):
                return text_of(node)
    return None
