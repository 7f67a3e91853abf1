"""Browser tests: Debian's chromium driven by Playwright against the app served by uvicorn on 127.0.0.1.

The starter corpus is indexed once with the deterministic HashEmbedder; each test gets a fresh browser context (its
own sessionStorage) and fails if the page made a request beyond the server or raised a JavaScript error.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from api.app import create_app
from rag.config import Settings
from rag.factory import Components
from rag.testing import HashEmbedder
from tests.api.conftest import keyed
from tests.conftest import HASH_MEANING
from tests.helpers.live_server import live_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, no sandbox (containers), and none of Chromium's own connections: updates, sync, QUIC, first-run.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
SEED_QUESTION = ("What is the comparative efficacy of PRP micro-needling versus exosome micro-needling for facial "
                 "skin improvement?")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must provide /usr/bin/chromium: .ci/run installs it with apt-get")
        pytest.skip("the browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def starter_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Components]:
    """The starter corpus (corpus/), indexed once for all browser tests."""
    with pytest.MonkeyPatch.context() as env:  # default settings whatever the shell exports
        for name in [n for n in os.environ if n.startswith("RAG_")]:
            env.delenv(name)
        settings = Settings(data_dir=tmp_path_factory.mktemp("web") / "data", meaning=HASH_MEANING)  # type: ignore[arg-type]
    components = Components(settings, embedder=HashEmbedder())
    assert components.ingestor().run([ROOT / "corpus"]).failed == []
    yield components
    components.close()


@pytest.fixture(scope="session")
def server(starter_index: Components) -> Iterator[str]:
    """No API key configured: anonymous questions from 127.0.0.1, as `rag serve` runs by default."""
    with live_server(create_app(starter_index.settings, components=starter_index)) as url:
        yield url


@pytest.fixture(scope="session")
def keyed_server(starter_index: Components) -> Iterator[str]:
    """API keys configured (tests.api.conftest.READ_KEY reads): every question needs one."""
    with live_server(create_app(keyed(starter_index.settings), components=starter_index)) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots of the page, kept with pytest's temporary directories (the last three runs)."""
    return tmp_path_factory.mktemp("web-artifacts")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with open_page(browser, width=1100, height=900) as opened:
        yield opened


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone-width window (375 × 812 CSS pixels)."""
    with open_page(browser, width=375, height=812) as opened:
        yield opened


@contextmanager
def open_page(browser: Browser, width: int, height: int) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": width, "height": height})
    opened = context.new_page()
    opened.add_init_script(TEE_ANSWER_STREAMS)
    outside: list[str] = []
    errors: list[str] = []
    opened.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1:", "data:")) else outside.append(r.url))
    opened.on("pageerror", lambda e: errors.append(str(e)))
    yield opened
    context.close()
    assert outside == [], "the page requested something beyond the server"
    assert errors == [], "JavaScript errors on the page"


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
