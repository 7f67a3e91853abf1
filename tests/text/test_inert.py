"""Inert Markdown: no image, raw HTML or link survives, whatever the text and however a stream splits it; ordinary
text (headings, emphasis, citations, p < 0.05) renders as before."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from rag.text.inert import InertStream, inert_markdown, plain_url

COMMONMARK = MarkdownIt("commonmark")
FORBIDDEN = {"image", "link_open", "html_inline", "html_block"}
HOSTILE = ('See ![leak](https://evil.example/leak.png?q=PRP) and <img src=x onerror="alert(1)"> and '
           '[click](javascript:alert(1)) and [ref][1] and <https://evil.example> and <!-- c -->\n\n'
           '[1]: https://evil.example/def\n\\<img src=y>')


def tokens(markdown: str) -> set[str]:
    found: set[str] = set()
    for token in COMMONMARK.parse(markdown):
        found.add(token.type)
        found.update(child.type for child in token.children or [])
    return found


def test_hostile_constructs_become_text() -> None:
    assert tokens(HOSTILE) & FORBIDDEN, "the fixture holds every construct"
    safe = inert_markdown(HOSTILE)
    assert not tokens(safe) & FORBIDDEN
    rendered = COMMONMARK.render(safe)
    assert "<img" not in rendered and "<a " not in rendered and "&lt;img src=x" in rendered


def test_ordinary_markdown_is_unchanged() -> None:
    page = "# Q?\n\n## From the Research\n\n*Certainty: low*\n\nPRP helped [1][2] (p < 0.05; n = 20).\n\n> “A quote”"
    assert inert_markdown(page) == page


markdownish = st.lists(st.sampled_from([*"![]()<>:/\\ \n\"'`*#-=ahimgsrcjpt.1", "http://x.y", "img"]),
                       max_size=60).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=markdownish)
def test_no_image_html_or_link_renders_from_any_text(text: str) -> None:
    assert not tokens(inert_markdown(text)) & FORBIDDEN


@settings(max_examples=500, deadline=None)
@given(text=markdownish, cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=6))
def test_a_stream_escapes_as_the_whole_text_does(text: str, cuts: list[int]) -> None:
    stream = InertStream()
    bounds = [0, *sorted(c for c in cuts if c <= len(text)), len(text)]
    pieces = [stream.feed(text[a:b]) for a, b in itertools.pairwise(bounds)]
    assert "".join(pieces) + stream.flush() == inert_markdown(text)


def test_plain_urls_are_http_only() -> None:
    assert plain_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", "https://x.org/a b", "https://x.org/<img>", None, ""):
        assert plain_url(bad) is None


def test_a_run_of_characters_that_depend_on_the_next_waits_whole() -> None:
    stream = InertStream()
    assert stream.feed("a <!") == "a " and stream.feed("-- x") == "\\<!-- x" and stream.flush() == ""
