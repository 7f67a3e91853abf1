"""An exclusive, process-wide writer lock on the data dir, so two ingests never interleave their writes."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import StoreBusy, StoreError
from rag.store.space import unwritable_errors


@contextmanager
def shared_file_lock(path: Path) -> Iterator[None]:
    """A blocking exclusive lock on ``path`` between processes (released by the OS when a holder dies)."""
    try:
        handle = open(path, "a+")  # noqa: SIM115 - held open for the duration of the lock
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()


@contextmanager
def writer_lock(data_dir: Path) -> Iterator[None]:
    """Held for a whole ingest; released by the OS if the process dies, so a crash never leaves it stuck."""
    path = data_dir / "write.lock"
    try:
        with unwritable_errors(data_dir, interrupted=False):
            handle = open(path, "a+")  # noqa: SIM115 - held open for the duration of the lock
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {path}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreBusy(f"another ingest (pid {holder}) is writing to {data_dir}; wait for it to finish") from None
        with contextlib.suppress(OSError):  # a full disk refuses even these bytes; the pid only names the holder
            os.ftruncate(handle.fileno(), 0)
            os.pwrite(handle.fileno(), str(os.getpid()).encode(), 0)
        yield
    finally:
        handle.close()
