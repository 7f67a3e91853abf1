"""Fault tests run against embedded Chroma only: their faults are in this machine's data dir, its LLM endpoint and
its API process. The Chroma server going away is tested in tests/store/test_server_mode.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def store_mode() -> str:
    return "embedded"
