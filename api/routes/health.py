"""Liveness, readiness (store and model ready) and Prometheus metrics."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.deps import ReadAccess
from api.schemas import ERRORS
from rag.factory import Components

router = APIRouter(tags=["health"])
_METRICS_ERRORS: dict[int | str, dict[str, Any]] = {  # errors are JSON even though metrics are text
    k: {**v, "content": {"application/json": {}}} for k, v in ERRORS.items() if k in (401, 429)
}


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers; nothing else is checked."""
    return {"status": "ok"}


@router.get("/readyz", summary="The index and the embedding model are ready",
            responses={503: {"description": "Not ready (starting, or the store is unreachable)."}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 with the document, chunk and vector counts; 503 while starting or when a store cannot be
    read. Public, so a successful check is reused for ``RAG_API__READYZ_CACHE_S`` seconds: callers cannot make a
    worker count and refresh its replica more often than that."""
    components = getattr(request.app.state, "components", None)
    if components is None:
        return JSONResponse({"status": "starting"}, status_code=503, headers={"Retry-After": "2"})
    readiness: Readiness = request.app.state.readiness
    return readiness.check(components)


class Readiness:
    """The last successful readiness check, reused for ``cache_s`` seconds (a failed one is not reused: the next
    call checks again, so a store that comes back is seen at once)."""

    def __init__(self, cache_s: float) -> None:
        self._cache_s = cache_s
        self._lock = threading.Lock()
        self._last: tuple[float, dict[str, Any]] | None = None

    def check(self, components: Components) -> JSONResponse:
        """The cached body when fresh, else a new check (one at a time: others wait for it and reuse it)."""
        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self._cache_s:
                return JSONResponse(self._last[1])
            try:
                components.index.refresh()
                documents, chunks, _ = components.index.catalog.counts()
                vectors = components.index.vectors.count()
            except Exception as exc:
                return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503,
                                    headers={"Retry-After": "5"})
            body = {"status": "ready", "documents": documents, "chunks": chunks, "vectors": vectors}
            self._last = (time.monotonic(), body)
            return JSONResponse(body)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics", responses=_METRICS_ERRORS)
def metrics(request: Request, _: ReadAccess) -> Response:
    """Every worker's metrics in the Prometheus text format, or OpenMetrics when the scraper asks for it (read
    access required). With several workers one scrape aggregates them all (prometheus_client's multiprocess
    mode)."""
    body, content_type = request.app.state.metrics.render(request.headers.get("accept"))
    return Response(body, media_type=content_type)
