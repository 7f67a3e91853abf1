"""Client/server mode: the same ingest and search against a `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.config import Settings
from rag.factory import Components
from rag.filters import Filters
from rag.testing import HashEmbedder
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    executable = shutil.which("chroma") or str(Path(ROOT / ".venv" / "bin" / "chroma"))
    port = free_port()
    process = subprocess.Popen(
        [executable, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the chroma server did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ingest_update_and_search_against_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for path in ["studies/estupinan-2025-exosomes-vs-prp-photoaged-skin.md",
                 "guidelines/fda-2019-exosome-safety-notification.md"]:
        shutil.copy(ROOT / "corpus" / path, source)
    components = Components(Settings(data_dir=tmp_path / "data", chroma_url=chroma_url), embedder=HashEmbedder())
    try:
        assert components.ingestor().run([source]).added == 2
        guideline = source / "fda-2019-exosome-safety-notification.md"
        guideline.write_text(guideline.read_text(encoding="utf-8") + "\nAn added closing sentence.\n")
        report = components.ingestor().run([source])
        assert (report.updated, report.unchanged) == (1, 1)
        verify = components.index.verify()
        assert verify["consistent"] and verify["vectors"] == verify["catalog_chunks"]
        hits = components.retriever().search("topical exosomes versus platelet-rich plasma", k=3, filters=Filters(kinds=("study",)))
        assert hits and hits[0].doc_id == "estupinan-2025-exosomes-vs-prp-photoaged-skin"
        assert not (tmp_path / "data" / "chroma").exists(), "server mode keeps no embedded Chroma files"
    finally:
        components.close()
