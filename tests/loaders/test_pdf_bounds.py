"""A PDF's work is bounded by what it does, not its size: pages that share one content stream multiply the work of
a small file (issue 26: 4,000 pages sharing an 8 MB stream in 658 KB did not finish in 60 s; 2,000 pages sharing a
4 MB string grew an ingest past 3 GB). Pages, extracted text, and the time of the child process that parses a PDF
are bounded; a PDF past them is listed as failed and the ingest goes on."""

from __future__ import annotations

import time
import zlib
from pathlib import Path

from rag.config import Settings
from rag.factory import Components
from rag.testing import HashEmbedder


def shared_stream_pdf(pages: int, text_bytes: int) -> bytes:
    """A PDF of ``pages`` pages that all draw one Flate-compressed content stream of ``text_bytes`` characters."""
    line = b"BT /F1 10 Tf 72 720 Td (Acne scars improved with PRP microneedling in this trial.) Tj ET\n"
    content = zlib.compress(line * max(1, text_bytes // 58), 9)
    first_page = 5
    kids = " ".join(f"{first_page + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream",
        *[b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
          b"/Contents 4 0 R >>"] * pages,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def ingest(tmp_path: Path, files: dict[str, bytes], **ingest_settings: object) -> tuple[dict[str, str], float]:
    source = tmp_path / "src"
    source.mkdir(parents=True)
    for name, data in files.items():
        (source / name).write_bytes(data)
    (source / "good.md").write_text("---\nid: good\nkind: study\ntitle: A good study\n---\nPRP helped acne scars.\n")
    settings = Settings(data_dir=tmp_path / "data", ingest=ingest_settings)  # type: ignore[arg-type]
    components = Components(settings, embedder=HashEmbedder())
    try:
        started = time.monotonic()
        report = components.ingestor().run([source], kind="study")
        seconds = time.monotonic() - started
        assert components.index.catalog.document("good") is not None, "the ingest went on"
        return {Path(f["path"]).name: f["error"] for f in report.failed}, seconds
    finally:
        components.close()


def test_a_well_formed_pdf_still_loads(tmp_path: Path) -> None:
    failed, _ = ingest(tmp_path, {"fine.pdf": shared_stream_pdf(3, 200)})
    assert failed == {}


def test_too_many_pages_are_refused_before_any_is_read(tmp_path: Path) -> None:
    failed, seconds = ingest(tmp_path, {"pages.pdf": shared_stream_pdf(2500, 100)})
    assert "2500 pages; the limit is 2000 (RAG_INGEST__MAX_PDF_PAGES)" in failed["pages.pdf"]
    assert seconds < 30


def test_text_past_what_the_file_size_allows_is_refused(tmp_path: Path) -> None:
    bomb = shared_stream_pdf(40, 100_000)  # a few KB that extract to 4 MB
    assert len(bomb) < 20_000
    failed, seconds = ingest(tmp_path, {"text.pdf": bomb})
    assert "(RAG_INGEST__TEXT_PER_BYTE)" in failed["text.pdf"]
    assert seconds < 60


def test_a_pdf_that_takes_too_long_is_stopped_and_the_ingest_goes_on(tmp_path: Path) -> None:
    slow = shared_stream_pdf(400, 400_000)
    failed, seconds = ingest(tmp_path, {"slow.pdf": slow}, pdf_timeout_s=2.0, text_per_byte=100_000)
    assert "took longer than 2 s and was stopped (RAG_INGEST__PDF_TIMEOUT_S)" in failed["slow.pdf"]
    assert seconds < 30


def test_a_pdf_that_needs_too_much_memory_is_stopped(tmp_path: Path) -> None:
    inflating = shared_stream_pdf(1, 40_000_000)  # 200 KB that inflate to 60 MB on one page
    failed, seconds = ingest(tmp_path, {"memory.pdf": inflating}, pdf_memory_mb=256, text_per_byte=10**6)
    assert "needed more than 256 MB and was stopped (RAG_INGEST__PDF_MEMORY_MB)" in failed["memory.pdf"]
    assert seconds < 30


def test_pages_sharing_one_large_stream_are_refused_within_seconds(tmp_path: Path) -> None:
    """The issue's shapes, smaller: many pages drawing one multi-megabyte stream from a file of a few hundred KB."""
    for pages, stream in ((4000, 8_000_000), (2000, 4_000_000), (40, 4_000_000)):
        bomb = shared_stream_pdf(pages, stream)
        failed, seconds = ingest(tmp_path / f"p{pages}", {"bomb.pdf": bomb})
        assert "bytes of content by page" in failed["bomb.pdf"] or "RAG_INGEST__MAX_PDF_PAGES" in failed["bomb.pdf"]
        assert seconds < 10, (pages, stream, seconds)
