"""Dependencies: cached settings, the components opened once per worker, the caller's identity and rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.security import Principal, Scope, hash_key, is_loopback
from rag.answer.service import AnswerService
from rag.config import Settings
from rag.factory import Components


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read from the environment once per process (an app built with explicit settings does not call this)."""
    return Settings()


# The dependencies are async (they never block): FastAPI runs a sync dependency in the thread pool, one more
# thread hand-off per dependency and request.
async def get_components(request: Request) -> Components:
    """The components opened at start-up; 503 with Retry-After while this worker is still starting."""
    components: Components | None = getattr(request.app.state, "components", None)
    if components is None:
        raise HTTPException(503, "the service is starting; retry shortly", headers={"Retry-After": "2"})
    return components


async def get_answers(request: Request) -> AnswerService:
    """The answer service opened at start-up; 503 with Retry-After while this worker is still starting."""
    await get_components(request)
    service: AnswerService = request.app.state.answers
    return service


T = TypeVar("T")


async def within_answer_timeout(request: Request, work: Callable[[], T]) -> T:
    """Blocking answer work in the thread pool; past ``api.answer_timeout_s`` the caller gets 504. (The thread
    finishes in the background: Python cannot stop it; its LLM calls are bounded by the generation timeout.)"""
    seconds = request.app.state.settings.api.answer_timeout_s
    try:
        return await asyncio.wait_for(run_in_threadpool(work), seconds)
    except TimeoutError:
        raise HTTPException(504, f"the answer took longer than {seconds:g} s (RAG_API__ANSWER_TIMEOUT_S); "
                                 "try again shortly") from None


_bearer = HTTPBearer(auto_error=False, description="An API key as a Bearer token.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


class RequireScope:
    """Authenticates the caller (Bearer or X-API-Key), checks the scope, applies the caller's rate limit.

    With no key configured, only anonymous reads from the loopback interface are allowed."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, request: Request,
                       bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
                       header: Annotated[str | None, Depends(_header)] = None) -> Principal:
        """The authenticated caller: 401 without a valid key, 403 when its scope is too narrow, 429 past its
        rate limit."""
        keys: dict[str, Scope] = request.app.state.keys
        presented = bearer.credentials if bearer is not None else header
        client = request.client.host if request.client else None
        if presented:
            scope = keys.get(hash_key(presented))
            if scope is None:
                raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
            principal = Principal(f"key:{hash_key(presented)[:12]}", scope)
        elif not keys and is_loopback(client):
            principal = Principal(f"anonymous:{client}", "read")
        else:
            raise HTTPException(401, "an API key is required (Authorization: Bearer <key> or X-API-Key)",
                                headers={"WWW-Authenticate": "Bearer"})
        if self.scope == "admin" and principal.scope != "admin":
            raise HTTPException(403, "this operation needs an API key with the admin scope")
        wait = request.app.state.limiter.acquire(principal.name)
        if wait > 0:
            raise HTTPException(429, "rate limit exceeded; retry later", headers={"Retry-After": str(int(wait) + 1)})
        request.state.principal = principal
        return principal


ReadAccess = Annotated[Principal, Depends(RequireScope("read"))]
AdminAccess = Annotated[Principal, Depends(RequireScope("admin"))]
ComponentsDep = Annotated[Components, Depends(get_components)]
AnswersDep = Annotated[AnswerService, Depends(get_answers)]
