"""The catalog side of server mode: records round-trip, and a replica never goes back to an older version."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rag.errors import StoreError
from rag.models import Chunk, Document, DocumentMeta, Section
from rag.store.catalog import Catalog
from rag.store.entry import IndexEntry
from rag.store.replica import decode, encode


def version(text: str) -> IndexEntry:
    document = Document(meta=DocumentMeta(id="d1", kind="study", title="A trial", year=2020), text=text,
                        sections=(Section(title="Results", start=0, end=len(text)),), source="d1.md")
    chunk = Chunk(id=f"d1#0-{len(text):012d}", doc_id="d1", ordinal=0, section="Results", text=text, start=0,
                  end=len(text), embed_text=f"A trial | {text}", token_count=12)
    return IndexEntry(document, "d1.md", f"fp-{text}", [chunk])


def test_records_round_trip_exactly() -> None:
    entry = version("PRP with microneedling improved acne scars (62.20% versus 45.84%).")
    assert decode(encode(entry)) == entry


def test_an_older_version_never_replaces_a_newer_one(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "replica.sqlite3")
    try:
        newer, older = version("The newer text about melasma."), version("The older text about erythema.")
        catalog.apply_replica([newer], [], {"d1": 6}, 6)
        catalog.apply_replica([older], [], {"d1": 5}, None)  # a sibling worker's slower refresh
        assert catalog.replica_revisions(["d1"]) == {"d1": 6}
        assert (document := catalog.document("d1")) is not None and "melasma" in document.text
        catalog.apply_replica([], ["d1"], {"d1": 4}, None)  # an old tombstone does not delete it either
        assert catalog.document("d1") is not None
        catalog.apply_replica([], ["d1"], {"d1": 7}, 7)
        assert catalog.document("d1") is None and catalog.counts()[1] == 0 and catalog.fts_count() == 0
        assert catalog.get_meta("replica_watermark") == "7"
    finally:
        catalog.close()


def test_size_key_follows_commits_of_this_and_other_connections(tmp_path: Path) -> None:
    """size_key is cached between commits; a commit by either connection must show at once."""
    mine, other = Catalog(tmp_path / "replica.sqlite3"), Catalog(tmp_path / "replica.sqlite3")
    try:
        assert mine.size_key() == (0, 0)
        other.apply_replica([version("Written by another process.")], [], {"d1": 1}, 1)
        assert mine.size_key()[0] == 1
        mine.apply_replica([], ["d1"], {"d1": 2}, 2)
        assert mine.size_key()[0] == 0 and other.size_key()[0] == 0
    finally:
        mine.close()
        other.close()


def test_concurrent_readers_see_whole_commits_and_close_with_the_catalog(tmp_path: Path) -> None:
    """Reads run on pooled connections, one per concurrent reader, beside the writer: each read sees either the
    state before or after a commit, never part of it; closing the catalog closes every read connection."""
    catalog = Catalog(tmp_path / "replica.sqlite3")
    seen: list[tuple[int, int]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(5)

    def read() -> None:
        try:
            start.wait()
            for _ in range(40):
                documents, chunks, _ = catalog.counts()  # one snapshot: (0, 0) or (1, 1)
                page, total = catalog.page(None, 100, 0)  # another: the page and its total agree
                assert len(page) == total
                seen.append((documents, chunks))
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    start.wait()
    for revision in range(1, 21):  # a document added, then removed, again and again
        entry = version(f"Revision {revision} of the trial.")
        catalog.apply_replica([entry] if revision % 2 else [], [] if revision % 2 else ["d1"], {"d1": revision}, None)
    for thread in readers:
        thread.join()
    assert not failures and set(seen) <= {(0, 0), (1, 1)} and len(seen) == 160
    catalog.close()
    with pytest.raises(StoreError, match="closed"):
        catalog.counts()  # a closed catalog refuses reads instead of opening new connections behind its back
