"""Conversations idle for longer than the retention are deleted, in both stores (SQLite embedded, Chroma server)."""

from __future__ import annotations

import pytest

from rag.conversation import PURGE_EVERY_S, ChromaConversationStore, Conversations, ConversationStore
from rag.errors import NotFoundError
from rag.factory import Components

DAY = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def store(components: Components, days: float, clock: Clock) -> Conversations:
    if components.settings.chroma_url:
        assert components.index.client is not None
        return ChromaConversationStore(components.index.client, components.settings.store.collection, days, clock)
    return ConversationStore(components.settings.data_dir / "retention.sqlite3", days, clock)


def test_idle_conversations_expire_and_active_ones_stay(components: Components) -> None:
    clock = Clock()
    conversations = store(components, 30, clock)
    idle = conversations.create("clinician")
    conversations.add_turn(idle, "Is PRP approved?", "Is PRP approved?", "{}")
    active = conversations.create("clinician")
    clock.now += 29 * DAY
    conversations.add_turn(active, "And exosomes?", "Are exosomes approved?", "{}")
    clock.now += 2 * DAY  # idle: 31 days without a turn; active: its last turn was 2 days ago
    assert conversations.purge() == 1
    with pytest.raises(NotFoundError):
        conversations.get(idle)
    assert [t.question for t in conversations.get(active).turns] == ["And exosomes?"]
    clock.now += 31 * DAY + PURGE_EVERY_S  # the next conversation started purges by itself
    fresh = conversations.create("patient")
    with pytest.raises(NotFoundError):
        conversations.get(active)
    assert conversations.get(fresh).audience == "patient"


def test_no_retention_keeps_everything(components: Components) -> None:
    clock = Clock()
    conversations = store(components, 0, clock)
    first = conversations.create("clinician")
    clock.now += 10_000 * DAY
    conversations.create("clinician")
    assert conversations.purge() == 0 and conversations.get(first).id == first
