"""Answer text comes from documents: markup in it stays text, and only http(s) links are made.

The server's stream is replaced here by a crafted one (page.route), so the client sees hostile content in every
field, including a PMID, which the starter corpus lacks.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page, Route, expect

HOSTILE = '<img src=x onerror="window.pwned=1">'
REFERENCE = {
    "n": 1, "kind": "guideline", "doc_id": "d", "chunk_id": "d#1", "title": "<b>Bold</b> title", "source": "Org",
    "year": 2024, "pmid": "12345678", "doi": "10.1000/a<b>#c", "url": "javascript:window.pwned=3",
    "quote": f"Quoted {HOSTILE} sentence.", "span": [0, 10],
}
ANSWER: dict[str, Any] = {
    "question": f"Is {HOSTILE} safe?", "audience": "clinician", "conversation_id": "c1", "standalone_question": None,
    "sections": [
        {"kind": "guidelines", "title": "From the Guidelines", "text": f"A guideline says {HOSTILE} [1]. Gone [7].",
         "evidence_found": True},
        {"kind": "research", "title": "From the Research", "evidence_found": False,
         "text": "There are no direct studies in the sources that address this question."},
    ],
    "limitations": "<script>window.pwned=2</script>", "references": [REFERENCE],
    "grounding": {"dangling": [7], "misrouted": [], "unsupported_sentences": [], "uncited_sentences": [],
                  "verified": False},
    "backend": "extractive", "notices": ["<i>note</i>"], "disclaimer": "Not advice.", "timings_ms": {},
}


def event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def hostile_stream(route: Route) -> None:
    body = (event("sources", [{**REFERENCE, "text": HOSTILE}])
            + event("delta", {"text": f"## From the Guidelines\n{HOSTILE} [1]\n"})
            + event("answer", ANSWER))
    route.fulfill(status=200, content_type="text/event-stream", body=body)


def test_markup_in_answers_stays_text_and_only_http_links_are_made(page: Page, server: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.route("**/v1/answers", hostile_stream)
    page.goto(server)
    page.locator("#question").fill(ANSWER["question"])
    page.get_by_role("button", name="Ask", exact=True).click()
    turn = page.locator("article.turn")
    expect(turn.get_by_role("heading", level=2)).to_have_text(f"Is {HOSTILE} safe?")
    expect(turn).to_contain_text(f"A guideline says {HOSTILE} [1]. Gone [7].")
    expect(turn).to_contain_text("<script>window.pwned=2</script>")
    expect(turn).to_contain_text("<i>note</i>")
    assert turn.locator("img, script, b, i").count() == 0
    assert page.evaluate("window.pwned") is None
    expect(turn.get_by_role("button", name=re.compile(r"^Source \d+$"))).to_have_count(1)  # [7] resolves to nothing
    expect(turn.locator(".unverified")).to_have_text("Check with care: 1 invented citation(s) removed.")

    turn.get_by_role("button", name="Source 1").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("blockquote")).to_have_text(f"“Quoted {HOSTILE} sentence.”")
    expect(dialog.get_by_role("link", name="PMID 12345678")).to_have_attribute(
        "href", "https://pubmed.ncbi.nlm.nih.gov/12345678/")
    expect(dialog.get_by_role("link", name="DOI 10.1000/a<b>#c")).to_have_attribute(
        "href", "https://doi.org/10.1000/a%3Cb%3E%23c")
    expect(dialog).to_contain_text("Source web page")
    expect(dialog.get_by_role("link", name=re.compile("Source web page"))).to_have_count(0)  # javascript: is no link
    page.keyboard.press("Escape")

    turn.get_by_role("button", name="Copy as Markdown").click()
    markdown = page.evaluate("navigator.clipboard.readText()")
    # Identifiers are followed by plain addresses (no Markdown links), and the hostile markup is inert.
    assert "PMID 12345678 https://pubmed.ncbi.nlm.nih.gov/12345678/" in markdown
    assert "## From the Research\n\n*There are no direct studies" in markdown
    assert re.search(r"(?<!\\)<[a-z/]", markdown) is None and "\\<img src=x" in markdown
    assert "](" not in markdown and "javascript:" not in markdown
    assert page.evaluate("window.pwned") is None
