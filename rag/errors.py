"""The one error root of the library, split into misuse (bad input, bad configuration) and runtime failures."""

from __future__ import annotations


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
