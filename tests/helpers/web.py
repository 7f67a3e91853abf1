"""Driving the web page in browser tests: asking a question as a user does, and reading the answer stream the page
received."""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import Page

SEED_QUESTION = ("What is the comparative efficacy of PRP micro-needling versus exosome micro-needling for facial "
                 "skin improvement?")

#: The page's answer streams, copied as the page reads them (a tee of the fetch body). The API answers with
#: ``Cache-Control: no-store``, and Chromium keeps no body of such a response for the DevTools protocol, so
#: Playwright's ``response.text()`` cannot read it.
TEE_ANSWER_STREAMS = """
(() => {
  const original = window.fetch;
  window.answerStreams = [];
  window.fetch = async (...args) => {
    const response = await original(...args);
    const url = String(args[0] instanceof Request ? args[0].url : args[0]);
    if (!url.endsWith("/v1/answers") || !response.body) return response;
    const [forPage, forTest] = response.body.tee();
    const index = window.answerStreams.push(null) - 1;
    new Response(forTest).text().then((text) => { window.answerStreams[index] = text; });
    return new Response(forPage, { status: response.status, statusText: response.statusText,
                                   headers: response.headers });
  };
})();
"""


def last_answer_stream(page: Page, timeout_s: float = 30) -> str:
    """The body of the last answer stream the page read, once it has ended. (Polled from here: the page's CSP
    forbids the eval that ``page.wait_for_function`` uses when it has to wait.)"""
    deadline = time.monotonic() + timeout_s
    while (stream := page.evaluate("window.answerStreams.at(-1) ?? null")) is None:
        assert time.monotonic() < deadline, "the answer stream did not end"
        page.wait_for_timeout(50)
    return str(stream)


def ask(page: Page, question: str) -> dict[str, Any]:
    """Type the question, press Ask, wait for the verified answer on the page; returns the Answer JSON streamed."""
    turns = page.locator("article.turn")
    before = turns.count()
    page.locator("#question").fill(question)
    with page.expect_response(lambda r: r.url.endswith("/v1/answers")):
        page.get_by_role("button", name="Ask", exact=True).click()
    turns.nth(before).get_by_role("button", name="Copy as Markdown").wait_for()
    return answer_event(last_answer_stream(page))


def answer_event(stream: str) -> dict[str, Any]:
    """The final Answer from the Server-Sent Events of POST /v1/answers."""
    for block in stream.split("\n\n"):
        lines = block.splitlines()
        if lines and lines[0] == "event: answer":
            return dict(json.loads(lines[1].removeprefix("data: ")))
    raise AssertionError(f"no answer event in the stream: {stream[:300]}")


def words(text: str) -> str:
    return " ".join(text.split())
