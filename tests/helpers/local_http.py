"""The tests' HTTP requests to servers on 127.0.0.1: what ``httpx.get``, ``httpx.post``... and ``httpx.Client`` do
(a new client, so a new connection, for every request), with one TLS context per process. Every httpx client built
without one loads the CA bundle (~35 ms of CPU): the suite built ~900 of them, 25 s of its CPU, none of them for
TLS, most while polling a starting server."""

from __future__ import annotations

from typing import Any

import httpx

TLS = httpx.create_ssl_context()
#: httpx's default for a request without a timeout.
TIMEOUT = httpx.Timeout(5.0)


def client(**options: Any) -> httpx.Client:
    """``httpx.Client(**options)``, with this process's TLS context."""
    return httpx.Client(verify=TLS, **options)


def request(method: str, url: str, *, timeout: float | httpx.Timeout = TIMEOUT, **options: Any) -> httpx.Response:
    """``httpx.request(method, url, **options)``: one request from a client of its own."""
    with client(timeout=timeout) as one:
        return one.request(method, url, **options)


def get(url: str, **options: Any) -> httpx.Response:
    """``httpx.get``."""
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    """``httpx.post``."""
    return request("POST", url, **options)


def delete(url: str, **options: Any) -> httpx.Response:
    """``httpx.delete``."""
    return request("DELETE", url, **options)
