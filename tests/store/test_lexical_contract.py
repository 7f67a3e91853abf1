"""The LexicalIndex contract against every index: SQLite FTS5 over the catalog, and the in-memory fake."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from pathlib import Path

import pytest

from rag.models import Chunk, Document, DocumentMeta, Section
from rag.store.catalog import Catalog
from rag.store.entry import IndexEntry
from rag.store.lexical import SqliteLexicalIndex
from rag.store.protocols import LexicalIndex
from rag.testing import IndexedPassage, InMemoryLexicalIndex
from rag.testing.contracts import LexicalIndexContract


class TestInMemory(LexicalIndexContract):
    def make_index(self, tmp_path: Path, passages: Sequence[IndexedPassage]) -> LexicalIndex:
        return InMemoryLexicalIndex(passages)


def entry(passages: list[IndexedPassage]) -> IndexEntry:
    """One document holding these passages as its chunks, one section each."""
    first = passages[0]
    meta = DocumentMeta(id=first.doc_id, kind=first.kind, title=f"Document {first.doc_id}", year=first.year,
                        study_design=first.study_design)  # type: ignore[arg-type]
    text, sections, chunks = "", [], []
    for ordinal, passage in enumerate(passages):
        start = len(text) + (1 if text else 0)
        text = f"{text} {passage.text}" if text else passage.text
        sections.append(Section(title=f"Part {ordinal}", start=start, end=len(text)))
        chunks.append(Chunk(id=passage.chunk_id, doc_id=first.doc_id, ordinal=ordinal, section=f"Part {ordinal}",
                            text=passage.text, start=start, end=len(text), embed_text=passage.text, token_count=1))
    document = Document(meta=meta, text=text, sections=tuple(sections), source=f"{first.doc_id}.md")
    return IndexEntry(document, f"/{first.doc_id}.md", first.doc_id, chunks)


class TestSqlite(LexicalIndexContract):
    @pytest.fixture(autouse=True)
    def catalogs(self) -> Iterator[None]:
        self.opened: list[Catalog] = []
        yield
        for catalog in self.opened:
            catalog.close()

    def make_index(self, tmp_path: Path, passages: Sequence[IndexedPassage]) -> LexicalIndex:
        catalog = Catalog(tmp_path / f"catalog{len(self.opened)}.sqlite3")
        self.opened.append(catalog)
        by_document = [list(group) for _, group in groupby(passages, key=lambda p: p.doc_id)]
        catalog.replace_documents([entry(group) for group in by_document])
        return SqliteLexicalIndex(catalog)
