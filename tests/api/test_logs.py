"""One log line per request, with the request id, route, status, duration and the caller's key prefix, as text or
JSON; never the question."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.config import LogSettings
from rag.factory import Components
from rag.logs import JsonFormatter, TextFormatter, configure_logging
from tests.helpers.chroma import embedded_only
from tests.helpers.keys import READ, keyed
from tests.helpers.log_stream import own_log_handlers

QUESTION = "Is any exosome product approved by the FDA for a patient called Jane Roe?"


def test_a_request_logs_one_line_with_its_fields_and_never_the_question(client: TestClient,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        response = client.post("/v1/answers", json={"question": QUESTION}, headers={**READ, "X-Request-ID": "r-7"})
    assert response.status_code == 200
    lines = [r for r in caplog.records if r.name == "api" and r.getMessage() == "request"]
    assert len(lines) == 1
    entry = json.loads(JsonFormatter().format(lines[0]))
    assert entry["request_id"] == "r-7" and entry["route"] == "/v1/answers" and entry["status"] == 200
    assert entry["ms"] > 0 and entry["principal"].startswith("key:") and len(entry["principal"]) == 16
    assert entry["level"] == "info" and entry["time"].endswith("Z")
    assert "request_id=r-7" in TextFormatter().format(lines[0])
    for record in caplog.records:
        assert "Jane Roe" not in record.getMessage() and "Jane Roe" not in json.dumps(vars(record), default=str)


@embedded_only
def test_a_request_id_cannot_forge_log_fields(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    forged = "x status=204 method=DELETE principal=key:ADMINFORGED"
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz", headers={"X-Request-ID": forged})
        long = client.get("/healthz", headers={"X-Request-ID": "a" * 65})
    given = response.headers["x-request-id"]
    assert given != forged and len(given) == 32 and long.headers["x-request-id"] != "a" * 65
    lines = [TextFormatter().format(r) for r in caplog.records if r.name == "api" and r.getMessage() == "request"]
    assert lines and not any("ADMINFORGED" in line or "method=DELETE" in line for line in lines)


def test_text_log_values_with_spaces_are_quoted() -> None:
    record = logging.LogRecord("api", logging.INFO, "", 0, "request", (), None)
    record.route, record.client = "/v1/answers", 'address:1.2.3.4 status=200\nINFO forged="x"'
    line = TextFormatter().format(record)
    assert "route=/v1/answers" in line and "\n" not in line
    assert 'client="address:1.2.3.4 status=200\\nINFO forged=\\"x\\""' in line


def test_configure_logging_installs_one_handler_in_the_chosen_format(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    with own_log_handlers(monkeypatch):  # a running server of another test would hold the handler on its queue
        configure_logging(LogSettings(format="json"))
        configure_logging(LogSettings(format="json", level="warning"))
        ours = [h for h in root.handlers if getattr(h, "_rag", False)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
        assert logging.getLogger("api").level == logging.WARNING


def test_a_running_server_writes_its_lines_from_the_listener_thread_and_all_of_them_by_its_end(
        answer_corpus: Components, monkeypatch: pytest.MonkeyPatch) -> None:
    def ours() -> list[str]:
        return [type(h).__name__ for h in logging.getLogger().handlers if getattr(h, "_rag", False)]

    with own_log_handlers(monkeypatch) as stream:
        stream.install()  # create_app configures logging to stderr
        app = create_app(keyed(answer_corpus.settings.model_copy(update={"log": LogSettings(format="json")})),
                         components=answer_corpus)
        with TestClient(app, client=("127.0.0.1", 40000)) as client:
            assert ours() == ["_Enqueue"]
            for n in range(50):
                assert client.get("/healthz", headers={"X-Request-ID": f"r-{n}"}).status_code == 200
        assert ours() == ["StreamHandler"]
    entries = [(writer, json.loads(line)) for writer, line in stream.lines]
    requests = [entry for _, entry in entries if entry["message"] == "request"]
    assert [entry["request_id"] for entry in requests] == [f"r-{n}" for n in range(50)]
    assert all(entry["route"] == "/healthz" and entry["status"] == 200 for entry in requests)
    assert {writer for writer, _ in entries} != {threading.current_thread().name}
