"""A stderr stand-in for tests of log output (each line with the thread that wrote it), and the root logger's
handlers set aside while a test configures its own."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from rag.config import LogSettings
from rag.logs import configure_logging


class Stream:
    """A stderr stand-in that keeps each line written with the name of the thread that wrote it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lines: list[tuple[str, str]] = []
        self._monkeypatch = monkeypatch

    def install(self) -> None:
        """Be ``sys.stderr`` (set in the test itself: pytest puts its own stderr back between a fixture's setup and
        the test), so configure_logging writes here."""
        self._monkeypatch.setattr(sys, "stderr", self)

    def configure(self, **settings: str) -> None:
        """configure_logging with these settings, writing here."""
        self.install()
        configure_logging(LogSettings(**settings))  # type: ignore[arg-type]

    def write(self, text: str) -> None:
        self.lines.extend((threading.current_thread().name, line) for line in text.splitlines())

    def flush(self) -> None:
        """Nothing is buffered."""

    @property
    def text(self) -> list[str]:
        return [line for _, line in self.lines]


@contextmanager
def own_log_handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stream]:
    """A Stream, with the handlers configure_logging installed before (another app's, perhaps a running server's
    queue) set aside until the block ends; then the root logger's handlers and the levels are put back as they
    were."""
    root = logging.getLogger()
    before = list(root.handlers)
    for handler in [h for h in before if getattr(h, "_rag", False)]:
        root.removeHandler(handler)
    try:
        yield Stream(monkeypatch)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in before:
            root.addHandler(handler)
        for name in ("rag", "api", "evals"):
            logging.getLogger(name).setLevel(logging.NOTSET)
