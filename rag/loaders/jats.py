"""PMC JATS full text (.nxml, or a pmc-articleset of articles): abstract and body sections, nested titles joined."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from rag.errors import InputError
from rag.loaders.base import LoadItem, LoadOptions, build_meta, require_text
from rag.loaders.xmlutil import first_year, parse_xml, text_of
from rag.models import Document

_BLOCKS = {"p", "list", "disp-quote", "boxed-text", "def-list"}
_MAX_TITLE = 200


def load_jats(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """One document per <article>; its id is ``pmid:N`` when the article carries a PMID, else ``pmc:N`` or a DOI."""
    root = parse_xml(path, raw)
    articles = [root] if root.tag == "article" else root.findall("article")
    if not articles:
        raise InputError(str(path), f"expected an <article> or <pmc-articleset> root element, found <{root.tag}>")
    for number, article in enumerate(articles, start=1):
        try:
            yield _article(path, number, article, options)
        except InputError as error:
            yield error


def _article(path: Path, number: int, article: ET.Element, options: LoadOptions) -> Document:
    meta_el = article.find("front/article-meta")
    if meta_el is None:
        raise InputError(f"{path}#article {number}", "the article has no front/article-meta element")
    ids = {node.get("pub-id-type"): text_of(node) for node in meta_el.findall("article-id")}
    pmcid = ids.get("pmc") or ids.get("pmcid")
    pmcid = (pmcid if pmcid.startswith("PMC") else f"PMC{pmcid}") if pmcid else None
    doc_id = f"pmid:{ids['pmid']}" if ids.get("pmid") else (f"pmc:{pmcid}" if pmcid else f"doi:{ids.get('doi', '')}")
    source = f"{path}#{doc_id}"
    if doc_id == "doi:":
        raise InputError(f"{path}#article {number}", "the article has no PMID, PMCID or DOI to identify it")
    fields: dict[str, object] = {
        "id": doc_id,
        "kind": options.kind or "study",
        "title": text_of(meta_el.find("title-group/article-title")),
        "journal": text_of(article.find("front/journal-meta/journal-title-group/journal-title"))
        or text_of(article.find("front/journal-meta/journal-title")),
        "year": min((y for y in (first_year(text_of(d.find("year"))) for d in meta_el.findall("pub-date")) if y),
                    default=None),
        "authors": _authors(meta_el),
        "pmid": ids.get("pmid"),
        "pmcid": pmcid,
        "doi": ids.get("doi"),
    }
    meta = build_meta(source, {k: v for k, v in fields.items() if v not in (None, "", ())}, options)
    parts: list[tuple[str, str]] = []
    for abstract in meta_el.findall("abstract")[:1]:
        parts.append(("Abstract", _blocks_text(abstract)))
        parts.extend(_sections(abstract, prefix="Abstract"))
    body = article.find("body")
    if body is not None:
        parts.append(("Body", _blocks_text(body)))
        parts.extend(_sections(body, prefix=""))
    return require_text(source, Document.from_sections(meta, parts, source))


def _authors(meta_el: ET.Element) -> tuple[str, ...]:
    names = []
    for contrib in meta_el.findall("contrib-group/contrib[@contrib-type='author']"):
        surname, given = text_of(contrib.find("name/surname")), text_of(contrib.find("name/given-names"))
        initials = "".join(part[0] for part in given.replace("-", " ").split() if part)
        if surname:
            names.append(f"{surname} {initials}".strip())
    return tuple(names)


def _blocks_text(element: ET.Element) -> str:
    """The paragraphs directly inside an element (not its sub-sections, tables or figures), blank-line separated."""
    return "\n\n".join(text_of(child) for child in element if child.tag in _BLOCKS and text_of(child))


def _sections(element: ET.Element, prefix: str) -> list[tuple[str, str]]:
    """Every <sec> below ``element`` in document order, titled by the path of its titles ("Methods > Stats").

    Walked with a stack, not recursion: sections may nest thousands deep. A path stops growing at _MAX_TITLE
    characters (deeper sections take their parent's title), so titles stay short however deep the nesting.
    """
    parts: list[tuple[str, str]] = []
    pending = [(sec, prefix) for sec in reversed(element.findall("sec"))]
    while pending:
        sec, parent = pending.pop()
        title = text_of(sec.find("title")) or "Section"
        path = f"{parent} > {title}" if parent else title
        path = path if len(path) <= _MAX_TITLE else parent or title[:_MAX_TITLE]
        text = _blocks_text(sec)
        if text:
            parts.append((path, text))
        pending.extend((child, path) for child in reversed(sec.findall("sec")))
    return parts
