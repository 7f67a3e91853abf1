"""Every crash the fuzz harness (bench/fuzz.py) found, as the smallest input that showed it, plus the hardening done
alongside: each one now loads, or is refused with an InputError naming the file, quickly."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from rag.answer.assemble import assemble
from rag.answer.ground import Grounder
from rag.answer.models import AnswerSection, Grounding, Reference
from rag.answer.parse import ParsedAnswer, parse_answer
from rag.config import VerificationSettings
from rag.contract import NO_GUIDELINE, Source, strip_citations
from rag.errors import InputError
from rag.loaders import LOADERS
from rag.loaders.base import LoadItem, LoadOptions
from rag.models import Document
from rag.testing import LexicalJudge
from rag.testing.fuzz.answers import make_source
from tests.loaders.test_files import make_pdf

DEEP = 3000
"""Nesting levels: deeper than Python's recursion limit."""
HUGE_NUMBER = "1" * 4301
"""One digit more than int() converts from text (sys.get_int_max_str_digits)."""


def load(fmt: str, raw: bytes | str, kind: str | None = None) -> list[LoadItem]:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return list(LOADERS[fmt](Path(f"fuzz/input.{fmt}"), data, LoadOptions(kind=kind)))  # type: ignore[arg-type]


def refused(fmt: str, raw: bytes | str, kind: str | None = None) -> str:
    """The reason a whole source is refused."""
    with pytest.raises(InputError) as caught:
        load(fmt, raw, kind)
    assert caught.value.source.startswith("fuzz/input")
    return caught.value.reason


def record_error(fmt: str, raw: str) -> str:
    """The reason the one record of a source is refused (the loader goes on with the others)."""
    (item,) = load(fmt, raw)
    assert isinstance(item, InputError), item
    return item.reason


# --- XML -------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["TF-8", "bogus", "hex", "UTF-7", "Shift_JIS", "idna"])
def test_xml_declaring_an_unreadable_encoding_is_refused(encoding: str) -> None:
    """Found: LookupError (unknown or non-text codec) and ValueError (multi-byte codec expat cannot use)."""
    raw = f'<?xml version="1.0" encoding="{encoding}"?>\n<PubmedArticleSet></PubmedArticleSet>'
    assert "encoding that cannot be read" in refused("pubmed-xml", raw)
    assert "encoding that cannot be read" in refused("jats", raw.replace("PubmedArticleSet", "article"))


@pytest.mark.parametrize(
    "subset",
    [
        '<!ENTITY a "lol">' + "".join(f'<!ENTITY {chr(98 + i)} "{f"&{chr(97 + i)};" * 10}">' for i in range(9)),
        '<!ENTITY big "' + "x" * 100_000 + '"><!ENTITY many "' + "&big;" * 30_000 + '">',
        '<!ENTITY ext SYSTEM "file:///etc/passwd">',
        '<!ENTITY % p "<!ENTITY inner \'text\'>"> %p;',
    ],
    ids=["billion-laughs", "quadratic-blowup", "external", "parameter"],
)
def test_xml_entity_declarations_are_refused_before_expansion(subset: str) -> None:
    raw = f"<!DOCTYPE PubmedArticleSet [{subset}]><PubmedArticleSet><PubmedArticle>&j;</PubmedArticle></PubmedArticleSet>"
    started = time.perf_counter()
    assert "declares the entity" in refused("pubmed-xml", raw)
    assert time.perf_counter() - started < 1.0


def test_efetch_doctype_without_entity_declarations_still_loads() -> None:
    raw = ('<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2019//EN" '
           '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_190101.dtd">\n<PubmedArticleSet><PubmedArticle>'
           "<MedlineCitation><PMID>12345</PMID><Article><ArticleTitle>A title &amp; more</ArticleTitle></Article>"
           "</MedlineCitation></PubmedArticle></PubmedArticleSet>")
    (doc,) = load("pubmed-xml", raw)
    assert isinstance(doc, Document) and doc.meta.title == "A title & more"


def test_jats_sections_nested_deeper_than_the_recursion_limit() -> None:
    """Found: RecursionError in the recursive walk of <sec> elements."""
    deep = "<sec><title>t</title><p>x</p>" * DEEP + "</sec>" * DEEP
    raw = ('<article><front><article-meta><article-id pub-id-type="pmid">1</article-id><title-group><article-title>'
           f"T</article-title></title-group></article-meta></front><body>{deep}<sec><title>End</title><p>y</p></sec>"
           "</body></article>")
    (doc,) = load("jats", raw)
    assert isinstance(doc, Document) and len(doc.sections) == DEEP + 1
    assert doc.sections[2].title == "t > t > t" and doc.sections[-1].title == "End"
    assert max(len(s.title) for s in doc.sections) <= 200


# --- JSON ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["jsonl", "scifact", "ngc"])
def test_json_lines_nested_deeper_than_the_recursion_limit(fmt: str) -> None:
    """Found: RecursionError from json.loads on '{"": [[[[...'."""
    line = '{"": ' + "[" * DEEP + "]" * DEEP + "}"
    assert "nested too deeply" in record_error(fmt, line)


def test_pubmedqa_nested_deeper_than_the_recursion_limit() -> None:
    assert "nested too deeply" in refused("pubmedqa", "[" * DEEP + "]" * DEEP)


def test_json_number_longer_than_int_converts() -> None:
    assert "not valid JSON" in record_error("jsonl", '{"id": "a", "year": ' + HUGE_NUMBER + "}")
    assert "not valid JSON" in refused("pubmedqa", '{"1": {"YEAR": ' + HUGE_NUMBER + "}}")


@pytest.mark.parametrize(
    ("fmt", "raw"),
    [
        ("jsonl", '{"id": "a", "kind": "study", "title": "T", "text": "te\\udc00xt"}'),
        ("scifact", '{"doc_id": 1, "title": "T", "abstract": ["\\ud800"]}'),
    ],
)
def test_json_lone_surrogate_escape_is_not_text(fmt: str, raw: str) -> None:
    """Found: a document whose text could not be encoded as UTF-8 (its content hash and the catalog failed)."""
    assert "lone surrogate" in record_error(fmt, raw)
    assert "lone surrogate" in refused("pubmedqa", '{"555": {"CONTEXTS": [], "LONG_ANSWER": "\\ud800"}}')


def test_json_surrogate_pair_is_text() -> None:
    (doc,) = load("jsonl", '{"id": "a", "kind": "study", "title": "T", "text": "smile \\ud83d\\ude00"}')
    assert isinstance(doc, Document) and doc.text == "smile \U0001f600"


def test_pubmedqa_record_without_text() -> None:
    """Found: a Document with no text and no sections (the other loaders refuse those)."""
    assert "no text to index" in record_error("pubmedqa", '{"555": {"CONTEXTS": []}}')


@pytest.mark.parametrize("year", [HUGE_NUMBER, "²"])
def test_pubmedqa_year_that_is_digits_but_not_an_int(year: str) -> None:
    """Found: ValueError from int() on a YEAR str.isdigit() accepts ('²', or more than 4300 digits)."""
    assert "field 'year'" in record_error("pubmedqa", f'{{"555": {{"CONTEXTS": ["Text."], "YEAR": "{year}"}}}}')


# --- PDF -------------------------------------------------------------------------------------------------------------

def test_pdf_encrypted_with_an_unknown_handler() -> None:
    """Found: NotImplementedError from pypdf ("only Standard PDF encryption handler is available")."""
    raw = make_pdf(["Some text."]).replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt << /Filter /Custom /V 1 >>")
    assert "cannot be read" in refused("pdf", raw, kind="study")


# --- Markdown front matter -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value",
    [HUGE_NUMBER, "2020-13-45", "2001-12-14 25:99:99", "!!int abc", "!!int ''", "!!float x", "!!bool maybe",
     "!!timestamp nope", "[" * DEEP + "]" * DEEP],
    ids=["4301-digits", "month-13", "hour-25", "int-abc", "int-empty", "float-x", "bool-maybe", "timestamp-nope",
         "deep-list"],
)
def test_front_matter_values_pyyaml_cannot_construct(value: str) -> None:
    """Found: ValueError (4301-digit int) escaping yaml.safe_load; its siblings raise IndexError, KeyError,
    AttributeError or RecursionError."""
    assert "YAML" in refused("markdown", f"---\nid: {value}\nkind: study\ntitle: T\n---\nBody.\n")


def test_front_matter_deeply_nested_flow_list_is_refused_quickly() -> None:
    """Found: the pure-Python YAML scanner takes time quadratic in flow nesting (5000 levels: over 2 s)."""
    started = time.perf_counter()
    assert "nesting depth" in refused("markdown", "---\nid: \nid: " + "[" * 5000 + "x" + "]" * 5000 + "\n---\n")
    assert time.perf_counter() - started < 1.0


def test_front_matter_alias_bomb_is_described_briefly() -> None:
    """Ten aliases of ten aliases, seven deep: 10**7 leaves. Describing the invalid value used to repr all of them
    (seconds at seven levels, unbounded memory at ten)."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)]
    raw = "---\nid: a\n" + "\n".join(lines) + "\nkind: *l9\ntitle: *l9\n---\nBody.\n"
    started = time.perf_counter()
    reason = refused("markdown", raw, kind="study")
    assert time.perf_counter() - started < 1.0
    assert "the source says kind [[[...]" in reason and len(reason) < 300
    reason = refused("markdown", raw.replace("kind: *l9", "kind: study"))
    assert "field 'title'" in reason and reason.endswith("and 1 more") and len(reason) < 800


# --- Answer parser and verification ----------------------------------------------------------------------------------

SOURCES = (make_source(1, "guideline", "No exosome product is approved by the FDA.", 0),
           make_source(2, "study", "In 50 patients PRP improved acne scars.", 100))


def test_citation_number_longer_than_int_converts() -> None:
    """Found: ValueError from int() on '[111...1]' (4301 digits) in the model's output."""
    parsed = parse_answer(f"```markdown\n[{HUGE_NUMBER}]\n```", SOURCES)
    assert HUGE_NUMBER not in str(parsed.sections) and parsed.dangling == []
    parsed = parse_answer(f"## From the Research\nPRP helped [2, {HUGE_NUMBER}] [1-{HUGE_NUMBER}].", SOURCES)
    assert parsed.sections["research"] == "PRP helped [2] [1]."


def verify(parsed: ParsedAnswer, sources: Sequence[Source]) -> tuple[list[AnswerSection], list[Reference], Grounding]:
    grounded = Grounder(LexicalJudge(), VerificationSettings()).ground(parsed.draft(), sources)
    assembled = assemble(grounded, sources, parsed.dangling)
    return assembled.sections, assembled.references, assembled.grounding


def test_removing_a_nested_citation_does_not_create_another() -> None:
    """'[9[7]]' lost its [7] and left '[9]', a citation of no source that verification then looked up."""
    parsed = parse_answer("## From the Research\nPRP improved scars [9[7]] and [2[8]] and [1[7]2].", SOURCES)
    assert parsed.sections["research"] == "PRP improved scars and [2] and."
    assert parsed.dangling == [7, 8, 9, 12]
    verify(parsed, SOURCES)  # no error: every number left is a source's
    assert strip_citations("Small [2[1]] trials [3].") == "Small  trials."


def test_citation_in_a_no_evidence_section_is_dropped() -> None:
    """Found: a "no evidence" section kept its original [2] while the references were renumbered from 1. A statement
    that evidence is missing rests on no source: its citations go."""
    only = (make_source(2, "guideline", "No exosome product is approved by the FDA.", 0),)
    sections, references, _ = verify(parse_answer("```markdown\nNo studies compared them; [2].\n```", only), only)
    assert references == []
    assert sections[0].text == "No studies compared them." and not sections[0].evidence_found

    raw = f"## From the Guidelines\n{NO_GUIDELINE} [2]\n## From the Research\nPRP improved acne scars [1]."
    sections, references, _ = verify(parse_answer(raw, SOURCES), SOURCES)
    assert sections[0].text == NO_GUIDELINE and sections[1].text == "PRP improved acne scars [1]."
    assert [r.doc_id for r in references] == ["doc2"], "[1] was a guideline: the study that supports it is cited"
