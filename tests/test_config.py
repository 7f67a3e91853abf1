from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.config import Settings


def test_environment_sets_top_level_and_nested_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_DATA_DIR", "/srv/rag")
    monkeypatch.setenv("RAG_CHROMA_URL", "http://127.0.0.1:8001/")
    monkeypatch.setenv("RAG_CHUNK__MAX_TOKENS", "128")
    monkeypatch.setenv("RAG_INGEST__MAX_FILE_MB", "100")
    settings = Settings()
    assert settings.data_dir == Path("/srv/rag") and settings.chroma_url == "http://127.0.0.1:8001"
    assert settings.chunk.max_tokens == 128 and settings.ingest.max_file_mb == 100


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("RAG_CHROMA_URL", "localhost:8000", "chroma_url"),
        ("RAG_CHUNK__MAX_TOKENS", "ten", "max_tokens"),
        ("RAG_CHUNK__OVERLAP_TOKENS", "150", "overlap"),
        ("RAG_RETRIEVAL__MAX_K", "0", "max_k"),
    ],
)
def test_invalid_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=field):
        Settings()


def test_unknown_nested_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Settings(chunk={"max_tokens": 100, "size": 3})
