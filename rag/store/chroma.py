"""Chroma as the vector store: embedded ``PersistentClient`` by default, ``HttpClient`` when a server URL is set.

Telemetry is off, and the collection is registered with our own embedding function so Chroma never falls back to
its default one (which would try to download a model). We pass vectors in ourselves; the registered function is
only used when a third party (e.g. LangChain's Chroma wrapper) queries by text, and it loads the model lazily.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import httpx
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from chromadb.utils.embedding_functions import register_embedding_function
from pydantic import SecretStr

from rag.embedding.protocol import Embedder, Vectors
from rag.embedding.sentence_transformer import SentenceTransformerEmbedder
from rag.errors import ConfigError, StoreError, VectorIndexNotReady
from rag.store.protocols import MetadataValue, Where, check_aligned

logger = logging.getLogger(__name__)

_BATCH = 4000  # below Chroma's maximum batch size

#: What a Chroma call can raise: its own errors, bad arguments, and (server mode) a failed or refused connection.
CHROMA_ERRORS = (ChromaError, ValueError, OSError, httpx.HTTPError)
_LOCKED = "database is locked"
LOCK_WAITS_S = (0.05, 0.1, 0.2, 0.4, 0.8)
"""How long to wait before each retry of an embedded Chroma call that found its SQLite database locked (another
writer, or Chroma's own background work: a contract test once failed opening a collection so). Past the last wait
the error stands."""


def when_unlocked(call: Any) -> Any:
    """``call()``, retried after each of ``LOCK_WAITS_S`` while Chroma reports its database locked; other errors
    are raised at once."""
    for wait in LOCK_WAITS_S:
        try:
            return call()
        except CHROMA_ERRORS as exc:
            if _LOCKED not in str(exc):
                raise
            logger.warning("Chroma's database is locked; retrying in %.2f s", wait)
            time.sleep(wait)
    return call()


@register_embedding_function
class RagEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma's view of our embedder: same model, same normalisation, loaded on first use."""

    def __init__(self, model_path: str | None = None, embedder: Embedder | None = None) -> None:
        self._model_path = model_path
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        """Embed texts for Chroma (used only when a third party queries the collection by text)."""
        vectors = self._get().embed_documents(list(input))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def _get(self) -> Embedder:
        if self._embedder is None:
            self._embedder = SentenceTransformerEmbedder(Path(self._model_path) if self._model_path else None)
        return self._embedder

    @staticmethod
    def name() -> str:
        """The name under which Chroma records this function with the collection."""
        return "rag-sentence-transformer"

    def get_config(self) -> dict[str, Any]:
        """What Chroma stores to rebuild this function: the model folder (None for the packaged model)."""
        if self._model_path is None and isinstance(self._embedder, SentenceTransformerEmbedder):
            return {"model_path": None if self._embedder.is_packaged else str(self._embedder.path)}
        return {"model_path": self._model_path}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> RagEmbeddingFunction:
        """The function :meth:`get_config` describes (its model loads on first use)."""
        return RagEmbeddingFunction(model_path=config.get("model_path"))

    def default_space(self) -> str:  # type: ignore[override]
        """Cosine: the vectors are L2-normalised."""
        return "cosine"


@dataclass(frozen=True)
class ServerAccess:
    """How to reach a Chroma server that checks who calls: a token (sent in ``header``: ``Authorization: Bearer``
    or ``X-Chroma-Token``) and, for https, a CA bundle that signed its certificate (default: the system's)."""

    token: SecretStr | None = None
    header: str = "Authorization"
    ca_file: Path | None = None

    def headers(self) -> dict[str, str]:
        """The request headers that carry the token (none without one)."""
        if self.token is None:
            return {}
        value = self.token.get_secret_value()
        return {"Authorization": f"Bearer {value}"} if self.header == "Authorization" else {self.header: value}


def open_client(data_dir: Path, chroma_url: str | None, access: ServerAccess | None = None) -> ClientAPI:
    """An HTTP client for ``chroma_url`` (with ``access``'s token and CA bundle), else an embedded client persisting
    under ``data_dir/chroma``."""
    access = access or ServerAccess()
    try:
        if chroma_url:
            url = urlparse(chroma_url)
            if not url.hostname:
                raise ConfigError(f"RAG_CHROMA_URL {chroma_url!r} has no host")
            if access.token is not None and url.scheme != "https" and not _is_loopback(url.hostname):
                logger.warning("the Chroma token travels unencrypted: RAG_CHROMA_URL is http:// to another host",
                               extra={"host": url.hostname})
            port = url.port or (443 if url.scheme == "https" else 8000)
            return chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https",
                                       headers=access.headers() or None, settings=_settings(url.scheme, access))
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=_settings(None, access))
    except CHROMA_ERRORS as exc:
        where = chroma_url or str(data_dir / "chroma")
        raise StoreError(f"cannot open the Chroma store at {where}: {exc}") from exc


def _settings(scheme: str | None, access: ServerAccess) -> ChromaSettings:
    """The client's settings: no telemetry, no reset; over https the server's certificate is verified with the
    configured CA bundle, else the system's CAs (None). Over plain http there is no certificate, and the client follows
    no redirect: False spares loading the system's CA bundle, which httpx does for each client it makes (two a
    connection, ~40 ms of CPU each)."""
    verify = str(access.ca_file) if access.ca_file else (False if scheme == "http" else None)
    return _chroma_settings(verify, _chroma_environment()).model_copy(deep=True)  # the client writes to its copy


@lru_cache(maxsize=16)
def _chroma_settings(verify: str | bool | None, environment: object) -> ChromaSettings:
    """Chroma's settings look through the environment and the working directory's .env file (~6 ms of CPU for each
    client opened): built once for each ``verify`` and ``environment`` (what they read)."""
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False, chroma_server_ssl_verify=verify)


def _chroma_environment() -> object:
    """What Chroma's settings read besides their arguments: the environment variables named as one of their fields
    (in any case), and the working directory's .env."""
    try:
        dotenv: bytes | None = Path(".env").read_bytes()
    except OSError:
        dotenv = None
    variables = sorted((name, value) for name, value in os.environ.items() if name.lower() in _CHROMA_FIELDS)
    return tuple(variables), os.getcwd(), dotenv


_CHROMA_FIELDS = frozenset(name.lower() for name in ChromaSettings.model_fields)


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ChromaVectorStore:
    """A Chroma collection of chunk vectors (cosine space); see :class:`rag.store.protocols.VectorStore`."""

    def __init__(self, client: ClientAPI, collection: str, embedding_function: RagEmbeddingFunction,
                 ef_search: int = 400) -> None:
        try:
            self._collection: Collection = when_unlocked(lambda: client.get_or_create_collection(
                collection,
                embedding_function=embedding_function,  # type: ignore[arg-type]
                configuration={"hnsw": {"space": "cosine", "ef_search": ef_search}},
            ))
            hnsw = (self._collection.configuration or {}).get("hnsw") or {}
            if hnsw.get("ef_search") != ef_search:  # a collection created before, or with another breadth
                when_unlocked(lambda: self._collection.modify(configuration={"hnsw": {"ef_search": ef_search}}))
        except CHROMA_ERRORS as exc:
            raise StoreError(f"cannot open the Chroma collection {collection!r}: {exc}") from exc

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Vectors,
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, MetadataValue]],
    ) -> None:
        """Add or replace vectors with their texts and metadata, in batches below Chroma's limit."""
        check_aligned(ids, vectors, texts, metadatas)  # before any batch is written
        for i in range(0, len(ids), _BATCH):
            batch = list(ids[i : i + _BATCH])
            self._call(
                self._collection.upsert,
                ids=batch,
                embeddings=vectors[i : i + _BATCH],
                documents=list(texts[i : i + _BATCH]),
                metadatas=self._replacing(batch, metadatas[i : i + _BATCH]),
            )

    def _replacing(self, ids: list[str], metadatas: Sequence[Mapping[str, MetadataValue]]) -> list[dict[str, Any]]:
        """The metadata to upsert so that it replaces what the ids hold: Chroma's upsert merges metadata, keeping a
        key the new metadata leaves out unless it is given as None."""
        stored = self._call(self._collection.get, ids=ids, include=["metadatas"])
        held = dict(zip(stored["ids"], stored["metadatas"] or [], strict=True))
        return [{**dict.fromkeys(held.get(chunk_id) or {}), **metadata}
                for chunk_id, metadata in zip(ids, metadatas, strict=True)]

    def delete(self, ids: Sequence[str]) -> None:
        """Delete these chunk ids, in batches below Chroma's limit."""
        for i in range(0, len(ids), _BATCH):
            self._call(self._collection.delete, ids=list(ids[i : i + _BATCH]))

    def ids_for_documents(self, doc_ids: Sequence[str]) -> set[str]:
        """Chunk ids whose ``doc_id`` metadata is one of ``doc_ids`` (500 documents a query)."""
        found: set[str] = set()
        for i in range(0, len(doc_ids), 500):
            batch = list(doc_ids[i : i + 500])
            result = self._call(self._collection.get, where={"doc_id": {"$in": batch}}, include=[])
            found.update(result["ids"])
        return found

    def all_ids(self) -> set[str]:
        """Every stored chunk id, read a batch at a time."""
        found: set[str] = set()
        offset = 0
        while True:
            result = self._call(self._collection.get, include=[], limit=_BATCH, offset=offset)
            found.update(result["ids"])
            if len(result["ids"]) < _BATCH:
                return found
            offset += _BATCH

    def get_vectors(self, ids: Sequence[str]) -> dict[str, Vectors]:
        """The stored vectors of these ids (ids not stored are left out), in one call."""
        if not ids:
            return {}
        result = self._call(self._collection.get, ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(result["ids"], result["embeddings"], strict=True)}

    def count(self) -> int:
        """Number of stored vectors."""
        return int(self._call(self._collection.count))

    def query(self, vector: Vectors, k: int, where: Where | None = None) -> list[tuple[str, float]]:
        """``(chunk id, cosine similarity)`` of the ``k`` nearest chunks that match ``where``, best first."""
        if k <= 0:  # Chroma refuses n_results 0
            return []
        result = self._call(
            self._collection.query,
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k,
            where=dict(where) if where else None,
            include=["distances"],
        )
        ids, distances = result["ids"][0], (result["distances"] or [[]])[0]
        return [(chunk_id, 1.0 - float(distance)) for chunk_id, distance in zip(ids, distances, strict=True)]

    @staticmethod
    def _call(method: Any, **kwargs: Any) -> Any:
        try:
            return when_unlocked(lambda: method(**kwargs))
        except CHROMA_ERRORS as exc:
            if "Nothing found on disk" in str(exc):
                raise VectorIndexNotReady("the vector index is still being written by an ingest") from exc
            raise StoreError(f"Chroma {getattr(method, '__name__', 'call')} failed: {exc}") from exc
