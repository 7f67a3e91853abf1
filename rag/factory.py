"""Explicit construction of the components from settings (no globals): the one place backends are chosen."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.embedding import Embedder, make_embedder
from rag.errors import UserError
from rag.ingest import Ingestor
from rag.meaning.relevance import Relevance
from rag.meaning.vectors import FILE_NAME as VECTORS_FILE
from rag.meaning.vectors import SentenceVectors
from rag.retrieve import Retriever
from rag.retrieve.rerank import CrossEncoderReranker, Reranker
from rag.store.chroma import RagEmbeddingFunction
from rag.store.index import Index, open_index

if TYPE_CHECKING:
    from rag.answer.models import Answer, Outcome
    from rag.answer.service import AnswerService
    from rag.conversation import Conversations
    from rag.generate.protocol import ModelGenerator
    from rag.judge import Judge


class Components:
    """The embedder and index for one process, opened once and shared by the commands that need them."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, judge: Judge | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.index: Index = open_index(settings, RagEmbeddingFunction(embedder=self.embedder))
        self.index.check_embedder(self.embedder)
        self._conversations: Conversations | None = None
        self._retriever: Retriever | None = None
        self._llm: ModelGenerator | None = None
        self._judge: Judge | None = judge
        self._sentence_vectors: SentenceVectors | None = None
        self._lock = threading.Lock()

    def ingestor(self) -> Ingestor:
        """The ingestor for this index and embedder (it also stores the vectors of the chunks' sentences)."""
        return Ingestor(self.settings, self.index, self.embedder, self.sentence_vectors)

    def relevance(self) -> Relevance:
        """Judgments by meaning of what addresses a question (rag.meaning), on this index's sentence vectors."""
        return Relevance(self.sentence_vectors, self.embedder.embed_query, self.settings.meaning,
                         self.index.lexical.term_weights, self.index.vectors.get_vectors)

    @property
    def sentence_vectors(self) -> SentenceVectors:
        """The sentence vectors of this index's model, kept in the data dir (rag.meaning), opened on first use."""
        with self._lock:
            if self._sentence_vectors is None:
                self._sentence_vectors = SentenceVectors(self.embedder, self.settings.data_dir / VECTORS_FILE,
                                                         self.settings.meaning.memory_sentences)
            return self._sentence_vectors

    def retriever(self, reranker: Reranker | None = None) -> Retriever:
        """The hybrid retriever with the configured cross-encoder, built once (its thread pool and the reranker's
        weights are shared by every caller); passing a reranker builds a separate one."""
        if reranker is not None:
            return Retriever(self.index, self.embedder, self.settings.retrieval, reranker)
        with self._lock:
            if self._retriever is None:
                path = self.settings.retrieval.reranker_path
                configured = CrossEncoderReranker(path, device=self.settings.embedding.device) if path else None
                self._retriever = Retriever(self.index, self.embedder, self.settings.retrieval, configured)
            return self._retriever

    def answers(self, llm: ModelGenerator | None = None,
                observers: Sequence[Callable[[Answer, Outcome], None]] = ()) -> AnswerService:
        """The answer service: extractive always available; the OpenAI-compatible model when configured (one per
        process, so what it learnt of the endpoint's output modes is kept); ``observers`` see every answer."""
        from rag.answer.service import AnswerService
        from rag.generate.extractive import ExtractiveGenerator
        from rag.generate.prompting import Prompts

        generation = self.settings.generation
        with self._lock:
            if llm is None and generation.base_url and generation.model:
                from rag.generate.openai_chat import OpenAIChatGenerator

                self._llm = self._llm or OpenAIChatGenerator(generation)
                llm = self._llm
            if self._judge is None:
                self._judge = self.judge()
        relevance = self.relevance()
        extractive = ExtractiveGenerator(relevance, generation)
        return AnswerService(self.settings, self.retriever(), extractive, llm, Prompts(), self.conversations,
                             self._judge, observers, relevance)

    @property
    def conversations(self) -> Conversations:
        """The conversation store (SQLite in the data dir, or the Chroma server's), opened on first use."""
        with self._lock:
            if self._conversations is None:
                self._conversations = self._open_conversations()
            return self._conversations

    def judge(self, spec: str | None = None) -> Judge:
        """The judge of "does this passage support this claim": ``offline`` (the default), ``llm`` (the configured
        OpenAI-compatible endpoint) or a local NLI / cross-encoder model folder; ``spec`` defaults to the setting."""
        if spec is None and self._judge is not None:
            return self._judge
        spec = spec or self.settings.verification.judge
        if spec == "offline":
            from rag.judge.offline import OfflineJudge

            return OfflineJudge(self.embedder)
        if spec == "llm":
            from rag.judge.llm import LlmJudge

            generation = self.settings.generation
            if not generation.base_url or not generation.model:
                raise UserError("the llm judge needs RAG_GENERATION__BASE_URL and RAG_GENERATION__MODEL")
            return LlmJudge(generation, self.settings.data_dir / "judge-cache.sqlite3")
        path = Path(spec)
        if path.is_dir():
            from rag.judge.nli import NliJudge

            return NliJudge(path)
        raise UserError(f"the judge must be 'offline', 'llm' or a local model folder, got {spec!r}")

    def _open_conversations(self) -> Conversations:
        from rag.conversation import ChromaConversationStore, ConversationStore

        retention = self.settings.store.conversation_retention_days
        if self.index.client is not None and self.settings.chroma_url:
            return ChromaConversationStore(self.index.client, self.settings.store.collection, retention)
        return ConversationStore(self.settings.data_dir / "conversations.sqlite3", retention)

    def close(self) -> None:
        """Close the retriever, the conversation store and the index."""
        if self._retriever is not None:
            self._retriever.close()
        if self._conversations is not None:
            self._conversations.close()
        if self._sentence_vectors is not None:
            self._sentence_vectors.close()
        self.index.close()
