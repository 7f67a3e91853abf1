"""The linear-time rewrites of quadratic patterns give what the old patterns gave, on random text made of the
characters those patterns care about (the old patterns are kept here as the reference; inputs stay short so that
they run fast)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answer import parse, styles
from rag.appraisal import counts, question
from rag.loaders import markdown
from rag.text import sentences
from rag.text.spacing import collapse_whitespace

OLD_H2 = re.compile(r"^##[ \t]+(.+?)[ \t#]*$", re.M)
OLD_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)
OLD_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.?$")
OLD_DANGLING = re.compile(r"\s*[,;:]+\s*([.!?])$")
OLD_CHOICE = re.compile(r"\bor\b[^?]{0,80}\b(?:better|best|preferable|preferred|superior|first)\b(?![^?]{0,40}\bthan\b)",
                        re.IGNORECASE)
OLD_SPACED_CITATION = re.compile(r"\s*\[\d+\]")
OLD_NAME = r"[A-Z][A-Za-z'’\-]{1,40}"
OLD_ETAL = r"(?:\s+et\s+al\.?|\s+and\s+colleagues|\s+and\s+co-?workers|\s+(?:and|&)\s+" + OLD_NAME + r")?"
OLD_YEAR = r"(?:19|20)\d\d[a-z]?"
OLD_STYLES = {
    "_PAREN_AUTHOR_YEAR": re.compile(r"\s?\(((?:" + OLD_NAME + OLD_ETAL + r",?\s+" + OLD_YEAR
                                     + r"(?:\s*[;,]\s*)?){1,6})\)"),
    "_NARRATIVE_AUTHOR_YEAR": re.compile(r"(" + OLD_NAME + OLD_ETAL + r")\s+\((" + OLD_YEAR + r")\)"),
    "_ONE_AUTHOR_YEAR": re.compile(r"(" + OLD_NAME + r")" + OLD_ETAL + r",?\s+(" + OLD_YEAR + r")"),
}
OLD_DIGITS = r"(?P<digits>\d{1,3}(?:,\d{3})+|\d{1,8})(?![\w/^%-]|[.,]\d)"


def old_title(match: re.Match[str]) -> str:
    return match.group(1)


def old_is_abbreviation(sentence: str) -> bool:
    if not sentence.endswith("."):
        return False
    match = OLD_WORD_BEFORE.search(sentence[:-1])
    if match is None:
        return False
    word = match.group(1).lower().rstrip(".")
    return word in sentences._ABBREVIATIONS or (len(word) == 1 and word.isalpha())


lines = st.text(alphabet=st.sampled_from(list("## \tab.\n")), max_size=40)
words = st.text(alphabet=st.sampled_from(list("aZe.g. vs1,;:!?\t")), max_size=30)
prose = st.text(alphabet=st.sampled_from(list("SmithKang etal.()&, 2019 20a;-'’")), max_size=60)
numbers = st.text(alphabet=st.sampled_from(list("1,23 patients were randomized x.-")), max_size=50)
choices = st.lists(st.sampled_from(["or", " ", "better", "than", "?", "x", "first", "best", "a" * 30]),
                   max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=lines)
def test_markdown_headings(text: str) -> None:
    for old, new in ((OLD_H2, markdown._H2), (OLD_H1, markdown._H1)):
        assert [(m.start(), m.end(), old_title(m)) for m in old.finditer(text)] == \
               [(m.start(), m.end(), markdown._title(m)) for m in new.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(text=words)
def test_abbreviations(text: str) -> None:
    for stop in range(1, len(text) + 1):
        for start in range(stop):
            assert sentences._is_abbreviation(text, start, stop) == old_is_abbreviation(text[start:stop])


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("a ,;:.!?\t")), max_size=20))
def test_dangling_punctuation(text: str) -> None:
    assert sentences._without_dangling_punctuation(text) == OLD_DANGLING.sub(r"\1", text)


@settings(max_examples=400, deadline=None)
@given(text=choices)
def test_choice_questions(text: str) -> None:
    assert question._offers_choice(text) == bool(OLD_CHOICE.search(text))


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("a [1]2\t\n")), max_size=30))
def test_spaced_citations(text: str) -> None:
    from rag.contract import _SPACED_CITATION

    assert _SPACED_CITATION.sub("", text) == OLD_SPACED_CITATION.sub("", text)


@settings(max_examples=300, deadline=None)
@given(text=prose)
def test_author_year_styles(text: str) -> None:
    for name, old in OLD_STYLES.items():
        new = getattr(styles, name)
        assert [m.groups() for m in new.finditer(text)] == [m.groups() for m in old.finditer(text) if
                                                            not re.match(r"[A-Za-z'’]", text[max(0, m.start() - 1):
                                                                                              m.start()] or "")]


@settings(max_examples=300, deadline=None)
@given(text=numbers)
def test_counts_of_people(text: str) -> None:
    old = re.compile(OLD_DIGITS + counts._COUNT_TAIL, re.IGNORECASE)
    kept = [m.group(0) for m in old.finditer(text) if counts._clean_start(text, m)]
    assert [m.group(0) for m in counts._COUNTS[0].finditer(text) if counts._clean_start(text, m)] == kept


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from([*" \t#*_:", "Guidelines", "Research", "and", "x"]),
                     max_size=12).map("".join))
def test_answer_headings(text: str) -> None:
    old = re.compile(r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*(?P<name>"
                     + "|".join(f"(?P<{k}>{v})" for k, v in parse._HEADINGS.items())
                     + r")\s*(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?(?P<rest>(?:\s.*)?)$", re.IGNORECASE)
    found, expected = parse._HEADING_LINE.match(text), old.match(text)
    assert (found and found.groupdict()) == (expected and expected.groupdict())


def test_whitespace_is_collapsed_and_spans_stay_exact() -> None:
    assert collapse_whitespace("a  b\t\tc   \nd\r\n\n\n\ne \n") == "a b c\nd\n\ne\n"
    assert collapse_whitespace("keep one\tblank and one\n\nblank line") == "keep one\tblank and one\n\nblank line"
