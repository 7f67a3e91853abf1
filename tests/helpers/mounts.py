"""Real file-system faults for tests: a small tmpfs (filled for a real ENOSPC, remounted read-only) and read-only
bind mounts. Mounting needs CAP_SYS_ADMIN (root in most CI containers); without it the calling test is skipped."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_MAX_FILL = 64 * 1024 * 1024  # fill() refuses anything larger: it must never fill a real disk


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        pytest.skip(f"cannot mount (needs CAP_SYS_ADMIN): {result.stderr.strip()}")


def _unmount(path: Path) -> None:
    """Unmount; when this process still holds files there (embedded Chroma keeps its client), detach it lazily."""
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=True, capture_output=True, timeout=30)


def total_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_blocks * stats.f_frsize


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


@contextmanager
def tmpfs(path: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of ``size_mb`` MB mounted at ``path`` for the block."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(path))
    try:
        assert os.path.ismount(path) and total_bytes(path) == size_mb * 1024 * 1024, "the tmpfs is not in place"
        yield path
    finally:
        _unmount(path)


def remount(path: Path, *, read_only: bool) -> None:
    """Switch the tmpfs at ``path`` to read-only or back (refused by the kernel while files are open for writing)."""
    _mount("-o", f"remount,{'ro' if read_only else 'rw'}", str(path))


@contextmanager
def read_only_bind(path: Path) -> Iterator[None]:
    """``path`` seen read-only for the block (a read-only bind mount over itself). Files opened before keep their
    access; everything opened or created through the path afterwards is read-only."""
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield
    finally:
        _unmount(path)


def fill(mount: Path, leave_bytes: int) -> Path:
    """Fill the small tmpfs at ``mount`` until ``leave_bytes`` stay free; delete the returned file to free it."""
    if not os.path.ismount(mount) or total_bytes(mount) > _MAX_FILL:
        raise AssertionError(f"refusing to fill {mount}: it is not a small mount of its own")
    filler = mount / "filler"
    with open(filler, "ab") as handle:
        handle.write(b"\0" * max(0, free_bytes(mount) - leave_bytes))
    return filler
