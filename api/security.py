"""API keys (stored only as SHA-256 hashes, each with a scope) and per-key rate limits."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import threading
import time
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


class RateLimiter:
    """A token bucket per caller: ``per_minute`` steady, ``burst`` at once. In memory, per worker process."""

    MAX_CALLERS = 100_000

    def __init__(self, per_minute: int, burst: int) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, caller: str) -> float:
        """0 when the request may proceed (a token is taken), else the seconds to wait before retrying."""
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(caller, now)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self._rate

    def wait(self, caller: str) -> float:
        """The seconds until the caller has a token again (0: it has one now); takes nothing."""
        with self._lock:
            tokens = self._tokens(caller, time.monotonic())
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def exhausted(self, caller: str) -> bool:
        """Whether the caller has no token left."""
        return self.wait(caller) > 0

    def _tokens(self, caller: str, now: float) -> float:
        if caller not in self._buckets and len(self._buckets) >= self.MAX_CALLERS:
            self._shrink(now)
        tokens, last = self._buckets.get(caller, (self._burst, now))
        return min(self._burst, tokens + (now - last) * self._rate)

    def _shrink(self, now: float) -> None:
        """Keep the table bounded (many addresses or keys must not grow it forever): forget the callers whose
        buckets have refilled (as if new), then, if still over half the bound, all but the most recent half."""
        kept = {caller: (tokens, last) for caller, (tokens, last) in self._buckets.items()
                if tokens + (now - last) * self._rate < self._burst}
        if len(kept) > self.MAX_CALLERS // 2:
            recent = sorted(kept.items(), key=lambda item: item[1][1], reverse=True)[: self.MAX_CALLERS // 2]
            kept = dict(recent)
        self._buckets = kept


def key_file_line(key: str, scope: Scope) -> str:
    """The ``sha256hex:scope`` line of a key, as the API key file holds it."""
    return f"{hash_key(key)}:{scope}"

