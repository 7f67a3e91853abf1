"""The one error root of the library, split into misuse (bad input, bad configuration) and runtime failures."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import ValidationError


class RagError(Exception):
    """Root of every error this library raises on purpose."""


class UserError(RagError):
    """The caller gave something we cannot use: the message says what and where."""


class InputError(UserError):
    """A source file or record cannot be read as a document. ``source`` names the file (and record)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class NotFoundError(UserError):
    """The caller asked for something that does not exist (a conversation, a document)."""


class QuotaExceeded(UserError):
    """The caller has used up a quota (e.g. its stored conversations): the message names the setting."""


class ConfigError(UserError):
    """A setting or parameter is invalid or inconsistent with the stored index."""


class RuntimeFailure(RagError):
    """Something we depend on failed while the request itself was valid."""


class StoreError(RuntimeFailure):
    """The vector store, lexical index or catalog failed or is unreachable."""


class StoreBusy(StoreError):
    """Another writer holds the data dir; retry shortly."""


class DataDirUnwritable(StoreError):
    """The data dir cannot take a write: its file system is full or read-only. The message says which and where."""


class VectorIndexNotReady(StoreError):
    """The vector index exists but another process has not flushed it to disk yet (first moments of an ingest)."""


class ProviderError(RuntimeFailure):
    """A model provider (embedding model, LLM endpoint) failed."""


FailureKind = Literal["timeout", "unreachable", "http_status", "stream_broken", "empty", "malformed", "error"]
"""What kind of failure a GenerationError is, from a small fixed set (metrics label it; ``reason`` says it in words)."""


class GenerationError(ProviderError):
    """The generator could not produce an answer (endpoint down, timeout, error status); ``reason`` says which in
    words, ``kind`` names its class from a fixed set."""

    def __init__(self, reason: str, kind: FailureKind = "error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind: FailureKind = kind


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 2, 60, 60
_BRIEF.maxlist = _BRIEF.maxtuple = _BRIEF.maxdict = _BRIEF.maxset = 4
_MAX_DESCRIBED = 10


def brief(value: object) -> str:
    """A short repr, bounded however large or deeply shared the value is (a YAML alias bomb expands to billions)."""
    return _BRIEF.repr(value)


def validation_problems(errors: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Each invalid field of pydantic's or FastAPI's ``errors()`` as (dotted field name, message)."""
    return [(".".join(str(p) for p in item["loc"]) or "record", str(item["msg"])) for item in errors]


def describe_validation_error(error: ValidationError) -> str:
    """One readable sentence per invalid field: "field 'year': Input should be a valid integer (got 'twenty')"."""
    parts = []
    items = error.errors(include_url=False)
    for item in items[:_MAX_DESCRIBED]:
        field = ".".join(str(p) for p in item["loc"]) or "record"
        if item["type"] == "missing":
            parts.append(f"field '{field}' is required but missing")
        elif item["type"] == "extra_forbidden":
            parts.append(f"field '{field}' is not a known field")
        else:
            parts.append(f"field '{field}': {item['msg']} (got {brief(item.get('input')):.60})")
    if len(items) > _MAX_DESCRIBED:
        parts.append(f"and {len(items) - _MAX_DESCRIBED} more")
    return "; ".join(parts)
