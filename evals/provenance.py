"""Where an eval's figures come from, and whether two runs can be compared.

Every summary records its provenance: the dataset (file hash, and a hash per case in cases.jsonl), the corpus (index
fingerprint, embedding model), the judge (name, fingerprint, its last measured agreement), the backend and model,
the prompt templates, the settings that change answers, how retrieval was ranked, the git commit, the time and the
package versions.

Two kinds of field differ between runs (docs/DECISIONS.md, "What makes two eval runs comparable"):

- the **yardstick**: the judge and how retrieval was ranked. A metric measured with a different yardstick is not
  diffed ("not comparable"); a case whose content changed is not diffed either;
- the **system under test**: corpus, backend, model, prompts, settings, commit. Comparing them is the point of a
  baseline, so they are listed as "what changed", never refused.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from evals.cases import EvalCase
from rag.config import Settings
from rag.factory import Components
from rag.generate.prompting import default_prompts_dir
from rag.judge.protocol import Judge

#: Metrics each yardstick field affects; a field that differs makes these metrics "not comparable".
JUDGED = ("citation_recall", "citation_precision", "answer_correctness")
RETRIEVAL = ("retrieval_recall@10", "retrieval_ndcg@10", "retrieval_mrr")
YARDSTICK: dict[str, tuple[str, ...]] = {"judge": JUDGED, "retrieval_ranking": RETRIEVAL}
#: Fields of the system under test, reported when they differ.
SYSTEM = ("corpus", "backend", "model", "prompts", "settings", "git_commit", "packages")
PACKAGES = ("rag", "chromadb", "sentence-transformers", "torch", "openai", "langchain-text-splitters", "numpy",
            "pydantic", "tiktoken")
_ANSWER_SETTINGS = ("chunk", "retrieval", "generation", "meaning", "verification", "appraisal")
_NOT_ANSWER_SETTINGS = {"generation": {"api_key", "base_url", "timeout_s", "max_retries", "stream_usage"}}


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes (hex)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def case_digest(case: EvalCase) -> str:
    """A short hash of what a case asks and expects (its tags excluded: retagging keeps it comparable)."""
    body = case.model_dump(mode="json", exclude={"tags"})
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def collect(components: Components, *, dataset: Path, judge: Judge, backend: str, retrieval_ranking: str,
            judge_agreement: dict[str, Any] | None) -> dict[str, Any]:
    """The provenance of a run on ``dataset`` with these components; ``retrieval_ranking`` says how retrieval
    metrics were computed (``live retriever`` or ``reference order``)."""
    settings = components.settings
    return {
        "dataset": {"path": str(dataset), "sha256": sha256_file(dataset)},
        "corpus": {**components.index.fingerprint(), "embedding_model": components.embedder.name},
        "judge": {"name": judge.name, "fingerprint": judge.fingerprint, "agreement": judge_agreement},
        "backend": backend,
        "model": settings.generation.model if backend == "openai" else None,
        "prompts": prompt_digests(),
        "settings": answer_settings(settings),
        "retrieval_ranking": retrieval_ranking,
        "git_commit": git_commit(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": package_versions(),
    }


def prompt_digests(directory: Path | None = None) -> dict[str, str]:
    """A short hash of each prompt template (``*.j2``) by file name."""
    folder = directory or default_prompts_dir()
    return {path.name: sha256_file(path)[:16] for path in sorted(folder.glob("*.j2"))}


def answer_settings(settings: Settings) -> dict[str, Any]:
    """The settings groups that change answers, without secrets, endpoints or transport settings."""
    dumped = settings.model_dump(mode="json")
    return {group: {key: value for key, value in dumped[group].items()
                    if key not in _NOT_ANSWER_SETTINGS.get(group, set())} for group in _ANSWER_SETTINGS}


def git_commit() -> str | None:
    """The commit of the checkout this code runs from (with ``+dirty`` when it has uncommitted changes), None when
    it is not a git checkout."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages that shape answers (None when not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def differences(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fields of the yardstick and of the system under test whose values differ: ``{field: {"baseline": ...,
    "current": ...}}``, with the judge compared by name and fingerprint only (its agreement is informational)."""
    changed: dict[str, dict[str, Any]] = {}
    for name in (*YARDSTICK, *SYSTEM):
        before, after = _comparable_value(baseline, name), _comparable_value(current, name)
        if before != after:
            changed[name] = {"baseline": before, "current": after}
    return changed


def not_comparable(changed: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Metric -> why its delta is not comparable (the yardstick field that differs)."""
    reasons: dict[str, str] = {}
    for name, metrics in YARDSTICK.items():
        if name in changed:
            for metric in metrics:
                reasons[metric] = f"{name} differs"
    return reasons


def _comparable_value(provenance: dict[str, Any], name: str) -> Any:
    value = provenance.get(name)
    if name == "judge" and isinstance(value, dict):
        return {"name": value.get("name"), "fingerprint": value.get("fingerprint")}
    if name == "corpus" and isinstance(value, dict):
        return {key: value.get(key) for key in ("content_sha256", "embedding_model")}
    return value
