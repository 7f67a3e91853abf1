"""An optional LLM judge over an OpenAI-compatible endpoint: temperature 0, and every judgment cached on disk by
the content hash of (model, claim, passage), so a rerun gives the same numbers without calling the model."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from rag.config import GenerationSettings
from rag.errors import ProviderError
from rag.generate.openai_chat import OpenAIChatGenerator
from rag.generate.prompting import Prompts
from rag.judge.protocol import Judgment

JUDGE_TEMPLATES = ("judge_system.j2", "judge.j2")


class LlmJudge:
    """Asks the configured chat model, at temperature 0, whether the passage supports the claim; cached on disk."""

    def __init__(self, settings: GenerationSettings, cache: Path) -> None:
        self._generator = OpenAIChatGenerator(settings.model_copy(update={"temperature": 0.0}))
        self._model = settings.model or ""
        self._prompts = Prompts()
        cache.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(cache, isolation_level=None, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS judgments (key TEXT PRIMARY KEY, supported INTEGER, score REAL)")
        self.name = f"llm:{self._model}"
        self.fingerprint = f"{self._model}:{self._prompts.digest(*JUDGE_TEMPLATES)[:12]}"  # model, prompt

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        """One judgment per (claim, passage) pair, from the cache when the pair was judged before."""
        return [self._judge(claim, passage) for claim, passage in pairs]

    def _judge(self, claim: str, passage: str) -> Judgment:
        key = hashlib.sha256(json.dumps([self._model, claim, passage]).encode()).hexdigest()
        row = self._db.execute("SELECT supported, score FROM judgments WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return Judgment(bool(row[0]), float(row[1]))
        prompt = self._prompts.judge(claim, passage)
        try:
            reply = self._generator.complete(prompt).strip().upper()
        except ProviderError as exc:
            raise ProviderError(f"the LLM judge failed: {exc}") from exc
        supported = reply.startswith("SUPPORTED")
        judgment = Judgment(supported, 1.0 if supported else 0.0)
        self._db.execute("INSERT OR REPLACE INTO judgments VALUES (?, ?, ?)", (key, int(supported), judgment.score))
        return judgment
