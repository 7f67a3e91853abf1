"""Incremental ingestion: load sources, skip unchanged documents, chunk and embed the rest, store them atomically.

A document is re-indexed when its fingerprint (content hash + chunking rules + embedding model) changes. A failure
in one file or record is reported in ``failed`` and never stops the others; nothing stored before is lost.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.chunking import Chunker
from rag.config import Settings
from rag.embedding.protocol import Embedder
from rag.errors import InputError, StoreBusy
from rag.loaders import Format, LoadOptions, discover, load_file
from rag.loaders.base import WorkLimits
from rag.meaning.vectors import SentenceVectors
from rag.models import Chunk, Document, Kind
from rag.store.catalog import StoredDocument
from rag.store.entry import IndexEntry
from rag.store.index import Index
from rag.store.lock import writer_lock
from rag.text.instructions import instruction_spans
from rag.text.sentences import quotable_sentences
from rag.tracing import span

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Pending = list[tuple[Document, str, str, list[Chunk]]]
"""Documents to (re)index with their source file, fingerprint and chunks."""
"""Called with (documents processed, documents to process)."""


@dataclass
class IngestReport:
    """The outcome of one ingest, as ``rag ingest --json`` prints it. ``chunks``: chunks stored by this run."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    instructions: list[dict[str, object]] = field(default_factory=list)
    """Documents stored with sentences addressed to a model (rag.text.instructions): each its id and those
    sentences, which are kept but never quoted or counted as support."""
    seconds: float = 0.0

    def fail(self, error: InputError) -> None:
        """Record a file or record that could not be ingested."""
        self.failed.append({"path": error.source, "error": error.reason})

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data (seconds rounded to milliseconds)."""
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
            "chunks": self.chunks, "failed": self.failed, "instructions": self.instructions,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Loaded:
    """Documents read in this run, by id, with the file each came from."""

    documents: dict[str, tuple[Document, str]] = field(default_factory=dict)
    stored: dict[str, StoredDocument] = field(default_factory=dict)  # catalog rows of these ids before the run
    clean_files: set[str] = field(default_factory=set)  # read with no error at all: safe to prune against
    files: set[str] = field(default_factory=set)


class Ingestor:
    """Runs ingests against one index with one embedder."""

    def __init__(self, settings: Settings, index: Index, embedder: Embedder,
                 sentences: SentenceVectors | None = None) -> None:
        self._settings = settings
        self._index = index
        self._embedder = embedder
        self._chunker = Chunker(settings.chunk, embedder)
        self._sentences = sentences

    def fingerprint(self, document: Document) -> str:
        """What decides whether a stored document is re-indexed: its content hash, the chunking rules and the
        embedding model."""
        key = f"{document.content_hash()}|{self._chunker.fingerprint()}|{self._embedder.name}"
        return hashlib.sha256(key.encode()).hexdigest()

    def run(
        self,
        paths: Sequence[Path],
        *,
        fmt: Format = "auto",
        kind: Kind | None = None,
        prune: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest ``paths`` under the writer lock (:class:`StoreBusy` if another ingest holds it); bad sources go to
        ``failed``. ``prune``: also drop documents under ``paths`` whose file is gone or no longer holds them."""
        started = time.perf_counter()
        report = IngestReport()
        with span("ingest", paths=len(paths)) as current, writer_lock(self._settings.data_dir):
            self._index.recover()
            self._index.refresh(force=True)
            with span("ingest.load"):
                loaded = self._load(paths, fmt, LoadOptions(kind=kind, limits=self._limits()), report)
            self._store(loaded, report, progress)
            if prune:
                self._prune([p.resolve() for p in paths], loaded, report)
            for key, value in report.as_dict().items():
                if isinstance(value, int):
                    current.set_attribute(key, value)
        report.seconds = time.perf_counter() - started
        logger.info("ingest finished", extra=report.as_dict())
        return report

    def recover(self) -> int:
        """Finish or undo a write that a crash (``kill -9``) interrupted, unless another writer holds the data dir
        (it recovers first itself). Returns how many documents were repaired."""
        try:
            with writer_lock(self._settings.data_dir):
                return self._index.recover()
        except StoreBusy:
            return 0

    # -- loading -----------------------------------------------------------------------------------------------
    def _limits(self) -> WorkLimits:
        """The bounds on the work one source may cause (RAG_INGEST__*); PDFs are parsed in a child process."""
        ingest = self._settings.ingest
        return WorkLimits(max_pages=ingest.max_pdf_pages, text_per_byte=ingest.text_per_byte, isolate=True,
                          timeout_s=ingest.pdf_timeout_s, memory_mb=ingest.pdf_memory_mb)

    def _load(self, paths: Sequence[Path], fmt: Format, options: LoadOptions, report: IngestReport) -> _Loaded:
        loaded = _Loaded()
        definitions: dict[str, list[tuple[Document, str]]] = {}
        max_bytes = int(self._settings.ingest.max_file_mb * 1_000_000)
        for found in discover(paths, fmt):
            if isinstance(found, InputError):
                report.fail(found)
                continue
            source_file = str(found.resolve())
            loaded.files.add(source_file)
            errors_before = len(report.failed)
            for document in self._read(found, fmt, options, max_bytes, report):
                definitions.setdefault(document.id, []).append((document, source_file))
            if len(report.failed) == errors_before:
                loaded.clean_files.add(source_file)
        self._resolve(definitions, loaded, report)
        return loaded

    @staticmethod
    def _read(path: Path, fmt: Format, options: LoadOptions, max_bytes: int, report: IngestReport) -> list[Document]:
        documents: list[Document] = []
        try:
            for item in load_file(path, fmt, options, max_bytes):
                if isinstance(item, InputError):
                    report.fail(item)
                else:
                    documents.append(item)
        except InputError as error:
            report.fail(error)
        except Exception as exc:
            logger.exception("unexpected error loading %s", path)
            report.fail(InputError(str(path), f"unexpected error while reading ({type(exc).__name__}: {exc})"))
            return []
        return documents

    def _resolve(self, definitions: dict[str, list[tuple[Document, str]]], loaded: _Loaded,
                 report: IngestReport) -> None:
        """One definition per id. The file that already holds the id in the index keeps it; otherwise the first
        file in path order. Any other definition is reported, and so is a definition whose id is indexed from
        another file that still exists and is not part of this run."""
        stored = loaded.stored = self._index.stored_documents(definitions)
        for doc_id, candidates in definitions.items():
            owner = stored[doc_id].source_file if doc_id in stored else None
            if owner is not None and owner not in loaded.files and Path(owner).exists():
                for document, source_file in candidates:
                    self._reject(document, source_file, f"id '{doc_id}' is already indexed from "
                                 f"{stored[doc_id].source}", loaded, report)
                continue
            winner = next((c for c in candidates if c[1] == owner), candidates[0])
            loaded.documents[doc_id] = winner
            for candidate in candidates:
                if candidate is not winner:
                    document, source_file = candidate
                    self._reject(document, source_file, f"id '{doc_id}' is also defined in {winner[0].source}",
                                 loaded, report)

    @staticmethod
    def _reject(document: Document, source_file: str, reason: str, loaded: _Loaded, report: IngestReport) -> None:
        report.fail(InputError(document.source, f"{reason}; ids must be unique (this copy was not ingested)"))
        loaded.clean_files.discard(source_file)

    # -- storing -----------------------------------------------------------------------------------------------
    def _store(self, loaded: _Loaded, report: IngestReport, progress: Progress | None) -> None:
        stored = loaded.stored
        todo: list[tuple[Document, str, str]] = []
        moves: list[tuple[str, str, str]] = []
        for doc_id, (document, source_file) in loaded.documents.items():
            fingerprint = self.fingerprint(document)
            existing = stored.get(doc_id)
            if existing is not None and existing.fingerprint == fingerprint:
                report.unchanged += 1
                if existing.source_file != source_file or existing.source != document.source:
                    moves.append((doc_id, document.source, source_file))
            else:
                todo.append((document, source_file, fingerprint))
        if moves:
            self._index.move_sources(moves)
        total = len(todo)
        done = 0
        for batch in self._batches(todo):
            entries = self._embed(batch, stored)
            with span("ingest.store", documents=len(entries)):
                self._index.write(entries)
            if self._sentences is not None:  # a cache beside the index: judging sentences by meaning reads it
                with span("ingest.sentences"):
                    self._sentences.fill([text for entry in entries for chunk in entry.chunks
                                          if chunk.id in entry.new_vectors
                                          for _, text in quotable_sentences(chunk.text)])
            for entry in entries:
                if entry.document.id in stored:
                    report.updated += 1
                else:
                    report.added += 1
                report.chunks += len(entry.chunks)
                text = entry.document.text
                if flagged := [text[start:end][:200] for start, end in instruction_spans(text)]:
                    report.instructions.append({"doc_id": entry.document.id, "sentences": flagged})
                    logger.warning("document holds instructions addressed to a model; they are never evidence",
                                   extra={"doc_id": entry.document.id, "sentences": len(flagged)})
            done += len(batch)
            if progress is not None:
                progress(done, total)

    def _batches(self, todo: list[tuple[Document, str, str]]) -> Iterable[Pending]:
        """Groups of documents holding about ``write_batch_chunks`` chunks, chunked on the way."""
        batch: Pending = []
        size = 0
        for document, source_file, fingerprint in todo:
            with span("ingest.chunk"):
                chunks = self._chunker.chunk(document)
            batch.append((document, source_file, fingerprint, chunks))
            size += len(chunks)
            if size >= self._settings.ingest.write_batch_chunks:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _embed(self, batch: Pending, stored: Mapping[str, object]) -> list[IndexEntry]:
        """Embed the chunks the vector store does not hold yet (an edited document keeps its unchanged chunks)."""
        known = self._index.chunk_ids([d.id for d, *_ in batch if d.id in stored])
        needed = [c for d, _, _, chunks in batch for c in chunks if c.id not in known.get(d.id, set())]
        with span("ingest.embed", chunks=len(needed)):
            vectors = self._embedder.embed_documents([c.embed_text for c in needed])
        by_id = {chunk.id: vector for chunk, vector in zip(needed, vectors, strict=True)}
        return [
            IndexEntry(document, source_file, fingerprint, chunks, {c.id: by_id[c.id] for c in chunks if c.id in by_id})
            for document, source_file, fingerprint, chunks in batch
        ]

    # -- pruning -----------------------------------------------------------------------------------------------
    def _prune(self, roots: list[Path], loaded: _Loaded, report: IngestReport) -> None:
        """Remove documents under the given paths whose file is gone, or whose file no longer holds them."""
        gone = []
        for doc_id, stored in self._index.stored_documents().items():
            source_file = Path(stored.source_file)
            if not any(source_file == root or root in source_file.parents for root in roots):
                continue
            dropped = stored.source_file in loaded.clean_files and doc_id not in loaded.documents
            if dropped or not source_file.exists():
                gone.append(doc_id)
        self._index.remove(gone)
        report.removed = len(gone)
