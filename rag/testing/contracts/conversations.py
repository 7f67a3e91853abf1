"""The Conversations contract: turns kept in order, conversations owned by the principal that started them, idle ones
deleted after the retention, usage counted per owner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rag.conversation import PURGE_EVERY_S, Conversations
from rag.errors import NotFoundError

DAY = 86400.0


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ConversationsContract:
    """Implement :meth:`make_conversations`; the contract closes what it makes."""

    def make_conversations(self, tmp_path: Path, retention_days: float,
                           clock: Callable[[], float]) -> Conversations:
        """A new, empty store that deletes conversations idle for ``retention_days`` (0: never) by ``clock``."""
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def open_store(self, tmp_path: Path, clock: Clock) -> Iterator[Callable[[float], Conversations]]:
        opened: list[Conversations] = []

        def make(retention_days: float) -> Conversations:
            folder = tmp_path / f"store{len(opened)}"
            folder.mkdir()
            opened.append(self.make_conversations(folder, retention_days, clock))
            return opened[-1]

        yield make
        for store in opened:
            store.close()

    @pytest.fixture
    def store(self, open_store: Callable[[float], Conversations]) -> Conversations:
        return open_store(0.0)

    def test_a_new_conversation_has_an_id_its_audience_and_no_turns(self, store: Conversations,
                                                                    clock: Clock) -> None:
        first, second = store.create("clinician"), store.create("patient")
        assert first != second and all(0 < len(i) <= 64 and i.replace("-", "").replace("_", "").isalnum()
                                       for i in (first, second))
        conversation = store.get(first)
        assert (conversation.id, conversation.audience, conversation.turns) == (first, "clinician", [])
        assert conversation.created_at == clock.now and store.get(second).audience == "patient"

    def test_turns_are_numbered_from_one_and_kept_in_order(self, store: Conversations) -> None:
        conversation_id = store.create("clinician")
        other = store.create("clinician")
        assert store.add_turn(conversation_id, "Is PRP approved?", "Is PRP approved?", '{"a": 1}') == 1
        assert store.add_turn(other, "Unrelated?", "Unrelated?", "{}") == 1
        assert store.add_turn(conversation_id, "And exosomes?", "Are exosomes approved?", '{"a": 2}') == 2
        turns = store.get(conversation_id).turns
        assert [(t.n, t.question, t.standalone_question, t.answer_json) for t in turns] == [
            (1, "Is PRP approved?", "Is PRP approved?", '{"a": 1}'),
            (2, "And exosomes?", "Are exosomes approved?", '{"a": 2}')]
        assert [t.question for t in store.get(other).turns] == ["Unrelated?"]

    def test_text_is_kept_exactly(self, store: Conversations) -> None:
        conversation_id = store.create("patient")
        question = "Ist Mikroneedling sicher? 🙂 \"quoted\" 'single' -- ; DROP TABLE turns; \n second line"
        store.add_turn(conversation_id, question, question.upper(), '{"text": "ü [1]"}')
        turn = store.get(conversation_id).turns[0]
        assert (turn.question, turn.standalone_question, turn.answer_json) == (
            question, question.upper(), '{"text": "ü [1]"}')

    @pytest.mark.parametrize("bad", ["0" * 32, "", "../etc/passwd", "x" * 65, "a b", "é"])
    def test_an_unknown_or_malformed_id_is_not_found(self, store: Conversations, bad: str) -> None:
        for call in (lambda: store.get(bad), lambda: store.delete(bad),
                     lambda: store.add_turn(bad, "q", "q", "{}")):
            with pytest.raises(NotFoundError):
                call()

    def test_a_conversation_belongs_to_its_owner(self, store: Conversations) -> None:
        mine = store.create("clinician", owner="key-a")
        store.add_turn(mine, "q", "q", "{}")
        assert store.get(mine, owner="key-a").id == mine
        assert store.get(mine).id == mine, "the trusted local caller (owner None) sees every conversation"
        with pytest.raises(NotFoundError):
            store.get(mine, owner="key-b")
        with pytest.raises(NotFoundError):
            store.delete(mine, owner="key-b")
        assert len(store.get(mine).turns) == 1, "a refused delete deletes nothing"

    def test_a_conversation_without_owner_belongs_to_no_principal(self, store: Conversations) -> None:
        local = store.create("clinician")
        with pytest.raises(NotFoundError):
            store.get(local, owner="key-a")
        assert store.get(local).id == local

    def test_delete_removes_the_conversation_and_its_turns(self, store: Conversations) -> None:
        conversation_id = store.create("clinician", owner="key-a")
        kept = store.create("clinician", owner="key-a")
        store.add_turn(conversation_id, "q", "q", "{}")
        store.delete(conversation_id, owner="key-a")
        for call in (lambda: store.get(conversation_id), lambda: store.delete(conversation_id),
                     lambda: store.add_turn(conversation_id, "q", "q", "{}")):
            with pytest.raises(NotFoundError):
                call()
        assert store.get(kept).id == kept and store.usage("key-a") == (0, 0)

    def test_usage_counts_an_owners_turns_and_their_utf8_bytes(self, store: Conversations) -> None:
        assert store.usage("key-a") == (0, 0)
        first, second = store.create("clinician", owner="key-a"), store.create("patient", owner="key-a")
        store.add_turn(first, "ab", "abc", "{}")  # 2 + 3 + 2 bytes
        store.add_turn(second, "é", "é?", "[]")  # 2 + 3 + 2 bytes
        store.add_turn(store.create("clinician", owner="key-b"), "other", "other", "{}")
        store.add_turn(store.create("clinician"), "local", "local", "{}")
        assert store.usage("key-a") == (2, 14)
        assert store.usage("key-b") == (1, 12) and store.usage("key-c") == (0, 0)

    def test_idle_conversations_expire_and_active_ones_stay(self, open_store: Callable[[float], Conversations],
                                                            clock: Clock) -> None:
        store = open_store(30)
        idle = store.create("clinician")
        store.add_turn(idle, "Is PRP approved?", "Is PRP approved?", "{}")
        active = store.create("clinician")
        clock.now += 29 * DAY
        store.add_turn(active, "And exosomes?", "Are exosomes approved?", "{}")
        clock.now += 2 * DAY  # idle: 31 days without a turn; active: its last turn was 2 days ago
        assert store.purge() == 1
        with pytest.raises(NotFoundError):
            store.get(idle)
        assert [t.question for t in store.get(active).turns] == ["And exosomes?"]
        assert store.purge() == 0

    def test_starting_a_conversation_purges_when_a_purge_is_due(
            self, open_store: Callable[[float], Conversations], clock: Clock) -> None:
        store = open_store(30)
        old = store.create("clinician")
        clock.now += 31 * DAY + PURGE_EVERY_S
        fresh = store.create("patient")
        with pytest.raises(NotFoundError):
            store.get(old)
        assert store.get(fresh).audience == "patient"

    def test_no_retention_keeps_everything(self, store: Conversations, clock: Clock) -> None:
        first = store.create("clinician")
        clock.now += 10_000 * DAY
        store.create("clinician")
        assert store.purge() == 0 and store.get(first).id == first
