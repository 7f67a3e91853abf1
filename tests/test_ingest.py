"""Incremental ingest: idempotency, updates that re-embed only what changed, prune, conflicts, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.factory import Components
from rag.filters import Filters
from rag.ingest import IngestReport
from rag.testing import HashEmbedder
from tests.helpers.documents import WriteDoc

LONG_BODY = "\n\n".join(
    f"## Part {n}\n" + " ".join(f"Sentence {n}.{i} reports finding number {i} in detail." for i in range(30))
    for n in range(3)
)


def ingest(components: Components, *paths: Path, prune: bool = False) -> IngestReport:
    return components.ingestor().run(list(paths), prune=prune)


def state(components: Components) -> tuple[int, int, dict[str, int], set[str]]:
    documents, chunks, by_kind = components.index.catalog.counts()
    verify = components.index.verify()
    assert verify["consistent"], verify
    return documents, chunks, by_kind, components.index.vectors.all_ids()


def test_first_ingest_then_unchanged_rerun_embeds_nothing(
    components: Components, embedder: HashEmbedder, write_doc: WriteDoc, tmp_path: Path
) -> None:
    write_doc("a.md", body=LONG_BODY)
    write_doc("b.md", kind="guideline", organization="Org")
    first = ingest(components, tmp_path / "src")
    assert (first.added, first.updated, first.unchanged, first.failed) == (2, 0, 0, [])
    assert first.chunks > 3
    documents, chunks, by_kind, _ = state(components)
    assert (documents, chunks, by_kind) == (2, first.chunks, {"study": 1, "guideline": 1})
    embedded = len(embedder.embedded)
    second = ingest(components, tmp_path / "src")
    assert (second.added, second.updated, second.unchanged, second.chunks) == (0, 0, 2, 0)
    assert len(embedded_after := embedder.embedded) == embedded, embedded_after[embedded:]


def test_edit_replaces_chunks_and_reembeds_only_changed_ones(
    components: Components, embedder: HashEmbedder, write_doc: WriteDoc, tmp_path: Path
) -> None:
    path = write_doc("a.md", body=LONG_BODY)
    ingest(components, tmp_path / "src")
    before = components.index.catalog.chunk_ids(["a"])["a"]
    embedder.embedded.clear()
    path.write_text(path.read_text().replace("Sentence 2.29 reports", "Sentence 2.29 now reports"))
    report = ingest(components, tmp_path / "src")
    assert (report.updated, report.added, report.unchanged) == (1, 0, 0)
    after = components.index.catalog.chunk_ids(["a"])["a"]
    assert after != before and len(after & before) >= 2, "unchanged chunks keep their ids"
    assert 1 <= len(embedder.embedded) < len(after)
    assert all("now reports" in text for text in embedder.embedded)
    _, chunks, _, vector_ids = state(components)
    assert vector_ids == after and chunks == len(after)
    assert components.index.lexical.search("now reports", 5)[0][0] in after


def test_shrinking_document_leaves_no_orphan_chunk(components: Components, write_doc: WriteDoc, tmp_path: Path) -> None:
    path = write_doc("a.md", body=LONG_BODY)
    ingest(components, tmp_path / "src")
    path.write_text(path.read_text().split("## Part 1")[0])
    ingest(components, tmp_path / "src")
    _, chunks, _, vector_ids = state(components)
    assert chunks == len(vector_ids) == len(components.index.catalog.chunk_ids(["a"])["a"])
    assert not components.index.lexical.search("Sentence 2.5", 10) or all(
        cid in vector_ids for cid, _ in components.index.lexical.search("Sentence 2.5", 10)
    )


def test_metadata_only_change_is_an_update(components: Components, write_doc: WriteDoc, tmp_path: Path) -> None:
    path = write_doc("a.md", year=2019)
    for n in range(5):  # so that a year filter keeps few chunks and goes to the vector store's own metadata
        write_doc(f"other{n}.md", year=2010, body="## Results\nA finding was reported elsewhere.")
    ingest(components, tmp_path / "src")
    path.write_text(path.read_text().replace("year: 2019", "year: 2020"))
    report = ingest(components, tmp_path / "src")
    assert report.updated == 1
    assert components.index.catalog.document("a").meta.year == 2020  # type: ignore[union-attr]
    retriever = components.retriever()
    for mode in ("dense", "lexical"):  # same text, same chunks: the store's copy of the metadata follows all the same
        found = retriever.search("finding reported", 5, filters=Filters(year_from=2020), mode=mode)
        assert {h.doc_id for h in found} == {"a"}, mode
        assert not retriever.search("finding reported", 5, filters=Filters(year_from=2019, year_to=2019),
                                    mode=mode), mode


def test_prune_removes_deleted_sources_only_under_given_paths(
    components: Components, write_doc: WriteDoc, tmp_path: Path
) -> None:
    keep = write_doc("studies/keep.md")
    gone = write_doc("studies/gone.md")
    other = write_doc("guidelines/other.md", kind="guideline")
    ingest(components, tmp_path / "src")
    gone.unlink()
    other.unlink()
    report = ingest(components, tmp_path / "src" / "studies", prune=True)
    assert (report.removed, report.unchanged) == (1, 1)
    assert set(components.index.catalog.documents()) == {"keep", "other"}, "other is outside the pruned path"
    without_prune = ingest(components, tmp_path / "src")
    assert without_prune.removed == 0 and "other" in components.index.catalog.documents()
    ingest(components, tmp_path / "src", prune=True)
    assert set(components.index.catalog.documents()) == {keep.stem}
    state(components)


def test_prune_removes_records_dropped_from_a_multi_record_file(components: Components, tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    records = [{"id": f"d{i}", "kind": "study", "title": f"T{i}", "text": f"Text {i}."} for i in range(3)]
    path.write_text("\n".join(json.dumps(r) for r in records))
    ingest(components, path)
    path.write_text("\n".join(json.dumps(r) for r in records[:2]))
    assert ingest(components, path, prune=True).removed == 1
    path.write_text(json.dumps(records[0]) + "\n{broken")
    report = ingest(components, path, prune=True)
    assert report.removed == 0 and len(report.failed) == 1, "a file with a bad record is not pruned against"
    assert set(components.index.catalog.documents()) == {"d0", "d1"}


def test_moved_file_keeps_document_without_reindexing(
    components: Components, embedder: HashEmbedder, write_doc: WriteDoc, tmp_path: Path
) -> None:
    path = write_doc("old/a.md")
    ingest(components, tmp_path / "src")
    embedder.embedded.clear()
    target = tmp_path / "src" / "new" / "a.md"
    target.parent.mkdir()
    path.rename(target)
    report = ingest(components, tmp_path / "src", prune=True)
    assert (report.unchanged, report.removed, report.failed, embedder.embedded) == (1, 0, [], [])
    stored = components.index.catalog.documents()["a"]
    assert stored.source_file == str(target.resolve())


def test_same_id_in_two_files(components: Components, write_doc: WriteDoc, tmp_path: Path) -> None:
    write_doc("a/one.md", id="dup")
    write_doc("b/two.md", id="dup")
    report = ingest(components, tmp_path / "src")
    assert report.added == 1 and len(report.failed) == 1
    failure = report.failed[0]
    assert failure["path"].endswith("two.md") and "dup" in failure["error"] and "one.md" in failure["error"]


def test_id_already_indexed_from_another_existing_file(
    components: Components, write_doc: WriteDoc, tmp_path: Path
) -> None:
    write_doc("a/one.md", id="dup", title="First")
    ingest(components, tmp_path / "src" / "a")
    write_doc("b/two.md", id="dup", title="Second")
    report = ingest(components, tmp_path / "src" / "b")
    assert report.added == 0 and "already indexed" in report.failed[0]["error"]
    assert components.index.catalog.document("dup").meta.title == "First"  # type: ignore[union-attr]


BAD_INPUTS = {
    "empty.md": b"",
    "junk.md": os.urandom(4096),
    "truncated.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj << /Ty",
    "invalid.xml": b"<PubmedArticleSet><PubmedArticle><MedlineCitation>",
    "missing-field.md": b"---\nid: m1\nkind: study\n---\nText.\n",
    "mistyped.md": b"---\nid: m2\nkind: study\ntitle: T\nyear: soon\n---\nText.\n",
    "unknown-kind.md": b"---\nid: m3\nkind: opinion\ntitle: T\n---\nText.\n",
    "latin1.md": "---\nid: m4\nkind: study\ntitle: Caf\xe9\n---\nText.\n".encode("latin-1"),
}


def test_each_bad_input_is_reported_and_nothing_stored_is_lost(
    components: Components, write_doc: WriteDoc, tmp_path: Path
) -> None:
    write_doc("good/g1.md")
    ingest(components, tmp_path / "src")
    before = state(components)
    bad_dir = tmp_path / "src" / "bad"
    bad_dir.mkdir()
    for name, content in BAD_INPUTS.items():
        (bad_dir / name).write_bytes(content)
    write_doc("bad/dup-of-g1.md", id="g1")
    write_doc("bad/fine.md")
    big = bad_dir / "big.md"
    with big.open("wb") as handle:
        handle.write(b"---\nid: big\nkind: study\ntitle: Big\n---\n")
        handle.write(b"word " * 10_000_000)
    report = ingest(components, tmp_path / "src")
    failed = {Path(f["path"].split("#")[0]).name: f["error"] for f in report.failed}
    assert set(failed) == {*BAD_INPUTS, "dup-of-g1.md", "big.md"}
    expectations = {
        "empty.md": "empty", "junk.md": "binary", "truncated.pdf": "PDF", "invalid.xml": "invalid XML",
        "missing-field.md": "'title' is required", "mistyped.md": "field 'year'", "unknown-kind.md": "field 'kind'",
        "latin1.md": "UTF-8", "dup-of-g1.md": "g1", "big.md": "MB limit",
    }
    for name, fragment in expectations.items():
        assert fragment in failed[name], (name, failed[name])
    assert (report.added, report.unchanged) == (1, 1)
    documents, chunks, _, _ = state(components)
    assert documents == before[0] + 1 and chunks > before[1]
    assert components.index.catalog.document("g1").meta.title == "Title of g1"  # type: ignore[union-attr]


def test_missing_path_is_reported(components: Components, tmp_path: Path) -> None:
    report = ingest(components, tmp_path / "nope")
    assert report.failed == [{"path": str(tmp_path / "nope"), "error": "no such file or directory"}]


def test_second_writer_is_refused_while_one_holds_the_lock(components: Components, write_doc: WriteDoc,
                                                           tmp_path: Path) -> None:
    from rag.errors import StoreError
    from rag.store.lock import writer_lock

    write_doc("a.md")
    with writer_lock(components.settings.data_dir), pytest.raises(StoreError, match="another ingest"):
        ingest(components, tmp_path / "src")
    assert ingest(components, tmp_path / "src").added == 1


def test_recover_removes_vectors_of_an_interrupted_write(components: Components, write_doc: WriteDoc,
                                                         tmp_path: Path) -> None:
    write_doc("a.md", body=LONG_BODY)
    ingest(components, tmp_path / "src")
    index = components.index
    import numpy as np

    index.catalog.mark_pending(["a"])
    index.vectors.upsert(["a#999-orphan"], np.ones((1, 256), np.float32), ["x"], [{"doc_id": "a", "kind": "study"}])
    assert not index.verify()["consistent"]
    assert index.recover() == 1
    assert index.verify()["consistent"] and "a#999-orphan" not in index.vectors.all_ids()
