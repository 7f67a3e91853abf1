"""Eval cases (DESIGN.md): one JSON object a line, or a YAML list. Only ``id`` and ``question`` are required.

A bad line or item is reported with its line number (or index) and the rest of the dataset still runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.errors import InputError, UserError, describe_validation_error
from rag.loaders.base import decode_text
from rag.loaders.jsonl import iter_json_lines


class Gold(BaseModel):
    """What a case counts as right: relevant document ids (any section, guidelines, studies) and gold evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    doc_ids: tuple[str, ...] = ()
    guideline_doc_ids: tuple[str, ...] = ()
    study_doc_ids: tuple[str, ...] = ()
    snippets: tuple[str, ...] = Field((), description="Gold evidence text (BioASQ snippets, SciFact rationales).")
    must_say: tuple[str | tuple[str, ...], ...] = Field(
        (), description="Facts a correct answer states: each a phrase, or alternative phrases of which one must "
                        "appear in the answer's sections (case, hyphens, spacing and citations ignored).")
    must_not_say: tuple[str, ...] = Field(
        (), description="Phrases a correct answer never states (a false premise repeated, a wrong number).")
    lead: dict[Literal["guidelines", "research"], tuple[str, ...]] = Field(
        default_factory=dict, description="Per section, the documents one of which the section's first citation "
                                          "must be (the direct answer, or the source correcting a false premise).")

    def all_doc_ids(self) -> set[str]:
        """Every gold document id, whatever its section."""
        return {*self.doc_ids, *self.guideline_doc_ids, *self.study_doc_ids}


class Expect(BaseModel):
    """Whether each answer section should find evidence or say there is none (None: not checked)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    guidelines: Literal["evidence", "none"] | None = None
    research: Literal["evidence", "none"] | None = None


class EvalCase(BaseModel):
    """One case: a question (asked after the ``conversation`` questions, if any), its gold data and
    expectations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    audience: Literal["clinician", "patient"] = "clinician"
    conversation: tuple[str, ...] = Field((), description="Earlier questions, asked first in the same conversation.")
    gold: Gold = Gold()
    expect: Expect = Expect()
    label: Literal["yes", "no", "maybe"] | None = None
    reference_answer: str | None = None
    tags: tuple[str, ...] = ()


def load_cases(path: Path) -> tuple[list[EvalCase], list[InputError]]:
    """The valid cases of a dataset and an error per invalid line/item; duplicate ids are errors too."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the dataset ({exc.strerror})") from None
    if not raw.strip():
        raise UserError(f"{path}: the dataset has no cases")
    records = _yaml_records(path, raw) if path.suffix in (".yaml", ".yml") else _jsonl_records(path, raw)
    cases: list[EvalCase] = []
    errors: list[InputError] = []
    seen: set[str] = set()
    for where, record in records:
        if isinstance(record, InputError):
            errors.append(record)
            continue
        try:
            case = EvalCase.model_validate(record)
        except ValidationError as exc:
            errors.append(InputError(where, describe_validation_error(exc)))
            continue
        if case.id in seen:
            errors.append(InputError(where, f"duplicate case id {case.id!r}"))
            continue
        seen.add(case.id)
        cases.append(case)
    if not cases and not errors:
        raise UserError(f"{path}: the dataset has no cases")
    return cases, errors


def _jsonl_records(path: Path, raw: bytes) -> list[tuple[str, object]]:
    return [(f"{path}:{number}", record) for number, record in iter_json_lines(path, raw)]


def _yaml_records(path: Path, raw: bytes) -> list[tuple[str, object]]:
    try:
        data = yaml.safe_load(decode_text(path, raw))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        data = data["cases"]
    if not isinstance(data, list):
        raise UserError(f"{path}: a YAML dataset is a list of cases (or a mapping with a 'cases' list)")
    return [(f"{path}#{index}", item) for index, item in enumerate(data)]
