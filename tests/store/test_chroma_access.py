"""The Chroma HTTP client carries the configured token and verifies the server's certificate with the configured CA
bundle: checked against a stub server on 127.0.0.1 that records what it receives (plain and TLS)."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from rag.config import Settings
from rag.store.chroma import ServerAccess, open_client


@contextmanager
def recording_server(tls: tuple[Path, Path] | None = None) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server that records every request's headers and answers 503 (the client then gives up)."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def attempt(tmp_path: Path, url: str, access: ServerAccess) -> None:
    try:
        client = open_client(tmp_path, url, access)
        client.heartbeat()
    except Exception:  # the stub refuses everything; what it received is the point
        pass


@pytest.mark.parametrize(("header", "expected"), [("Authorization", "Bearer s3cret"), ("X-Chroma-Token", "s3cret")])
def test_the_token_is_sent_in_the_configured_header(tmp_path: Path, header: str, expected: str) -> None:
    with recording_server() as (url, seen):
        attempt(tmp_path, url, ServerAccess(SecretStr("s3cret"), header))
    assert seen, "the client made no request"
    assert all(request.get(header.lower()) == expected for request in seen)


def test_settings_carry_the_token_without_showing_it() -> None:
    settings = Settings(chroma_url="https://chroma.example:8443", chroma_auth_token="s3cret",  # type: ignore[arg-type]
                        store={"chroma_auth_header": "X-Chroma-Token"})  # type: ignore[arg-type]
    assert settings.chroma_auth_token is not None and "s3cret" not in repr(settings)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls_is_verified_against_the_configured_ca(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    with recording_server((cert, key)) as (url, seen):
        attempt(tmp_path, url, ServerAccess(SecretStr("s3cret")))
        assert seen == [], "a certificate no trusted CA signed was accepted"
        attempt(tmp_path, url, ServerAccess(SecretStr("s3cret"), ca_file=cert))
        assert seen and seen[0]["authorization"] == "Bearer s3cret"
