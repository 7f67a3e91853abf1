"""The tests' own layout: helpers shared between test modules live in tests/helpers, never in a conftest module
(pytest finds the fixtures of a conftest by itself; a test that imports one reaches into another folder's setup), and
requests to the servers the tests start go through tests/helpers/local_http.py."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_module_imports_from_a_conftest() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if any(module == "conftest" or module.endswith(".conftest") for module in modules):
                offenders.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}")
    assert offenders == [], "move what these import into tests/helpers"


#: httpx's functions that build a client for one request, and the client class: each such client loads the CA bundle.
_HTTPX_CLIENT_BUILDERS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "Client"}


def test_requests_to_local_servers_go_through_local_http() -> None:
    """tests/helpers/local_http.py makes the same requests with one TLS context per process: a client built by httpx
    itself loads the CA bundle (~35 ms of CPU), and polling a starting server built hundreds of them."""
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "local_http.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            target = node.func if isinstance(node, ast.Call) else None
            if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "httpx"
                    and target.attr in _HTTPX_CLIENT_BUILDERS):
                offenders.append(f"{path.relative_to(TESTS.parent)}:{node.lineno} httpx.{target.attr}()")
    assert offenders == [], "use tests.helpers.local_http (get, post, delete, request, client) instead"
