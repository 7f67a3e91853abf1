"""Sentence vectors, content-addressed: each quotable sentence of the index is encoded once (at ingest, in batches)
and kept on disk in the data dir, so judging an answer's candidate sentences by meaning costs a lookup, not an
encoding (~15 ms a sentence on these CPUs, ~0.5 s for a section's sources).

Keys are a hash of the model name and the sentence text, so a vector is never stale: a changed sentence is another
key, and a vector of another model is never read. A sentence missing from the store (ingested before the store
existed, or a model's sentence) is encoded when asked for and written back when the store is writable; the store is a
cache, and a read-only or busy one is read and not written. Vectors are stored as float16 (cosines change by < 1e-3).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
FILE_NAME = "sentence-vectors.sqlite3"
_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID"
_BATCH = 500


class SentenceEncoder(Protocol):
    """What the store needs of an embedding model: its name and unit vectors for a batch of texts."""

    @property
    def name(self) -> str:
        """Identifies the model (vectors of two models are never mixed)."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised row per text."""
        ...


class SentenceVectors:
    """Unit vectors of sentences: from memory (the last ``memory_texts``), else from the store file, else encoded
    (and then stored). Thread-safe; several processes may share the file (SQLite WAL)."""

    def __init__(self, encoder: SentenceEncoder, path: Path | None, memory_texts: int = 20_000) -> None:
        self._encoder = encoder
        self._path = path
        self._memory: OrderedDict[bytes, Vectors] = OrderedDict()
        self._memory_texts = memory_texts
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._writable = path is not None

    @property
    def model(self) -> str:
        """The name of the model whose vectors these are."""
        return self._encoder.name

    def get(self, texts: Sequence[str]) -> Vectors:
        """One unit row per text, in order (missing ones encoded in one batch, then kept)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        keys = [self._key(t) for t in texts]
        found = self._recall(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            encoded = self._encoder.embed_documents([text_of[k] for k in missing])
            fresh = dict(zip(missing, _as_stored(encoded), strict=True))
            self._keep(fresh, persist=True)
            found.update(fresh)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def fill(self, texts: Sequence[str]) -> int:
        """Encode and store the texts not stored yet (at ingest); returns how many were encoded."""
        unique = list(dict.fromkeys(texts))
        encoded = 0
        for start in range(0, len(unique), _BATCH):
            batch = unique[start:start + _BATCH]
            keys = [self._key(t) for t in batch]
            stored = self._stored(keys)
            todo = [(k, t) for k, t in zip(keys, batch, strict=True) if k not in stored]
            if todo:
                vectors = self._encoder.embed_documents([t for _, t in todo])
                self._keep(dict(zip([k for k, _ in todo], _as_stored(vectors), strict=True)),
                           persist=True, remember=False)
                encoded += len(todo)
        return encoded

    def close(self) -> None:
        """Close the store file."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- internals ---------------------------------------------------------------------------------------------
    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self._encoder.name}\n{text}".encode(), digest_size=16).digest()

    def _recall(self, keys: list[bytes]) -> dict[bytes, Vectors]:
        with self._lock:
            found = {k: self._memory[k] for k in keys if k in self._memory}
            for key in found:
                self._memory.move_to_end(key)
        rest = [k for k in dict.fromkeys(keys) if k not in found]
        if rest:
            stored = self._stored(rest)
            self._keep(stored, persist=False)
            found.update(stored)
        return found

    def _stored(self, keys: list[bytes]) -> dict[bytes, Vectors]:
        db = self._connection()
        if db is None or not keys:
            return {}
        found: dict[bytes, Vectors] = {}
        try:
            with self._lock:
                for start in range(0, len(keys), _BATCH):
                    batch = keys[start:start + _BATCH]
                    rows = db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(batch))})",
                                      batch).fetchall()
                    for key, blob in rows:
                        found[key] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        except sqlite3.Error as exc:
            logger.warning("sentence vectors could not be read (%s); encoding instead", exc)
        return found

    def _keep(self, vectors: dict[bytes, Vectors], persist: bool, remember: bool = True) -> None:
        if remember:
            with self._lock:
                for key, vector in vectors.items():
                    self._memory[key] = vector
                    self._memory.move_to_end(key)
                while len(self._memory) > self._memory_texts:
                    self._memory.popitem(last=False)
        if persist and vectors and self._writable:
            self._write(vectors)

    def _write(self, vectors: dict[bytes, Vectors]) -> None:
        db = self._connection()
        if db is None:
            return
        rows = [(k, v.astype(np.float16).tobytes()) for k, v in vectors.items()]
        try:
            with self._lock, db:
                db.executemany("INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)", rows)
        except sqlite3.Error as exc:  # read-only, full or busy: the vectors stay in memory only
            logger.info("sentence vectors not stored (%s)", exc)
            self._writable = False

    def _connection(self) -> sqlite3.Connection | None:
        with self._lock:
            if self._db is not None or self._path is None:
                return self._db
            try:
                db = sqlite3.connect(self._path, timeout=0.2, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=OFF")  # a cache: a lost write is encoded again
                db.execute(_SCHEMA)
                db.isolation_level = "DEFERRED"
                self._db = db
            except sqlite3.Error:
                self._db = self._read_only()
            return self._db

    def _read_only(self) -> sqlite3.Connection | None:
        """The store opened for reading (a read-only data dir), or None (then vectors live in memory only)."""
        self._writable = False
        assert self._path is not None
        try:
            return sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.2,
                                   check_same_thread=False)
        except (sqlite3.Error, ValueError) as exc:
            logger.info("sentence vectors kept in memory only (%s)", exc)
            self._path = None
            return None


def _as_stored(vectors: Vectors) -> Vectors:
    """Vectors rounded as the store keeps them (float16), so a vector read back equals the one first returned and
    every answer is the same whether its sentences were just encoded or read from the store."""
    rounded: Vectors = np.asarray(vectors, dtype=np.float16).astype(np.float32)
    return rounded
