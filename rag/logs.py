"""Log output as operators read it: plain text lines, or one JSON object a line (``RAG_LOG__FORMAT=json``) with the
record's structured fields (request id, route, status, duration, counts). Question text, keys and document
contents are never logged at INFO: the callers pass ids, counts and timings only.

A server writes its lines from a thread of its own (:func:`queued_logging`): the event loop only puts each record
on a queue, and a listener thread formats and writes what has queued every ``WRITE_EVERY_S`` seconds."""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import logging
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from logging.handlers import QueueHandler, QueueListener
from types import TracebackType
from typing import Any

from rag.config import LogSettings

#: The attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message key=value ...`` with the record's extra fields; a value holding anything but letters,
    digits and ``._:/-`` is written as a JSON string (quoted, escaped), so no value can forge another field or a
    line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of text."""
        fields = " ".join(f"{key}={_plain(value)}" for key, value in vars(record).items() if key not in _STANDARD)
        line = f"{record.levelname} {record.name}: {record.getMessage()}" + (f" {fields}" if fields else "")
        return line + (f"\n{self.formatException(record.exc_info)}" if record.exc_info else "")


_BARE = re.compile(r"[A-Za-z0-9._:/-]+")


def _plain(value: object) -> str:
    text = str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def configure_logging(settings: LogSettings, level: int | None = None) -> None:
    """Send the library's and the API's logs to stderr in the configured format, at ``level`` (default: the
    setting's). Replaces a handler this function installed before; leaves other handlers alone. While
    :func:`queued_logging` is on, the listener thread writes through the new handler."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    handler._rag = True  # type: ignore[attr-defined]
    with _QUEUE_LOCK:
        queued = _queued(root)
        if queued is not None:
            queued.redirect(handler)
        else:
            for old in [h for h in root.handlers if getattr(h, "_rag", False)]:
                root.removeHandler(old)
            root.addHandler(handler)
    chosen = level if level is not None else logging.getLevelName(settings.level.upper())
    for name in ("rag", "api", "evals"):
        logging.getLogger(name).setLevel(chosen)


_QUEUE_LOCK = threading.Lock()
"""Guards swapping the root logger's handlers (logging itself is per process, and so is this lock)."""
WRITE_EVERY_S = 0.05
"""How often the listener writes what has queued (at most this long a line waits; a stop writes at once)."""
BATCH = 512
"""Records written in one go at most."""


class _Listener(QueueListener):
    """A QueueListener that wakes every ``WRITE_EVERY_S`` instead of at each record, and writes the records queued
    meanwhile with one write per handler. Woken at each record (the stock QueueListener), the thread took the GIL
    twice a line, to format and again after the write, and searches/s under bench/api_load.py were lower than with
    no queue at all in every one of seven alternated rounds (docs/DECISIONS.md)."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord | None], handler: logging.Handler) -> None:
        super().__init__(records, handler, respect_handler_level=True)
        self._records = records
        self._pending: list[logging.LogRecord] = []

    def dequeue(self, block: bool) -> logging.LogRecord | None:  # type: ignore[override]
        """The next record; while there is none, what is pending is written and the thread sleeps (a put then wakes
        no thread). The stop sentinel (None, from ``enqueue_sentinel``) writes what is pending first."""
        while True:
            try:
                record = self._records.get_nowait()
            except queue.Empty:
                self.write_pending()
                if not block:
                    raise
                time.sleep(WRITE_EVERY_S)
                continue
            if record is None:
                self.write_pending()
            return record

    def handle(self, record: logging.LogRecord) -> None:
        """Keep the record for the next write (at once when ``BATCH`` are waiting)."""
        self._pending.append(record)
        if len(self._pending) >= BATCH:
            self.write_pending()

    def write_pending(self) -> None:
        """Format the pending records and write them: one write and one flush per stream handler."""
        records, self._pending = self._pending, []
        if not records:
            return
        for handler in self.handlers:
            if isinstance(handler, logging.StreamHandler):
                _write_all(handler, [r for r in records if r.levelno >= handler.level and handler.filter(r)])
            else:
                for record in records:
                    if record.levelno >= handler.level:
                        handler.handle(record)


def _write_all(handler: logging.StreamHandler[Any], records: list[logging.LogRecord]) -> None:
    lines = []
    for record in records:
        try:
            lines.append(handler.format(record) + handler.terminator)
        except Exception:  # as StreamHandler.emit does: report it on stderr, go on with the others
            handler.handleError(record)
    if not lines:
        return
    with handler.lock or contextlib.nullcontext():
        try:
            handler.stream.write("".join(lines))
            handler.flush()
        except Exception:
            handler.handleError(records[-1])


class _Enqueue(QueueHandler):
    """Stands in on the root logger for the handler :func:`configure_logging` installed (``direct``), which a
    listener thread now owns. Each record is put on the queue as it is, with its extra fields (request id, route,
    status...) and exception; only the message is merged with its arguments here, so an argument changed later
    cannot change the line. Formatting (text or JSON) and writing happen in the listener's thread."""

    def __init__(self, direct: logging.Handler) -> None:
        records: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
        super().__init__(records)
        self._rag = True
        self.direct = direct
        self.users = 0
        self.listener = _Listener(records, direct)
        self._listening = False
        self._listening_lock = threading.Lock()
        self._excepthook: tuple[_ExceptHook | None, _ExceptHook] = (None, sys.excepthook)

    def listen(self) -> None:
        """Start the listener thread; at exit, :meth:`shutdown` writes what is still queued. A process dying of an
        uncaught exception writes it before its traceback is printed: written by the listener meanwhile, the two
        interleaved on one stream (a piece of the traceback landed inside a log line)."""
        with self._listening_lock:
            self.listener.start()
            self._listening = True
        atexit.register(self.shutdown)
        previous = sys.excepthook

        def drain_first(kind: type[BaseException], value: BaseException, trace: TracebackType | None) -> None:
            self.shutdown()
            previous(kind, value, trace)

        sys.excepthook = drain_first
        self._excepthook = (drain_first, previous)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A copy of the record whose message is final; unlike ``QueueHandler.prepare`` nothing is formatted and
        ``exc_info`` stays (the queue never leaves the process), so the formatters see the record they always saw."""
        prepared = copy.copy(record)
        prepared.msg, prepared.args = record.getMessage(), None
        return prepared

    def redirect(self, direct: logging.Handler) -> None:
        """Write through ``direct`` from now on (the listener takes it for the next record)."""
        self.direct = direct
        self.listener.handlers = (direct,)

    def step_aside(self, root: logging.Logger) -> None:
        """Put the direct handler back in this one's place on ``root``: later records are written at once."""
        if self in root.handlers:
            root.removeHandler(self)
            root.addHandler(self.direct)

    def shutdown(self) -> None:
        """:meth:`step_aside`, then write every record still queued and end the listener. Once: later calls do
        nothing."""
        with _QUEUE_LOCK:
            self.step_aside(logging.getLogger())
        atexit.unregister(self.shutdown)
        ours, previous = self._excepthook
        if sys.excepthook is ours:
            sys.excepthook = previous
        with self._listening_lock:
            if self._listening:
                self.listener.stop()
                self._listening = False


_ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]


def _queued(root: logging.Logger) -> _Enqueue | None:
    return next((h for h in root.handlers if isinstance(h, _Enqueue)), None)


def start_queued_logging() -> None:
    """From now on the handler :func:`configure_logging` installed writes from a listener thread: a caller of
    ``logger.info`` only puts the record on a queue. Nested calls share the listener; each one needs its
    :func:`stop_queued_logging`. If the process exits first, what is queued is written at exit."""
    root = logging.getLogger()
    with _QUEUE_LOCK:
        queued = _queued(root)
        if queued is None:
            direct = next((h for h in root.handlers if getattr(h, "_rag", False)), None)
            if direct is None:  # configure_logging was not called: nothing of ours to move
                return
            queued = _Enqueue(direct)
            queued.listen()
            root.removeHandler(direct)
            root.addHandler(queued)
        queued.users += 1


def stop_queued_logging() -> None:
    """End one :func:`start_queued_logging`; after the last, records are written at once again, and the listener
    writes what is queued (in this call) and stops."""
    root = logging.getLogger()
    with _QUEUE_LOCK:
        queued = _queued(root)
        if queued is None:
            return
        queued.users -= 1
        if queued.users > 0:
            return
        queued.step_aside(root)
    queued.shutdown()


@contextmanager
def queued_logging() -> Iterator[None]:
    """:func:`start_queued_logging` for the block (a server's lifetime); the queue is written out when it ends."""
    start_queued_logging()
    try:
        yield
    finally:
        stop_queued_logging()
