"""GET /v1/search: hybrid passages (or per section), with filters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import ComponentsDep, ReadAccess
from api.schemas import ERRORS, SearchResponse
from rag.filters import Filters

router = APIRouter(prefix="/v1", tags=["search"], responses=ERRORS)


@router.get("/search", response_model=SearchResponse, response_model_exclude_unset=True)
def search(components: ComponentsDep, _: ReadAccess,
           q: Annotated[str, Query(min_length=1, description="The query, at most RAG_RETRIEVAL__MAX_QUERY_CHARS "
                                                             "characters (2000 by default).")],
           k: Annotated[int, Query(ge=1, description="At most RAG_RETRIEVAL__MAX_K (100 by default).")] = 8,
           kind: Literal["guideline", "study"] | None = None,
           mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
           sections: bool = False,
           year_from: Annotated[int | None, Query(ge=1800, le=2100)] = None,
           year_to: Annotated[int | None, Query(ge=1800, le=2100)] = None,
           design: Annotated[list[str] | None, Query()] = None,
           doc_id: Annotated[list[str] | None, Query()] = None) -> SearchResponse:
    """The best ``k`` passages for ``q`` that pass the filters, or with ``sections`` up to ``k`` guideline and
    ``k`` study passages."""
    raw = {"kinds": [kind] if kind else None, "year_from": year_from, "year_to": year_to, "study_designs": design,
           "doc_ids": doc_id}
    filters = Filters.parse({key: value for key, value in raw.items() if value is not None})
    retriever = components.retriever()
    if sections:
        found = retriever.search_sections(q, k, k, filters, mode)
        return SearchResponse(sections={"guidelines": found.guidelines, "studies": found.studies})
    return SearchResponse(hits=retriever.search(q, k, filters, mode))
