"""API keys for tests: one read key and one admin key, their request headers, and settings that accept them."""

from __future__ import annotations

from api.security import hash_key
from rag.config import ApiSettings, Settings

READ_KEY = "rag_test_read_key"
ADMIN_KEY = "rag_test_admin_key"
READ = {"Authorization": f"Bearer {READ_KEY}"}
ADMIN = {"X-API-Key": ADMIN_KEY}


def keyed(settings: Settings, **api: object) -> Settings:
    """``settings`` accepting READ_KEY (read scope) and ADMIN_KEY (admin scope), with ``api`` settings."""
    hashes = f"{hash_key(READ_KEY)}:read,{hash_key(ADMIN_KEY)}:admin"
    return settings.model_copy(update={"api_key_hashes": hashes, "api": ApiSettings(**api)})  # type: ignore[arg-type]
