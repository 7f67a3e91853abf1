"""A local OpenAI-compatible chat server for tests and benchmarks (127.0.0.1 only, standard library only).

``StubChatServer(responses)`` answers ``POST /v1/chat/completions``; each scripted response is a dict with
``content`` (the assistant message), or ``status`` (an HTTP error code), and optional ``delay`` (seconds).
The last response repeats. Streaming requests get Server-Sent Events chunks like OpenAI's.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StubChatServer:
    def __init__(self, responses: Sequence[dict[str, Any]]) -> None:
        self.responses = list(responses) or [{"content": ""}]
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                response = stub._next(body)
                if response.get("delay"):
                    time.sleep(float(response["delay"]))
                if "status" in response:
                    self._send(int(response["status"]), {"error": {"message": "stub failure", "type": "server"}})
                elif body.get("stream"):
                    self._stream(str(response.get("content", "")), body.get("model", "stub"))
                else:
                    self._send(200, _completion(str(response.get("content", "")), body.get("model", "stub")))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, content: str, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for i in range(0, len(content), 24):
                    chunk = {"id": "stub", "object": "chat.completion.chunk", "created": 0, "model": model,
                             "choices": [{"index": 0, "delta": {"content": content[i : i + 24]},
                                          "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(body)
            return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]

    def __enter__(self) -> StubChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "stub", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
