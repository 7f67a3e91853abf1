"""A LangChain ``BaseRetriever`` over our hybrid retriever, so LangChain applications can use it as is.

    from rag.integrations.langchain import RagRetriever
    retriever = RagRetriever(retriever=components.retriever(), k=6, kind="guideline")
    docs = retriever.invoke("PRP versus exosome micro-needling")   # list[langchain_core.documents.Document]

Each LangChain document's ``page_content`` is the passage text; ``metadata`` holds the hit's fields (doc_id,
chunk_id, kind, title, score, span, year, identifiers, component ranks).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LangChainDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.filters import Filters
from rag.models import Kind
from rag.retrieve import Mode, Retriever


class RagRetriever(BaseRetriever):
    """LangChain view of :class:`rag.retrieve.Retriever` (hybrid by default)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int | None = None
    kind: Kind | None = None
    filters: Filters | None = None
    mode: Mode = "hybrid"

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[LangChainDocument]:
        filters = self.filters or Filters()
        if self.kind is not None:
            filters = filters.with_kind(self.kind)
        hits = self.retriever.search(query, self.k, filters, self.mode)
        return [
            LangChainDocument(page_content=hit.text, metadata=hit.model_dump(mode="json", exclude={"text"}),
                              id=hit.chunk_id)
            for hit in hits
        ]
