"""A local OpenAI-compatible chat server for tests and benchmarks (127.0.0.1 only, standard library only).

``StubChatServer(responses)`` answers ``POST /v1/chat/completions``; each scripted response is a dict with
``content`` (the assistant message), or ``status`` (an HTTP error code), and optional ``delay`` (seconds),
``finish_reason`` ("stop" by default; "length" for a completion cut at the token limit), ``usage`` ((prompt,
completion) tokens) and ``reject_response_format`` (True: answer 400 to any request with a ``response_format``,
as servers without JSON-schema support do; a type such as "json_schema": answer 500 to that type only, as
llama-cpp-python's server does; the response is not used up then), ``reject_stream_options`` (True: answer 400
to a request with ``stream_options``, as older servers do), ``chunk_chars`` (characters per streamed chunk, 24)
and ``chunk_delay`` (seconds before each streamed chunk: a slow model). The last response repeats.
``StubChatServer(respond)`` with a function instead: it gives the response to each request's body (a stand-in
model that reads its prompt).

Streaming requests get Server-Sent Events chunks like OpenAI's, and a last chunk with ``usage`` when the request
asks for it (``stream_options.include_usage``). ``chunks_written`` holds the time of every content chunk written,
and ``disconnects`` counts the streams whose reader closed the connection before the end (the stub then stops
writing, as a server stops generating).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StubChatServer:
    def __init__(self, responses: Sequence[dict[str, Any]] | Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._respond = responses if callable(responses) else None
        self.responses = [] if callable(responses) else list(responses) or [{"content": ""}]
        self.requests: list[dict[str, Any]] = []
        self.chunks_written: list[float] = []
        self.disconnects = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                response = stub._next(body)
                if response.get("reject_stream_options") and "stream_options" in body:
                    self._send(400, {"error": {"message": "stream_options is not supported", "type": "invalid"}})
                    return
                if _rejected(response, body):
                    status = 400 if response["reject_response_format"] is True else 500
                    message = f"response_format: type {body['response_format'].get('type')!r} is not supported"
                    self._send(status, {"error": {"message": message, "type": "invalid"}})
                    return
                if response.get("delay"):
                    time.sleep(float(response["delay"]))
                if "status" in response:
                    self._send(int(response["status"]), {"error": {"message": "stub failure", "type": "server"}})
                elif body.get("stream"):
                    try:
                        self._stream(response, body)
                    except (BrokenPipeError, ConnectionResetError):
                        with stub._lock:
                            stub.disconnects += 1
                else:
                    self._send(200, _completion(str(response.get("content", "")), body.get("model", "stub"),
                                                str(response.get("finish_reason", "stop")),
                                                response.get("usage", (0, 0))))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, response: dict[str, Any], body: dict[str, Any]) -> None:
                content, model = str(response.get("content", "")), body.get("model", "stub")
                size, delay = int(response.get("chunk_chars", 24)), float(response.get("chunk_delay", 0))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                base = {"id": "stub", "object": "chat.completion.chunk", "created": 0, "model": model}
                for i in range(0, len(content), size):
                    if delay:
                        time.sleep(delay)
                    chunk = {**base, "choices": [{"index": 0, "delta": {"content": content[i : i + size]},
                                                  "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    with stub._lock:
                        stub.chunks_written.append(time.monotonic())
                last = {**base, "choices": [{"index": 0, "delta": {},
                                             "finish_reason": str(response.get("finish_reason", "stop"))}]}
                self.wfile.write(f"data: {json.dumps(last)}\n\n".encode())
                if (body.get("stream_options") or {}).get("include_usage"):
                    prompt, completion = response.get("usage", (0, 0))
                    usage = {**base, "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                                              "total_tokens": prompt + completion}}
                    self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Stopping waits for the next poll: every 50 ms rather than the default 0.5 s (a test may start several stubs).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        """The next scripted response (used up, unless it is the last, or it rejects this request's format)."""
        with self._lock:
            self.requests.append(body)
            if self._respond is not None:
                return self._respond(body)
            response = self.responses[0]
            if len(self.responses) > 1 and not _rejected(response, body):
                self.responses.pop(0)
            return response

    def __enter__(self) -> StubChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _rejected(response: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether the scripted response refuses this request's ``response_format``."""
    refuses = response.get("reject_response_format")
    requested = body.get("response_format")
    if not refuses or not isinstance(requested, dict):
        return False
    return refuses is True or requested.get("type") == refuses


def _completion(content: str, model: str, finish_reason: str, usage: Sequence[int]) -> dict[str, Any]:
    prompt, completion = usage
    return {
        "id": "stub", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }
