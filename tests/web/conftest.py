"""Browser tests: Debian's chromium driven by Playwright against the app served by uvicorn on 127.0.0.1.

The starter corpus is indexed once with the deterministic HashEmbedder; each test gets a fresh browser context (its
own sessionStorage) and fails if the page made a request beyond the server or raised a JavaScript error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from api.app import create_app
from rag.config import Settings
from rag.factory import Components
from rag.testing import HashEmbedder
from tests.helpers.keys import keyed
from tests.helpers.live_server import live_server
from tests.helpers.meaning import HASH_MEANING
from tests.helpers.paths import ROOT
from tests.helpers.web import TEE_ANSWER_STREAMS

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, no sandbox (containers), and none of Chromium's own connections: updates, sync, QUIC, first-run.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="package")  # closed after the browser tests: while Playwright lives, its event loop runs in
def browser() -> Iterator[Browser]:  # this thread, and a later test's asyncio.run() fails
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
    """API keys configured (tests.helpers.keys.READ_KEY reads): every question needs one."""
    with live_server(create_app(keyed(starter_index.settings), components=starter_index)) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots of the page, kept with pytest's temporary directories (the last three runs; by `make test`, only
    when a test failed)."""
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
