"""The ``rag`` command line: one module per command group. JSON contracts are in DESIGN.md; ``--json`` prints them."""

from rag.cli import answer, index  # noqa: F401  (their commands register on main)
from rag.cli.app import main

__all__ = ["main"]
