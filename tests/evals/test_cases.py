from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.cases import load_cases
from rag.errors import UserError


def test_jsonl_cases_with_bad_lines_reported_by_number(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "question": "Q1?", "gold": {"doc_ids": ["d1"]}, "expect": {"guidelines": "none"}}),
        "{broken",
        json.dumps({"id": "b"}),
        json.dumps({"id": "a", "question": "dup"}),
        json.dumps({"id": "c", "question": "Q3?", "expect": {"research": "maybe"}}),
        json.dumps({"id": "d", "question": "Q4?", "conversation": ["Earlier?"], "label": "yes", "audience": "patient"}),
    ]))
    cases, errors = load_cases(path)
    assert [c.id for c in cases] == ["a", "d"]
    assert cases[0].gold.all_doc_ids() == {"d1"} and cases[0].expect.guidelines == "none"
    assert cases[1].conversation == ("Earlier?",) and cases[1].label == "yes"
    where = {e.source: e.reason for e in errors}
    assert set(where) == {f"{path}:2", f"{path}:3", f"{path}:4", f"{path}:5"}
    assert "not valid JSON" in where[f"{path}:2"] and "'question' is required" in where[f"{path}:3"]
    assert "duplicate" in where[f"{path}:4"] and "expect.research" in where[f"{path}:5"]


def test_yaml_cases(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text("cases:\n  - id: y1\n    question: Does X help?\n    label: maybe\n  - id: y2\n    unknown: 1\n")
    cases, errors = load_cases(path)
    assert [c.id for c in cases] == ["y1"] and "unknown" in errors[0].reason and errors[0].source.endswith("#1")


def test_empty_or_unreadable_datasets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(UserError, match="no cases"):
        load_cases(empty)
    with pytest.raises(UserError, match="cannot read"):
        load_cases(tmp_path / "missing.jsonl")


def test_starter_suite_is_well_formed() -> None:
    cases, errors = load_cases(Path(__file__).parents[2] / "evals" / "datasets" / "starter.jsonl")
    assert errors == [] and len(cases) >= 30
    assert any(c.id.startswith("seed") for c in cases)
    assert sum(1 for c in cases if c.expect.guidelines == "none" and c.expect.research == "none") >= 3
    assert sum(1 for c in cases if c.conversation) >= 3
    assert sum(1 for c in cases if c.expect.guidelines is None and c.expect.research == "evidence") >= 5
