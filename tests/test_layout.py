"""The tests' own layout: helpers shared between test modules live in tests/helpers, never in a conftest module
(pytest finds the fixtures of a conftest by itself; a test that imports one reaches into another folder's setup)."""

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
