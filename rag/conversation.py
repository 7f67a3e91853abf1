"""Conversations for follow-up questions, kept in SQLite in the data dir (or, in server mode, in the Chroma server so
every API machine sees them); and the rule that condenses a follow-up into a standalone question when no language
model is available.

A conversation belongs to the principal that started it (an API key, by a prefix of its hash, or the anonymous
loopback principal): reading, continuing or deleting it as another principal is "unknown conversation id", the
same answer as for an id that never existed. ``owner=None`` is the trusted local caller (the command line, the eval
harness), which sees every conversation; conversations it starts, and those stored before owners were recorded,
belong to no principal of the API.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.errors import NotFoundError, StoreError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
from rag.store.sqlite import SharedConnection, connect_wal
from rag.text.terms import content_terms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, audience TEXT NOT NULL, created_at REAL NOT NULL,
                                          owner TEXT);
CREATE INDEX IF NOT EXISTS conversations_created ON conversations(created_at);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    question TEXT NOT NULL,
    standalone_question TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (conversation_id, n)
);
"""
_LOWER_WORD = re.compile(r"[a-z']+")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PURGE_EVERY_S = 3600.0  # how often (at most) a store deletes expired conversations, on the next create
FILE_MODE = 0o600  # questions may hold patient details: only the server's user reads the conversation database


@dataclass(frozen=True)
class StoredTurn:
    """One answered question: its number (from 1), the question as asked and as condensed, the Answer JSON."""

    n: int
    question: str
    standalone_question: str
    answer_json: str


@dataclass(frozen=True)
class Conversation:
    """A conversation and its turns in order; ``created_at`` is in seconds since the epoch."""

    id: str
    audience: str
    created_at: float
    turns: list[StoredTurn]


class Conversations(Protocol):
    """Where conversations are kept: SQLite in the data dir, or the shared Chroma server."""

    def create(self, audience: str, owner: str | None = None) -> str:
        """Start a conversation for this audience, owned by ``owner``; returns its new id."""
        ...

    def get(self, conversation_id: str, owner: str | None = None) -> Conversation:
        """The conversation with its turns; an unknown id, or one another owner holds, is a :class:`NotFoundError`
        (``owner=None``: any conversation)."""
        ...

    def delete(self, conversation_id: str, owner: str | None = None) -> None:
        """Delete a conversation and its turns; unknown, or held by another owner: :class:`NotFoundError`."""
        ...

    def add_turn(self, conversation_id: str, question: str, standalone: str, answer_json: str) -> int:
        """Append a turn to an existing conversation; returns its number (1 for the first)."""
        ...

    def purge(self) -> int:
        """Delete the conversations idle (no new turn) for longer than the retention; how many were deleted."""
        ...

    def usage(self, owner: str) -> tuple[int, int]:
        """The turns ``owner`` keeps stored across its conversations, and their bytes (question, standalone
        question and answer, UTF-8): what the per-owner quota is checked against."""
        ...

    def close(self) -> None:
        """Release the store (the SQLite one refuses calls after this)."""
        ...


class Retention:
    """The retention rule every conversation store follows: conversations idle for ``days`` (0: never) are deleted,
    checked at most every ``PURGE_EVERY_S`` on create; ``clock`` stamps conversations and turns."""

    def __init__(self, days: float, clock: Callable[[], float]) -> None:
        self.seconds = days * 86400.0
        self.clock = clock
        self._next = float("-inf")
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Whether a purge is due now (at most once every ``PURGE_EVERY_S``; never without a retention)."""
        if not self.seconds:
            return False
        with self._lock:
            now = self.clock()
            if now < self._next:
                return False
            self._next = now + PURGE_EVERY_S
            return True

    def cutoff(self) -> float | None:
        """Conversations with no turn since this time have expired; None: they never do."""
        return self.clock() - self.seconds if self.seconds else None


def check_id(conversation_id: str) -> None:
    """Refuse as :class:`NotFoundError` an id that cannot be a conversation's (1-64 letters, digits, ``_``, ``-``)."""
    if not isinstance(conversation_id, str) or not _ID.match(conversation_id):
        raise NotFoundError(f"unknown conversation id {conversation_id!r}")


class ConversationStore:
    """One SQLite file; safe for several threads and processes (WAL). ``close`` waits for the operation in progress;
    later ones raise :class:`StoreError` (closing the connection under a running query would crash the process)."""

    def __init__(self, path: Path, retention_days: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        self._retention = Retention(retention_days, clock)
        try:
            _private_file(path)
            db = connect_wal(path)
            db.executescript(_SCHEMA)
            _add_owner_column(db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the conversation store {path}: {exc}") from exc
        self._db = SharedConnection(db, f"conversation store {path}")

    def close(self) -> None:
        """Close the connection once the operation in progress ends; later calls raise :class:`StoreError`."""
        self._db.close()

    def create(self, audience: str, owner: str | None = None) -> str:
        """Start a conversation owned by ``owner``; returns its id. Expired conversations are purged first when a
        purge is due."""
        if self._retention.due():
            self.purge()
        conversation_id = uuid.uuid4().hex
        with self._db.use() as db:
            db.execute("INSERT INTO conversations(id, audience, created_at, owner) VALUES (?, ?, ?, ?)",
                       (conversation_id, audience, self._retention.clock(), owner))
        return conversation_id

    def purge(self) -> int:
        """Delete the conversations idle past the retention (none when it is 0); returns how many."""
        cutoff = self._retention.cutoff()
        if cutoff is None:
            return 0
        with self._db.use() as db:
            try:
                deleted = db.execute(
                    "DELETE FROM conversations WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM turns t WHERE "
                    "t.conversation_id = conversations.id AND t.created_at >= ?)", (cutoff, cutoff)).rowcount
            except sqlite3.Error as exc:
                raise StoreError(f"deleting expired conversations failed: {exc}") from exc
        return int(deleted)

    def get(self, conversation_id: str, owner: str | None = None) -> Conversation:
        """The conversation with its turns; an unknown or malformed id, or another owner's conversation, is a
        :class:`NotFoundError`."""
        check_id(conversation_id)
        with self._db.use() as db:
            row = db.execute("SELECT audience, created_at, owner FROM conversations WHERE id = ?",
                             (conversation_id,)).fetchone()
            if row is None or not _may_use(row[2], owner):
                raise NotFoundError(f"unknown conversation id {conversation_id!r}")
            turns = [StoredTurn(*t) for t in db.execute(
                "SELECT n, question, standalone_question, answer_json FROM turns WHERE conversation_id = ? "
                "ORDER BY n", (conversation_id,))]
        return Conversation(conversation_id, row[0], row[1], turns)

    def delete(self, conversation_id: str, owner: str | None = None) -> None:
        """Delete a conversation with its turns (one transaction); unknown, or another owner's: NotFoundError."""
        check_id(conversation_id)
        with self._db.transaction() as db:
            row = db.execute("SELECT owner FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if row is None or not _may_use(row[0], owner):
                raise NotFoundError(f"unknown conversation id {conversation_id!r}")
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def add_turn(self, conversation_id: str, question: str, standalone: str, answer_json: str) -> int:
        """Append a turn in one transaction; returns its number. The caller has read the conversation as its
        owner; one deleted since (or never stored) is a :class:`NotFoundError`."""
        try:
            with self._db.transaction() as db:
                n = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation_id = ?",
                               (conversation_id,)).fetchone()[0]
                db.execute(
                    "INSERT INTO turns(conversation_id, n, question, standalone_question, answer_json, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (conversation_id, n, question, standalone, answer_json, self._retention.clock()))
        except sqlite3.IntegrityError:  # the foreign key: no such conversation (any more)
            raise NotFoundError(f"unknown conversation id {conversation_id!r}") from None
        return int(n)


    def usage(self, owner: str) -> tuple[int, int]:
        """Turns and bytes stored in ``owner``'s conversations."""
        with self._db.use() as db:
            turns, size = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(question AS BLOB)) + LENGTH(CAST(standalone_question AS "
                "BLOB)) + LENGTH(CAST(answer_json AS BLOB))), 0) FROM turns t JOIN conversations c ON "
                "c.id = t.conversation_id WHERE c.owner = ?", (owner,)).fetchone()
        return int(turns), int(size)


def _may_use(stored_owner: str | None, owner: str | None) -> bool:
    """The trusted local caller (``owner`` None) uses any conversation; a principal only its own."""
    return owner is None or stored_owner == owner


def _owner(header: Mapping[str, Any]) -> str | None:
    """The owner a Chroma header record holds ("" or missing: none)."""
    return str(header.get("owner") or "") or None


def _private_file(path: Path) -> None:
    """Create the database file readable and writable by this user only (SQLite gives its -wal and -shm files the
    same mode); an existing one, and its -wal and -shm files, are made so."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o777 != FILE_MODE:
            os.chmod(file, FILE_MODE)


def _add_owner_column(db: sqlite3.Connection) -> None:
    """Stores created before conversations had owners get the column (their conversations have none), and the index
    the per-owner quota reads by (every question that stores a turn counts its owner's turns)."""
    if "owner" not in {row[1] for row in db.execute("PRAGMA table_info(conversations)")}:
        try:
            db.execute("ALTER TABLE conversations ADD COLUMN owner TEXT")
        except sqlite3.OperationalError as exc:  # another process added it first
            if "duplicate column" not in str(exc):
                raise
    db.execute("CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(owner)")


class ChromaConversationStore:
    """Server mode: conversations in the ``<collection>-conversations`` collection of the shared Chroma server, so a
    follow-up may reach any API worker on any machine. One record per conversation (``n`` 0) and one per turn.
    Two follow-ups to the same conversation at the same instant may both take the same turn number (the later
    write wins); clients send a conversation's turns one after another."""

    def __init__(self, client: ClientAPI, collection: str, retention_days: float = 0.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._retention = Retention(retention_days, clock)
        self._name = f"{collection}-conversations"
        self._collection = self._guard(lambda: client.get_or_create_collection(self._name, embedding_function=None))

    def close(self) -> None:
        """Nothing to close: the HTTP client belongs to the index."""
        return None  # the HTTP client belongs to the index

    def create(self, audience: str, owner: str | None = None) -> str:
        """Start a conversation owned by ``owner`` (recorded on its header record); returns its id. Expired
        conversations are purged first when a purge is due."""
        if self._retention.due():
            self.purge()
        conversation_id = uuid.uuid4().hex
        self._put(conversation_id, 0, "", {"audience": audience, "owner": owner or ""})
        return conversation_id

    def purge(self) -> int:
        """Delete the conversations idle past the retention (none when it is 0); returns how many."""
        cutoff = self._retention.cutoff()
        if cutoff is None:
            return 0
        old = self._guard(lambda: self._collection.get(
            where={"$and": [{"n": 0}, {"created_at": {"$lt": cutoff}}]}, include=["metadatas"]))
        candidates = sorted({str(m["conversation_id"]) for m in old["metadatas"] or []})
        deleted = 0
        for start in range(0, len(candidates), 500):
            batch = candidates[start:start + 500]
            recent = self._guard(lambda b=batch: self._collection.get(
                where={"$and": [{"conversation_id": {"$in": b}}, {"created_at": {"$gte": cutoff}}]},
                include=["metadatas"]))
            active = {str(m["conversation_id"]) for m in recent["metadatas"] or []}
            idle = [c for c in batch if c not in active]
            if idle:
                self._guard(lambda i=idle: self._collection.delete(where={"conversation_id": {"$in": i}}))
                deleted += len(idle)
        return deleted

    def get(self, conversation_id: str, owner: str | None = None) -> Conversation:
        """The conversation with its turns; an unknown or malformed id, or another owner's conversation, is a
        :class:`NotFoundError`."""
        check_id(conversation_id)
        found = self._guard(lambda: self._collection.get(where={"conversation_id": conversation_id},
                                                         include=["documents", "metadatas"]))
        records = sorted(zip(found["metadatas"] or [], found["documents"] or [], strict=True),
                         key=lambda r: int(r[0]["n"]))
        if not records or int(records[0][0]["n"]) != 0 or not _may_use(_owner(records[0][0]), owner):
            raise NotFoundError(f"unknown conversation id {conversation_id!r}")
        header = records[0][0]
        turns = []
        for meta, payload in records[1:]:
            turn = json.loads(payload)
            turns.append(StoredTurn(int(meta["n"]), turn["question"], turn["standalone"], turn["answer_json"]))
        return Conversation(conversation_id, str(header["audience"]), float(header["created_at"]), turns)

    def delete(self, conversation_id: str, owner: str | None = None) -> None:
        """Delete a conversation's records; unknown, or another owner's: :class:`NotFoundError`."""
        check_id(conversation_id)
        header = self._guard(lambda: self._collection.get(ids=[f"{conversation_id}:{0:06d}"], include=["metadatas"]))
        if not header["ids"] or not _may_use(_owner((header["metadatas"] or [{}])[0]), owner):
            raise NotFoundError(f"unknown conversation id {conversation_id!r}")
        self._guard(lambda: self._collection.delete(where={"conversation_id": conversation_id}))

    def add_turn(self, conversation_id: str, question: str, standalone: str, answer_json: str) -> int:
        """Append a turn numbered after the records held; an unknown id is a :class:`NotFoundError`."""
        check_id(conversation_id)
        stored = self._guard(lambda: self._collection.get(where={"conversation_id": conversation_id}, include=[]))
        if not stored["ids"]:
            raise NotFoundError(f"unknown conversation id {conversation_id!r}")
        n = len(stored["ids"])  # the header record plus the turns so far
        header = self._guard(lambda: self._collection.get(ids=[f"{conversation_id}:{0:06d}"], include=["metadatas"]))
        owner = _owner((header["metadatas"] or [{}])[0]) or ""
        payload = json.dumps({"question": question, "standalone": standalone, "answer_json": answer_json})
        size = sum(len(text.encode()) for text in (question, standalone, answer_json))
        self._put(conversation_id, n, payload, {"owner": owner, "bytes": size})
        return n

    def usage(self, owner: str) -> tuple[int, int]:
        """Turns and bytes stored in ``owner``'s conversations (turns written before owners were recorded on
        turn records are not counted)."""
        found = self._guard(lambda: self._collection.get(where={"$and": [{"owner": owner}, {"n": {"$gt": 0}}]},
                                                         include=["metadatas"]))
        metadatas = found["metadatas"] or []
        return len(metadatas), sum(int(m.get("bytes", 0)) for m in metadatas)

    def _put(self, conversation_id: str, n: int, payload: str, extra: dict[str, str | int]) -> None:
        """Write one record: the header (``n`` 0, with the audience and owner) or a turn."""
        metadata = {"conversation_id": conversation_id, "n": n, "created_at": self._retention.clock(), **extra}
        self._guard(lambda: self._collection.upsert(ids=[f"{conversation_id}:{n:06d}"], documents=[payload],
                                                    metadatas=[metadata], embeddings=[[0.0]]))

    def _guard(self, call: Any) -> Any:
        from rag.store.chroma import CHROMA_ERRORS

        try:
            return call()
        except CHROMA_ERRORS as exc:
            raise StoreError(f"the conversation store (Chroma collection {self._name!r}) failed: {exc}") from exc


_ANAPHORA = frozenset("it its it's they them their theirs this that these those there he she his her one ones "
                      "same such former latter".split())
_CONTINUATIONS = ("and ", "what about", "how about", "also", "what if", "and what", "but ", "so ", "then ",
                  "compared", "versus", "vs", "same for", "is it", "are they", "if ", "in that case",
                  "does it", "do they", "can it", "can they")


def condense_by_rule(question: str, previous_standalone: str) -> str:
    """One self-contained question, without a model: a follow-up keeps its own ask and names the question that
    opened the topic once, in its own words ('What about weight gain and hypos? (following the question "Is bedtime
    NPH added to the tablets as effective as switching to insulin alone?")'); that question is carried flat through a
    chain, never nested. A question is taken as standing on its own, and kept as is, when it is long (a new question
    in full) or already names most of the earlier topic, unless it leans on it openly (a pronoun such as 'it' or
    'they', an opening such as 'what about')."""
    question = question.strip()
    topic = topic_question(previous_standalone)
    lowered = question.lower()
    own = content_terms(question)
    named = content_terms(topic)
    leans = bool(set(_LOWER_WORD.findall(lowered)) & _ANAPHORA) or lowered.startswith(_CONTINUATIONS)
    stands = len(own) >= _SELF_CONTAINED_WORDS or (bool(named) and len(own & named) * 2 >= len(named))
    if not topic or (stands and not leans):
        return question
    return f'{question}{FOLLOWING}{topic}")'


_SELF_CONTAINED_WORDS = 8
"""A question of this many content words or more is a new question in full, unless it leans on the last one."""
FOLLOWING = ' (following the question "'
"""Where a follow-up condensed by rule ends its own ask and names the question it follows."""
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z])")


def own_ask(standalone: str) -> str | None:
    """A follow-up's own ask when it was condensed by rule ("What about weight gain and hypos?"), else None."""
    return standalone.split(FOLLOWING, 1)[0] if FOLLOWING in standalone else None


def topic_question(question: str) -> str:
    """The question that opened a topic: the one a follow-up condensed by rule names, else the question itself; a
    question told in several sentences ("A patient got red bumps after a needling facial. Has this been
    described?") is represented by the one with the most content words."""
    if FOLLOWING in question:
        return question.rsplit(FOLLOWING, 1)[1].removesuffix('")').strip()
    parts = _SENTENCE_END.split(question.strip())
    return max(parts, key=lambda part: len(content_terms(part))).strip()
