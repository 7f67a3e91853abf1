"""The gate every HTTP request passes before the app sees it: who is calling, whether they may, and how much they may
send, decided from the headers before a byte of the body is read.

In order: a server without API keys answers only requests addressed to a loopback name (``Host``; no DNS rebinding)
that come from a loopback address, through no proxy (``Forwarded``, ``X-Forwarded-*``, ``X-Real-IP``, ``Via``) and
from no foreign page (``Origin``); a declared body over the route's limit is refused (413); the API's routes
authenticate the key (401, and 429 for a presented key once an address has failed too often); a route that needs
the admin scope refuses a narrower key (403); then the body is read, up to the limit (413 for a longer chunked
body), and handed to the app. The principal is left in
``scope["state"]``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import Limit, RateLimits, retry_after
from api.metrics import Metrics
from api.security import Principal, hash_key, is_loopback
from api.security import Scope as KeyScope
from rag.config import ApiSettings

logger = logging.getLogger("api")

ANONYMOUS = "anonymous"
"""The one principal of every anonymous loopback caller (a server without keys); it owns their conversations."""
PROXY_HEADERS = (b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"x-real-ip", b"via")
PROTECTED_PREFIXES = ("/v1/", "/metrics")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


ADMIN_ONLY = "this operation needs an API key with the admin scope"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def needs_admin(method: str, path: str) -> bool:
    """Whether a route needs an admin key: every write under /v1/documents (uploads, deletions). The routes declare
    it too (api.deps.AdminAccess); the gate checks it before the body is read, so a read key's upload is refused
    after 0 bytes, not after the whole body (tests/api/test_hostile_caller.py holds the two lists together)."""
    trimmed = path.rstrip("/")
    return method in _WRITES and (trimmed == "/v1/documents" or trimmed.startswith("/v1/documents/"))


@dataclass(frozen=True)
class BodyLimits:
    """Request body limits in bytes: uploads (``POST /v1/documents``), chat completions, everything else."""

    upload: int
    chat: int
    json: int

    @classmethod
    def from_settings(cls, api: ApiSettings) -> BodyLimits:
        """The limits configured in ``RAG_API__*``."""
        return cls(upload=int(api.max_body_mb * 1_000_000), chat=api.max_chat_body_kb * 1024,
                   json=api.max_json_body_kb * 1024)

    def for_route(self, method: str, path: str) -> int:
        """The limit of one route."""
        if method == "POST" and path.rstrip("/") == "/v1/documents":
            return self.upload
        if method == "POST" and path.rstrip("/") == "/v1/chat/completions":
            return self.chat
        return self.json


class Refused(Exception):
    """A request the gate answers itself: a status, a message and headers."""

    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


class Gate:
    """ASGI middleware: keyless-mode checks, body limits, authentication before the body, failure rate limits
    (per address, in the rate-limit store every worker shares)."""

    def __init__(self, app: ASGIApp, keys: dict[str, KeyScope], limits: BodyLimits, rate_limits: RateLimits,
                 failures: Limit, metrics: Metrics) -> None:
        self.app = app
        self.keys = keys
        self.limits = limits
        self.rate_limits = rate_limits
        self.failures = failures
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: refuse, or pass the request on with its principal and its body already read."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        limit = self.limits.for_route(scope["method"], scope["path"])
        try:
            self._check_keyless(scope, headers)
            _check_declared_length(headers, limit)
            principal = await self._authenticate(scope, headers)
            if principal is not None and principal.scope != "admin" and needs_admin(scope["method"], scope["path"]):
                raise Refused(403, ADMIN_ONLY)
            body = await _read_body(receive, limit)
        except Refused as refused:
            await _refuse(send, refused, scope.get("state", {}).get("request_id"))
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, _replay(body, receive), _no_store(scope, send))

    def _check_keyless(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        """Without keys, only loopback callers addressing a loopback name, through no proxy, from no foreign page."""
        if self.keys:
            return
        if not _loopback_name(headers.get(b"host", b"").decode("latin-1")):
            raise Refused(403, "this server has no API keys, so it answers only requests addressed to localhost, "
                               "127.0.0.1 or [::1]; configure API keys to serve other names")
        if any(name in headers for name in PROXY_HEADERS):
            raise Refused(403, "this server has no API keys and refuses requests through a proxy; configure API keys "
                               "(RAG_API_KEY_HASHES) to serve behind one")
        origin = headers.get(b"origin")
        if origin is not None and not _loopback_name(urlsplit(origin.decode("latin-1")).netloc):
            raise Refused(403, "this server has no API keys and refuses requests from other sites' pages")

    async def _authenticate(self, scope: Scope, headers: dict[bytes, bytes]) -> Principal | None:
        """The caller's principal. The API's routes need one (401 without; 429 once the address has failed
        authentication too often); public routes get one when a valid key is presented."""
        protected = scope["path"].startswith(PROTECTED_PREFIXES) and scope["method"] != "OPTIONS"
        presented = _presented_key(headers)
        client = scope["client"][0] if scope.get("client") else None
        address = f"address:{client}"
        if not protected and not presented:
            return None
        # only a presented key can be a guess: a request without one is never let in by the lockout's absence
        wait = await self.rate_limits.wait(self.failures, address) if presented else 0.0
        if wait > 0:
            if not protected:
                return None
            self.metrics.rate_limited(self.failures.name)
            raise Refused(429, "too many failed authentications from this address; retry later",
                          [("Retry-After", retry_after(wait))])
        if presented:
            scope_of_key = self.keys.get(hash_key(presented))
            if scope_of_key is not None:
                return Principal(f"key:{hash_key(presented)[:12]}", scope_of_key)
            await self._failed(address, protected, "invalid API key")
            return None
        if not self.keys and is_loopback(client):
            return Principal(ANONYMOUS, "read")
        await self._failed(address, protected, "an API key is required (Authorization: Bearer <key> or X-API-Key)")
        return None

    async def _failed(self, address: str, protected: bool, message: str) -> None:
        """Count a failed authentication of ``address``; an API route answers 401, a public one goes on."""
        await self.rate_limits.hit(self.failures, address)
        if protected:
            logger.info("authentication failed", extra={"client": address})
            raise Refused(401, message, [("WWW-Authenticate", "Bearer")])


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request headers by lowercase name (the first of repeated ones)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers") or []:
        found.setdefault(name.lower(), value)
    return found


def _loopback_name(authority: str) -> bool:
    """Whether a Host header or URL authority names this machine's loopback interface (any port)."""
    host = authority.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host in LOOPBACK_NAMES or is_loopback(host)


def _presented_key(headers: dict[bytes, bytes]) -> str | None:
    """The key in ``Authorization: Bearer`` or ``X-API-Key``."""
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    return key or None


def _check_declared_length(headers: dict[bytes, bytes], limit: int) -> None:
    declared = headers.get(b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> Refused:
    shown = f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit / 1024:g} KiB"
    return Refused(413, f"the request body is larger than the limit of this route ({shown})")


async def _read_body(receive: Receive, limit: int) -> list[Message]:
    """The body's messages, read to the end; 413 as soon as they pass ``limit``."""
    messages: list[Message] = []
    received = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages  # the client went away: the app sees it as it would have
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands over the body already read, then waits on the real one (a disconnect)."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _no_store(scope: Scope, send: Send) -> Send:
    """The API's responses (answers, conversations, documents, searches) are never stored by a cache."""
    if not scope["path"].startswith("/v1/"):
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
            message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
        await send(message)

    return sending


async def _refuse(send: Send, refused: Refused, request_id: str | None) -> None:
    """The error response, shaped as every error of the API (api.errors)."""
    body = json.dumps({"error": {"status": refused.status, "message": refused.message,
                                 "request_id": request_id}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"),
               *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in refused.headers)]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
