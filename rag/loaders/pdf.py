"""PDF files (pypdf): one section per page with text; the title from the PDF's metadata or its first line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from rag.errors import InputError
from rag.loaders.base import LoadItem, LoadOptions, build_meta, require_text, slug
from rag.models import Document

logger = logging.getLogger(__name__)


def load_pdf(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """Extract each page's text; a damaged, encrypted or image-only PDF is a clear error."""
    source = str(path)
    if not raw.startswith(b"%PDF"):
        raise InputError(source, "not a PDF file (it does not start with '%PDF')")
    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            raise InputError(source, "the PDF is encrypted; decrypt it first")
        pages = [(f"Page {n}", page.extract_text() or "") for n, page in enumerate(reader.pages, start=1)]
        info_title = reader.metadata.title if reader.metadata else None
    except PyPdfError as exc:
        raise InputError(source, f"the PDF is damaged or truncated and cannot be read ({exc})") from None
    except NotImplementedError as exc:  # e.g. an /Encrypt dictionary naming a handler other than /Standard
        raise InputError(source, f"the PDF uses a feature that cannot be read ({exc})") from None
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        logger.debug("pypdf failed on %s", source, exc_info=True)
        raise InputError(source, f"the PDF is damaged or truncated and cannot be read ({type(exc).__name__})") from None
    if not any(text.strip() for _, text in pages):
        raise InputError(source, "the PDF has no extractable text (a scanned image?); run OCR first")
    first_line = next(line.strip() for _, text in pages for line in text.splitlines() if line.strip())
    title = (info_title or "").strip() or first_line[:200]
    meta = build_meta(source, {"id": slug(path.stem), "title": title}, options)
    yield require_text(source, Document.from_sections(meta, pages, source))
