"""The Index: the catalog (SQLite, with its BM25 table) and the vector store kept in step, crash-safe.

Write protocol for a batch of documents (new, changed or removed):

1. mark them ``pending`` in the catalog (committed);
2. add the vectors of chunks the vector store does not hold yet (ids are content-derived, so unchanged chunks of
   an edited document are not re-embedded);
3. replace the documents and their chunks in the catalog in one transaction (the BM25 table follows by trigger);
4. delete the vectors of chunks the catalog no longer holds;
5. clear ``pending``.

Invariant: every chunk the catalog holds has its vector in the store. A crash (even ``kill -9``) between any two
steps leaves the catalog on the old or the new version of each document, never half; the next write or ``recover``
deletes the leftover vectors of pending documents, after which catalog, BM25 and vectors agree exactly.

Before step 1 the data dir's file system is checked (:mod:`rag.store.space`): read-only, or less free space than
the batch needs plus ``store.min_free_mb``, refuses the write with nothing changed. A full or read-only file system
met later in a write is a :class:`DataDirUnwritable` error; the write is then interrupted like a crash, and repaired
the same way.

Server mode (``RAG_CHROMA_URL``) adds one step between 2 and 3: publish the documents' records to the shared
``<collection>-documents`` collection, which is the commit point for every machine; the local catalog is then a
replica that other processes refresh from those records (:mod:`rag.store.replica`). ``recover`` and the stale-vector
step read the committed chunk lists from the shared records, not from this machine's replica.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from chromadb.api import ClientAPI

from rag.config import Settings
from rag.embedding.protocol import Embedder, Vectors
from rag.errors import ConfigError, DataDirUnwritable, StoreError
from rag.filters import Filters
from rag.models import Chunk, Document, DocumentMeta
from rag.store.catalog import Catalog, StoredChunk, StoredDocument
from rag.store.chroma import CHROMA_ERRORS, ChromaVectorStore, RagEmbeddingFunction, ServerAccess, open_client
from rag.store.entry import IndexEntry
from rag.store.filtering import chroma_where
from rag.store.lexical import SqliteLexicalIndex
from rag.store.lock import shared_file_lock
from rag.store.protocols import LexicalIndex, MetadataValue, VectorStore
from rag.store.replica import Replica, SharedRecords
from rag.store.space import CHUNK_BYTES, check_writable, read_only_message, unwritable_errors

logger = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite3"
POST_FILTER_SHARE = 0.3
P = ParamSpec("P")
R = TypeVar("R")



def _writes(method: Callable[Concatenate[Index, P], R]) -> Callable[Concatenate[Index, P], R]:
    """An index write: a full or read-only file system under it becomes DataDirUnwritable naming the data dir (in
    embedded mode; with a Chroma server, a full disk may be the server's, and its error is passed on as it is)."""

    def write(index: Index, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with unwritable_errors(index.data_dir) if index.shared is None else contextlib.nullcontext():
            return method(index, *args, **kwargs)

    write.__name__, write.__doc__ = method.__name__, method.__doc__
    return write


class Index:
    """Catalog + lexical index + vector store, written together by the protocol above."""

    def __init__(self, catalog: Catalog, vectors: VectorStore, lexical: LexicalIndex,
                 shared: SharedRecords | None = None, sync_seconds: float = 1.0,
                 client: ClientAPI | None = None, min_free_mb: float = 0.0) -> None:
        self.catalog = catalog
        self.data_dir = catalog.path.parent
        self.min_free_mb = min_free_mb
        self.client = client  # the Chroma client, for other shared collections (conversations in server mode)
        self._shares: dict[tuple[str, tuple[int, int]], float] = {}
        self.vectors = vectors
        self.lexical = lexical
        self.shared = shared
        self._replica = Replica(catalog, shared, sync_seconds) if shared is not None else None

    def close(self) -> None:
        """Close the catalog (safe while other threads still use it; see :meth:`Catalog.close`), then release the
        Chroma client. Chroma keeps one System per data dir and process until its last client is closed; one left
        open made a later ``Components`` on the same data dir reuse its in-memory vector index, stale once another
        process had written (tests/test_crash.py saw dense results from before an ingest)."""
        self.catalog.close()
        close = getattr(self.client, "close", None)
        if close is not None:
            try:
                close()
            except CHROMA_ERRORS as exc:  # closing is best effort: the process may be going away
                logger.debug("closing the Chroma client failed: %s", exc)

    def fingerprint(self) -> dict[str, object]:
        """What the index holds, for a record of which corpus a result came from: document and chunk counts,
        documents by kind, and a digest of every document's id and content."""
        documents, chunks, by_kind = self.catalog.counts()
        return {"documents": documents, "chunks": chunks, "by_kind": by_kind,
                "content_sha256": self.catalog.content_digest()}

    # -- reads: what the API, the CLI and the evals ask of the index (the catalog stays behind it) -----------------
    def counts(self) -> tuple[int, int, dict[str, int]]:
        """(documents, chunks, documents by kind), counted now."""
        return self.catalog.counts()

    def sizes(self) -> dict[str, tuple[int, int]]:
        """(documents, chunks) by kind, counted again only after a commit (cheap enough for every metrics scrape)."""
        return self.catalog.sizes()

    def is_empty(self) -> bool:
        """No document is stored."""
        return self.catalog.is_empty()

    def document_page(self, kind: str | None, limit: int,
                      offset: int) -> tuple[list[tuple[str, DocumentMeta, int]], int]:
        """A page of ``(id, metadata, chunk count)`` ordered by id, and the total, optionally of one kind."""
        return self.catalog.page(kind, limit, offset)

    def document(self, doc_id: str) -> Document | None:
        """A stored document with its text and sections, None when unknown."""
        return self.catalog.document(doc_id)

    def stored_document(self, doc_id: str) -> StoredDocument | None:
        """What the index records about a document besides its text (source file, chunk count), None when unknown."""
        return self.catalog.documents([doc_id]).get(doc_id)

    def stored_documents(self, doc_ids: Iterable[str] | None = None) -> dict[str, StoredDocument]:
        """Those records by id: of every document, or of those of ``doc_ids`` that exist."""
        return self.catalog.documents(doc_ids)

    def documents_from_file(self, source_file: str) -> list[str]:
        """Ids of the documents indexed from this source file (its resolved path), sorted."""
        return self.catalog.ids_from_file(source_file)

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, StoredChunk]:
        """Stored chunks by id, with their documents' metadata (unknown ids are left out)."""
        return self.catalog.chunks(chunk_ids)

    def chunk_ids(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        """The stored chunk ids of each document (an empty set for an unknown one)."""
        return self.catalog.chunk_ids(doc_ids)

    def refresh(self, force: bool = False) -> None:
        """Server mode: bring this machine's catalog (and BM25 table) up to the shared records; a no-op embedded."""
        if self._replica is not None:
            self._replica.refresh(force)

    def check_space(self, chunks: int = 0, extra_bytes: int = 0) -> None:
        """Refuse, with nothing changed, a write of ``chunks`` chunks (and ``extra_bytes``) that the data dir's file
        system cannot take: read-only, or fewer than ``min_free_mb`` would stay free."""
        check_writable(self.data_dir, self.min_free_mb, chunks * CHUNK_BYTES + extra_bytes)

    def _committed_chunk_ids(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        return (self.shared or self.catalog).chunk_ids(doc_ids)

    def dense_search(self, vector: Vectors, depth: int, filters: Filters) -> list[tuple[str, float]]:
        """The ``depth`` nearest chunks that pass ``filters``.

        Chroma evaluates a ``where`` clause by listing every matching id before the vector search, which costs about
        a second when the filter keeps most of a 100k-chunk collection (e.g. ``kind = study``). So when the filter
        keeps at least ``POST_FILTER_SHARE`` of the chunks (counted in the catalog), the search runs unfiltered for
        ``depth / share`` (+50%) neighbours and the catalog drops those that do not pass; if that leaves fewer than
        ``depth`` while more neighbours exist, the filtered query runs after all. Narrow filters go to Chroma as is.
        """
        where = chroma_where(filters)
        if where is None:
            return self.vectors.query(vector, depth)
        share = self.filter_share(filters)
        if share == 0.0:  # no passage this process can show passes the filter
            return []
        if share >= POST_FILTER_SHARE:
            wider = min(int(depth / share * 1.5) + 10, 4 * depth + 100)
            near = self.vectors.query(vector, wider)
            passing = self.catalog.matching_chunk_ids([chunk_id for chunk_id, _ in near], filters)
            kept = [hit for hit in near if hit[0] in passing][:depth]
            if len(kept) == depth or len(near) < wider:
                return kept
        return self.vectors.query(vector, depth, where)

    def filter_share(self, filters: Filters) -> float:
        """The share of this process's passages that pass ``filters`` (cached until the catalog changes)."""
        key = (filters.model_dump_json(), self.catalog.size_key())
        share = self._shares.get(key)
        if share is None:
            total = max(1, key[1][0])
            share = self.catalog.count_chunks(filters) / total
            if len(self._shares) > 256:
                self._shares.clear()
            self._shares[key] = share
        return share

    def check_embedder(self, embedder: Embedder) -> None:
        """Refuse to mix vectors of two models in one index; record the model on first use."""
        holder = self.shared or self.catalog
        stored = holder.get_meta("embedder")
        current = json.dumps({"name": embedder.name, "dimension": embedder.dimension})
        if stored is None:
            holder.set_meta("embedder", current)
        elif stored != current:
            raise ConfigError(
                f"this index was built with the embedding model {json.loads(stored)['name']!r}, but the settings now "
                f"use {embedder.name!r}; use another data dir (RAG_DATA_DIR) or delete this one to re-index"
            )

    @_writes
    def recover(self) -> int:
        """Finish what a crashed writer left: drop vectors of pending documents the catalog does not hold."""
        pending = self.catalog.pending()
        if not pending:
            return 0
        self.check_space()
        committed = self._committed_chunk_ids(pending)
        stored = self.vectors.ids_for_documents(pending)
        keep = set().union(*committed.values()) if committed else set()
        orphans = sorted(stored - keep)
        self.vectors.delete(orphans)
        self.catalog.clear_pending(pending)
        logger.info("recovered an interrupted write", extra={"documents": len(pending), "orphans": len(orphans)})
        return len(pending)

    @_writes
    def write(self, entries: Sequence[IndexEntry]) -> None:
        """Store new or changed documents atomically per document (see the module docstring)."""
        if not entries:
            return
        self.check_space(sum(len(e.chunks) for e in entries))
        doc_ids = [e.document.id for e in entries]
        old = self._committed_chunk_ids(doc_ids)
        self.catalog.mark_pending(doc_ids)
        ids, vectors, texts, metadatas = [], [], [], []
        kept = [c.id for e in entries for c in e.chunks if c.id not in e.new_vectors]
        stored = self.vectors.get_vectors(kept) if kept else {}
        for entry in entries:
            for chunk in entry.chunks:
                # a kept chunk (same text, same vector) is written again too: the document's metadata may have
                # changed (a corrected year or design), and the store filters on the copy it holds
                vector = entry.new_vectors.get(chunk.id)
                if vector is None:
                    vector = stored.get(chunk.id)
                if vector is not None:
                    ids.append(chunk.id)
                    vectors.append(vector)
                    texts.append(chunk.text)
                    metadatas.append(chunk_metadata(entry.document, chunk))
        if ids:
            import numpy as np

            self.vectors.upsert(ids, np.vstack(vectors), texts, metadatas)
        if self.shared is not None:
            self.catalog.apply_replica(entries, [], self.shared.commit(entries), None)
        else:
            self.catalog.replace_documents(entries)
        current = {c.id for e in entries for c in e.chunks}
        stale = sorted(set().union(*old.values()) - current) if old else []
        self.vectors.delete(stale)
        self.catalog.clear_pending(doc_ids)

    @_writes
    def remove(self, doc_ids: Sequence[str]) -> None:
        """Delete documents with their chunks, BM25 rows and vectors, by the same protocol."""
        if not doc_ids:
            return
        self.check_space()
        self.catalog.mark_pending(doc_ids)
        if self.shared is not None:
            self.catalog.apply_replica([], doc_ids, self.shared.commit([], removed=doc_ids), None)
        else:
            self.catalog.delete_documents(doc_ids)
        self.vectors.delete(sorted(self.vectors.ids_for_documents(doc_ids)))
        self.catalog.clear_pending(doc_ids)

    def move_sources(self, moves: Sequence[tuple[str, str, str]]) -> None:
        """Record new ``(doc_id, source, source_file)`` for unchanged documents whose file was moved (the chunks and
        vectors stay as they are)."""
        self.catalog.move_sources(moves)

    def verify(self) -> dict[str, object]:
        """Compare the three stores: counts, and chunk ids missing from or extra in the vector store."""
        self.refresh(force=True)
        _, chunks, _ = self.catalog.counts()
        catalog_ids = self.catalog.all_chunk_ids()
        vector_ids = self.vectors.all_ids()
        missing, extra = sorted(catalog_ids - vector_ids), sorted(vector_ids - catalog_ids)
        lexical = self.lexical.count()
        return {
            "consistent": not missing and not extra and lexical == chunks and not self.catalog.pending(),
            "catalog_chunks": chunks,
            "lexical_rows": lexical,
            "vectors": len(vector_ids),
            "missing_vectors": missing[:20],
            "extra_vectors": extra[:20],
            "pending": self.catalog.pending(),
        }


def chunk_metadata(document: Document, chunk: Chunk) -> dict[str, MetadataValue]:
    """What the vector store keeps beside each vector, for filtering (None values are left out)."""
    meta = document.meta
    values: dict[str, MetadataValue | None] = {
        "doc_id": document.id,
        "kind": document.kind,
        "section": chunk.section,
        "ordinal": chunk.ordinal,
        "start": chunk.start,
        "end": chunk.end,
        "year": meta.year,
        "study_design": meta.study_design,
        "evidence_level": meta.evidence_level,
    }
    return {k: v for k, v in values.items() if v is not None}


def open_index(settings: Settings, embedding_function: RagEmbeddingFunction | None = None) -> Index:
    """Open (creating when missing) the index in ``settings.data_dir``: catalog, BM25 and Chroma."""
    data_dir = prepare_data_dir(settings.data_dir)
    catalog = Catalog(data_dir / catalog_file(settings))
    model_path = str(settings.embedding.model_path) if settings.embedding.model_path else None
    function = embedding_function or RagEmbeddingFunction(model_path=model_path)
    access = ServerAccess(settings.chroma_auth_token, settings.store.chroma_auth_header, settings.store.chroma_ca_file)
    client = open_client(data_dir, settings.chroma_url, access)
    vectors = ChromaVectorStore(client, settings.store.collection, function, settings.store.hnsw_ef_search)
    shared = SharedRecords(client, settings.store.collection) if settings.chroma_url else None
    index = Index(catalog, vectors, SqliteLexicalIndex(
        catalog, settings.retrieval.lexical_max_df, settings.retrieval.lexical_prune_from,
        settings.retrieval.lexical_max_postings,
    ), shared, settings.store.sync_seconds, client, settings.store.min_free_mb)
    if shared is not None:  # workers starting together on one data dir build its replica once, one after another
        with shared_file_lock(data_dir / (catalog_file(settings) + ".lock")):
            index.refresh(force=True)
    return index


def catalog_file(settings: Settings) -> str:
    """Embedded: ``catalog.sqlite3``. Server mode: a replica file per server and collection, so one data dir can
    serve several servers and never mixes a replica with an embedded catalog."""
    if not settings.chroma_url:
        return CATALOG_FILE
    key = hashlib.sha256(f"{settings.chroma_url}|{settings.store.collection}".encode()).hexdigest()[:12]
    return f"replica-{key}.sqlite3"


def prepare_data_dir(data_dir: Path) -> Path:
    """Create the data dir if needed; a path that is a file, or not writable, is a clear error."""
    try:
        with unwritable_errors(data_dir, interrupted=False):
            data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the data dir {data_dir}: {exc.strerror}") from exc
    if not data_dir.is_dir():
        raise StoreError(f"the data dir {data_dir} is not a directory")
    if os.statvfs(data_dir).f_flag & os.ST_RDONLY:  # SQLite (WAL) and Chroma cannot even open it for reading
        raise DataDirUnwritable(read_only_message(data_dir))
    return data_dir
