"""The app factory: settings, components opened once per worker at start-up, middleware, routers, error handlers.

    uvicorn --factory api.app:create_app        (or: rag serve); the web page is at /
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.deps import app_state, get_settings, install_state
from api.gate import BodyLimits, Gate
from api.limits import Quotas, open_limits
from api.metrics import Metrics
from api.readiness import Readiness
from api.routes import answers, conversations, documents, health, openai_compat, search, web
from api.security import load_key_hashes
from api.slots import AnswerSlots
from api.state import AppState
from rag import __version__
from rag.config import Settings
from rag.errors import StoreError
from rag.factory import Components
from rag.logs import configure_logging, queued_logging
from rag.tracing import configure_tracing, span

logger = logging.getLogger("api")
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
"""A caller's X-Request-ID is kept only in this shape: anything else (spaces, '=', control characters) could forge
fields in a text log line, so the request gets a new id."""

DESCRIPTION = """Cited, guideline-first answers from a corpus of clinical guidelines and research studies.

Every answer has two sections, "From the Guidelines" and "From the Research"; every claim cites a passage [n]
whose exact supporting sentence is in `references[].quote`, and `grounding` reports what verification found.
Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>` (keys are created with `rag keys create`).
"""


_ROUTERS = (answers, conversations, search, documents, openai_compat, health)


def create_app(settings: Settings | None = None, components: Components | None = None) -> FastAPI:
    """A configured app. ``components`` may be passed in (tests); otherwise they are opened at start-up."""
    settings = settings or get_settings()
    configure_logging(settings.log)
    configure_tracing()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with queued_logging():  # log lines are written by a thread of their own, not by the event loop
            async with _serving(app_state(app), settings, components):
                yield

    app = FastAPI(title="rag", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    state = _state(settings)
    install_state(app, state)
    if components is not None:  # ready at once (tests, embedding in another app); the lifespan does the same
        state.serve(components)
    errors.install(app)
    # The last added runs first: request id and metrics, CORS (its preflights need no key), then the gate.
    app.add_middleware(Gate, keys=load_key_hashes(settings), limits=BodyLimits.from_settings(settings.api),
                       rate_limits=state.rate_limiter, failures=state.quotas.auth_failures, metrics=state.metrics)
    if settings.api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.api.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"])
    app.add_middleware(RequestContext, metrics=state.metrics,
                       routes=[route for module in _ROUTERS for route in module.router.routes])
    for module in _ROUTERS:
        app.include_router(module.router)
    web.install(app)  # the page for clinicians at /
    return app


@asynccontextmanager
async def _serving(state: AppState, settings: Settings, components: Components | None) -> AsyncIterator[None]:
    """The worker's life: the components opened (unless given), expired conversations purged in the background;
    then everything closed again."""
    built = components if components is not None else await run_in_threadpool(_open, settings)
    state.serve(built)
    purging = asyncio.create_task(_purge_conversations(built, settings.store.conversation_purge_interval_s))
    logger.info("ready", extra={"data_dir": str(settings.data_dir)})
    try:
        yield
    finally:
        purging.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purging
        state.stop()
        state.rate_limiter.close()
        if components is None:
            built.close()


def _state(settings: Settings) -> AppState:
    """The app's state before start-up: rate limits, answer slots, readiness and metrics; no components yet."""
    api = settings.api
    redis_url = api.rate_limit_redis_url.get_secret_value() if api.rate_limit_redis_url is not None else None
    multiprocess = os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # the standard variable; rag serve sets it
    state = AppState(
        settings=settings, rate_limiter=open_limits(settings.data_dir, redis_url), quotas=Quotas.from_settings(api),
        answer_slots=AnswerSlots(api.max_concurrent_answers), readiness=Readiness(api.readyz_cache_s),
        metrics=Metrics(lambda: _index_sizes(state), Path(multiprocess) if multiprocess else None),
    )
    return state


def _open(settings: Settings) -> Components:
    built = Components(settings)
    try:  # an upload interrupted by a crash (kill -9) of the last server is finished or undone before serving
        built.ingestor().recover()
    except StoreError as exc:
        logger.warning("an interrupted write could not be repaired at start-up; the next write will",
                       extra={"error": str(exc)})
    built.embedder.embed_query("warm-up")  # load the query encoder before the first request, not during it
    return built


def _index_sizes(state: AppState) -> dict[str, tuple[int, int]] | None:
    """(documents, chunks) by kind from the index, for the metrics; None while starting or closed."""
    components = state.components
    if components is None:
        return None
    try:
        return components.index.sizes()
    except StoreError:
        return None


async def _purge_conversations(components: Components, every_s: float) -> None:
    """Delete expired conversations every ``every_s`` seconds, whether or not new ones start (a store failure is
    logged and tried again at the next round)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            deleted = await run_in_threadpool(components.conversations.purge)
        except StoreError as exc:
            logger.warning("deleting expired conversations failed", extra={"error": type(exc).__name__})
            continue
        if deleted:
            logger.info("expired conversations deleted", extra={"count": deleted})


class RequestContext:
    """A request id on every response and log line; metrics by route (the whole response, streams included).
    Question text is never logged. Plain ASGI: Starlette's ``BaseHTTPMiddleware`` costs about 0.5 ms a request."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: give the request an id (the caller's ``X-Request-ID`` when it is 1-64 of ``[A-Za-z0-9._-]``,
        else a new one), echo it in the response headers, then count and log the request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope.get("headers") or [] if name == b"x-request-id"), b"")
        request_id = given.decode("latin-1") if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
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
            route = getattr(scope.get("route"), "path", None) or self._route_of(scope)
            self.metrics.observe(route, scope["method"], status, seconds)
            principal = scope.get("state", {}).get("principal")
            logger.info("request", extra={"request_id": request_id, "method": scope["method"], "route": route,
                                          "status": status, "ms": round(seconds * 1000, 1),
                                          "principal": getattr(principal, "name", None)})

    def _route_of(self, scope: Scope) -> str:
        """The route a request answered before routing (by the gate: 401, 413...) was addressed to."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return str(getattr(route, "path", "unmatched"))
        return "unmatched"
