"""Filters translated into the query languages of the stores: a Chroma ``where`` clause, an SQL condition."""

from __future__ import annotations

from typing import Any

from rag.filters import Filters


def chroma_where(filters: Filters) -> dict[str, Any] | None:
    """The conditions of ``filters`` as a Chroma ``where`` clause (None when nothing is filtered)."""
    conditions: list[dict[str, Any]] = []
    for field, values in (("kind", filters.kinds), ("study_design", filters.study_designs),
                          ("doc_id", filters.doc_ids)):
        if values is not None:
            conditions.append({field: {"$in": list(values)}})
    if filters.year_from is not None:
        conditions.append({"year": {"$gte": filters.year_from}})
    if filters.year_to is not None:
        conditions.append({"year": {"$lte": filters.year_to}})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def sql_condition(filters: Filters, alias: str = "c") -> tuple[str, list[object]]:
    """The conditions of ``filters`` as SQL on the catalog's chunks table (aliased ``alias``), with parameters;
    an empty string when nothing is filtered."""
    clauses: list[str] = []
    params: list[object] = []
    for column, values in (("kind", filters.kinds), ("study_design", filters.study_designs),
                           ("doc_id", filters.doc_ids)):
        if values is not None:
            clauses.append(f"{alias}.{column} IN ({','.join('?' * len(values))})" if values else "0")
            params.extend(values)
    if filters.year_from is not None:
        clauses.append(f"{alias}.year >= ?")
        params.append(filters.year_from)
    if filters.year_to is not None:
        clauses.append(f"{alias}.year <= ?")
        params.append(filters.year_to)
    return " AND ".join(clauses), params
