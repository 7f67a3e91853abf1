"""Judge fingerprints: each changes when what the judge's decisions depend on changes, and only then."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from rag.config import GenerationSettings
from rag.generate.prompting import Prompts, default_prompts_dir
from rag.judge import Judge
from rag.judge.llm import LlmJudge
from rag.judge.nli import folder_digest
from rag.judge.offline import CALIBRATION_FILE, Calibration, OfflineJudge
from rag.testing import HashEmbedder, LexicalJudge


def test_offline_fingerprint_is_the_model_and_the_calibration() -> None:
    calibration = Calibration.load()
    judge = OfflineJudge(HashEmbedder(), calibration)
    assert isinstance(judge, Judge)
    assert judge.fingerprint == f"hash-256:{calibration.digest[:12]}"
    assert OfflineJudge(HashEmbedder(dimension=128), calibration).fingerprint.startswith("hash-128:")
    moved = judge.with_calibration(dataclasses.replace(calibration, threshold=calibration.threshold + 0.01))
    assert moved.fingerprint != judge.fingerprint, "another threshold decides otherwise"


def test_calibration_digest_ignores_the_note_and_int_or_float(tmp_path: Path) -> None:
    calibration = Calibration.load(CALIBRATION_FILE)
    calibration.save(tmp_path / "c.json", note="fitted again, same numbers")
    assert Calibration.load(tmp_path / "c.json").digest == calibration.digest
    assert dataclasses.replace(calibration, bias=1).digest == dataclasses.replace(calibration, bias=1.0).digest


def test_llm_fingerprint_is_the_model_and_the_judge_prompt(tmp_path: Path) -> None:
    settings = GenerationSettings(base_url="http://127.0.0.1:9/v1", model="tiny-model")
    judge = LlmJudge(settings, tmp_path / "cache.sqlite3")
    assert isinstance(judge, Judge)
    assert judge.fingerprint == f"tiny-model:{Prompts().digest('judge_system.j2', 'judge.j2')[:12]}"
    edited = tmp_path / "prompts"
    shutil.copytree(default_prompts_dir(), edited)
    before = Prompts(edited).digest("judge.j2")
    (edited / "judge.j2").write_text((edited / "judge.j2").read_text() + "\nOne word only.")
    assert Prompts(edited).digest("judge.j2") != before


def test_nli_folder_digest_follows_file_names_and_sizes(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"0" * 10)
    first = folder_digest(tmp_path)
    assert folder_digest(tmp_path) == first
    (tmp_path / "model.safetensors").write_bytes(b"0" * 11)
    assert folder_digest(tmp_path) != first


def test_lexical_fake_names_its_threshold() -> None:
    assert LexicalJudge(0.75).fingerprint == "lexical-threshold-0.75"
    assert isinstance(LexicalJudge(), Judge)
