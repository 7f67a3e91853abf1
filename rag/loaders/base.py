"""What every loader shares: reading a source safely, and turning validation errors into sentences a person reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from rag.errors import InputError, brief, describe_validation_error
from rag.models import Document, DocumentMeta, Kind

LoadItem = Document | InputError
"""A loader yields documents, and an error for each record it could not read (the others still load)."""


MIN_TEXT_CHARS = 1_000_000


@dataclass(frozen=True)
class WorkLimits:
    """Bounds on the work one untrusted file may cause, not only its size: pages, extracted text, and (when
    ``isolate``) the time and memory of a child process that parses it and is killed past them."""

    max_pages: int = 2000
    text_per_byte: int = 20
    """Characters of text a file may yield per byte of it (and at least ``MIN_TEXT_CHARS``)."""
    isolate: bool = False
    timeout_s: float = 60.0
    memory_mb: int = 512

    def max_text_chars(self, size: int) -> int:
        """The text a file of ``size`` bytes may yield."""
        return max(MIN_TEXT_CHARS, self.text_per_byte * size)

    def max_content_bytes(self, size: int) -> int:
        """The decoded page content (drawing operators) a PDF of ``size`` bytes may make its pages read: half the
        text bound, at least two million bytes. Checked before a page's text is extracted, which is what costs
        (about 2.5 s of CPU a megabyte), so that pages sharing one large stream are refused at once."""
        return max(2 * MIN_TEXT_CHARS, self.text_per_byte * size // 2)


@dataclass(frozen=True)
class LoadOptions:
    """What the caller tells every loader: a default kind for sources that do not state one, and the bounds on the
    work a file may cause."""

    kind: Kind | None = None
    limits: WorkLimits = WorkLimits()


class Loader(Protocol):
    """Reads one source file into documents."""

    def __call__(self, path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
        """The documents in ``raw`` (the bytes of ``path``) and an :class:`InputError` per record that could not
        be read; a file that cannot be read at all raises :class:`InputError`."""
        ...


_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")


def decode_text(path: Path, raw: bytes) -> str:
    """UTF-8 text of a source (a BOM is dropped); binary content and other encodings are clear errors."""
    if not raw.strip():
        raise InputError(str(path), "the file is empty")
    if b"\x00" in raw[:8192] or len(_CONTROL.findall(raw[:8192])) > 8:
        raise InputError(str(path), "the file holds binary data, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            str(path), f"the text is not valid UTF-8 (byte {exc.start}, line {line}); save it as UTF-8 and retry"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_TOO_DEEP = "not valid JSON here (arrays or objects nested too deeply)"


def parse_json(source: str, text: str) -> Any:
    """The JSON value of ``text``; invalid JSON, nesting deeper than Python's recursion limit, numbers too long to
    convert and text that cannot be stored as UTF-8 (a lone surrogate escape such as "\\ud800") are clear errors."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
        raise InputError(source, f"not valid JSON ({exc.msg} at {where})") from None
    except RecursionError:
        raise InputError(source, _TOO_DEEP) from None
    except ValueError as exc:  # an integer literal longer than Python converts (sys.get_int_max_str_digits)
        raise InputError(source, f"not valid JSON here ({exc})") from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then pay for a second pass over the value
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(source, "the JSON holds a \\uD800-\\uDFFF escape without its pair (a lone surrogate), "
                                     "which is not text") from None
        except RecursionError:
            raise InputError(source, _TOO_DEEP) from None
    return value


def build_meta(source: str, fields: dict[str, object], options: LoadOptions) -> DocumentMeta:
    """Validate metadata fields, filling ``kind`` from the options when the source does not state it."""
    if options.kind is not None:
        stated = fields.get("kind")
        if stated not in (None, options.kind):
            raise InputError(source, f"the source says kind {brief(stated)} but --kind {options.kind} was given")
        fields = {**fields, "kind": options.kind}
    elif "kind" not in fields:
        raise InputError(source, "field 'kind' is required but missing (state it in the source or pass --kind)")
    try:
        return DocumentMeta.model_validate(fields)
    except ValidationError as exc:
        raise InputError(source, describe_validation_error(exc)) from None


def slug(text: str) -> str:
    """A document id made from a file name or title: lowercase letters, digits and dashes."""
    value = _NOT_SLUG.sub("-", text.lower()).strip("-")
    return value[:120] or "document"


def require_text(source: str, document: Document) -> Document:
    """A document must carry some text to be indexed."""
    if not document.text.strip():
        raise InputError(source, "no text to index (every section is empty)")
    return document
