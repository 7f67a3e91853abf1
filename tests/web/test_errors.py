"""What a person sees when something goes wrong: a key is needed or wrong, too long, rate limited, server gone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from api.app import create_app
from rag.config import ApiSettings
from rag.factory import Components
from tests.helpers.keys import READ_KEY
from tests.helpers.live_server import live_server
from tests.helpers.web import SEED_QUESTION, ask


def press_ask(page: Page, question: str) -> None:
    page.locator("#question").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()


def test_a_server_with_keys_asks_for_one_and_says_when_it_is_wrong(page: Page, keyed_server: str) -> None:
    page.goto(keyed_server)
    key = page.get_by_label("API key")
    expect(key).to_be_hidden()  # not asked for until the server says so
    press_ask(page, SEED_QUESTION)
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("This server needs an API key. Enter it below and ask again.")
    expect(key).to_be_focused()
    expect(page.locator("article.turn")).to_have_count(0)
    expect(page.locator("#question")).to_have_value(SEED_QUESTION)  # kept, to ask again

    key.fill("rag_not_a_key")
    press_ask(page, SEED_QUESTION)
    expect(alert).to_have_text("The API key was not accepted. Check it and ask again.")

    key.fill(READ_KEY)
    with page.expect_request(lambda r: r.url.endswith("/v1/answers")) as request:
        answer = ask(page, SEED_QUESTION)
    assert request.value.headers["authorization"] == f"Bearer {READ_KEY}"
    assert answer["references"]
    expect(alert).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('rag.apiKey')") == READ_KEY
    assert page.evaluate("localStorage.length") == 0  # never kept beyond the tab

    page.reload()  # same tab: the key is still there
    expect(key).to_have_value(READ_KEY)
    ask(page, "What about their safety?")


def test_a_question_too_long_or_empty_is_explained(page: Page, server: str) -> None:
    page.goto(server)
    question = page.locator("#question")
    press_ask(page, "x" * 2500)  # over the answer service's limit (RAG_GENERATION__MAX_QUESTION_CHARS)
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Your question is too long: 2500 characters, and the limit is 2000. Please shorten it.")
    expect(question).to_have_attribute("aria-invalid", "true")
    expect(question).to_be_focused()
    expect(page.locator("article.turn")).to_have_count(0)

    press_ask(page, "x" * 4500)  # one limit, however long: the request schema has none of its own
    expect(alert).to_have_text("Your question is too long: 4500 characters, and the limit is 2000. Please shorten it.")

    press_ask(page, "   ")
    expect(alert).to_have_text("Please type a question first.")

    ask(page, SEED_QUESTION)  # fixing the question clears the error
    expect(alert).to_be_hidden()
    expect(question).not_to_have_attribute("aria-invalid", "true")


def test_rate_limited_waits_for_retry_after(page: Page, starter_index: Components) -> None:
    settings = starter_index.settings.model_copy(update={"api": ApiSettings(answer_rate_limit_per_minute=1,
                                                                            answer_rate_limit_burst=1)})
    with live_server(create_app(settings, components=starter_index)) as url:
        page.goto(url)
        ask(page, SEED_QUESTION)
        with page.expect_response(lambda r: r.url.endswith("/v1/answers")) as response:
            press_ask(page, "What about their safety?")
        assert response.value.status == 429
        # the bucket refills while the first answer is written, so the wait is up to 61 s, less on a slow machine
        wait = int(response.value.headers["retry-after"])
        assert 1 <= wait <= 61
        expect(page.get_by_role("alert")).to_have_text(
            f"Too many questions in a short time. Please wait {wait} seconds and ask again.")
        button = page.get_by_role("button", name=re.compile(r"^Ask \(wait \d+ s\)$"))
        expect(button).to_be_disabled()


def test_an_unreachable_server_is_explained(page: Page, starter_index: Components) -> None:
    with live_server(create_app(starter_index.settings, components=starter_index)) as url:
        page.goto(url)
    press_ask(page, SEED_QUESTION)  # the server has stopped
    expect(page.get_by_role("alert")).to_have_text(
        "The server cannot be reached. Check that it is running (rag serve) and that you are online, then ask again.")
    expect(page.locator("article.turn")).to_have_count(0)
    expect(page.get_by_role("button", name="Ask", exact=True)).to_be_enabled()
