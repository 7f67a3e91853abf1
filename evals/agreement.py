"""How far a judge's decisions agree with labels (confusion counts, balanced accuracy, Cohen's kappa, a threshold
sweep over its scores), and the last agreement measured for each judge, kept in ``judge-agreement.json``."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.errors import UserError
from rag.judge.protocol import Judge, Judgment

AGREEMENT_FILE = "judge-agreement.json"
SWEEP = tuple(round(step * 0.05, 2) for step in range(1, 20))  # 0.05, 0.10, ..., 0.95
_LABELS = {"supported": True, "unsupported": False}


def parse_label(value: object) -> bool:
    """A label from a pairs file: true/false, "supported"/"unsupported" (any case) or 1/0; else a UserError."""
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    if isinstance(value, str) and value.lower() in _LABELS:
        return _LABELS[value.lower()]
    raise UserError(f"'label' must be true/false, \"supported\"/\"unsupported\" or 1/0, got {json.dumps(value)}")


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Confusion:
    """Labels against decisions, "supported" being the positive class. A metric that would divide by zero is None."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, labels: Sequence[bool], predictions: Sequence[bool]) -> Confusion:
        """The counts of (label, prediction) pairs, taken in order."""
        pairs = list(zip(labels, predictions, strict=True))
        return cls(pairs.count((True, True)), pairs.count((False, True)), pairs.count((True, False)),
                   pairs.count((False, False)))

    @property
    def n(self) -> int:
        """Pairs counted."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def accuracy(self) -> float | None:
        """Share of decisions that match the label."""
        return _ratio(self.tp + self.tn, self.n)

    @property
    def precision(self) -> float | None:
        """Share of "supported" decisions labelled supported; None when the judge never said supported."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        """Share of supported pairs the judge called supported; None when no pair is labelled supported."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float | None:
        """Share of unsupported pairs the judge called unsupported; None when no pair is labelled unsupported."""
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def balanced_accuracy(self) -> float | None:
        """Mean of recall and specificity over the classes the labels hold: with one class only, that class's
        recall (as scikit-learn does); None without pairs."""
        present = [r for r in (self.recall, self.specificity) if r is not None]
        return sum(present) / len(present) if present else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa, (observed - chance agreement) / (1 - chance agreement). None without pairs, and when
        labels and decisions are all one same class (chance agreement is then 1: nothing is left to measure)."""
        if not self.n:
            return None
        observed = (self.tp + self.tn) / self.n
        label_yes, judge_yes = (self.tp + self.fn) / self.n, (self.tp + self.fp) / self.n
        chance = label_yes * judge_yes + (1 - label_yes) * (1 - judge_yes)
        return None if chance >= 1.0 else (observed - chance) / (1 - chance)

    def to_dict(self) -> dict[str, Any]:
        """The counts, and balanced accuracy and kappa rounded to 6 digits (None stays None)."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "balanced_accuracy": _rounded(self.balanced_accuracy), "kappa": _rounded(self.kappa)}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(frozen=True)
class Agreement:
    """A judge's agreement with labels: its own decisions, and the decision "score >= t" for each t of the sweep."""

    decisions: Confusion
    sweep: tuple[tuple[float, Confusion], ...]

    @property
    def best_threshold(self) -> float | None:
        """The sweep's threshold with the highest balanced accuracy (the lowest such one on a tie); None without
        pairs."""
        scored = [(c.balanced_accuracy, t) for t, c in self.sweep if c.balanced_accuracy is not None]
        if not scored:
            return None
        best = max(ba for ba, _ in scored)
        return min(t for ba, t in scored if ba == best)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts and metrics of the judge's decisions, the sweep (the judge's own decisions first, as
        threshold "judge") and the best threshold."""
        own = self.decisions
        sweep = [{"threshold": "judge", **own.to_dict()}] + [{"threshold": t, **c.to_dict()} for t, c in self.sweep]
        return {
            "pairs": own.n, "supported": own.tp + own.fn, "unsupported": own.fp + own.tn,
            "confusion": {"tp": own.tp, "fp": own.fp, "fn": own.fn, "tn": own.tn},
            "balanced_accuracy": _rounded(own.balanced_accuracy), "kappa": _rounded(own.kappa),
            "accuracy": _rounded(own.accuracy), "precision": _rounded(own.precision),
            "recall": _rounded(own.recall), "sweep": sweep, "best_threshold": self.best_threshold,
        }


def measure(labels: Sequence[bool], judgments: Sequence[Judgment]) -> Agreement:
    """The agreement of ``judgments`` with ``labels`` (same order), and of "score >= t" for every t of the sweep."""
    decisions = Confusion.of(labels, [j.supported for j in judgments])
    sweep = tuple((t, Confusion.of(labels, [j.score >= t for j in judgments])) for t in SWEEP)
    return Agreement(decisions, sweep)


def judge_key(judge: Judge) -> str:
    """The key of a judge's record: ``name@fingerprint``."""
    return f"{judge.name}@{judge.fingerprint}"


def last_agreement(data_dir: Path, judge: Judge) -> dict[str, Any] | None:
    """The agreement last recorded for this judge (same name and fingerprint) in ``data_dir``, else None (also when
    the file is missing or unreadable)."""
    records = _read_records(data_dir / AGREEMENT_FILE)
    found = records.get(judge_key(judge)) if records is not None else None
    return found if isinstance(found, dict) else None


def record_agreement(data_dir: Path, judge: Judge, pairs_file: Path, pairs_sha256: str, agreement: Agreement,
                     warn: Callable[[str], None] | None = None) -> Path:
    """Write (or replace) this judge's record in ``data_dir/judge-agreement.json``; the other judges' records are
    kept. The file is replaced atomically; an unreadable one is reported through ``warn`` (default: stderr) and
    replaced."""
    path = data_dir / AGREEMENT_FILE
    records = _read_records(path)
    if records is None:
        (warn or _to_stderr)(f"warning: {path} could not be read; it is replaced")
        records = {}
    own = agreement.decisions
    records[judge_key(judge)] = {
        "pairs_file": str(pairs_file), "pairs_sha256": pairs_sha256, "pairs": own.n,
        "balanced_accuracy": _rounded(own.balanced_accuracy), "kappa": _rounded(own.kappa),
        "accuracy": _rounded(own.accuracy), "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_atomically(path, json.dumps(records, indent=2, sort_keys=True) + "\n")
    return path


def _read_records(path: Path) -> dict[str, Any] | None:
    """The records in ``path``: {} when it does not exist, None when it cannot be read as a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_atomically(path: Path, text: str) -> None:
    """A temporary file beside ``path``, flushed to disk, then renamed over it: readers see the old or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)
