"""Fakes for the Embedder and VectorStore seams: fast, deterministic, no model and no files."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from rag.answer.lexical import support
from rag.embedding.protocol import Vectors
from rag.generate.json_answer import JsonAnswerView
from rag.generate.protocol import Generation
from rag.judge import Judgment
from rag.store.protocols import MetadataValue, Where

_TOKEN = re.compile(r"\w+|[^\w\s]")


class HashEmbedder:
    """Bag-of-words vectors from hashed, lowercased tokens: texts sharing words are similar, as with a real model.

    ``calls`` and ``embedded`` record use, so tests can assert what was (not) re-embedded; ``delay`` slows each
    call down, for tests that interrupt a running ingest.
    """

    def __init__(self, dimension: int = 256, max_tokens: int = 256, delay: float = 0.0) -> None:
        self._dimension = dimension
        self._max_tokens = max_tokens
        self.delay = delay
        self.calls = 0
        self.embedded: list[str] = []

    @property
    def name(self) -> str:
        return f"hash-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_TOKEN.findall(text)) for text in texts]

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        self.embedded.extend(texts)
        if self.delay:
            time.sleep(self.delay)
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self._dimension), np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self._vector(text)

    def encode_tokens(self, texts: Sequence[str]) -> list[tuple[Vectors, Vectors]]:
        """Sentence vector and one hashed vector per word (as token vectors)."""
        results = []
        for text in texts:
            words = [w for w in _TOKEN.findall(text.lower()) if w.isalnum()] or [""]
            results.append((self._vector(text), np.vstack([self._vector(w) for w in words])))
        return results

    def _vector(self, text: str) -> Vectors:
        vector = np.zeros(self._dimension, dtype=np.float32)
        for token in _TOKEN.findall(text.lower()):
            if token.isalnum():
                digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
                vector[int.from_bytes(digest, "little") % self._dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector


class KeywordReranker:
    """A stand-in cross-encoder: the score is the share of query words present in the passage."""

    name = "keyword-reranker"

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        self.calls.append((query, len(passages)))
        words = {w for w in _TOKEN.findall(query.lower()) if w.isalnum()}
        return [len(words & set(_TOKEN.findall(p.lower()))) / max(len(words), 1) for p in passages]


class InMemoryVectorStore:
    """A dict of vectors with exact cosine search; honours ``where`` equality and ``$in`` on metadata."""

    def __init__(self) -> None:
        self._vectors: dict[str, Vectors] = {}
        self._metadata: dict[str, dict[str, MetadataValue]] = {}

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Vectors,
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, MetadataValue]],
    ) -> None:
        for chunk_id, vector, metadata in zip(ids, vectors, metadatas, strict=True):
            self._vectors[chunk_id] = np.asarray(vector, dtype=np.float32)
            self._metadata[chunk_id] = dict(metadata)

    def delete(self, ids: Sequence[str]) -> None:
        for chunk_id in ids:
            self._vectors.pop(chunk_id, None)
            self._metadata.pop(chunk_id, None)

    def ids_for_documents(self, doc_ids: Sequence[str]) -> set[str]:
        wanted = set(doc_ids)
        return {cid for cid, meta in self._metadata.items() if meta.get("doc_id") in wanted}

    def all_ids(self) -> set[str]:
        return set(self._vectors)

    def get_vectors(self, ids: Sequence[str]) -> dict[str, Vectors]:
        return {i: self._vectors[i] for i in ids if i in self._vectors}

    def count(self) -> int:
        return len(self._vectors)

    def query(self, vector: Vectors, k: int, where: Where | None = None) -> list[tuple[str, float]]:
        scored = [
            (cid, float(np.dot(v, vector))) for cid, v in self._vectors.items() if _matches(self._metadata[cid], where)
        ]
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:k]


def _matches(metadata: Mapping[str, MetadataValue], where: Where | None) -> bool:
    """Chroma's ``where`` semantics for the operators we use: equality, $in, $gte, $lte, $and."""
    for key, condition in (where or {}).items():
        if key == "$and":
            if not all(_matches(metadata, part) for part in condition):  # type: ignore[attr-defined]
                return False
            continue
        value = metadata.get(key)
        if not isinstance(condition, Mapping):
            condition = {"$eq": condition}
        for operator, operand in condition.items():
            if operator == "$eq" and value != operand:
                return False
            if operator == "$in" and value not in operand:  # type: ignore[operator]
                return False
            if operator == "$gte" and (value is None or value < operand):  # type: ignore[operator]
                return False
            if operator == "$lte" and (value is None or value > operand):  # type: ignore[operator]
                return False
    return True


class ScriptedGenerator:
    """A fake LLM: returns the scripted outputs in turn and records every request and completion prompt it was given.
    An output is Markdown text, a dict (a JSON answer, given as JSON text), a :class:`Generation`, or an Exception
    (raised instead)."""

    def __init__(self, outputs: Sequence[object], name: str = "scripted", completions: Sequence[str] = ()) -> None:
        self._outputs = list(outputs)
        self._completions = list(completions)
        self._name = name
        self.requests: list[object] = []
        self.completion_prompts: list[object] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def is_model(self) -> bool:
        """True: it stands in for a language model."""
        return True

    def generate(self, request: object) -> Generation:
        """The next scripted output."""
        self.requests.append(request)
        if not self._outputs:
            raise AssertionError("ScriptedGenerator ran out of scripted outputs")
        output = self._outputs.pop(0)
        if isinstance(output, BaseException):
            raise output
        if isinstance(output, Generation):
            return output
        if isinstance(output, dict):
            return Generation(json.dumps(output), "json")
        return Generation(str(output))

    def stream(self, request: object) -> Iterator[str | Generation]:
        """The next scripted output in pieces of 40 characters (JSON shown as its readable items), then whole."""
        generation = self.generate(request)
        view = JsonAnswerView() if generation.format == "json" else None
        for i in range(0, len(generation.text), 40):
            piece = generation.text[i : i + 40]
            shown = view.feed(piece) if view is not None else piece
            if shown:
                yield shown
        yield generation

    def complete(self, prompt: object) -> str:
        self.completion_prompts.append(prompt)
        if not self._completions:
            raise AssertionError("ScriptedGenerator has no scripted completion")
        return self._completions.pop(0)


class LexicalJudge:
    """A fast deterministic judge for tests: a passage supports a claim when it holds ``threshold`` of the claim's
    content words and all of its numbers (score = that share)."""

    name = "lexical"

    def __init__(self, threshold: float = 0.6) -> None:
        self._threshold = threshold
        self.pairs: list[tuple[str, str]] = []

    @property
    def fingerprint(self) -> str:
        return f"lexical-threshold-{self._threshold:g}"

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        """One judgment per (claim, passage), recording every pair it was asked about."""
        self.pairs.extend(pairs)
        results = []
        for claim, passage in pairs:
            found = support(claim, passage)
            results.append(Judgment(found.passes(self._threshold), round(found.recall, 6)))
        return results
