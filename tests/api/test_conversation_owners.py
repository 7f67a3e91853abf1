"""Conversations belong to the key that started them, through a live server (uvicorn on 127.0.0.1), in both store
modes: another key cannot read, extend or delete one (404, as for an unknown id); its owner can delete it (204, then
404); chat completions store nothing unless asked (``store: true``); the SQLite file is private; expired
conversations are purged on a timer, with no new conversation started."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest

from api.app import create_app
from api.security import hash_key
from rag.config import ApiSettings, Settings, StoreSettings
from rag.factory import Components
from tests.helpers import local_http
from tests.helpers.chroma import embedded_only
from tests.helpers.keys import ADMIN_KEY, READ, READ_KEY
from tests.helpers.live_server import live_server

OTHER_KEY = "rag_test_other_read_key"
OTHER = {"Authorization": f"Bearer {OTHER_KEY}"}
QUESTION = "Is any exosome product approved by the FDA?"


def two_readers(settings: Settings, **store: object) -> Settings:
    hashes = f"{hash_key(READ_KEY)}:read,{hash_key(OTHER_KEY)}:read,{hash_key(ADMIN_KEY)}:admin"
    update: dict[str, object] = {"api_key_hashes": hashes, "api": ApiSettings()}
    if store:
        update["store"] = settings.store.model_copy(update=store)
    return settings.model_copy(update=update)


@pytest.fixture
def server(answer_corpus: Components) -> Iterator[str]:
    with live_server(create_app(two_readers(answer_corpus.settings), components=answer_corpus)) as base:
        yield base


def test_another_key_cannot_read_extend_or_delete_a_conversation(server: str) -> None:
    first = local_http.post(f"{server}/v1/answers", json={"question": QUESTION}, headers=READ, timeout=60)
    assert first.status_code == 200, first.text
    conversation = first.json()["conversation_id"]
    url = f"{server}/v1/conversations/{conversation}"
    unknown = local_http.get(f"{server}/v1/conversations/{'0' * 32}", headers=OTHER, timeout=10)
    for response in (local_http.get(url, headers=OTHER, timeout=10),
                     local_http.post(f"{server}/v1/answers", json={"question": "And what about PRP?",
                                                                "conversation_id": conversation},
                                headers=OTHER, timeout=60),
                     local_http.delete(url, headers=OTHER, timeout=10)):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["message"] == unknown.json()["error"]["message"].replace("0" * 32,
                                                                                                 conversation)
    mine = local_http.get(url, headers=READ, timeout=10)
    assert mine.status_code == 200 and [t["question"] for t in mine.json()["turns"]] == [QUESTION]
    assert mine.headers["cache-control"] == "no-store"
    assert local_http.delete(url, headers=READ, timeout=10).status_code == 204
    assert local_http.get(url, headers=READ, timeout=10).status_code == 404
    assert local_http.delete(url, headers=READ, timeout=10).status_code == 404


def test_chat_completions_store_nothing_unless_asked(server: str, answer_corpus: Components) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=READ_KEY, max_retries=0)
    plain = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
    assert (plain.model_extra or {})["rag"]["answer"]["conversation_id"] is None
    assert "conversation " not in (plain.choices[0].message.content or "")
    streamed = list(client.chat.completions.create(model="rag", stream=True,
                                                   messages=[{"role": "user", "content": QUESTION}]))
    final = [c.model_extra["rag"] for c in streamed if c.model_extra and "rag" in c.model_extra]
    assert final and final[0]["answer"]["conversation_id"] is None
    stored = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}],
                                            extra_body={"store": True})
    conversation = (stored.model_extra or {})["rag"]["answer"]["conversation_id"]
    assert conversation
    assert local_http.get(f"{server}/v1/conversations/{conversation}", headers=READ, timeout=10).status_code == 200
    assert local_http.get(f"{server}/v1/conversations/{conversation}", headers=OTHER, timeout=10).status_code == 404


@embedded_only  # server mode keeps conversations in the Chroma server: there is no file
def test_the_conversation_file_is_private(answer_corpus: Components) -> None:
    path = answer_corpus.settings.data_dir / "conversations.sqlite3"
    answer_corpus.conversations.create("clinician", "key:abc")
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_expired_conversations_are_purged_on_a_timer(answer_corpus: Components) -> None:
    settings = two_readers(answer_corpus.settings, conversation_retention_days=1.0 / 86400,  # one second
                           conversation_purge_interval_s=0.3)
    assert isinstance(settings.store, StoreSettings)
    components = Components(settings, embedder=answer_corpus.embedder, judge=answer_corpus.judge())
    try:
        with live_server(create_app(settings, components=components)) as base:
            answer = local_http.post(f"{base}/v1/answers", json={"question": QUESTION}, headers=READ, timeout=60)
            url = f"{base}/v1/conversations/{answer.json()['conversation_id']}"
            assert local_http.get(url, headers=READ, timeout=10).status_code == 200
            deadline = time.monotonic() + 15
            while local_http.get(url, headers=READ, timeout=10).status_code != 404:  # no conversation is started here
                assert time.monotonic() < deadline, "the expired conversation was not purged"
                time.sleep(0.3)
    finally:
        components.close()


@contextmanager
def serving_with(answer_corpus: Components, **store: object) -> Iterator[str]:
    """The answer corpus served with these store settings (its own Components, which the answer service reads)."""
    settings = two_readers(answer_corpus.settings, **store)
    components = Components(settings, embedder=answer_corpus.embedder, judge=answer_corpus.judge())
    try:
        with live_server(create_app(settings, components=components)) as base:
            yield base
    finally:
        components.close()


def test_a_key_has_a_quota_of_stored_turns_and_bytes(answer_corpus: Components) -> None:
    with serving_with(answer_corpus, max_stored_turns_per_owner=2) as base:
        def ask(headers: dict[str, str], **body: object) -> httpx.Response:
            return local_http.post(f"{base}/v1/answers", json={"question": QUESTION, **body}, headers=headers, timeout=60)

        first = ask(READ)
        assert first.status_code == 200 and ask(READ).status_code == 200
        refused = ask(READ)
        assert refused.status_code == 429, refused.text
        assert "RAG_STORE__MAX_STORED_TURNS_PER_OWNER" in refused.json()["error"]["message"]
        assert ask(OTHER).status_code == 200, "another key has its own quota"
        chat = local_http.post(f"{base}/v1/chat/completions", headers=READ, timeout=60,
                          json={"model": "rag", "messages": [{"role": "user", "content": QUESTION}]})
        assert chat.status_code == 200, "a question that stores nothing is not counted against the quota"
        conversation = first.json()["conversation_id"]
        assert local_http.delete(f"{base}/v1/conversations/{conversation}", headers=READ, timeout=10).status_code == 204
        assert ask(READ).status_code == 200, "deleting a conversation frees its turns"
    with serving_with(answer_corpus, max_stored_mb_per_owner=0.001) as base:  # OTHER's one turn is over 1 kB
        refused = local_http.post(f"{base}/v1/answers", json={"question": QUESTION}, headers=OTHER, timeout=60)
        assert refused.status_code == 429 and "RAG_STORE__MAX_STORED_MB_PER_OWNER" in refused.text
