"""A hostile caller against a live server (uvicorn on 127.0.0.1): adversarial text does not freeze the worker,
oversized bodies are refused before authentication and before they are read, failed authentications are rate
limited per address, chat messages are capped, and a key cannot run more answers at once than its share, even
when a 504 left one running."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from api.deps import app_state
from api.security import hash_key
from rag.config import GenerationSettings, Settings
from rag.factory import Components
from rag.testing import StubChatServer
from tests.helpers import local_http
from tests.helpers.keys import ADMIN, ADMIN_KEY, READ, READ_KEY, keyed
from tests.helpers.live_server import live_server

pytestmark = pytest.mark.timeout(300)

QUESTION = "Does PRP with microneedling improve acne scars?"
#: The inputs that made backtracking patterns quadratic, within the chat caps (20,000 characters a message, 100,000
#: in all): 16,000 blanks after "<" alone took 3.7 s in the old prompt fence, with the event loop stopped.
ADVERSARIAL = ["<" + " " * 19_000 + "x", "## " + "#" * 15_000 + " a", "Aa and A" + "A" * 15_000 + "!",
               "1" + ",111" * 3_700, "a" * 15_000 + "1. Then", "# " * 7_000 + "\x00"]


@contextmanager
def serving(settings: Settings, components: Components) -> Iterator[str]:
    with live_server(create_app(settings, components=components)) as base:
        yield base


#: Polls /healthz from another process (a poller in this one would stall with the server on the GIL, and see
#: nothing): prints the slowest response time, in seconds, when its stdin closes.
POLLER = """
import sys, threading, time, httpx
slowest, stop = [0.0], threading.Event()
def poll():
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            started = time.monotonic()
            assert client.get(sys.argv[1] + "/healthz").status_code == 200
            slowest[0] = max(slowest[0], time.monotonic() - started)
            time.sleep(0.02)
thread = threading.Thread(target=poll, daemon=True)
thread.start()
print("polling", flush=True)
sys.stdin.read()
stop.set()
thread.join()
print(slowest[0], flush=True)
"""


@contextmanager
def healthz_watch(base: str) -> Iterator[list[float]]:
    """Polls /healthz from a child process while the block runs; afterwards the list holds its slowest response."""
    slowest: list[float] = []
    poller = subprocess.Popen([sys.executable, "-c", POLLER, base], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert poller.stdout is not None and poller.stdout.readline().strip() == "polling"
    try:
        yield slowest
    finally:
        output, _ = poller.communicate(timeout=120)
        slowest.append(float(output.strip().splitlines()[-1]))


def raw_request(base: str, head: str, body: bytes = b"") -> tuple[int, float]:
    """Send a request's head (and any body) on a socket, then read the status line: the status and how long it took.
    Whatever body the head promises and was not sent never comes: a response proves it was not waited for."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        status_line = sock.makefile("rb").readline().decode()
        return int(status_line.split()[1]), time.monotonic() - started


def test_adversarial_text_does_not_stop_the_worker(answer_corpus: Components) -> None:
    with serving(keyed(answer_corpus.settings), answer_corpus) as base, healthz_watch(base) as latencies:
        messages = [{"role": "user", "content": text} for text in ADVERSARIAL]
        messages.append({"role": "user", "content": QUESTION + " " + "<" + " " * 1500 + "x"})
        started = time.monotonic()
        chat = local_http.post(f"{base}/v1/chat/completions", json={"model": "rag", "messages": messages}, headers=READ,
                          timeout=120)
        answered_in = time.monotonic() - started
        upload = {"id": "adversarial", "kind": "study", "title": "Adversarial",
                  "sections": [{"title": "## " + " " * 5000 + "x", "text": text} for text in ADVERSARIAL]}
        ingested = local_http.post(f"{base}/v1/documents", json=upload, headers=ADMIN, timeout=120)
        time.sleep(0.3)
    assert chat.status_code == 200, chat.text
    assert ingested.status_code in (201, 413, 422), ingested.text
    assert latencies and latencies[0] < 1.0, f"/healthz waited {latencies[0]:.2f} s"
    assert answered_in < 30


def test_oversized_history_is_refused_naming_the_cap(answer_corpus: Components) -> None:
    settings = keyed(answer_corpus.settings)
    with serving(settings, answer_corpus) as base:
        def chat(messages: list[dict[str, str]]) -> httpx.Response:
            return local_http.post(f"{base}/v1/chat/completions", json={"model": "rag", "messages": messages},
                              headers=READ, timeout=60)

        long = chat([{"role": "user", "content": "x" * 20_001}, {"role": "user", "content": QUESTION}])
        assert long.status_code == 422 and "messages[0]" in long.json()["error"]["message"]
        assert "RAG_API__MAX_CHAT_MESSAGE_CHARS" in long.json()["error"]["message"]
        many = chat([{"role": "user", "content": "q?"}] * 65)
        assert many.status_code == 422 and "RAG_API__MAX_CHAT_MESSAGES" in many.json()["error"]["message"]
        total = chat([{"role": "assistant", "content": "y" * 19_000}] * 6 + [{"role": "user", "content": QUESTION}])
        assert total.status_code == 422 and "RAG_API__MAX_CHAT_TOTAL_CHARS" in total.json()["error"]["message"]
        huge = chat([{"role": "user", "content": " " * 600_000}])
        assert huge.status_code == 413, "the chat body limit (512 KiB) comes first"


def test_bodies_are_refused_before_authentication_and_before_they_are_read(answer_corpus: Components) -> None:
    with serving(keyed(answer_corpus.settings), answer_corpus) as base:
        mib = b'{"question": "' + b" " * (1 << 20) + b'"}'
        for headers in ({}, READ):
            response = local_http.post(f"{base}/v1/answers", content=mib,
                                  headers={**headers, "Content-Type": "application/json"}, timeout=30)
            assert response.status_code == 413, response.text
            assert "64 KiB" in response.json()["error"]["message"]
        # The head alone: a declared 10 MB body is refused at once, unread; a chunked body without a key too (401).
        status, seconds = raw_request(base, "POST /v1/answers HTTP/1.1\nHost: 127.0.0.1\n"
                                            "Content-Type: application/json\nContent-Length: 10000000\n")
        assert status == 413 and seconds < 5
        status, seconds = raw_request(base, "POST /v1/answers HTTP/1.1\nHost: 127.0.0.1\n"
                                            "Content-Type: application/json\nTransfer-Encoding: chunked\n")
        assert status == 401 and seconds < 5
        # A chunked body over the limit, with a key: 413 (it was 400), as soon as the limit is passed.
        chunk = b" " * 32_768
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4))
        status, _ = raw_request(base, f"POST /v1/answers HTTP/1.1\nHost: 127.0.0.1\n"
                                      f"Authorization: {READ['Authorization']}\nContent-Type: application/json\n"
                                      "Transfer-Encoding: chunked\n", body)
        assert status == 413
        upload = local_http.post(f"{base}/v1/documents", headers=ADMIN, timeout=60,
                            files={"file": ("big.md", b"---\nid: big\nkind: study\ntitle: Big\n---\n"
                                            + b"Acne scars improved. " * 10_000)})
        assert upload.status_code == 201, "uploads keep the large limit (RAG_API__MAX_BODY_MB)"


def test_a_read_keys_upload_is_refused_before_its_body_is_read(answer_corpus: Components) -> None:
    with serving(keyed(answer_corpus.settings), answer_corpus) as base:
        for head in ("POST /v1/documents HTTP/1.1\nContent-Type: multipart/form-data; boundary=x\n"
                     "Content-Length: 19000000\n",
                     "POST /v1/documents HTTP/1.1\nContent-Type: application/json\nTransfer-Encoding: chunked\n",
                     "DELETE /v1/documents/doc1 HTTP/1.1\nContent-Length: 1000\n"):
            status, seconds = raw_request(base, f"{head}Host: 127.0.0.1\nAuthorization: {READ['Authorization']}\n")
            assert status == 403 and seconds < 5, head  # the promised body never comes: it was not waited for
        listed = local_http.get(f"{base}/v1/documents", headers=READ, timeout=30)
        assert listed.status_code == 200, "reads stay open to a read key"


def test_the_gate_knows_every_route_that_needs_an_admin_key(answer_corpus: Components) -> None:
    from fastapi.routing import APIRoute

    from api.deps import RequireScope
    from api.gate import needs_admin

    app = create_app(keyed(answer_corpus.settings), components=answer_corpus)
    for route in [r for r in app.routes if isinstance(r, APIRoute)]:
        scopes = {d.call.scope for d in route.dependant.dependencies if isinstance(d.call, RequireScope)}
        path = route.path.replace("{doc_id}", "doc1")
        for method in route.methods:
            assert needs_admin(method, path) == ("admin" in scopes), (method, route.path)

def test_failed_authentications_are_rate_limited_per_address(answer_corpus: Components) -> None:
    # One failure every 3 s after a burst of 3: the requests up to the last 429 have 3 s before a failure is allowed
    # again (one a second left too little on a loaded machine: a token came back among the guesses).
    settings = keyed(answer_corpus.settings, auth_failures_per_minute=20, auth_failure_burst=3)
    with serving(settings, answer_corpus) as base, local_http.client(base_url=base, timeout=10) as client:
        statuses = [client.get("/v1/search", params={"q": "acne"}, headers={"X-API-Key": f"guess-{n}"}).status_code
                    for n in range(5)]
        assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
        limited = client.get("/v1/search", params={"q": "acne"}, headers=READ)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1, "refused before the check"
        keyless = client.get("/v1/search", params={"q": "acne"})
        assert keyless.status_code == 401, "no key, no guess: the lockout is not read for it (one store read saved)"
        assert client.get("/healthz").status_code == 200
        time.sleep(int(limited.headers["Retry-After"]))  # the wait the server announced is enough
        assert client.get("/v1/search", params={"q": "acne"}, headers=READ).status_code == 200


def test_a_key_cannot_run_more_answers_than_its_share_even_after_a_504(answer_corpus: Components) -> None:
    with StubChatServer([{"content": "Slow [1].", "delay": 4}]) as stub:
        generation = GenerationSettings(backend="openai", base_url=stub.base_url, model="stub-model",
                                        api_key=SecretStr("k"), timeout_s=10, max_retries=0, output="text")
        settings = keyed(answer_corpus.settings.model_copy(update={"generation": generation}),
                         answer_timeout_s=0.5, max_concurrent_answers=1)
        components = Components(settings, embedder=answer_corpus.embedder, judge=answer_corpus.judge())
        app = create_app(settings, components=components)
        try:
            with live_server(app) as base:
                first = local_http.post(f"{base}/v1/answers", json={"question": QUESTION}, headers=READ, timeout=30)
                assert first.status_code == 504
                second = local_http.post(f"{base}/v1/answers", json={"question": QUESTION}, headers=READ, timeout=30)
                assert second.status_code == 429 and "RAG_API__MAX_CONCURRENT_ANSWERS" in second.text
                assert local_http.post(f"{base}/v1/answers", json={"question": QUESTION}, headers=ADMIN,
                                  timeout=30).status_code == 504, "another key has its own share"
                deadline = time.monotonic() + 30
                while (third := local_http.post(f"{base}/v1/chat/completions", headers=READ, timeout=30, json={
                        "model": "rag", "messages": [{"role": "user", "content": QUESTION}]})).status_code == 429:
                    assert time.monotonic() < deadline, "the slot was never freed"
                    time.sleep(0.5)
                assert third.status_code == 504, "freed when the abandoned work ended"
                while any(app_state(app).answer_slots.running(f"key:{hash_key(key)[:12]}") for key in (READ_KEY, ADMIN_KEY)):
                    assert time.monotonic() < deadline + 30, "the abandoned answers never ended"
                    time.sleep(0.2)  # let them end before the stub and the store close under them
        finally:
            components.close()
