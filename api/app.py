"""The app factory: settings, components opened once per worker at start-up, middleware, routers, error handlers.

    uvicorn --factory api.app:create_app        (or: rag serve); the web page is at /
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.deps import get_settings
from api.metrics import Metrics
from api.routes import answers, conversations, documents, health, openai_compat, search, web
from api.security import RateLimiter, load_key_hashes
from rag import __version__
from rag.config import Settings
from rag.errors import StoreError
from rag.factory import Components
from rag.logs import configure_logging
from rag.tracing import configure_tracing, span

logger = logging.getLogger("api")

DESCRIPTION = """Cited, guideline-first answers from a corpus of clinical guidelines and research studies.

Every answer has two sections, "From the Guidelines" and "From the Research"; every claim cites a passage [n]
whose exact supporting sentence is in `references[].quote`, and `grounding` reports what verification found.
Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>` (keys are created with `rag keys create`).
"""


def create_app(settings: Settings | None = None, components: Components | None = None) -> FastAPI:
    """A configured app. ``components`` may be passed in (tests); otherwise they are opened at start-up."""
    settings = settings or get_settings()
    configure_logging(settings.log)
    configure_tracing()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = components if components is not None else await run_in_threadpool(_open, settings)
        app.state.components = built
        app.state.answers = built.answers(observers=[app.state.metrics.observe_answer])
        logger.info("ready", extra={"data_dir": str(settings.data_dir)})
        try:
            yield
        finally:
            app.state.components = None
            if components is None:
                built.close()

    app = FastAPI(title="rag", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.keys = load_key_hashes(settings)
    app.state.limiter = RateLimiter(settings.api.rate_limit_per_minute, settings.api.rate_limit_burst)
    app.state.metrics = Metrics()
    app.state.components = None
    if components is not None:  # ready at once (tests, embedding in another app); the lifespan does the same
        app.state.components = components
        app.state.answers = components.answers(observers=[app.state.metrics.observe_answer])
    errors.install(app)
    if settings.api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.api.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"])
    app.add_middleware(BodyLimit, max_bytes=int(settings.api.max_body_mb * 1_000_000))
    app.add_middleware(RequestContext, metrics=app.state.metrics)
    for module in (answers, conversations, search, documents, openai_compat, health):
        app.include_router(module.router)
    web.install(app)  # the page for clinicians at /
    return app


def _open(settings: Settings) -> Components:
    built = Components(settings)
    try:  # an upload interrupted by a crash (kill -9) of the last server is finished or undone before serving
        built.ingestor().recover()
    except StoreError as exc:
        logger.warning("an interrupted write could not be repaired at start-up; the next write will",
                       extra={"error": str(exc)})
    built.embedder.embed_query("warm-up")  # load the query encoder before the first request, not during it
    return built


class RequestContext:
    """A request id on every response and log line; metrics by route (the whole response, streams included).
    Question text is never logged. Plain ASGI: Starlette's ``BaseHTTPMiddleware`` costs about 0.5 ms a request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: give the request an id (the caller's ``X-Request-ID``, cut to 64 characters, or a new
        one), echo it in the response headers, then count and log the request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope.get("headers") or [] if name == b"x-request-id"), b"")
        request_id = (given.decode("latin-1") or uuid.uuid4().hex)[:64]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]
                message = {**message, "headers": headers}
            await send(message)

        try:
            with span("request", request_id=request_id, method=scope["method"]) as current:
                await self.app(scope, receive, send_with_id)
                current.set_attribute("route", getattr(scope.get("route"), "path", "unmatched"))
                current.set_attribute("status", status)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(route, scope["method"], status, seconds)
            principal = scope.get("state", {}).get("principal")
            logger.info("request", extra={"request_id": request_id, "method": scope["method"], "route": route,
                                          "status": status, "ms": round(seconds * 1000, 1),
                                          "principal": getattr(principal, "name", None)})


class BodyLimit:
    """Refuses bodies over the limit with 413, by Content-Length or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: answer 413 at once when Content-Length is over the limit, or as soon as a streamed body
        passes it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = (b'{"error":{"status":413,"message":"the request body is larger than the limit '
                + f'({self.max_bytes / 1e6:g} MB)'.encode() + b'"}}')
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


