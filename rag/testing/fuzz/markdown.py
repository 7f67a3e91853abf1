"""Markdown files with YAML front matter: known and unknown fields, values of every YAML type and many YAML edge
cases (tags, anchors and alias bombs, tabs, huge numbers, impossible dates, deep nesting), broken fences, odd bodies."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from rag.loaders.base import LoadOptions
from rag.testing.fuzz.common import KIND_OPTIONS, huge_digits, nested, prose, text_to_bytes, words
from rag.testing.fuzz.contract import LoaderInput

FIELDS = (
    "id", "kind", "title", "organization", "journal", "year", "authors", "pmid", "pmcid", "doi", "url",
    "registration", "study_design", "evidence_level", "sample_size", "publication_types", "topics", "provenance",
)
ODD_KEYS = (
    "", "'id'", '"kind"', "? title", "!!str year", "&k id", "*k", "<<", "[a, b]", "{a: 1}", "1", "~", "true",
    "2020-01-01", "- id", "id id", "ID", "title\t", "tïtle", "text",
)
#: Scalars and small documents that exercise the YAML resolver and constructors.
YAML_VALUES = (
    "", "~", "null", "true", "no", "on", "0", "-0", "007", "0x1F", "0o17", "0b101", "1_000", "+12", "1e400",
    "-.inf", ".nan", "3.14", "12345", "2020", "1799", "2101", "2020-01-01", "2020-13-45", "2020-02-30",
    "2001-12-14t21:59:43.10-05:00", "2001-12-14 25:99:99", "12:30:45", "'single ''quoted'''", '"double \\"q\\""',
    '"\\x00\\t\\u00e9"', '"\\ud800"', '"\\udfff lone"', '"\\U0010ffff"', '"\\N\\_\\L\\P"', "study", "guideline",
    "Study", "rct", "meta-analysis", "10.1000/xyz", "10.1/ a b", "PMC123", "https://example.org/x", "http://",
    "a: b", "- item", "#comment", "@reserved", "`tick", "%pct", "|", ">", "!!str 12", "!!int abc", "!!int 0x",
    "!!int ''", "!!float x", "!!float 1e999", "!!bool maybe", "!!null x", "!!timestamp nope",
    "!!timestamp 2020-99-99", "!!binary '###'", "!!binary aGVsbG8=", "!!python/object:os.system x",
    "!!python/name:os.system ''", "!custom x", "!!set {a, b}", "!!omap [a: 1, a: 2]", "!!pairs [a: 1]",
    "!!omap [1]", "!!map [1]", "!!seq {a: 1}", "!!str [a]", "&anchor plain", "*undefined", "&a [*a]",
    "[a, b, [c, [d]]]", "[a, b", "{a: 1, b: [2]}", "{a: 1", "[Smith J, Doe A]", "{? [a, b]: c}", "[{}: 1]",
    "? complex", '"unterminated', "'unterminated", "a\tb", "--- ", "...", "<<: {a: 1}", "\n  - a\n  - b",
    "\n  - a\n\t- b", "\n  nested: map\n  deeper:\n    x: 1", "|\n  line one\n  line two", ">-\n  folded\n\n  text",
    "|\n\ttab", "\n- not indented", "[1, 2, 3, 4, 5]", "[2020, 2021]", "{year: 2020}", "!!str", "!!int",
)

#: At most this many leaves in an alias bomb: seconds to expand for a loader that expands it, not the machine's memory.
BOMB_LEAVES = 2 * 10**7


def alias_bomb(levels: int, width: int) -> tuple[list[str], str]:
    """Anchored lists each holding ``width`` aliases of the one before: ``width ** levels`` leaves when expanded."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return lines, f"*l{levels - 1}"


@cache
def yaml_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(YAML_VALUES),
        huge_digits(),
        nested("[", "]", "x"),
        nested("{a: ", "}", "1"),
        words(),
        prose(8).map(lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'),
        st.builds(lambda word, n: word * n, st.sampled_from(["x", "ab ", "é"]), st.sampled_from([200, 5000])),
    )


@cache
def field_lines() -> st.SearchStrategy[str]:
    key = st.one_of(st.sampled_from(FIELDS), st.sampled_from(ODD_KEYS), st.text(max_size=6))
    indent = st.sampled_from(["", "", "", " ", "\t", "  "])
    separator = st.sampled_from([": ", ": ", ":", ":\t", " : ", ":  "])
    return st.builds(lambda i, k, s, v: f"{i}{k}{s}{v}", indent, key, separator, yaml_values())


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    """The lines between the fences: often a valid core of id/kind/title, then arbitrary fields and YAML oddities."""
    lines: list[str] = []
    if draw(st.booleans()):
        lines += [f"id: {draw(st.sampled_from(['fuzz-doc', 'a', 'pmid:1', '-bad', 'x' * 130]))}",
                  f"kind: {draw(st.sampled_from(['study', 'guideline', 'Study', 'other']))}",
                  f"title: {draw(st.sampled_from(['A fuzzed trial', '', '{x}', 'Title: with colon']))}"]
    lines += draw(st.lists(field_lines(), max_size=6))
    if draw(st.integers(0, 9)) == 0:
        levels = draw(st.sampled_from([3, 7, 8, 10, 1]))
        width = draw(st.integers(2, min(10, int(BOMB_LEAVES ** (1 / levels)))))
        definitions, alias = alias_bomb(levels, width)
        target = draw(st.sampled_from(["title", "authors", "topics", "kind", "year", "extra"]))
        lines = definitions + lines + [f"{target}: {alias}"]
    order = draw(st.permutations(range(len(lines)))) if draw(st.booleans()) else range(len(lines))
    return "\n".join(lines[i] for i in order)


@cache
def body_blocks() -> st.SearchStrategy[str]:
    heading = st.builds(lambda marks, gap, title: f"{marks}{gap}{title}",
                        st.sampled_from(["#", "##", "###", "#######"]), st.sampled_from([" ", "\t", "", "  "]),
                        st.one_of(st.sampled_from(["Results", "", "##", " "]), words()))
    block = st.one_of(
        heading, prose(), st.sampled_from(["- item one", "1. first", "```\ncode\n```", "<!-- html -->", "---", "...",
                                           "| a | b |", "> quote", "", " ", "\t"]),
        st.builds(lambda text, n: text * n, prose(12), st.sampled_from([1, 50, 2000])),
    )
    return st.lists(block, max_size=10).map("\n\n".join)


@st.composite
def markdown_sources(draw: st.DrawFn) -> LoaderInput:
    """A Markdown file: optional BOM or leading text, fences intact or broken, then a body of headings and prose."""
    body = draw(body_blocks())
    if draw(st.integers(0, 4)) == 0:
        text = body
    else:
        opening = draw(st.sampled_from(["---", "---", "--- ", "---\t", "----", "--- # c", "---x"]))
        closing = draw(st.sampled_from(["---", "---", "...", "--- ", "----", "---\t", "--- x", None]))
        fence = f"\n{closing}\n" if closing is not None else "\n"
        text = f"{opening}\n{draw(front_matter())}{fence}{body}"
    text = draw(st.sampled_from(["", "", "", "\ufeff", "\n", " "])) + text
    kind = draw(st.sampled_from(KIND_OPTIONS))
    name = draw(st.sampled_from(["note.md", "My Notes.md", "é.markdown", "README.md", "-.md", ".md"]))
    return LoaderInput(draw(text_to_bytes(text)), name, LoadOptions(kind=kind))
