"""Metadata filters for retrieval: kind, year range, study design, document ids. Unknown fields are an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rag.errors import UserError
from rag.models import Kind, StudyDesign


class Filters(BaseModel):
    """Restricts which chunks a search may return. Every set field must hold (AND); lists mean any of (OR)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: tuple[Kind, ...] | None = Field(None, description="Only these kinds: guideline, study.")
    year_from: int | None = Field(None, ge=1800, le=2100, description="Published in or after this year.")
    year_to: int | None = Field(None, ge=1800, le=2100, description="Published in or before this year.")
    study_designs: tuple[StudyDesign, ...] | None = Field(None, description="Only these study designs.")
    doc_ids: tuple[str, ...] | None = Field(None, max_length=1000, description="Only these documents.")

    @model_validator(mode="after")
    def _ordered_years(self) -> Filters:
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise ValueError("year_from must not be after year_to")
        return self

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Filters:
        """Filters from user JSON; a bad or unknown field is a :class:`UserError` naming it."""
        if raw is None:
            return cls()
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            from rag.loaders.base import describe_validation_error

            allowed = ", ".join(cls.model_fields)
            raise UserError(f"invalid filters: {describe_validation_error(exc)} (known filters: {allowed})") from None

    def with_kind(self, kind: Kind) -> Filters:
        """These filters, further restricted to one kind (empty when the filters exclude it)."""
        kinds = (kind,) if self.kinds is None or kind in self.kinds else ()
        return self.model_copy(update={"kinds": kinds})

    def is_empty_set(self) -> bool:
        """True when no chunk can match (an empty list of kinds, designs or ids)."""
        return any(v is not None and len(v) == 0 for v in (self.kinds, self.study_designs, self.doc_ids))

    def chroma_where(self) -> dict[str, Any] | None:
        """The same conditions as a Chroma ``where`` clause (None when nothing is filtered)."""
        conditions: list[dict[str, Any]] = []
        for field, values in (("kind", self.kinds), ("study_design", self.study_designs), ("doc_id", self.doc_ids)):
            if values is not None:
                conditions.append({field: {"$in": list(values)}})
        if self.year_from is not None:
            conditions.append({"year": {"$gte": self.year_from}})
        if self.year_to is not None:
            conditions.append({"year": {"$lte": self.year_to}})
        if not conditions:
            return None
        return conditions[0] if len(conditions) == 1 else {"$and": conditions}

    def sql(self, alias: str = "c") -> tuple[str, list[object]]:
        """The same conditions as SQL on the catalog's chunks table, with parameters."""
        clauses: list[str] = []
        params: list[object] = []
        for column, values in (("kind", self.kinds), ("study_design", self.study_designs), ("doc_id", self.doc_ids)):
            if values is not None:
                clauses.append(f"{alias}.{column} IN ({','.join('?' * len(values))})" if values else "0")
                params.extend(values)
        if self.year_from is not None:
            clauses.append(f"{alias}.year >= ?")
            params.append(self.year_from)
        if self.year_to is not None:
            clauses.append(f"{alias}.year <= ?")
            params.append(self.year_to)
        return " AND ".join(clauses), params
