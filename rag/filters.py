"""Metadata filters for retrieval: kind, year range, study design, document ids. Unknown fields are an error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rag.errors import UserError, describe_validation_error
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
            allowed = ", ".join(cls.model_fields)
            raise UserError(f"invalid filters: {describe_validation_error(exc)} (known filters: {allowed})") from None

    def with_kind(self, kind: Kind) -> Filters:
        """These filters, further restricted to one kind (empty when the filters exclude it)."""
        kinds = (kind,) if self.kinds is None or kind in self.kinds else ()
        return self.model_copy(update={"kinds": kinds})

    def within(self, doc_ids: Iterable[str]) -> Filters:
        """These filters, further restricted to these documents (and to the filters' own, when they name some)."""
        wanted = tuple(sorted(doc_ids))
        if self.doc_ids is not None:
            wanted = tuple(d for d in wanted if d in self.doc_ids)
        return self.model_copy(update={"doc_ids": wanted})

    def is_empty_set(self) -> bool:
        """True when no chunk can match (an empty list of kinds, designs or ids)."""
        return any(v is not None and len(v) == 0 for v in (self.kinds, self.study_designs, self.doc_ids))

    def is_unrestricted(self) -> bool:
        """True when no field is set: every chunk passes."""
        return all(value is None for value in (self.kinds, self.year_from, self.year_to, self.study_designs,
                                               self.doc_ids))
