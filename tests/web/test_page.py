"""The clinician's path through the page: ask, read both sections, check a quote, follow up, switch audience, copy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from rag.contract import NO_RESEARCH, PATIENT_DISCLAIMER
from tests.helpers.web import SEED_QUESTION, answer_event, ask, last_answer_stream, words

CITATION = re.compile(r"^Source \d+$")
#: Records, in order, what the page adds to the DOM: "target class>added node class" (or "#text").
RECORD_MUTATIONS = """
window.seen = [];
new MutationObserver((records) => {
  for (const r of records) for (const n of r.addedNodes)
    window.seen.push(`${r.target.className}>${n.nodeType === 1 ? n.className : "#text"}`);
}).observe(document, { subtree: true, childList: true });
"""

#: Visible text whose contrast with its background is below WCAG AA (4.5:1), as "TAG.class: ratio".
LOW_CONTRAST = """() => {
  const rgba = (css) => css.match(/[\\d.]+/g).map(Number);
  const channel = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (node) => {
    for (; node; node = node.parentElement) {
      const c = rgba(getComputedStyle(node).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const node of document.querySelectorAll("body *")) {
    const text = [...node.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!text || !node.checkVisibility() || node.disabled) continue;
    const [a, b] = [luminance(rgba(getComputedStyle(node).color)), luminance(background(node))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${node.tagName}.${node.className}: ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def section(turn: Locator, title: str) -> Locator:
    return turn.get_by_role("region", name=re.compile(f"^{title}"))


def test_ask_read_check_a_quote_follow_up_and_switch_audience(page: Page, server: str, artifacts: Path) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.add_init_script(RECORD_MUTATIONS)
    page.goto(server)
    expect(page.get_by_role("group", name="Which best describes you?").get_by_label("Clinician")).to_be_checked()
    first = ask(page, SEED_QUESTION)
    turn = page.locator("article.turn").first
    expect(turn.get_by_role("heading", level=2)).to_have_text(SEED_QUESTION)
    check_sections(turn, first)
    check_streamed_in_order(page)
    check_quote_popover(page, turn, first, artifacts)
    check_references(turn, first)
    assert page.evaluate(LOW_CONTRAST) == []
    page.screenshot(path=str(artifacts / "answer-desktop.png"), full_page=True)
    assert (artifacts / "answer-desktop.png").stat().st_size > 20_000

    turn.get_by_role("button", name="Copy as Markdown").click()
    expect(turn.get_by_role("button", name="Copied ✓")).to_be_visible()
    markdown = page.evaluate("navigator.clipboard.readText()")
    assert markdown.startswith(f"# {SEED_QUESTION}\n") and "## From the Guidelines" in markdown
    assert "## References" in markdown and first["references"][0]["title"] in markdown

    follow_up = page.get_by_label("Ask a follow-up")
    expect(follow_up).to_be_visible()
    second = ask(page, "What adverse events did they report?")
    assert second["conversation_id"] == first["conversation_id"]
    turns = page.locator("article.turn")
    expect(turns).to_have_count(2)
    expect(turns.nth(0).get_by_role("heading", level=2)).to_have_text(SEED_QUESTION)  # the earlier turn, above
    expect(turns.nth(1).get_by_role("heading", level=2)).to_have_text("What adverse events did they report?")
    expect(turns.nth(1)).to_contain_text(f"Searched as: {second['standalone_question']}")
    check_sections(turns.nth(1), second)

    page.get_by_label("Patient").check()
    again = page.get_by_role("button", name="Ask the last question again for a patient")
    with page.expect_response(lambda r: r.url.endswith("/v1/answers")) as response:
        again.click()
    sent = response.value.request.post_data_json or {}
    assert sent["audience"] == "patient" and sent["conversation_id"] == first["conversation_id"]
    expect(turns).to_have_count(3)
    third = answer_event(last_answer_stream(page))
    assert third["audience"] == "patient"
    expect(turns).to_have_count(3)
    expect(turns.nth(2).locator(".turn-meta")).to_have_text("Answer for a patient")
    expect(turns.nth(2).locator(".disclaimer")).to_have_text(PATIENT_DISCLAIMER)
    expect(again).to_be_hidden()

    page.get_by_role("button", name="New conversation").click()
    expect(turns).to_have_count(0)
    expect(page.get_by_label("Your question")).to_be_focused()
    assert ask(page, SEED_QUESTION)["conversation_id"] != first["conversation_id"]


def check_sections(turn: Locator, answer: dict[str, Any]) -> None:
    """Both sections, their text with each [n] as a citation button (none in a section that abstains), limitations,
    verification, disclaimer."""
    assert any(s["evidence_found"] for s in answer["sections"]), answer["sections"]
    for expected in answer["sections"]:
        shown = section(turn, expected["title"])
        expect(shown).to_be_visible()
        assert words(shown.locator("p.section-text").inner_text()) == words(expected["text"])
        if not expected["evidence_found"]:
            expect(shown.get_by_role("button", name=CITATION)).to_have_count(0)
            continue
        expect(shown.get_by_role("button", name=CITATION).first).to_be_visible()
        if expected["certainty"]:
            expect(shown.locator(".certainty")).to_have_text(
                f"Certainty of evidence (GRADE-inspired): {expected['certainty']['reason']}")
    research = next(s for s in answer["sections"] if s["kind"] == "research")
    if research["evidence_found"]:  # the cited studies as a table: design, n, year, finding
        table = section(turn, research["title"]).locator(".study-table")
        table.locator("summary").click()
        expect(table.locator("tbody tr")).to_have_count(len(set(re.findall(r"\[(\d+)\]", research["text"]))))
    expect(turn.get_by_role("region", name="Limitations")).to_contain_text(answer["limitations"])
    expect(turn.locator(".disclaimer")).to_have_text(answer["disclaimer"])
    if answer["grounding"]["verified"]:
        expect(turn.locator(".verified")).to_contain_text("Every citation was checked")


def check_streamed_in_order(page: Page) -> None:
    """The page showed the sources first, then the text as it arrived, then the verified answer."""
    seen: list[str] = page.evaluate("window.seen")
    sources = seen.index("sources-found>source-list")
    draft = seen.index("draft-text>#text")
    final = seen.index("turn-answer>answer-section guidelines")
    assert sources < draft < final, seen


def own_sentence(turn: Locator, answer: dict[str, Any], n: int) -> str:
    """The sentence that the first [n] of the answer ends (what the page's popover matches quotes against)."""
    for section in answer["sections"]:
        index = section["text"].find(f"[{n}]")
        if index >= 0:
            before = section["text"][:index]
            end = max(before.rfind(". "), before.rfind("! "), before.rfind("? "))
            return before[end + 1:]
    return ""


def best_quote(quotes: list[str], sentence: str) -> str:
    """The quote sharing most words (3+ letters or digits) with the sentence; the first on ties."""
    def tokens(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]{3,}", text.lower())
    wanted = set(tokens(sentence))
    return max(quotes, key=lambda q: sum(1 for w in tokens(q) if w in wanted))


def check_quote_popover(page: Page, turn: Locator, answer: dict[str, Any], artifacts: Path) -> None:
    """A citation opens a dialog with the quote, title, year and identifiers; Escape closes it, focus returns."""
    references = {r["n"]: r for r in answer["references"]}
    buttons = section(turn, "From the Research").get_by_role("button", name=CITATION)
    numbers = [int(b.inner_text().strip("[]")) for b in buttons.all()]
    n = next((n for n in numbers if references[n]["doi"]), numbers[0])  # one with a DOI, when there is one
    reference = references[n]
    button = turn.get_by_role("button", name=f"Source {n}", exact=True).first
    button.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(f"Source [{n}] · Study")
    quotes = [words(q["text"]) for q in reference["quotes"]]
    expect(dialog.locator("blockquote")).to_have_count(len(quotes))
    first_sentence = own_sentence(turn, answer, n)
    expect(dialog.locator("blockquote").first).to_have_text(f"“{best_quote(quotes, first_sentence)}”")
    assert sorted(dialog.locator("blockquote").all_inner_texts()) == sorted(f"“{q}”" for q in quotes)
    expect(dialog).to_contain_text(reference["title"])
    if reference["year"]:
        expect(dialog).to_contain_text(str(reference["year"]))
    if reference["doi"]:
        link = dialog.get_by_role("link", name=f"DOI {reference['doi']}")
        expect(link).to_have_attribute("href", f"https://doi.org/{reference['doi']}")
    assert page.evaluate("document.getElementById('citation').contains(document.activeElement)")
    page.screenshot(path=str(artifacts / "citation-popover.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")

    first = section(turn, "From the Guidelines").get_by_role("button", name=CITATION).first  # by keyboard
    first.focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("heading")).to_contain_text("· Guideline")
    target = int(first.inner_text().strip("[]"))
    dialog.get_by_role("link", name=f"Go to reference {target} in the list").click()
    expect(dialog).to_be_hidden()
    expect(turn.locator(f"#t1-ref-{target}")).to_be_focused()


def check_references(turn: Locator, answer: dict[str, Any]) -> None:
    items = turn.get_by_role("region", name="References").locator("ol > li")
    expect(items).to_have_count(len(answer["references"]))
    for item, reference in zip(items.all(), answer["references"], strict=True):
        expect(item.locator(".ref-title")).to_have_text(reference["title"])
        expect(item.locator("blockquote")).to_have_text([f"“{words(q['text'])}”" for q in reference["quotes"]])
        if reference["appraisal"] and reference["appraisal"]["design"]:
            expect(item.locator(".evidence")).to_contain_text("Evidence:")
        if reference["notes"]:
            expect(item.locator(".note")).to_contain_text(words(reference["notes"])[:60])
        if reference["doi"]:
            expect(item.get_by_role("link", name=f"DOI {reference['doi']}")).to_be_visible()


def test_phone_width_and_a_section_without_evidence(phone: Page, server: str, artifacts: Path) -> None:
    page = phone
    page.goto(server)
    answer = ask(page, "What does the MISEV2023 guideline recommend?")
    turn = page.locator("article.turn").first
    research = section(turn, "From the Research")
    assert not answer["sections"][1]["evidence_found"]
    expect(research.get_by_role("heading")).to_have_text("From the ResearchNo evidence found")
    expect(research.locator("p.section-text")).to_have_text(NO_RESEARCH)
    guidelines = section(turn, "From the Guidelines")
    expect(guidelines.locator(".badge")).to_have_count(0)
    style = "e => getComputedStyle(e).borderTopStyle"
    assert research.evaluate(style) == "dashed" and guidelines.evaluate(style) != "dashed"

    assert page.evaluate(LOW_CONTRAST) == []  # the "no evidence" colours too
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the page scrolls sideways on a phone"
    assert page.get_by_role("button", name="Ask", exact=True).bounding_box()["height"] >= 44  # type: ignore[index]
    guidelines.get_by_role("button", name=CITATION).first.click()
    box = page.get_by_role("dialog").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.screenshot(path=str(artifacts / "answer-phone-popover.png"))
    page.keyboard.press("Escape")
    page.screenshot(path=str(artifacts / "answer-phone.png"), full_page=True)
