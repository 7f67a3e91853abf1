"""Liveness, readiness (store and model ready) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.deps import ReadAccess, StateDep
from api.schemas import ERRORS

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
def readyz(state: StateDep) -> JSONResponse:
    """Readiness: 200 with the document, chunk and vector counts; 503 while starting or when a store cannot be
    read. Public, so a successful check is reused for ``RAG_API__READYZ_CACHE_S`` seconds: callers cannot make a
    worker count and refresh its replica more often than that."""
    if state.components is None:
        return JSONResponse({"status": "starting"}, status_code=503, headers={"Retry-After": "2"})
    return state.readiness.check(state.components)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics", responses=_METRICS_ERRORS)
def metrics(request: Request, state: StateDep, _: ReadAccess) -> Response:
    """Every worker's metrics in the Prometheus text format, or OpenMetrics when the scraper asks for it (read
    access required). With several workers one scrape aggregates them all (prometheus_client's multiprocess
    mode)."""
    body, content_type = state.metrics.render(request.headers.get("accept"))
    return Response(body, media_type=content_type)
