"""Server-Sent Events through sse-starlette: the framing, keep-alive comments while the model is slow, and a client
that goes away stopping the work behind its stream.

The answer service streams from a blocking iterator (retrieval, then the model's tokens). :func:`relay` fetches its
items in the thread pool one at a time; when the stream ends, however it ends, the iterator is closed. A client
that disconnects cancels the response (sse-starlette watches for ``http.disconnect``): the item being fetched is
abandoned, and as soon as it arrives the iterator is closed in a thread of its own, which closes the connection to
the model (rag.generate.openai_chat), so no more tokens are generated for nobody.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio.to_thread
from sse_starlette import EventSourceResponse, ServerSentEvent

SEPARATOR = "\n"
"""Lines end in LF, as they always did here (sse-starlette's default is CRLF; both are valid SSE)."""
_END = object()


def event(name: str | None, data: object) -> ServerSentEvent:
    """One event: its name (none for the OpenAI-style ``data:`` chunks) and ``data`` as one line of JSON."""
    return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=name, sep=SEPARATOR)


def done() -> ServerSentEvent:
    """``data: [DONE]``, the last event of an OpenAI-style stream."""
    return ServerSentEvent(data="[DONE]", sep=SEPARATOR)


def event_stream(events: Iterator[ServerSentEvent], ping_s: float) -> EventSourceResponse:
    """The response that sends ``events`` (a blocking iterator, closed when the stream ends), with a keep-alive
    comment every ``ping_s`` seconds of silence."""
    return EventSourceResponse(relay(events), ping=ping_s, sep=SEPARATOR, headers={"Cache-Control": "no-store"})


async def relay(events: Iterator[Any]) -> AsyncIterator[Any]:
    """The items of a blocking iterator, each fetched in a worker thread; the iterator is closed when the stream
    ends, fails or is cancelled (a client gone), once the item being fetched, if any, has arrived."""
    lock = threading.Lock()

    def step() -> Any:
        with lock:
            return next(events, _END)

    def close() -> None:
        with lock:
            closing = getattr(events, "close", None)
            if closing is not None:
                closing()

    try:
        while (item := await anyio.to_thread.run_sync(step, abandon_on_cancel=True)) is not _END:
            yield item
    finally:
        if lock.acquire(blocking=False):  # nothing in flight: close now
            lock.release()
            close()
        else:  # a fetch is in flight (the model is writing its next token): close when it returns
            threading.Thread(target=close, name="rag-stream-close", daemon=True).start()
