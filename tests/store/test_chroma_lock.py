"""A locked embedded Chroma database is waited for: one contract test once failed opening a collection with "database
is locked" (Chroma's SQLite, busy with another writer or its own background work)."""

from __future__ import annotations

import pytest
from chromadb.errors import InternalError

import rag.store.chroma as chroma


def test_a_locked_database_is_retried_and_other_errors_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(chroma.time, "sleep", waits.append)
    calls = iter([InternalError("Database error: (code: 5) database is locked")] * 2 + ["opened"])

    def flaky() -> str:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert chroma.when_unlocked(flaky) == "opened"
    assert waits == list(chroma.LOCK_WAITS_S[:2])

    def locked() -> None:
        raise InternalError("database is locked")

    waits.clear()
    with pytest.raises(InternalError):
        chroma.when_unlocked(locked)
    assert waits == list(chroma.LOCK_WAITS_S), "every wait, then the error stands"

    def broken() -> None:
        raise ValueError("bad argument")

    waits.clear()
    with pytest.raises(ValueError, match="bad argument"):
        chroma.when_unlocked(broken)
    assert waits == []


def test_a_store_call_outlasts_a_brief_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chroma.time, "sleep", lambda _: None)
    attempts = []

    def get(**kwargs: object) -> dict[str, object]:
        attempts.append(kwargs)
        if len(attempts) == 1:
            raise InternalError("database is locked")
        return {"ids": []}

    assert chroma.ChromaVectorStore._call(get, ids=["a"]) == {"ids": []}
    assert len(attempts) == 2
