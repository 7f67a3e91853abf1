"""Source loaders, chosen by name or detected from a file's extension and content (``--format auto``)."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, get_args

from rag.errors import InputError, UserError
from rag.loaders.base import Loader, LoadItem, LoadOptions
from rag.loaders.jats import load_jats
from rag.loaders.jsonl import load_jsonl, load_ngc, load_scifact
from rag.loaders.markdown import load_markdown, load_text
from rag.loaders.pdf import load_pdf
from rag.loaders.pubmed import load_pubmed_xml
from rag.loaders.pubmedqa import load_pubmedqa

__all__ = ["FORMATS", "Format", "LoadItem", "LoadOptions", "discover", "load_file"]

Format = Literal["auto", "markdown", "text", "pdf", "pubmed-xml", "jats", "jsonl", "pubmedqa", "scifact", "ngc"]
FORMAT_NAMES: tuple[str, ...] = get_args(Format)

LOADERS: dict[str, Loader] = {
    "markdown": load_markdown,
    "text": load_text,
    "pdf": load_pdf,
    "pubmed-xml": load_pubmed_xml,
    "jats": load_jats,
    "jsonl": load_jsonl,
    "pubmedqa": load_pubmedqa,
    "scifact": load_scifact,
    "ngc": load_ngc,
}
FORMATS = tuple(LOADERS)

_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "markdown": (".md", ".markdown"),
    "text": (".txt", ".text"),
    "pdf": (".pdf",),
    "pubmed-xml": (".xml",),
    "jats": (".nxml", ".xml"),
    "jsonl": (".jsonl", ".ndjson"),
    "pubmedqa": (".json",),
    "scifact": (".jsonl",),
    "ngc": (".jsonl",),
}
_ROOT_TAG = re.compile(rb"<(?!\?|!)([A-Za-z][\w.-]*)")


def discover(paths: Iterable[Path], fmt: Format = "auto") -> Iterator[Path | InputError]:
    """Files to load, sorted: named files as given; directories walked for files of known extensions.

    Hidden files and folders and ``README*`` files are skipped in a walk. A missing path is an error.
    """
    extensions = {ext for name in LOADERS if fmt in ("auto", name) for ext in _EXTENSIONS[name]}
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            for found in sorted(path.rglob("*")):
                relative = found.relative_to(path).parts
                if (found.is_file() and _suffix(found) in extensions and not found.name.upper().startswith("README")
                        and not any(part.startswith(".") for part in relative)):
                    yield found
        else:
            yield InputError(str(path), "no such file or directory")


def load_file(path: Path, fmt: Format, options: LoadOptions, max_bytes: int) -> Iterator[LoadItem]:
    """Read and parse one source; raises :class:`InputError` when the whole file is unusable."""
    raw = read_source(path, max_bytes)
    name = detect_format(path, raw) if fmt == "auto" else fmt
    return LOADERS[name](path, raw, options)


def read_source(path: Path, max_bytes: int) -> bytes:
    """The file's bytes (gunzipped for ``.gz``), refused above ``max_bytes`` with the limit named."""
    limit_mb = max_bytes / 1_000_000
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(str(path), f"the file is {size / 1e6:.1f} MB, above the {limit_mb:g} MB limit "
                                        "(raise RAG_INGEST__MAX_FILE_MB to load it)")
        raw = path.read_bytes()
        if path.suffix == ".gz":
            with gzip.open(path) as stream:
                raw = stream.read(max_bytes + 1)
            if len(raw) > max_bytes:
                raise InputError(str(path), f"the file unpacks to more than the {limit_mb:g} MB limit "
                                            "(raise RAG_INGEST__MAX_FILE_MB to load it)")
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(str(path), f"cannot read the file: {reason}") from None
    return raw


def detect_format(path: Path, raw: bytes) -> str:
    """The loader for a file, from its extension and, where the extension is ambiguous, its first bytes."""
    suffix = _suffix(path)
    head = raw[:65536].lstrip()
    if suffix in (".md", ".markdown"):
        return "markdown"
    if suffix in (".txt", ".text"):
        return "text"
    if suffix == ".pdf" or head.startswith(b"%PDF"):
        return "pdf"
    if suffix in (".xml", ".nxml") or head.startswith(b"<"):
        return _xml_format(path, head)
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl_format(head)
    if suffix == ".json":
        if b'"CONTEXTS"' in head and b'"QUESTION"' in head:
            return "pubmedqa"
        raise InputError(str(path), "unsupported JSON file: PubMedQA JSON is supported; for one document a line "
                                    "use .jsonl (or pass --format)")
    raise InputError(str(path), f"unknown file type {suffix or '(no extension)'!r}; pass --format "
                                f"({', '.join(FORMAT_NAMES[1:])})")


def _xml_format(path: Path, head: bytes) -> str:
    for match in _ROOT_TAG.finditer(head):
        tag = match.group(1).decode(errors="replace")
        if tag == "PubmedArticleSet":
            return "pubmed-xml"
        if tag in ("article", "pmc-articleset"):
            return "jats"
        raise InputError(str(path), f"unrecognised XML (root element <{tag}>): expected a PubMed "
                                    "<PubmedArticleSet> or a JATS <article>")
    raise InputError(str(path), "the file has no XML root element")


def _jsonl_format(head: bytes) -> str:
    first = next((line for line in head.splitlines() if line.strip()), b"")
    if b'"doc_id"' in first and b'"abstract"' in first:
        return "scifact"
    if b'"ngc_id"' in first and b'"major_recommendations"' in first:
        return "ngc"
    return "jsonl"


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        return suffixes[-2] if len(suffixes) > 1 else ".gz"
    return suffixes[-1] if suffixes else ""


def check_format(value: str) -> Format:
    if value not in FORMAT_NAMES:
        raise UserError(f"unknown --format {value!r}; choose one of {', '.join(FORMAT_NAMES)}")
    return value  # type: ignore[return-value]
