"""PDF files (pypdf): one section per page with text; the title from the PDF's metadata or its first line."""

from __future__ import annotations

import io
import logging
import multiprocessing
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from rag.errors import InputError
from rag.loaders.base import LoadItem, LoadOptions, WorkLimits, build_meta, require_text, slug
from rag.models import Document

logger = logging.getLogger(__name__)


def load_pdf(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """Extract each page's text; a damaged, encrypted or image-only PDF is a clear error, and so is one past the
    bounds on work (``options.limits``: pages, extracted text, and when isolated, time and memory)."""
    source = str(path)
    if not raw.startswith(b"%PDF"):
        raise InputError(source, "not a PDF file (it does not start with '%PDF')")
    limits = options.limits
    outcome = _isolated(raw, limits) if limits.isolate else _extract(raw, limits)
    if isinstance(outcome, str):
        raise InputError(source, outcome)
    pages, info_title = outcome
    if not any(text.strip() for _, text in pages):
        raise InputError(source, "the PDF has no extractable text (a scanned image?); run OCR first")
    first_line = next(line.strip() for _, text in pages for line in text.splitlines() if line.strip())
    title = (info_title or "").strip() or first_line[:200]
    meta = build_meta(source, {"id": slug(path.stem), "title": title}, options)
    yield require_text(source, Document.from_sections(meta, pages, source))


Extracted = tuple[list[tuple[str, str]], str | None] | str
"""The pages (heading, text) and the metadata title, or why the PDF cannot be read."""


def _extract(raw: bytes, limits: WorkLimits) -> Extracted:
    """Each page's text, within the page and text bounds; a reason instead when the PDF cannot be read."""
    # pypdf is imported here, not with the module: every process that loads rag.loaders (each command, each API
    # worker) would pay ~0.2 s of CPU for it, and only one that reads a PDF needs it
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            return "the PDF is encrypted; decrypt it first"
        count = len(reader.pages)
        if count > limits.max_pages:
            return f"the PDF has {count} pages; the limit is {limits.max_pages} (RAG_INGEST__MAX_PDF_PAGES)"
        pages, total, drawn = [], 0, 0
        most, most_drawn = limits.max_text_chars(len(raw)), limits.max_content_bytes(len(raw))
        for n, page in enumerate(reader.pages, start=1):
            contents = page.get_contents()  # decoded once more, cheaply: extracting text is what costs
            drawn += len(contents.get_data()) if contents is not None else 0
            if drawn > most_drawn:
                return (f"the PDF's pages draw {drawn:,} bytes of content by page {n}, more than a file of "
                        f"{len(raw):,} bytes may (RAG_INGEST__TEXT_PER_BYTE); pages sharing one stream?")
            text = page.extract_text() or ""
            total += len(text)
            if total > most:
                return (f"the PDF's text passed {most:,} characters by page {n}, more than a file of {len(raw):,} "
                        "bytes may yield (RAG_INGEST__TEXT_PER_BYTE)")
            pages.append((f"Page {n}", text))
        info_title = reader.metadata.title if reader.metadata else None
    except PyPdfError as exc:
        return f"the PDF is damaged or truncated and cannot be read ({exc})"
    except NotImplementedError as exc:  # e.g. an /Encrypt dictionary naming a handler other than /Standard
        return f"the PDF uses a feature that cannot be read ({exc})"
    except (ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        logger.debug("pypdf failed", exc_info=True)
        return f"the PDF is damaged or truncated and cannot be read ({type(exc).__name__})"
    return pages, str(info_title) if info_title is not None else None


def _isolated(raw: bytes, limits: WorkLimits) -> Extracted:
    """:func:`_extract` in a child process with its address space capped, killed past ``limits.timeout_s``: one
    hostile file costs a bounded time and memory, and the ingest goes on."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(child, raw, limits), daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(limits.timeout_s):
            return (f"reading the PDF took longer than {limits.timeout_s:g} s and was stopped "
                    "(RAG_INGEST__PDF_TIMEOUT_S)")
        try:
            outcome: Extracted = parent.recv()
        except EOFError:
            return (f"reading the PDF needed more than {limits.memory_mb} MB and was stopped "
                    "(RAG_INGEST__PDF_MEMORY_MB)")
        return outcome
    finally:
        process.kill()
        process.join()
        parent.close()


def _child(connection: Connection, raw: bytes, limits: WorkLimits) -> None:
    """The child process: cap the address space, extract, send the outcome back."""
    try:
        import resource

        cap = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit still holds
        pass
    try:
        outcome = _extract(raw, limits)
    except MemoryError:
        outcome = f"reading the PDF needed more than {limits.memory_mb} MB and was stopped (RAG_INGEST__PDF_MEMORY_MB)"
    connection.send(outcome)
    connection.close()
