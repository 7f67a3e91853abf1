"""The labelled judge pairs (evals/datasets/judge_pairs.jsonl, drawn by bench/judge_pairs.py) are well-formed: the
counts the issue asks for, the fields and their types, unique ids and pairs, a note on every unsupported pair, and
every passage is our own corpus's text (each blank-line-separated part is in the body of the pair's document)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "evals" / "datasets" / "judge_pairs.jsonl"
FIELDS = {"id": str, "claim": str, "passage": str, "label": bool, "origin": str, "pairing": str, "question": str,
          "doc_id": str}


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pairs() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def bodies() -> dict[str, str]:
    """doc id -> the whitespace-normalised body (after the front matter) of each corpus document."""
    found = {}
    for path in (ROOT / "corpus").rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue
        _, front, body = text.split("---", 2)
        found[yaml.safe_load(front)["id"]] = flat(body)
    return found


def test_counts(pairs: list[dict[str, Any]]) -> None:
    assert len(pairs) >= 200
    labels = Counter(p["label"] for p in pairs)
    assert labels[True] and labels[False] >= 0.3 * len(pairs)
    assert sum(p["origin"] == "model" for p in pairs) >= 80


def test_fields_and_values(pairs: list[dict[str, Any]]) -> None:
    for pair in pairs:
        for field, kind in FIELDS.items():
            assert isinstance(pair.get(field), kind), (pair.get("id"), field)
        assert set(pair) <= {*FIELDS, "note"}, pair["id"]
        assert pair["origin"] in {"extractive", "model"} and pair["pairing"] in {"cited", "other-retrieved"}
        assert pair["claim"].strip() and pair["passage"].strip() and pair["question"].strip()
        assert not re.search(r"\[\d+\]", pair["claim"]), f"{pair['id']}: [n] markers are stripped from claims"
        assert isinstance(pair.get("note", ""), str)
        if not pair["label"]:
            assert pair.get("note", "").strip(), f"{pair['id']}: an unsupported pair needs a note"


def test_unique(pairs: list[dict[str, Any]]) -> None:
    ids = [p["id"] for p in pairs]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("jp-") for i in ids)
    assert len({(p["claim"], p["passage"]) for p in pairs}) == len(pairs)


def test_passages_are_our_corpus(pairs: list[dict[str, Any]], bodies: dict[str, str]) -> None:
    for pair in pairs:
        assert pair["doc_id"] in bodies, pair["id"]
        for part in pair["passage"].split("\n\n"):
            if part.strip():
                assert flat(part) in bodies[pair["doc_id"]], f"{pair['id']}: not in corpus {pair['doc_id']}"
