"""Client/server mode specifics; the rest of the suite runs against a Chroma server too (``store_mode``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import Settings
from rag.factory import Components
from rag.filters import Filters
from rag.testing import HashEmbedder
from tests.helpers.paths import ROOT


@pytest.mark.parametrize("store_mode", ["server"])
def test_server_mode_keeps_no_embedded_chroma_files(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for path in ["studies/estupinan-2025-exosomes-vs-prp-photoaged-skin.md",
                 "guidelines/fda-2019-exosome-safety-notification.md"]:
        shutil.copy(ROOT / "corpus" / path, source)
    components = Components(settings, embedder=HashEmbedder())
    try:
        assert components.ingestor().run([source]).added == 2
        hits = components.retriever().search("topical exosomes versus platelet-rich plasma", k=3,
                                             filters=Filters(kinds=("study",)))
        assert hits and hits[0].doc_id == "estupinan-2025-exosomes-vs-prp-photoaged-skin"
        assert not (settings.data_dir / "chroma").exists(), "server mode keeps no embedded Chroma files"
    finally:
        components.close()
