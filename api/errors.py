"""One place that maps library errors to HTTP responses: a clear message, the request id, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import app_state
from rag.errors import (
    DataDirUnwritable,
    NotFoundError,
    ProviderError,
    QuotaExceeded,
    RagError,
    StoreBusy,
    StoreError,
    UserError,
    validation_problems,
)
from rag.store.space import unwritable

logger = logging.getLogger("api")


def status_for(error: RagError) -> int:
    """The HTTP status of a library error: 404 not found, 429 a quota used up, 422 bad input, 409 store busy, 507
    data dir full or read-only, 503 other store errors, 502 provider errors, 500 anything else."""
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, QuotaExceeded):
        return 429
    if isinstance(error, UserError):
        return 422
    if isinstance(error, StoreBusy):
        return 409
    if isinstance(error, DataDirUnwritable):  # needs an operator (free space, remount), so not 503 + Retry-After
        return 507
    if isinstance(error, StoreError):
        return 503
    if isinstance(error, ProviderError):
        return 502
    return 500


def scrub(request: Request, message: str) -> str:
    """No internal path in a response: the data dir becomes '<data dir>'."""
    data_dir = app_state(request.app).settings.data_dir
    for path in sorted({str(data_dir.resolve()), str(data_dir)}, key=len, reverse=True):
        if path not in (".", ""):
            message = message.replace(path, "<data dir>")
    return message


def error_body(request: Request, status: int, message: str, detail: object = None) -> dict[str, object]:
    """The JSON body of every error response: status, message (data dir paths scrubbed), request id and
    ``detail`` when given."""
    body: dict[str, object] = {"error": {"status": status, "message": scrub(request, message),
                                         "request_id": getattr(request.state, "request_id", None)}}
    if detail is not None:
        body["error"]["detail"] = detail  # type: ignore[index]
    return body


def install(app: FastAPI) -> None:
    """Register the handlers that turn library errors, invalid requests, HTTP exceptions and unexpected errors
    into that body (an unexpected error is logged with its traceback and answered 500 without it)."""
    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        status = status_for(exc)
        headers = {"Retry-After": "5"} if status in (409, 503) else None
        if status >= 500:
            logger.warning("request failed",
                           extra={"request_id": request.state.request_id, "error": type(exc).__name__})
        return JSONResponse(error_body(request, status, str(exc)), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": field, "message": message} for field, message in validation_problems(exc.errors())]
        return JSONResponse(error_body(request, 422, "the request is invalid", problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(request, exc.status_code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        clear = unwritable(app_state(request.app).settings.data_dir, exc, interrupted=False)
        if clear is not None:  # a write outside the index (a conversation turn) met a full or read-only disk
            return await rag_error(request, clear)
        logger.error("unexpected error", exc_info=exc, extra={"request_id": request.state.request_id})
        return JSONResponse(error_body(request, 500, "internal error; the request id identifies it in the logs"),
                            status_code=500)
