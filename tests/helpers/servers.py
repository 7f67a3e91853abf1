"""Servers the tests start on 127.0.0.1: a free port, and a `chroma run` server that is ready when returned."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.helpers import local_http

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_executable() -> str:
    return shutil.which("chroma") or str(ROOT / ".venv" / "bin" / "chroma")


def start_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    """Start `chroma run` persisting under ``path`` and wait until it answers its heartbeat (60 s at most)."""
    process = subprocess.Popen(
        [chroma_executable(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if local_http.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"the chroma server on port {port} did not start")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """A Chroma server for the duration of the block; yields its URL."""
    port = free_port()
    process = start_chroma(path, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
