"""PubMed (efetch PubmedArticleSet) and PMC JATS documents: every element optional, missing, repeated or deeply
nested; entities declared and referenced, including billion-laughs, quadratic blow-up and external entities.

Most documents are well-formed and about half carry a valid identifier and title, so that the loaders' code behind
the XML parser and the metadata checks is reached; a minority are broken on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape, quoteattr

from hypothesis import strategies as st

from rag.loaders.base import LoadOptions
from rag.testing.fuzz.common import KIND_OPTIONS, nested, prose, rarely, text_to_bytes, words
from rag.testing.fuzz.contract import LoaderInput

MARKUP = (
    "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#65;", "&#x3b1;", "&#x1F600;", "<i>italic</i>", "<sup>2</sup>",
    "<!-- comment -->", "<![CDATA[ cdata & <raw> ]]>", "<?pi data?>", "<br/>", "<x:y xmlns:x='urn:x'>ns</x:y>",
    "<sec><title>inline</title></sec>", "\t", "\n\n",
)
BROKEN_MARKUP = (
    "&#0;", "&#x110000;", "&#xD800;", "&#99999999999;", "&nbsp;", "&undefined;", "&", "&amp", "&#;", "<b>", "</b>",
    "]]>", "<", "\x00", "\x0c", "\ufffe", "<p a='1' a='2'>dup</p>", "<1tag>", "<undeclared:tag>p</undeclared:tag>",
    "<![CDATA[ unterminated", "<!-- a -- b -->",
)
DECLARATIONS = ("", '<?xml version="1.0"?>\n', '<?xml version="1.0" encoding="UTF-8"?>\n')
ODD_DECLARATIONS = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\n', '<?xml version="1.0" encoding="UTF-16"?>\n',
    '<?xml version="1.0" encoding="bogus"?>\n', '<?xml version="2.0"?>\n', ' <?xml version="1.0"?>', "<?xml?>",
    '<?xml version="1.0" encoding="UTF-7"?>', '<?xml version="1.0" encoding="hex"?>', "<?xml encoding='idna'?>",
    '<?xml version="1.0" encoding="Shift_JIS"?>', '<?xml version="1.0" encoding="cp1252"?>',
    '<?xml version="1.0" encoding="punycode"?>', '<?xml version="1.0" standalone="maybe"?>',
)
YEARS = ("2020", "1799", "2101", "20٢٠", "Winter 2019", "1998 Dec-1999 Jan", "", "99999", "0", "2020-2021")
COUNTS = st.sampled_from([1, 0, 2, 3])


@dataclass(frozen=True)
class Style:
    """What a document's text may hold: a reference to the entity its DOCTYPE declares, and broken markup."""

    entity: str | None
    broken: bool


def el(tag: str, content: str = "", attrs: dict[str, str] | None = None) -> str:
    """An element with escaped attribute values around ``content`` (which is inserted as it is)."""
    attributes = "".join(f" {name}={quoteattr(value)}" for name, value in (attrs or {}).items())
    return f"<{tag}{attributes}>{content}</{tag}>"


_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_escape(text: str) -> str:
    """``text`` as element content: markup characters escaped, characters XML does not allow dropped."""
    return escape(_NOT_XML_CHARS.sub("", text))


@cache
def xml_text(style: Style) -> st.SearchStrategy[str]:
    """Element content: escaped prose, character references and inline markup, very deep inline nesting."""
    pieces = [prose(12).map(xml_escape), words().map(xml_escape), st.sampled_from(MARKUP),
              nested("<i>", "</i>", "deep")]
    if style.entity is not None:
        pieces.append(st.just(f"&{style.entity};"))
    if style.broken:
        pieces += [st.sampled_from(BROKEN_MARKUP), words()]
    return st.lists(st.one_of(pieces), min_size=1, max_size=4).map("".join)


def _subset(root: str, declarations: str, entity: str | None) -> tuple[str, str | None]:
    return f"<!DOCTYPE {root} [\n{declarations}\n]>\n", entity


def _laughs(root: str, levels: int, width: int) -> tuple[str, str | None]:
    lines = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * width}">' for i in range(1, levels + 1)]
    return _subset(root, "\n".join(lines), f"lol{levels}")


def _quadratic(root: str, size: int, copies: int) -> tuple[str, str | None]:
    return _subset(root, f'<!ENTITY big "{"x" * size}">\n<!ENTITY many "{"&big;" * copies}">', "many")


def _other_subsets(root: str) -> list[tuple[str, str | None]]:
    return [
        _subset(root, '<!ENTITY ext SYSTEM "file:///etc/passwd">', "ext"),
        _subset(root, '<!ENTITY ext SYSTEM "http://127.0.0.1:9/x">', "ext"),
        _subset(root, '<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;', None),
        _subset(root, '<!ENTITY % p "<!ENTITY inner \'text\'>"> %p;', "inner"),
        _subset(root, '<!ENTITY nbsp "&#160;">', "nbsp"),
        _subset(root, '<!ENTITY a "&b;"><!ENTITY b "&a;">', "a"),
        _subset(root, '<!ENTITY u SYSTEM "x.gif" NDATA gif><!NOTATION gif SYSTEM "image/gif">', "u"),
        _subset(root, '<!ATTLIST AbstractText Label CDATA "Defaulted">', None),
        _subset(root, '<!ELEMENT a (#PCDATA)>', None),
        _subset(root, "<!ELEMENT", None),
    ]


@st.composite
def doctypes(draw: st.DrawFn, root: str) -> tuple[str, str | None]:
    """Usually no DOCTYPE or efetch's PUBLIC one; else an internal subset declaring entities (the text may reference
    the entity whose name comes second): billion laughs, quadratic blow-up, external and parameter entities."""
    roll = draw(st.integers(0, 19))
    if roll < 16:
        public = f'<!DOCTYPE {root} PUBLIC "-//NLM//DTD PubMedArticle//EN" "https://x.invalid/a.dtd">\n'
        return draw(st.sampled_from(["", public])), None
    if roll == 16:
        return _laughs(root, draw(st.integers(1, 12)), draw(st.integers(2, 10)))
    if roll == 17:
        return _quadratic(root, draw(st.sampled_from([10, 1000, 100_000])), draw(st.sampled_from([10, 1000, 30_000])))
    return draw(st.sampled_from(_other_subsets(root)))


Content = Callable[[Style], st.SearchStrategy[str]]


@st.composite
def xml_sources(draw: st.DrawFn, root: str, content: Content, name: str) -> LoaderInput:
    """A document: a declaration, a DOCTYPE, the root element and its content, sometimes with the wrong root, no end
    tag, an odd declared encoding or broken markup."""
    doctype, entity = draw(doctypes(root))
    style = Style(entity, broken=rarely(draw))
    declaration = draw(st.sampled_from(ODD_DECLARATIONS if rarely(draw) else DECLARATIONS))
    opening = draw(st.sampled_from([f'{root} xmlns="urn:x"', root.lower(), "Other"])) if rarely(draw, 10) else root
    closing = draw(st.sampled_from(["", "</wrong>"])) if rarely(draw, 10) else f"</{opening.split()[0]}>"
    text = f"{declaration}{doctype}<{opening}>{draw(content(style))}{closing}"
    raw = text.encode("utf-16") if "UTF-16" in declaration and draw(st.booleans()) else draw(text_to_bytes(text))
    return LoaderInput(raw, name, LoadOptions(kind=draw(st.sampled_from(KIND_OPTIONS))))


PMIDS = ("", " 987 ", "0", "1234567890", "abc", "١٢٣", "12345<i>6</i>", "1" * 20)
PUBLICATION_TYPES = (
    "Randomized Controlled Trial", "Practice Guideline", "Guideline", "Review", "Journal Article", "Meta-Analysis",
    "Case Reports", "Consensus Development Conference", "", " review ",
)
ARTICLE_ID_TYPES = ("doi", "pmc", "pubmed", "pii", "", "DOI")
ARTICLE_IDS = ("10.1000/xyz", "10.1/ a b", "PMC123", "123", "", "PMC", "PMCabc", "10.1000/" + "x" * 300)
LABELS = ("BACKGROUND", "", "  ", "résumé", 'a"b', "METHODS", "ǆ")


@st.composite
def pubmed_articles(draw: st.DrawFn, style: Style) -> str:
    """The content of a PubmedArticleSet: articles whose every element may be missing, repeated or odd; about half
    have a valid PMID and a title."""
    def text() -> str:
        return draw(xml_text(style))

    def some(make: Callable[[], str]) -> str:
        return "".join(make() for _ in range(draw(COUNTS)))

    def year() -> str:
        return el(draw(st.sampled_from(["Year", "MedlineDate"])), draw(st.sampled_from(YEARS)))

    def abstract_text() -> str:
        attrs = draw(st.dictionaries(st.sampled_from(["Label", "NlmCategory"]), st.sampled_from(LABELS), max_size=2))
        return el("AbstractText", text(), attrs)

    def author() -> str:
        parts = draw(st.lists(st.sampled_from(["LastName", "Initials", "CollectiveName"]), max_size=3))
        return el("Author", "".join(el(part, text()) for part in parts))

    def article_id() -> str:
        return el("ArticleId", draw(st.sampled_from(ARTICLE_IDS)), {"IdType": draw(st.sampled_from(ARTICLE_ID_TYPES))})

    parts: dict[str, Callable[[], str]] = {
        "title": lambda: el("ArticleTitle", text()), "vernacular": lambda: el("VernacularTitle", text()),
        "journal": lambda: el("Journal", el("Title", text()) + el("JournalIssue", el("PubDate", year()))),
        "abstract": lambda: el("Abstract", some(abstract_text)),
        "authors": lambda: el("AuthorList", some(author)),
        "types": lambda: el("PublicationTypeList", some(
            lambda: el("PublicationType", draw(st.sampled_from(PUBLICATION_TYPES))))),
        "elocation": lambda: el("ELocationID", draw(st.sampled_from(ARTICLE_IDS)), {"EIdType": "doi"}),
        "date": lambda: el("ArticleDate", el("Year", draw(st.sampled_from(YEARS)))),
    }

    def article() -> str:
        if draw(st.booleans()):
            pmid = el("PMID", str(draw(st.integers(1, 99_999_999))))
            body = el("ArticleTitle", draw(prose(8).map(xml_escape))) + "".join(
                parts[p]() for p in draw(st.lists(st.sampled_from(["abstract", "journal", "types", "authors"]))))
            return el("PubmedArticle", el("MedlineCitation", pmid + el("Article", body)))
        chosen = draw(st.lists(st.sampled_from(sorted(parts)), max_size=len(parts)))
        pmid = el("PMID", draw(st.one_of(st.sampled_from(PMIDS), st.integers(0, 10**12).map(str))))
        citation = some(lambda: pmid) + some(lambda: el("Article", "".join(parts[p]() for p in chosen)))
        data = el("PubmedData", el("ArticleIdList", some(article_id)))
        return el("PubmedArticle", some(lambda: el("MedlineCitation", citation)) + some(lambda: data))

    return "".join(article() for _ in range(draw(st.sampled_from([1, 2, 0, 5]))))


JATS_ID_TYPES = ("pmid", "pmc", "pmcid", "doi", "publisher-id", "")
JATS_IDS = ("333", "PMC444", "444", "10.2/j", "", "abc", "PMC", "10.2/ j")
GIVEN_NAMES = ("Ann Marie", "", "-", " - ", "J.-P.", "é", "--")
BLOCKS = ("p", "p", "list", "disp-quote", "boxed-text", "def-list", "table-wrap", "fig", "title")


@st.composite
def jats_articles(draw: st.DrawFn, style: Style, article_set: bool) -> str:
    """The content of an <article> (or of a pmc-articleset: articles), every part optional, sections nested deep;
    about half have a valid PMID and a title."""
    def text() -> str:
        return draw(xml_text(style))

    def some(make: Callable[[], str]) -> str:
        return "".join(make() for _ in range(draw(COUNTS)))

    def blocks() -> str:
        return some(lambda: el(draw(st.sampled_from(BLOCKS)), text()))

    def section(depth: int) -> str:
        inner = el("title", text()) + blocks()
        return el("sec", inner + (some(lambda: section(depth - 1)) if depth > 0 else ""))

    def sections() -> str:
        if rarely(draw):
            return draw(nested("<sec><title>t</title><p>x</p>", "</sec>"))
        return some(lambda: section(draw(st.integers(0, 2))))

    def contributor() -> str:
        name = el("name", el("surname", text()) + el("given-names", draw(st.sampled_from(GIVEN_NAMES))))
        return el("contrib", name, {"contrib-type": draw(st.sampled_from(["author", "editor", ""]))})

    def article_meta() -> str:
        if draw(st.booleans()):
            core = el("article-id", str(draw(st.integers(1, 99_999_999))), {"pub-id-type": "pmid"})
            return el("article-meta", core + el("title-group", el("article-title", draw(prose(8).map(xml_escape))))
                      + some(lambda: el("abstract", blocks() + sections())))
        ids = some(lambda: el("article-id", draw(st.sampled_from(JATS_IDS)),
                              {"pub-id-type": draw(st.sampled_from(JATS_ID_TYPES))}))
        dates = some(lambda: el("pub-date", el("year", draw(st.sampled_from(YEARS)))))
        parts = (ids, el("title-group", el("article-title", text())), el("contrib-group", some(contributor)), dates,
                 some(lambda: el("abstract", blocks() + sections())))
        return el("article-meta", "".join(p for p in parts if not rarely(draw, 6)))

    def article_content() -> str:
        journal = el("journal-meta", el(draw(st.sampled_from(["journal-title", "journal-title-group"])),
                                        el("journal-title", text())))
        front = el("front", journal + (article_meta() if not rarely(draw, 10) else some(article_meta)))
        return front + (el("body", blocks() + sections()) if not rarely(draw, 10) else some(
            lambda: el("body", blocks() + sections())))

    return some(lambda: el("article", article_content())) if article_set else article_content()


def pubmed_sources() -> st.SearchStrategy[LoaderInput]:
    return xml_sources("PubmedArticleSet", pubmed_articles, "pubmed.xml")


def jats_sources() -> st.SearchStrategy[LoaderInput]:
    return st.one_of(xml_sources("article", lambda style: jats_articles(style, False), "paper.nxml"),
                     xml_sources("pmc-articleset", lambda style: jats_articles(style, True), "set.xml"))
