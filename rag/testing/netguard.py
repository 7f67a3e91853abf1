"""Refuse every network connection that does not go to the loopback interface, loudly."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_original_connect = socket.socket.connect
_original_create_connection = socket.create_connection


class NetworkBlocked(RuntimeError):
    """A test (or the code under test) tried to reach beyond 127.0.0.1."""


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # a Unix socket path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkBlocked(f"network access to {address!r} is blocked in tests (only 127.0.0.1 is allowed)")
    return _original_connect(self, address)


def _guarded_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
    if not _is_loopback(address):
        raise NetworkBlocked(f"network access to {address!r} is blocked in tests (only 127.0.0.1 is allowed)")
    return _original_create_connection(address, *args, **kwargs)


def install_network_guard() -> None:
    """Patch the socket module so that only loopback connections succeed (idempotent)."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.create_connection = _guarded_create_connection
