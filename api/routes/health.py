"""Liveness, readiness (store and model ready) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import ReadAccess
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
def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 with the document, chunk and vector counts; 503 while starting or when a store cannot be
    read."""
    components = getattr(request.app.state, "components", None)
    if components is None:
        return JSONResponse({"status": "starting"}, status_code=503, headers={"Retry-After": "2"})
    try:
        components.index.refresh()
        documents, chunks, _ = components.index.catalog.counts()
        vectors = components.index.vectors.count()
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503,
                            headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready", "documents": documents, "chunks": chunks, "vectors": vectors})


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics", responses=_METRICS_ERRORS)
def metrics(request: Request, _: ReadAccess) -> str:
    """This worker's request metrics in the Prometheus text format (read access required)."""
    return str(request.app.state.metrics.render())
