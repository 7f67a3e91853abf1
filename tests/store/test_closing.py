"""Closing a store while other threads still use it (a server shutting down under an answer that outlived its
timeout): the work in progress finishes, what comes later is a StoreError, and the process never crashes."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pytest

from rag.conversation import ConversationStore
from rag.errors import StoreError
from rag.store.catalog import Catalog
from tests.store.test_replica import version


def test_a_read_in_progress_outlives_close(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    catalog.apply_replica([version("PRP improved acne scars.")], [], {"d1": 1}, 1)
    with catalog._reading() as db:  # a search's read, caught between two of its queries
        catalog.close()
        # the connection stays open until the read ends: closing it under a running query crashes SQLite
        assert db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 1
    with pytest.raises(sqlite3.ProgrammingError):
        db.execute("SELECT 1")  # closed as the read ended, not left open
    with pytest.raises(StoreError, match="closed"):
        catalog.counts()


def test_close_waits_for_the_write_in_progress(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    catalog = Catalog(path)
    closed = threading.Event()

    def close() -> None:
        catalog.close()
        closed.set()

    closer = threading.Thread(target=close)
    with catalog.transaction() as db:
        db.execute("INSERT INTO meta(key, value) VALUES ('written', 'before close')")
        closer.start()
        assert not closed.wait(0.3), "close did not wait for the open transaction"
    closer.join(10)
    assert closed.is_set()
    with pytest.raises(StoreError, match=re.escape(f"catalog {path} is closed")):
        catalog.set_meta("written", "after close")
    with pytest.raises(StoreError, match="closed"):
        catalog.size_key()
    reopened = Catalog(path)
    try:
        assert reopened.get_meta("written") == "before close"  # committed, not rolled back by the close
    finally:
        reopened.close()


def test_a_closed_conversation_store_says_so(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    store = ConversationStore(path)
    conversation = store.create("clinician")
    store.add_turn(conversation, "Does PRP help acne scars?", "Does PRP help acne scars?", "{}")
    holder = threading.Thread(target=store.close)
    with store._db._lock:  # as an operation in progress in another thread
        holder.start()
        holder.join(0.3)
        assert holder.is_alive(), "close did not wait for the operation in progress"
    holder.join(10)
    for call in (lambda: store.get(conversation), lambda: store.create("clinician"),
                 lambda: store.add_turn(conversation, "And safety?", "And safety?", "{}")):
        with pytest.raises(StoreError, match=re.escape(f"conversation store {path} is closed")):
            call()
    store.close()  # twice is harmless
    reopened = ConversationStore(path)
    try:
        assert [t.question for t in reopened.get(conversation).turns] == ["Does PRP help acne scars?"]
    finally:
        reopened.close()

