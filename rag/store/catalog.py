"""The catalog: one SQLite file holding every committed document, its chunks and their full-text (BM25) index.

The FTS5 table follows the chunks table through triggers, so the lexical index changes in the same transaction as
the catalog and can never disagree with it. A ``pending`` row marks documents whose vectors are being changed; see
:mod:`rag.store.index` for the protocol that keeps Chroma in step.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.errors import StoreError
from rag.filters import Filters
from rag.models import Document, DocumentMeta, Section
from rag.store.entry import IndexEntry
from rag.store.filtering import sql_condition
from rag.store.sqlite import SharedConnection, connect, connect_wal

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    source_file TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    meta_json TEXT NOT NULL,
    text TEXT NOT NULL,
    sections_json TEXT NOT NULL,
    n_chunks INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source_file ON documents(source_file);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    search_text TEXT NOT NULL,
    token_count INTEGER NOT NULL,
    year INTEGER,
    study_design TEXT,
    evidence_level INTEGER
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    search_text, content='chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TABLE IF NOT EXISTS pending (doc_id TEXT PRIMARY KEY, started_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS replica (doc_id TEXT PRIMARY KEY, revision INTEGER NOT NULL);
"""

#: Upgrades from an older schema version (key) to the next one.
_MIGRATIONS = {
    1: """
ALTER TABLE chunks ADD COLUMN year INTEGER;
ALTER TABLE chunks ADD COLUMN study_design TEXT;
ALTER TABLE chunks ADD COLUMN evidence_level INTEGER;
UPDATE chunks SET
    year = (SELECT json_extract(d.meta_json, '$.year') FROM documents d WHERE d.id = chunks.doc_id),
    study_design = (SELECT json_extract(d.meta_json, '$.study_design') FROM documents d WHERE d.id = chunks.doc_id),
    evidence_level = (SELECT json_extract(d.meta_json, '$.evidence_level') FROM documents d WHERE d.id = chunks.doc_id);
""",
    2: "CREATE TABLE IF NOT EXISTS replica (doc_id TEXT PRIMARY KEY, revision INTEGER NOT NULL);",
}


@dataclass(frozen=True)
class StoredDocument:
    """What the catalog knows about a committed document, without its text."""

    id: str
    kind: str
    source: str
    source_file: str
    fingerprint: str
    n_chunks: int


@dataclass(frozen=True)
class StoredChunk:
    """A committed chunk joined with its document's metadata: everything a search hit shows."""

    id: str
    doc_id: str
    section: str
    start: int
    end: int
    text: str
    meta: DocumentMeta


class Catalog:
    """SQLite in WAL mode: one writer at a time, readers never blocked.

    Writes (and ``size_key``) use one connection, one thread at a time. Reads borrow a connection from a small pool,
    one per concurrent reader: a single connection shared by the API's threads serialises every query on its mutex,
    and with 8 concurrent searches its queries cost 3-8 times their CPU time alone. A read sees the last committed
    write.

    ``close`` may be called while other threads still use the catalog (a server shutting down under an answer that
    outlived its timeout): the writer waits for the write in progress, a reader's connection closes when its read
    ends, and what starts later raises :class:`StoreError`. Closing a connection under a running query would crash
    the process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._size: tuple[tuple[int, int], tuple[int, int]] | None = None  # (version, size key)
        self._sizes: tuple[tuple[int, int], dict[str, tuple[int, int]]] | None = None  # (version, sizes by kind)
        self._idle: list[sqlite3.Connection] = []  # read connections not in use
        self._pool_lock = threading.Lock()
        self._closed = False
        try:
            db = connect_wal(path)
            self._migrate(db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the catalog {path}: {exc}") from exc
        self._writer = SharedConnection(db, f"catalog {path}")

    def close(self) -> None:
        """Close the catalog: idle readers now, the writer after its write in progress, busy readers when their
        read ends; later calls raise :class:`StoreError`."""
        with self._pool_lock:
            idle, self._idle, self._closed = self._idle, [], True
        for reader in idle:  # a connection in use closes when its read ends
            reader.close()
        self._writer.close()

    @contextmanager
    def _reading(self, snapshot: bool = False) -> Iterator[sqlite3.Connection]:
        """A read connection used by this thread alone until the block ends (results must be fetched inside);
        ``snapshot``: every query in the block reads the same committed state (one read transaction)."""
        with self._pool_lock:
            if self._closed:
                raise StoreError(f"the catalog {self.path} is closed")
            db = self._idle.pop() if self._idle else None
        if db is None:
            try:
                db = connect(self.path)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the catalog {self.path}: {exc}") from exc
        try:
            if snapshot:
                db.execute("BEGIN")
            try:
                yield db
            finally:
                if snapshot:
                    db.execute("COMMIT")
        finally:
            with self._pool_lock:
                closing = self._closed
                if not closing:
                    self._idle.append(db)
            if closing:
                db.close()

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"the catalog {self.path} was written by a newer version of rag (schema {version})")
        script = _SCHEMA if version == 0 else "".join(_MIGRATIONS[v] for v in range(version, SCHEMA_VERSION))
        if version < SCHEMA_VERSION:
            # executescript commits first, so the script carries its own transaction
            db.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={SCHEMA_VERSION};\nCOMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        try:
            with self._writer.transaction() as db:
                yield db
        except sqlite3.Error as exc:
            raise StoreError(f"catalog write failed ({self.path}): {exc}") from exc

    # -- settings stored with the index ------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A setting stored with the index (e.g. the embedding model), None when unset."""
        with self._writer.use() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting with the index (committed at once)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- reads -------------------------------------------------------------------------------------------------
    def documents(self, ids: Iterable[str] | None = None) -> dict[str, StoredDocument]:
        """Committed documents by id: all of them, or those of ``ids`` that exist."""
        query = "SELECT id, kind, source, source_file, fingerprint, n_chunks FROM documents"
        with self._reading() as db:
            if ids is None:
                rows = db.execute(query).fetchall()
            else:
                rows = [row for batch in _batches(list(ids)) for row in db.execute(
                    f"{query} WHERE id IN ({_marks(batch)})", batch)]
        return {row[0]: StoredDocument(*row) for row in rows}

    def chunk_ids(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        """The committed chunk ids of each document (an empty set for an unknown one)."""
        found: dict[str, set[str]] = {doc_id: set() for doc_id in doc_ids}
        with self._reading() as db:
            for batch in _batches(list(doc_ids)):
                for chunk_id, doc_id in db.execute(
                    f"SELECT id, doc_id FROM chunks WHERE doc_id IN ({_marks(batch)})", batch
                ):
                    found[doc_id].add(chunk_id)
        return found

    def all_chunk_ids(self) -> set[str]:
        """Every committed chunk id."""
        with self._reading() as db:
            return {row[0] for row in db.execute("SELECT id FROM chunks")}

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Committed chunks by id (ids not in the catalog are left out), with their documents' metadata."""
        found: dict[str, StoredChunk] = {}
        metas: dict[str, DocumentMeta] = {}  # one parse per document, not per passage
        with self._reading() as db:
            rows = [row for batch in _batches(list(chunk_ids)) for row in db.execute(
                "SELECT c.id, c.doc_id, c.section, c.start, c.\"end\", c.text, d.meta_json "
                f"FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({_marks(batch)})", batch)]
        for cid, doc_id, section, start, end, text, meta_json in rows:
            meta = metas.get(doc_id)
            if meta is None:
                meta = metas[doc_id] = DocumentMeta.model_validate_json(meta_json)
            found[cid] = StoredChunk(cid, doc_id, section, start, end, text, meta)
        return found

    def page(self, kind: str | None, limit: int, offset: int) -> tuple[list[tuple[str, DocumentMeta, int]], int]:
        """A page of ``(id, metadata, chunk count)`` ordered by id, and the total, optionally of one kind."""
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        with self._reading(snapshot=True) as db:  # the total and the page agree
            total = int(db.execute(f"SELECT COUNT(*) FROM documents {where}", params).fetchone()[0])
            rows = db.execute(
                f"SELECT id, meta_json, n_chunks FROM documents {where} ORDER BY id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        return [(row[0], DocumentMeta.model_validate_json(row[1]), int(row[2])) for row in rows], total

    def ids_from_file(self, source_file: str) -> list[str]:
        """Ids of the documents indexed from this source file (its resolved path), sorted."""
        with self._reading() as db:
            return [row[0] for row in db.execute("SELECT id FROM documents WHERE source_file = ? ORDER BY id",
                                                 (source_file,))]

    def document(self, doc_id: str) -> Document | None:
        """A committed document with its text and sections, None when unknown."""
        with self._reading() as db:
            row = db.execute(
                "SELECT meta_json, text, sections_json, source FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
        if row is None:
            return None
        sections = tuple(Section(**s) for s in json.loads(row[2]))
        return Document(meta=DocumentMeta.model_validate_json(row[0]), text=row[1], sections=sections, source=row[3])

    def counts(self) -> tuple[int, int, dict[str, int]]:
        """(documents, chunks, documents by kind)."""
        with self._reading(snapshot=True) as db:
            by_kind = dict(db.execute("SELECT kind, COUNT(*) FROM documents GROUP BY kind").fetchall())
            chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return sum(by_kind.values()), int(chunks), {str(k): int(v) for k, v in by_kind.items()}

    def content_digest(self) -> str:
        """A sha256 over every committed document's id and content fingerprint: changes whenever a document is added,
        removed or changed (an eval's record of which corpus it ran on)."""
        digest = hashlib.sha256()
        with self._reading(snapshot=True) as db:
            for doc_id, fingerprint in db.execute("SELECT id, fingerprint FROM documents ORDER BY id"):
                digest.update(f"{doc_id}\t{fingerprint}\n".encode())
        return digest.hexdigest()

    def is_empty(self) -> bool:
        """No document is stored (one index probe, not a count)."""
        with self._reading() as db:
            return not db.execute("SELECT EXISTS(SELECT 1 FROM documents)").fetchone()[0]

    def fts_count(self) -> int:
        """Rows of the full-text index (its own count, not the chunks table's)."""
        with self._reading() as db:
            return int(db.execute("SELECT COUNT(*) FROM chunks_fts_docsize").fetchone()[0])

    def size_key(self) -> tuple[int, int]:
        """(chunk count, largest chunk rowid): changes whenever chunks are added. Counted again only when this or
        another connection has committed since (COUNT(*) takes ~13 ms at 100k chunks; a search asks several times)."""
        with self._writer.use() as db:
            version = (int(db.execute("PRAGMA data_version").fetchone()[0]), self._writer.commits)
            cached = self._size
            if cached is not None and cached[0] == version:
                return cached[1]
            count, largest = db.execute("SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM chunks").fetchone()
            self._size = (version, (int(count), int(largest)))
        return self._size[1]

    def sizes(self) -> dict[str, tuple[int, int]]:
        """(documents, chunks) by kind, counted again only when this or another connection has committed since
        (metrics read it at every scrape)."""
        with self._writer.use() as db:
            version = (int(db.execute("PRAGMA data_version").fetchone()[0]), self._writer.commits)
            cached = self._sizes
            if cached is not None and cached[0] == version:
                return dict(cached[1])
            documents = dict(db.execute("SELECT kind, COUNT(*) FROM documents GROUP BY kind").fetchall())
            chunks = dict(db.execute("SELECT kind, COUNT(*) FROM chunks GROUP BY kind").fetchall())
            sizes = {str(kind): (int(documents.get(kind, 0)), int(chunks.get(kind, 0)))
                     for kind in {*documents, *chunks}}
            self._sizes = (version, sizes)
        return dict(sizes)

    def fts_document_frequency(self, term: str) -> int:
        """Chunks whose text contains ``term`` (after the index's own stemming)."""
        with self._reading() as db:
            return int(db.execute("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                                  (f'"{term}"',)).fetchone()[0])

    def count_chunks(self, filters: Filters | None = None) -> int:
        """Chunks that pass ``filters`` (all chunks without filters)."""
        where, params = sql_condition(filters) if filters is not None else ("", [])
        sql = f"SELECT COUNT(*) FROM chunks c WHERE {where}" if where else "SELECT COUNT(*) FROM chunks c"
        with self._reading() as db:
            return int(db.execute(sql, list(params)).fetchone()[0])

    def matching_chunk_ids(self, chunk_ids: Sequence[str], filters: Filters) -> set[str]:
        """Those of ``chunk_ids`` that pass ``filters``."""
        where, params = sql_condition(filters)
        if not where:
            return set(chunk_ids)
        found: set[str] = set()
        with self._reading() as db:
            for batch in _batches(list(chunk_ids)):
                found.update(row[0] for row in db.execute(
                    f"SELECT c.id FROM chunks c WHERE c.id IN ({_marks(batch)}) AND {where}", [*batch, *params]))
        return found

    def pending(self) -> list[str]:
        """Documents marked pending, sorted: a write to their vectors started and has not been cleared."""
        with self._reading() as db:
            return [row[0] for row in db.execute("SELECT doc_id FROM pending ORDER BY doc_id")]

    # -- writes ------------------------------------------------------------------------------------------------
    def mark_pending(self, doc_ids: Sequence[str]) -> None:
        """Mark documents whose vectors are about to change (step 1 of the write protocol)."""
        now = time.time()
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO pending(doc_id, started_at) VALUES (?, ?)",
                           [(d, now) for d in doc_ids])

    def clear_pending(self, doc_ids: Sequence[str]) -> None:
        """Unmark documents once their vectors agree with the catalog (the last step of the write protocol)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM pending WHERE doc_id = ?", [(d,) for d in doc_ids])

    def replace_documents(self, entries: Sequence[IndexEntry]) -> None:
        """Atomically store the entries' documents and chunks, replacing older versions."""
        with self.transaction() as db:
            _insert_documents(db, entries)

    def replica_revisions(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """Server mode: the revision of the shared record each document's local copy came from."""
        found: dict[str, int] = {}
        with self._reading() as db:
            for batch in _batches(list(doc_ids)):
                found.update(db.execute(f"SELECT doc_id, revision FROM replica WHERE doc_id IN ({_marks(batch)})",
                                        batch).fetchall())
        return found

    def apply_replica(self, upserts: Sequence[IndexEntry], deleted: Sequence[str],
                      revisions: dict[str, int], watermark: int | None) -> None:
        """Server mode: bring documents to their shared versions in one transaction (see rag.store.replica). A
        version older than the one held (another worker on this data dir applied a newer one) is skipped."""
        with self.transaction() as db:
            ids = [e.document.id for e in upserts] + list(deleted)
            held = dict(row for batch in _batches(ids) for row in db.execute(
                f"SELECT doc_id, revision FROM replica WHERE doc_id IN ({_marks(batch)})", batch))
            newer = {d for d in ids if revisions.get(d, 0) >= held.get(d, -1)}
            upserts = [e for e in upserts if e.document.id in newer]
            deleted = [d for d in deleted if d in newer]
            revisions = {d: r for d, r in revisions.items() if d in newer}
            _insert_documents(db, upserts)
            db.executemany("DELETE FROM documents WHERE id = ?", [(d,) for d in deleted])
            db.executemany("INSERT OR REPLACE INTO replica(doc_id, revision) VALUES (?, ?)", revisions.items())
            if watermark is not None:
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('replica_watermark', ?)",
                           (str(watermark),))

    def move_sources(self, moves: Sequence[tuple[str, str, str]]) -> None:
        """Record new ``(doc_id, source, source_file)`` for unchanged documents whose file was moved."""
        with self.transaction() as db:
            db.executemany("UPDATE documents SET source = ?, source_file = ? WHERE id = ?",
                           [(source, source_file, doc_id) for doc_id, source, source_file in moves])

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Delete documents with their chunks and BM25 rows in one transaction (not their vectors)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM documents WHERE id = ?", [(d,) for d in doc_ids])

    # -- lexical search ----------------------------------------------------------------------------------------
    def fts_search(self, match: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """BM25 over chunks that pass ``filters``: (chunk id, score) pairs, best first."""
        where, params = sql_condition(filters) if filters is not None else ("", [])
        if where:
            sql = ("SELECT c.id, -bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid "
                   f"WHERE chunks_fts MATCH ? AND {where} ORDER BY bm25(chunks_fts) LIMIT ?")
        else:  # FTS5 sorts by its rank column faster than by a bm25() expression
            sql = ("SELECT c.id, -r.rank FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? "
                   "ORDER BY rank LIMIT ?) r JOIN chunks c ON c.rowid = r.rowid ORDER BY r.rank")
        with self._reading() as db:
            return [(row[0], float(row[1])) for row in db.execute(sql, [match, *params, k])]




def _insert_documents(db: sqlite3.Connection, entries: Sequence[IndexEntry]) -> None:
    now = time.time()
    for entry in entries:
        document, chunks = entry.document, entry.chunks
        db.execute("DELETE FROM chunks WHERE doc_id = ?", (document.id,))
        db.execute(
            "INSERT OR REPLACE INTO documents(id, kind, source, source_file, fingerprint, meta_json, text, "
            "sections_json, n_chunks, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                document.id, document.kind, document.source, entry.source_file, entry.fingerprint,
                document.meta.model_dump_json(), document.text,
                json.dumps([s.model_dump() for s in document.sections]), len(chunks), now,
            ),
        )
        meta = document.meta
        db.executemany(
            "INSERT INTO chunks(id, doc_id, kind, ordinal, section, start, \"end\", text, search_text, "
            "token_count, year, study_design, evidence_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(c.id, c.doc_id, document.kind, c.ordinal, c.section, c.start, c.end, c.text, c.embed_text,
              c.token_count, meta.year, meta.study_design, meta.evidence_level) for c in chunks],
        )


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _batches(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
