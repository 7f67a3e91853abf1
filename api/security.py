"""API keys (stored only as SHA-256 hashes, each with a scope) and who is calling (rate limits: api.limits)."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Literal

from rag.config import Settings
from rag.errors import ConfigError

Scope = Literal["read", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "admin")
KEY_PREFIX = "rag_"


def generate_key() -> str:
    """A new random API key (``rag_`` and 32 random bytes, URL-safe base64); only its hash is stored."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which a key is stored and looked up."""
    return hashlib.sha256(key.encode()).hexdigest()


def load_key_hashes(settings: Settings) -> dict[str, Scope]:
    """``{sha256 hex: scope}`` from RAG_API_KEY_HASHES and the file named by RAG_API_KEY_FILE."""
    entries: list[tuple[str, str]] = []
    if settings.api_key_hashes:
        entries += [("RAG_API_KEY_HASHES", e) for e in settings.api_key_hashes.split(",") if e.strip()]
    if settings.api_key_file is not None:
        try:
            lines = settings.api_key_file.read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read the API key file {settings.api_key_file}: {exc.strerror}") from None
        entries += [(f"{settings.api_key_file}:{n}", line) for n, line in enumerate(lines, start=1)
                    if line.strip() and not line.lstrip().startswith("#")]
    keys: dict[str, Scope] = {}
    for where, entry in entries:
        digest, _, scope = entry.strip().partition(":")
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()) or scope not in SCOPES:
            raise ConfigError(f"{where}: an API key entry must be 'sha256hex:read' or 'sha256hex:admin'")
        keys[digest.lower()] = "admin" if scope == "admin" else "read"
    return keys


def is_loopback(host: str | None) -> bool:
    """The client is ``localhost`` or a loopback address (127.0.0.0/8, ::1); None or a hostname is not."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key (by a short prefix of its hash) or an anonymous loopback client."""

    name: str
    scope: Scope


def key_file_line(key: str, scope: Scope) -> str:
    """The ``sha256hex:scope`` line of a key, as the API key file holds it."""
    return f"{hash_key(key)}:{scope}"

