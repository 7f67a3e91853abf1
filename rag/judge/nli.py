"""An optional judge from a local NLI or cross-encoder model folder (sentence-transformers CrossEncoder format).

No such weights are installable offline here; point ``--judge-model`` at a copy on disk (e.g. an MNLI cross-encoder
or a MedNLI model). Three-way NLI heads use the entailment probability; single-output models use a sigmoid.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.errors import ConfigError
from rag.judge.protocol import Judgment


class NliJudge:
    """An NLI or cross-encoder model folder as a judge: entailment probability (or sigmoid) against a threshold."""

    def __init__(self, path: Path, threshold: float = 0.5, batch_size: int = 16) -> None:
        if not (path / "config.json").is_file():
            raise ConfigError(f"judge model {path} is not a local model folder (no config.json)")
        from sentence_transformers import CrossEncoder
        from torch.nn import Identity

        # Raw logits: the softmax or sigmoid below is applied once (CrossEncoder would add its own sigmoid to a
        # single-output model, and a score squashed twice never falls below 0.5).
        self._model = CrossEncoder(str(path), device="cpu", local_files_only=True, activation_fn=Identity())
        labels = {str(v).lower(): int(k) for k, v in (self._model.config.id2label or {}).items()}
        self._entailment = labels.get("entailment")
        self._threshold = threshold
        self._batch_size = batch_size
        self.name = f"nli:{path.name}"
        self.fingerprint = f"{folder_digest(path)[:12]}:threshold-{threshold:g}"

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        """One judgment per (claim, passage) pair, scored in batches."""
        if not pairs:
            return []
        raw = np.asarray(self._model.predict([(passage, claim) for claim, passage in pairs],
                                             batch_size=self._batch_size, show_progress_bar=False))
        if raw.ndim == 2 and self._entailment is not None:
            exp = np.exp(raw - raw.max(axis=1, keepdims=True))
            scores = (exp / exp.sum(axis=1, keepdims=True))[:, self._entailment]
        else:
            scores = 1 / (1 + np.exp(-raw.reshape(len(pairs), -1)[:, 0]))
        return [Judgment(bool(s >= self._threshold), round(float(s), 6)) for s in scores]


def folder_digest(path: Path) -> str:
    """sha256 of the name and size of every file in a model folder: new weights or config change it."""
    files = sorted(f for f in path.rglob("*") if f.is_file())
    listing = [[f.relative_to(path).as_posix(), f.stat().st_size] for f in files]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()
