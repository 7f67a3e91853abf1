"""Where things are: the repository root (corpus/, evals/datasets/, the Makefile...)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
