"""JSON sources: generic JSONL documents, the SciFact, guideline-summary (NGC) and PubMedQA adapters. Objects are
written member by member so that values can be raw JSON the standard library chokes on: numbers too long to convert,
nesting deeper than the recursion limit, lone surrogate escapes, NaN; lines are truncated or not JSON at all."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from hypothesis import strategies as st

from rag.loaders.base import LoadOptions
from rag.testing.fuzz.common import KIND_OPTIONS, huge_digits, nested, prose, rarely, text_to_bytes
from rag.testing.fuzz.contract import LoaderInput

RAW_VALUES = (
    '"\\ud800"', '"x\\udc00y"', "NaN", "-Infinity", "1e999", "-0", '"\\u0000"', "1.0", "true", "null", '""', "[]",
    "{}", '"' + "x" * 5000 + '"', "0.1e-400", '"\\u202e"',
)
JUNK_LINES = ("null", "[]", '"str"', "1", "", "   ", "{", '{"a": 1,}', "{'a': 1}", "// comment", "}{", "\x00")


@cache
def json_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))


@cache
def any_json() -> st.SearchStrategy[str]:
    """JSON text of any value, or raw JSON that is valid but awkward to load."""
    values = st.recursive(json_scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=8)
    return st.one_of(
        values.map(lambda v: json.dumps(v, allow_nan=True)), st.sampled_from(RAW_VALUES), huge_digits(),
        nested("[", "]", "1"), nested('{"a": ', "}", "1"),
    )


@st.composite
def field(draw: st.DrawFn, *good: Any) -> str:
    """A member's value: usually one of the plausible values given, else any JSON at all."""
    if rarely(draw, 4):
        return draw(any_json())
    return json.dumps(draw(st.sampled_from(good)), ensure_ascii=False)


@cache
def texts() -> st.SearchStrategy[str]:
    return st.one_of(prose(), st.builds(lambda text, n: text * n, prose(10), st.sampled_from([1, 100, 3000])))


@st.composite
def json_object(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[str]], core: tuple[str, ...] = ()) -> str:
    """An object with some of ``fields`` (half the time all the ``core`` ones) in any order, sometimes an unknown
    member, written member by member."""
    names = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields)))
    if draw(st.booleans()):
        names = [*core, *(name for name in names if name not in core)]
    members = [(json.dumps(name), draw(fields[name])) for name in names]
    members += [(json.dumps(name), draw(any_json())) for name in draw(st.lists(st.text(max_size=6), max_size=2))]
    separator = draw(st.sampled_from([", ", ",", ",\t"]))
    return "{" + separator.join(f"{name}: {value}" for name, value in members) + "}"


@cache
def sections() -> st.SearchStrategy[str]:
    section = json_object({"title": field("Methods", "", None, ["a"], {"x": 1}), "text": texts().map(json.dumps)})
    return st.one_of(st.lists(st.one_of(section, any_json()), max_size=4).map(lambda s: "[" + ", ".join(s) + "]"),
                     any_json())


def generic_fields() -> dict[str, st.SearchStrategy[str]]:
    return {
        "id": field("doc-1", "a", "pmid:1", "-bad", "", "x" * 200, "é"),
        "kind": field("study", "guideline", "Study", ""),
        "title": st.one_of(texts().map(json.dumps), any_json()),
        "text": st.one_of(texts().map(json.dumps), any_json()),
        "sections": sections(),
        "year": field(2020, 1799, 2101, "2020", 2020.5),
        "authors": field(["Smith J"], [], "Smith J", [None]),
        "pmid": field(123, "123", "0123456789", -1),
        "doi": field("10.1000/xyz", "10.1/ a"),
        "url": field("https://example.org/x", "ftp://x"),
        "study_design": field("rct", "RCT", "guideline"),
        "evidence_level": field(1, 5, 6, 0),
        "sample_size": field(0, -1, 10**20),
        "topics": field(["acne"], [["nested"]]),
    }


@st.composite
def jsonl_line(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[str]], core: tuple[str, ...]) -> str:
    """One line of a JSONL file: mostly an object; else a truncated one, a blank line or a line that is no object."""
    roll = draw(st.integers(0, 9))
    if roll < 7:
        return draw(json_object(fields, core))
    if roll < 9:
        return draw(json_object(fields, core))[:draw(st.integers(0, 200))]
    return draw(st.sampled_from(JUNK_LINES))


@st.composite
def jsonl_sources(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[str]], core: tuple[str, ...],
                  name: str) -> LoaderInput:
    text = "\n".join(draw(st.lists(jsonl_line(fields, core), max_size=5)))
    return LoaderInput(draw(text_to_bytes(text)), name, LoadOptions(kind=draw(st.sampled_from(KIND_OPTIONS))))


def generic_sources() -> st.SearchStrategy[LoaderInput]:
    return jsonl_sources(generic_fields(), ("id", "kind", "title", "text"), "docs.jsonl")


def scifact_sources() -> st.SearchStrategy[LoaderInput]:
    fields = {
        "doc_id": st.one_of(st.integers(-1, 10**30).map(str), huge_digits(), st.sampled_from(["true", "1.5", '"1"'])),
        "title": field("A study", "", None, ["t"]),
        "abstract": st.one_of(st.lists(texts().map(json.dumps), max_size=4).map(lambda s: "[" + ", ".join(s) + "]"),
                              any_json()),
    }
    return jsonl_sources(fields, ("doc_id", "title", "abstract"), "corpus.jsonl")


NGC_SECTIONS = ("major_recommendations", "target_population", "potential_harms", "contraindications")


def ngc_sources() -> st.SearchStrategy[LoaderInput]:
    fields = {
        "ngc_id": st.one_of(field(5, "5", "", "a b"), huge_digits()),
        "title": field("Screening for X", "", None),
        "date_released": field("2013 Jan (revised 2015)", "", "revised", "1998 (revised 2001 Jan; revised 2005)"),
        "developers": field("Task Force - US", "", " - ", None),
    }
    sections = st.one_of(texts().map(json.dumps), field("None", "None provided", " "))
    fields.update(dict.fromkeys(NGC_SECTIONS, sections))
    return jsonl_sources(fields, ("ngc_id", "title", "major_recommendations"), "ngc.jsonl")


@st.composite
def pubmedqa_sources(draw: st.DrawFn) -> LoaderInput:
    """A PubMedQA file: one object keyed by PMID, records with CONTEXTS, LABELS, YEAR and LONG_ANSWER."""
    record_fields = {
        "QUESTION": field("Does X help?"),
        "CONTEXTS": st.one_of(st.lists(texts().map(json.dumps), max_size=4).map(lambda s: "[" + ", ".join(s) + "]"),
                              any_json()),
        "LABELS": field(["BACKGROUND", "RESULTS"], [], ["ǆ"], [None]),
        "YEAR": st.one_of(field("2001", "²", "２００１", "", 2001, "0"), huge_digits().map(json.dumps)),
        "LONG_ANSWER": st.one_of(texts().map(json.dumps), any_json()),
    }
    keys = st.one_of(st.sampled_from(["555", "", "abc", "١٢", "-1", "1" * 20]), st.text(max_size=6))
    record = json_object(record_fields, ("CONTEXTS", "YEAR"))
    records = draw(st.lists(st.tuples(keys, record), max_size=3))
    text = "{" + ", ".join(f"{json.dumps(key)}: {value if not rarely(draw, 8) else draw(any_json())}"
                           for key, value in records) + "}"
    text = draw(any_json()) if rarely(draw, 10) else text
    return LoaderInput(draw(text_to_bytes(text)), "pqa.json", LoadOptions(kind=draw(st.sampled_from(KIND_OPTIONS))))
