"""Answer slots: how many answers each principal has in progress, freed only when the work itself ends (a 504 or a
client that went away does not stop a thread; Python cannot), so a key cannot pile up abandoned answers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from fastapi import HTTPException

T = TypeVar("T")


class AnswerSlots:
    """How many answers each principal has in progress, capped: a 504 or a client that went away does not end the
    work in its thread (Python cannot stop a thread), so a slot is freed only when the work itself ends."""

    def __init__(self, per_principal: int) -> None:
        self._limit = per_principal
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, principal: str) -> Callable[[], None]:
        """A slot for ``principal`` (429 when it has none left); returns the function that frees it (once)."""
        with self._lock:
            if self._running.get(principal, 0) >= self._limit:
                raise HTTPException(429, f"{self._limit} answers are already in progress for this key "
                                         "(RAG_API__MAX_CONCURRENT_ANSWERS); wait for one to finish",
                                    headers={"Retry-After": "5"})
            self._running[principal] = self._running.get(principal, 0) + 1
        freed = threading.Event()

        def free() -> None:
            with self._lock:
                if freed.is_set():
                    return
                freed.set()
                left = self._running.get(principal, 1) - 1
                if left:
                    self._running[principal] = left
                else:
                    self._running.pop(principal, None)

        return free

    def running(self, principal: str) -> int:
        """Answers in progress for ``principal``."""
        with self._lock:
            return self._running.get(principal, 0)


def _nothing() -> None:
    return None


class HeldWork(Generic[T]):
    """Work run in a thread that frees its slot when it ends; abandoned before it started, it frees it at once."""

    def __init__(self, work: Callable[[], T], free: Callable[[], None] | None = None) -> None:
        self._work = work
        self._free = free or _nothing
        self._lock = threading.Lock()
        self._started = self._abandoned = False

    def __call__(self) -> T:
        """Run the work (in the worker thread), then free the slot, however the work ends."""
        with self._lock:
            if self._abandoned:
                raise RuntimeError("the answer was abandoned before it started")
            self._started = True
        try:
            return self._work()
        finally:
            self._free()

    def abandon(self) -> None:
        """The caller stopped waiting: free the slot now unless the work runs (it frees it when it ends)."""
        with self._lock:
            if self._started:
                return
            self._abandoned = True
        self._free()


class HeldStream(Iterator[T]):
    """Streamed answer events that free their slot when the stream ends, fails, is closed or is dropped (a client
    that went away, a 504 before the first event)."""

    def __init__(self, free: Callable[[], None], events: Iterator[T]) -> None:
        self._free = free
        self._events = events

    def __next__(self) -> T:
        try:
            return next(self._events)
        except BaseException:
            self._free()
            raise

    def close(self) -> None:
        """Stop the stream and free the slot."""
        self._free()
        close = getattr(self._events, "close", None)
        if close is not None:
            close()

    def __del__(self) -> None:
        self._free()
