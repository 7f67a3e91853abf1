"""Server mode: the document records in Chroma are the shared truth; each process keeps a local catalog replica.

With ``RAG_CHROMA_URL`` set, several API workers (on several machines) and ingestion jobs share one Chroma server.
Vectors are shared by construction, but the catalog (document text, chunk spans, the BM25 table) is a local SQLite
file. So a second collection beside the chunks, ``<collection>-documents``, holds one record per document: its
metadata, text, sections, fingerprint and chunk list as JSON, with a ``revision`` (microseconds since the epoch at
commit) and a ``deleted`` flag (a tombstone, so replicas learn about removals).

Writing that record is the commit point of a document version for every machine; the writer then updates its own
catalog. Every other process refreshes its replica from the records changed since its watermark (at most every
``sync_seconds``), in one SQLite transaction, so its BM25 table and passages follow the shared state. A refresh
reads only records newer than the newest it has seen; every ``WINDOW_SECONDS`` it also re-reads the last
``SKEW_MICROS``, which picks up a writer whose clock lags or whose commit became visible after a newer one.
Applying a record twice is harmless (it is compared with the revision held).

See docs/SCALING.md for the alternatives considered (Chroma's own sparse index, a shared SQLite file, PostgreSQL).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from chromadb.api import ClientAPI

from rag.errors import StoreError
from rag.models import Chunk, Document
from rag.store.catalog import Catalog
from rag.store.chroma import CHROMA_ERRORS
from rag.store.entry import IndexEntry

logger = logging.getLogger(__name__)

SKEW_MICROS = 30_000_000  # how far behind the watermark the periodic re-read looks
WINDOW_SECONDS = 10.0  # how often a refresh re-reads that window
_PAGE = 1000
_APPLY_PAGE = 500
_PLACEHOLDER = [0.0]  # records are fetched by id and metadata only; Chroma still wants a vector per record

class SharedRecords:
    """The ``<collection>-documents`` collection: one JSON record per document version, or a tombstone."""

    def __init__(self, client: ClientAPI, collection: str) -> None:
        self.name = f"{collection}-documents"
        try:
            self._collection = client.get_or_create_collection(self.name, embedding_function=None)
        except CHROMA_ERRORS as exc:
            raise StoreError(f"cannot open the Chroma collection {self.name!r}: {exc}") from exc

    def commit(self, entries: Sequence[IndexEntry], removed: Sequence[str] = ()) -> dict[str, int]:
        """Publish new versions and tombstones, a page at a time, each page with its own (increasing) revision;
        returns ``{doc_id: revision}``."""
        ids = [e.document.id for e in entries] + list(removed)
        documents = [encode(e) for e in entries] + ["{}"] * len(removed)
        fingerprints = [e.fingerprint for e in entries] + [""] * len(removed)
        revisions: dict[str, int] = {}
        for i in range(0, len(ids), _PAGE):
            revision = max(time.time_ns() // 1000, max(revisions.values(), default=0) + 1)
            page = ids[i : i + _PAGE]
            metadatas: list[dict[str, str | int | float | bool]] = [
                {"revision": revision, "deleted": j >= len(entries), "fingerprint": fingerprints[j]}
                for j in range(i, i + len(page))
            ]
            self._call("upsert", ids=page, documents=documents[i : i + _PAGE], metadatas=metadatas,
                       embeddings=[_PLACEHOLDER] * len(page))
            revisions.update(dict.fromkeys(page, revision))
        return revisions

    def chunk_ids(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        """The chunk ids of the committed version of each document (empty for unknown or deleted ones)."""
        found: dict[str, set[str]] = {doc_id: set() for doc_id in doc_ids}
        for i in range(0, len(doc_ids), _PAGE):
            result = self._call("get", ids=list(doc_ids[i : i + _PAGE]), include=["documents"])
            for doc_id, payload in zip(result["ids"], result["documents"] or [], strict=True):
                found[doc_id] = {c["id"] for c in json.loads(payload).get("chunks", [])}
        return found

    def revisions_since(self, revision: int) -> dict[str, tuple[int, bool]]:
        """``{doc_id: (revision, deleted)}`` of every record at or after ``revision``."""
        found: dict[str, tuple[int, bool]] = {}
        offset = 0
        while True:
            result = self._call("get", where={"revision": {"$gte": revision}}, include=["metadatas"],
                                limit=_PAGE, offset=offset)
            for doc_id, meta in zip(result["ids"], result["metadatas"] or [], strict=True):
                found[doc_id] = (int(meta["revision"]), bool(meta["deleted"]))
            if len(result["ids"]) < _PAGE:
                return found
            offset += _PAGE

    def load(self, doc_ids: Sequence[str]) -> dict[str, tuple[int, IndexEntry | None]]:
        """``{doc_id: (revision, entry or None when deleted)}`` for records that exist."""
        found: dict[str, tuple[int, IndexEntry | None]] = {}
        for i in range(0, len(doc_ids), 200):
            result = self._call("get", ids=list(doc_ids[i : i + 200]), include=["documents", "metadatas"])
            for doc_id, payload, meta in zip(result["ids"], result["documents"] or [], result["metadatas"] or [],
                                             strict=True):
                found[doc_id] = (int(meta["revision"]), None if meta["deleted"] else decode(payload))
        return found

    def get_meta(self, key: str) -> str | None:
        """A setting stored on the shared collection as it was when the collection was opened; None when unset."""
        value = (self._collection.metadata or {}).get(key)
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting on the shared collection (its whole metadata is rewritten from this process's copy)."""
        metadata = dict(self._collection.metadata or {})
        metadata[key] = value
        self._call("modify", metadata=metadata)

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._collection, method)(**kwargs)
        except CHROMA_ERRORS as exc:
            raise StoreError(f"Chroma {method} on {self.name!r} failed: {exc}") from exc


class Replica:
    """Keeps a local :class:`Catalog` equal to the shared records, refreshed at most every ``interval`` seconds."""

    def __init__(self, catalog: Catalog, records: SharedRecords, interval: float) -> None:
        self._catalog = catalog
        self._records = records
        self._interval = interval
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._last_window = float("-inf")

    def refresh(self, force: bool = False) -> int:
        """Apply records changed since the watermark; returns how many documents changed here."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < self._interval:
                return 0
            watermark = int(self._catalog.get_meta("replica_watermark") or 0)
            window = now - self._last_window >= WINDOW_SECONDS
            seen = self._records.revisions_since(max(0, watermark - SKEW_MICROS) if window else watermark + 1)
            ids = list(seen)
            applied = 0
            for i in range(0, len(ids), _APPLY_PAGE):  # short transactions: other workers on this data dir go on
                page = ids[i : i + _APPLY_PAGE]
                held = self._catalog.replica_revisions(page)  # re-read: a sibling worker may have applied them
                changed = [d for d in page if held.get(d) != seen[d][0]]
                if not changed:
                    continue
                loaded = self._records.load(changed)
                self._catalog.apply_replica(
                    [entry for _, entry in loaded.values() if entry is not None],
                    [d for d, (_, entry) in loaded.items() if entry is None],
                    {d: revision for d, (revision, _) in loaded.items()}, None,
                )
                applied += len(changed)
            newest = max([watermark, *(revision for revision, _ in seen.values())])
            if newest != watermark:
                self._catalog.apply_replica([], [], {}, newest)
            self._last = now
            if window:
                self._last_window = now
            if applied:
                logger.info("replica refreshed", extra={"documents": applied})
            return applied


def encode(entry: IndexEntry) -> str:
    """The shared record of a document version (chunk texts are spans of the document text, not repeated)."""
    return json.dumps({
        "document": entry.document.model_dump(mode="json"),
        "source_file": entry.source_file,
        "fingerprint": entry.fingerprint,
        "chunks": [c.model_dump(mode="json", exclude={"text"}) for c in entry.chunks],
    }, ensure_ascii=False)


def decode(payload: str) -> IndexEntry:
    """The entry a shared record holds (without vectors: those are in the vector collection)."""
    data = json.loads(payload)
    document = Document.model_validate(data["document"])
    chunks = [Chunk(text=document.text[c["start"] : c["end"]], **c) for c in data["chunks"]]
    return IndexEntry(document, str(data["source_file"]), str(data["fingerprint"]), chunks)
