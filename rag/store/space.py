"""A full or read-only data dir: refused before a write starts, and named clearly when a write fails on it anyway."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import DataDirUnwritable, StoreError

#: Disk space allowed for one chunk when a write is checked: its catalog row and BM25 postings, Chroma's log entry,
#: metadata, text copy and HNSW links. Generous on purpose (measured: 10-20 KB with the packaged model).
CHUNK_BYTES = 64 * 1024

_FULL = "full"
_READ_ONLY = "read-only"
_SQLITE_CODES = {sqlite3.SQLITE_FULL: _FULL, sqlite3.SQLITE_READONLY: _READ_ONLY}
_ERRNOS = {errno.ENOSPC: _FULL, errno.EDQUOT: _FULL, errno.EROFS: _READ_ONLY}
_PHRASES = {"database or disk is full": _FULL, "no space left on device": _FULL, "disk quota exceeded": _FULL,
            "readonly database": _READ_ONLY, "read-only file system": _READ_ONLY}


def check_writable(data_dir: Path, min_free_mb: float, needed_bytes: int = 0) -> None:
    """Refuse a write, before anything is changed, when the data dir's file system is read-only or would keep less
    than ``min_free_mb`` free after ``needed_bytes`` more."""
    try:
        stats = os.statvfs(data_dir)
    except OSError as exc:
        raise StoreError(f"cannot inspect the data dir {data_dir}: {exc.strerror}") from exc
    if stats.f_flag & os.ST_RDONLY:
        raise DataDirUnwritable(read_only_message(data_dir) + "; nothing was changed")
    free = stats.f_bavail * stats.f_frsize
    wanted = needed_bytes + int(min_free_mb * 1_000_000)
    if free < wanted:
        raise DataDirUnwritable(
            f"the data dir {data_dir} is full: {free / 1e6:.1f} MB free, this write needs about "
            f"{needed_bytes / 1e6:.1f} MB and {min_free_mb:g} MB must stay free (RAG_STORE__MIN_FREE_MB); "
            "free some space and retry; nothing was changed"
        )


def read_only_message(data_dir: Path) -> str:
    """The error message for a data dir on a read-only file system."""
    return f"the data dir {data_dir} is on a read-only file system; make it writable and retry"


def problem(error: BaseException) -> str | None:
    """``"full"`` or ``"read-only"`` when ``error`` (or an error it was raised from) says so, else None."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _ERRNOS:
            return _ERRNOS[seen.errno]
        if isinstance(seen, sqlite3.Error):
            code = getattr(seen, "sqlite_errorcode", 0) & 0xFF
            if code in _SQLITE_CODES:
                return _SQLITE_CODES[code]
        text = str(seen).lower()
        for phrase, kind in _PHRASES.items():
            if phrase in text:
                return kind
        seen = seen.__cause__ or seen.__context__
    return None


def unwritable(data_dir: Path, error: BaseException, interrupted: bool = True) -> DataDirUnwritable | None:
    """The :class:`DataDirUnwritable` error for ``error`` when a full or read-only file system caused it, else None.
    ``interrupted``: a write may have started (the next write finishes or undoes it)."""
    kind = problem(error)
    if kind is None:
        return None
    message = read_only_message(data_dir) if kind == _READ_ONLY else (
        f"the file system of the data dir {data_dir} is full; free some space and retry")
    if interrupted:
        message += "; the interrupted write is finished or undone by the next one"
    return DataDirUnwritable(message)


@contextmanager
def unwritable_errors(data_dir: Path, interrupted: bool = True) -> Iterator[None]:
    """A store or OS error caused by a full or read-only file system becomes :class:`DataDirUnwritable` naming the
    data dir (see :func:`unwritable`)."""
    try:
        yield
    except DataDirUnwritable:
        raise
    except (StoreError, OSError) as exc:
        clear = unwritable(data_dir, exc, interrupted)
        if clear is None:
            raise
        raise clear from exc
