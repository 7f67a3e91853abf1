"""Readiness checks for ``/readyz``: the index and the vector store answer, reused for a few seconds."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.responses import JSONResponse

from rag.factory import Components


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
                documents, chunks, _ = components.index.counts()
                vectors = components.index.vectors.count()
            except Exception as exc:
                return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503,
                                    headers={"Retry-After": "5"})
            body = {"status": "ready", "documents": documents, "chunks": chunks, "vectors": vectors}
            self._last = (time.monotonic(), body)
            return JSONResponse(body)
