"""Dependencies: cached settings, the app's state (api.state) and the components opened once per worker in it, the
caller's identity, scope and rate limit, and the answer timeout and slot of each answer (api.slots)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Literal, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from api.gate import ADMIN_ONLY
from api.limits import retry_after
from api.security import Principal, Scope
from api.slots import HeldWork
from api.state import AppState
from rag.answer.service import AnswerService
from rag.config import Settings
from rag.factory import Components


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read from the environment once per process (an app built with explicit settings does not call this)."""
    return Settings()


def install_state(app: FastAPI, state: AppState) -> None:
    """Give ``app`` its state (the app factory does, once)."""
    app.state.rag = state


def app_state(app: Starlette) -> AppState:
    """The state the app factory gave ``app``."""
    state: AppState = app.state.rag
    return state


# The dependencies are async (they never block): FastAPI runs a sync dependency in the thread pool, one more
# thread hand-off per dependency and request.
async def get_state(request: Request) -> AppState:
    """The state of the app serving the request."""
    return app_state(request.app)


async def get_components(request: Request) -> Components:
    """The components opened at start-up; 503 with Retry-After while this worker is still starting."""
    components = app_state(request.app).components
    if components is None:
        raise _starting()
    return components


async def get_answers(request: Request) -> AnswerService:
    """The answer service opened at start-up; 503 with Retry-After while this worker is still starting."""
    state = app_state(request.app)
    if state.components is None or state.answers is None:
        raise _starting()
    return state.answers


def _starting() -> HTTPException:
    return HTTPException(503, "the service is starting; retry shortly", headers={"Retry-After": "2"})


T = TypeVar("T")


async def within_answer_timeout(request: Request, work: Callable[[], T], free: Callable[[], None] | None = None) -> T:
    """Blocking answer work in the thread pool; past ``api.answer_timeout_s`` the caller gets 504. (The thread
    finishes in the background: Python cannot stop it; its LLM calls are bounded by the generation timeout.)
    ``free`` (an answer slot's) is called when the work ends, or at once if it never started."""
    seconds = app_state(request.app).settings.api.answer_timeout_s
    held = HeldWork(work, free)
    try:
        return await asyncio.wait_for(run_in_threadpool(held), seconds)
    except TimeoutError:
        held.abandon()
        raise HTTPException(504, f"the answer took longer than {seconds:g} s (RAG_API__ANSWER_TIMEOUT_S); "
                                 "try again shortly") from None
    except asyncio.CancelledError:
        held.abandon()
        raise


def answer_slot(request: Request, principal: Principal) -> Callable[[], None]:
    """Take one of the principal's answer slots (429 when all are in use); call the result when the work ends."""
    state = app_state(request.app)
    try:
        return state.answer_slots.take(principal.name)
    except HTTPException:
        state.metrics.rate_limited("concurrent_answers")
        raise


_bearer = HTTPBearer(auto_error=False, description="An API key as a Bearer token.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


class RequireScope:
    """The caller the gate authenticated (api.gate, before the body was read), its scope and its rate limit:
    ``answers`` for the answer routes, ``requests`` for every other one (api.limits, shared by all workers).

    With no key configured, only anonymous reads from the loopback interface are allowed. The key parameters only
    document the security schemes in OpenAPI; the gate has already read the headers."""

    def __init__(self, scope: Scope, limit: Literal["answers", "requests"] = "requests") -> None:
        self.scope = scope
        self.limit = limit

    async def __call__(self, request: Request,
                       bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
                       header: Annotated[str | None, Depends(_header)] = None) -> Principal:
        """The authenticated caller: 401 without a valid key, 403 when its scope is too narrow, 429 past its
        rate limit."""
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:  # the gate lets no unauthenticated request reach an API route; never trust that alone
            raise HTTPException(401, "an API key is required (Authorization: Bearer <key> or X-API-Key)",
                                headers={"WWW-Authenticate": "Bearer"})
        if self.scope == "admin" and principal.scope != "admin":
            raise HTTPException(403, ADMIN_ONLY)
        state = app_state(request.app)
        limit = state.quotas.answers if self.limit == "answers" else state.quotas.requests
        wait = await state.rate_limiter.hit(limit, principal.name)
        if wait > 0:
            state.metrics.rate_limited(limit.name)
            raise HTTPException(429, f"rate limit exceeded ({limit.per_minute} {self.limit} a minute for this key); "
                                     "retry later", headers={"Retry-After": retry_after(wait)})
        return principal


ReadAccess = Annotated[Principal, Depends(RequireScope("read"))]
AnswerAccess = Annotated[Principal, Depends(RequireScope("read", "answers"))]
AdminAccess = Annotated[Principal, Depends(RequireScope("admin"))]
ComponentsDep = Annotated[Components, Depends(get_components)]
AnswersDep = Annotated[AnswerService, Depends(get_answers)]
StateDep = Annotated[AppState, Depends(get_state)]
