"""Queued logging: while a server runs, a listener thread formats and writes the log lines; the caller only puts
the record on a queue. Nothing is lost at the end of the server or at the exit of the process."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from rag.logs import queued_logging, start_queued_logging, stop_queued_logging
from tests.helpers.log_stream import Stream, own_log_handlers
from tests.helpers.paths import ROOT

logger = logging.getLogger("rag.test_logs")


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stream]:
    """A Stream to configure logging to, other handlers of ours set aside (a server of another test may be running)."""
    with own_log_handlers(monkeypatch) as captured:
        yield captured


def ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_rag", False)]


def test_the_listener_thread_writes_the_lines_with_their_fields(stream: Stream) -> None:
    stream.configure(format="json")
    with queued_logging():
        assert type(ours()[0]).__name__ == "_Enqueue"
        logger.info("request", extra={"request_id": "r-7", "route": "/v1/answers", "status": 200})
    (writer, line), = stream.lines
    entry = json.loads(line)
    assert writer != threading.current_thread().name, "written by the listener, not by the caller"
    assert entry["request_id"] == "r-7" and entry["route"] == "/v1/answers" and entry["status"] == 200
    assert entry["message"] == "request" and entry["logger"] == "rag.test_logs" and entry["level"] == "info"
    assert isinstance(ours()[0], logging.StreamHandler), "after the block, lines are written at once again"


def test_the_message_is_fixed_when_logged_and_the_exception_stays_a_field(stream: Stream) -> None:
    stream.configure(format="json")
    counts = {"chunks": 1}
    with queued_logging():
        logger.info("stored %s", counts)
        counts["chunks"] = 2  # changed before the listener formats the record
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed", extra={"request_id": "r-8"})
    stored, failed = (json.loads(line) for line in stream.text if line.startswith("{"))
    assert stored["message"] == "stored {'chunks': 1}"
    assert failed["message"] == "failed" and failed["request_id"] == "r-8"
    assert "ValueError: boom" in failed["exception"] and "Traceback" in failed["exception"]


def test_text_lines_keep_their_fields_and_nested_starts_share_one_listener(stream: Stream) -> None:
    stream.configure(format="text")
    start_queued_logging()
    start_queued_logging()
    try:
        assert len(ours()) == 1
        stream.configure(format="text", level="warning")  # a second app: same queue, new handler
        assert len(ours()) == 1 and type(ours()[0]).__name__ == "_Enqueue"
        logger.warning("slow", extra={"request_id": "r-9", "ms": 1200.5})
        stop_queued_logging()
        assert type(ours()[0]).__name__ == "_Enqueue", "one start is still open"
    finally:
        stop_queued_logging()
    assert stream.text == ["WARNING rag.test_logs: slow request_id=r-9 ms=1200.5"]
    assert isinstance(ours()[0], logging.StreamHandler)


def test_many_lines_are_all_written_in_order_when_the_queue_stops(stream: Stream) -> None:
    stream.configure(format="text")
    with queued_logging():
        for n in range(2000):
            logger.info("line", extra={"n": n})
    assert stream.text == [f"INFO rag.test_logs: line n={n}" for n in range(2000)]


def test_a_process_that_dies_of_an_exception_still_writes_its_last_lines() -> None:
    script = (
        "import logging\n"
        "from rag.config import LogSettings\n"
        "from rag.logs import configure_logging, start_queued_logging\n"
        "configure_logging(LogSettings(format='json'))\n"
        "start_queued_logging()\n"
        "for n in range(5000):\n"
        "    logging.getLogger('rag.dying').info('line', extra={'n': n})\n"
        "raise RuntimeError('crashed')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    # The traceback is printed while the listener writes, through the same stream: a line of it may hold a log line
    # inside, and (once in CI) a piece of it landed inside a log line. A record counts when its braces hold its "n",
    # whatever else landed between them (the traceback of a "-c" script has no braces).
    numbers = [int(found) for found in re.findall(r'\{"time"[^{}]*?"n": (\d+)[^{}]*\}', result.stderr)]
    assert result.returncode == 1 and "crashed" in result.stderr
    assert numbers == list(range(5000))
