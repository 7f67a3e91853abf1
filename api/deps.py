"""Dependencies: cached settings, the components opened once per worker, the caller's identity, scope and rate
limit, and the answer slots that cap each caller's answers in progress."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.security import Principal, Scope
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


class AnswerSlots:
    """How many answers each principal has in progress, capped: a 504 or a client that went away does not end the
    work in its thread (Python cannot stop a thread), so a slot is freed only when the work itself ends."""

    def __init__(self, per_principal: int) -> None:
        self._limit = per_principal
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, principal: str) -> Callable[[], None]:
        """A slot for ``principal`` (429 when it has none left); returns the function that frees it (once)."""
        with self._lock:
            if self._running.get(principal, 0) >= self._limit:
                raise HTTPException(429, f"{self._limit} answers are already in progress for this key "
                                         "(RAG_API__MAX_CONCURRENT_ANSWERS); wait for one to finish",
                                    headers={"Retry-After": "5"})
            self._running[principal] = self._running.get(principal, 0) + 1
        freed = threading.Event()

        def free() -> None:
            with self._lock:
                if freed.is_set():
                    return
                freed.set()
                left = self._running.get(principal, 1) - 1
                if left:
                    self._running[principal] = left
                else:
                    self._running.pop(principal, None)

        return free

    def running(self, principal: str) -> int:
        """Answers in progress for ``principal``."""
        with self._lock:
            return self._running.get(principal, 0)


async def within_answer_timeout(request: Request, work: Callable[[], T], free: Callable[[], None] | None = None) -> T:
    """Blocking answer work in the thread pool; past ``api.answer_timeout_s`` the caller gets 504. (The thread
    finishes in the background: Python cannot stop it; its LLM calls are bounded by the generation timeout.)
    ``free`` (an answer slot's) is called when the work ends, or at once if it never started."""
    seconds = request.app.state.settings.api.answer_timeout_s
    held = _HeldWork(work, free or _nothing)
    try:
        return await asyncio.wait_for(run_in_threadpool(held), seconds)
    except TimeoutError:
        held.abandon()
        raise HTTPException(504, f"the answer took longer than {seconds:g} s (RAG_API__ANSWER_TIMEOUT_S); "
                                 "try again shortly") from None
    except asyncio.CancelledError:
        held.abandon()
        raise


def _nothing() -> None:
    return None


class _HeldWork:
    """Work run in a thread that frees its slot when it ends; abandoned before it started, it frees it at once."""

    def __init__(self, work: Callable[[], T], free: Callable[[], None]) -> None:
        self._work = work
        self._free = free
        self._lock = threading.Lock()
        self._started = self._abandoned = False

    def __call__(self) -> Any:
        with self._lock:
            if self._abandoned:
                raise RuntimeError("the answer was abandoned before it started")
            self._started = True
        try:
            return self._work()
        finally:
            self._free()

    def abandon(self) -> None:
        """The caller stopped waiting: free the slot now unless the work runs (it frees it when it ends)."""
        with self._lock:
            if self._started:
                return
            self._abandoned = True
        self._free()


def answer_slot(request: Request, principal: Principal) -> Callable[[], None]:
    """Take one of the principal's answer slots (429 when all are in use); call the result when the work ends."""
    slots: AnswerSlots = request.app.state.answer_slots
    return slots.take(principal.name)


class HeldStream(Iterator[T]):
    """Streamed answer events that free their slot when the stream ends, fails, is closed or is dropped (a client
    that went away, a 504 before the first event)."""

    def __init__(self, free: Callable[[], None], events: Iterator[T]) -> None:
        self._free = free
        self._events = events

    def __next__(self) -> T:
        try:
            return next(self._events)
        except BaseException:
            self._free()
            raise

    def close(self) -> None:
        """Stop the stream and free the slot."""
        self._free()
        close = getattr(self._events, "close", None)
        if close is not None:
            close()

    def __del__(self) -> None:
        self._free()


_bearer = HTTPBearer(auto_error=False, description="An API key as a Bearer token.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


class RequireScope:
    """The caller the gate authenticated (api.gate, before the body was read), its scope and its rate limit.

    With no key configured, only anonymous reads from the loopback interface are allowed. The key parameters only
    document the security schemes in OpenAPI; the gate has already read the headers."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

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
            raise HTTPException(403, "this operation needs an API key with the admin scope")
        wait = request.app.state.limiter.acquire(principal.name)
        if wait > 0:
            raise HTTPException(429, "rate limit exceeded; retry later", headers={"Retry-After": str(int(wait) + 1)})
        return principal


ReadAccess = Annotated[Principal, Depends(RequireScope("read"))]
AdminAccess = Annotated[Principal, Depends(RequireScope("admin"))]
ComponentsDep = Annotated[Components, Depends(get_components)]
AnswersDep = Annotated[AnswerService, Depends(get_answers)]
