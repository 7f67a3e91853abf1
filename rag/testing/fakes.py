"""Fakes for the seams (Embedder, VectorStore, LexicalIndex, Conversations, Generator, Judge, reranker): fast,
deterministic, no model and no files. Each passes the contract of its seam in rag.testing.contracts."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answer.lexical import support
from rag.conversation import Conversation, Retention, StoredTurn, check_id
from rag.embedding.protocol import Vectors
from rag.errors import NotFoundError, StoreError
from rag.filters import Filters
from rag.generate.json_answer import JsonAnswerView
from rag.generate.protocol import Generation
from rag.judge import Judgment
from rag.models import Kind
from rag.store.protocols import MetadataValue, Where, check_aligned
from rag.text.stopwords import STOPWORDS
from rag.text.terms import normalise

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
        check_aligned(ids, vectors, texts, metadatas)
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
        if k <= 0:
            return []
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
    (raised instead); a completion is text, or an Exception."""

    def __init__(self, outputs: Sequence[object], name: str = "scripted",
                 completions: Sequence[str | BaseException] = ()) -> None:
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
        completion = self._completions.pop(0)
        if isinstance(completion, BaseException):
            raise completion
        return completion


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


@dataclass(frozen=True)
class IndexedPassage:
    """A passage as a lexical index holds it: its chunk id and text, and the metadata that filters read."""

    chunk_id: str
    text: str
    doc_id: str
    kind: Kind = "study"
    year: int | None = None
    study_design: str | None = None

    def passes(self, filters: Filters | None) -> bool:
        """Whether the passage passes every set field of ``filters`` (a year range excludes passages without one)."""
        if filters is None:
            return True
        for allowed, value in ((filters.kinds, self.kind), (filters.study_designs, self.study_design),
                               (filters.doc_ids, self.doc_id)):
            if allowed is not None and value not in allowed:
                return False
        if filters.year_from is not None and (self.year is None or self.year < filters.year_from):
            return False
        return filters.year_to is None or (self.year is not None and self.year <= filters.year_to)


_WORD = re.compile(r"\w+")


def _words(text: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """Lowercased words but those in ``skip``, with a light suffix strip ('scars' is 'scar'), as the index reads
    them."""
    return [normalise(w) for w in _WORD.findall(text.lower()) if w not in skip]


class InMemoryLexicalIndex:
    """BM25 (k1 1.2, b 0.75) over passages held in a dict: ``add`` and ``remove`` them. Stop words are not searched
    for; a multi-word term's frequency (``term_weights``) counts the passages holding its words in a row."""

    K1 = 1.2
    B = 0.75

    def __init__(self, passages: Iterable[IndexedPassage] = ()) -> None:
        self._passages: dict[str, tuple[IndexedPassage, list[str]]] = {}
        self.add(passages)

    def add(self, passages: Iterable[IndexedPassage]) -> None:
        """Index these passages (replacing any with the same chunk id)."""
        for passage in passages:
            self._passages[passage.chunk_id] = (passage, _words(passage.text))

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Forget these chunk ids (unknown ones are ignored)."""
        for chunk_id in chunk_ids:
            self._passages.pop(chunk_id, None)

    def count(self) -> int:
        return len(self._passages)

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        terms = set(_words(query, STOPWORDS))
        if not terms or k <= 0:
            return []
        total = len(self._passages)
        average = sum(len(words) for _, words in self._passages.values()) / max(total, 1)
        frequency = {t: sum(t in words for _, words in self._passages.values()) for t in terms}
        scored = []
        for passage, words in self._passages.values():
            counts = Counter(words)
            if passage.passes(filters) and any(counts[t] for t in terms):
                norm = self.K1 * (1 - self.B + self.B * len(words) / (average or 1))
                score = sum(math.log(1 + (total - frequency[t] + 0.5) / (frequency[t] + 0.5))
                            * counts[t] * (self.K1 + 1) / (counts[t] + norm) for t in terms if counts[t])
                scored.append((passage.chunk_id, score))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:k]

    def term_weights(self, terms: Sequence[str]) -> dict[str, float]:
        total = len(self._passages)
        weights = {}
        for term in terms:
            phrase = _words(term)
            held = sum(_holds(words, phrase) for _, words in self._passages.values()) if phrase else 0
            weights[term] = math.log((total + 1) / (held + 1))
        return weights


def _holds(words: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


@dataclass
class _Kept:
    audience: str
    created_at: float
    owner: str | None
    turns: list[tuple[StoredTurn, float]] = field(default_factory=list)

    def last_active(self) -> float:
        return max([self.created_at, *(at for _, at in self.turns)])


class InMemoryConversations:
    """Conversations in a dict, under the rules of the stores in rag.conversation: ids, owners (``None``: the trusted
    local caller), retention by ``clock``, usage per owner; calls after ``close`` raise StoreError, as SQLite's do."""

    def __init__(self, retention_days: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        self._retention = Retention(retention_days, clock)
        self._kept: dict[str, _Kept] = {}
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        self._closed = True

    def create(self, audience: str, owner: str | None = None) -> str:
        if self._retention.due():
            self.purge()
        conversation_id = uuid.uuid4().hex
        with self._open():
            self._kept[conversation_id] = _Kept(audience, self._retention.clock(), owner)
        return conversation_id

    def get(self, conversation_id: str, owner: str | None = None) -> Conversation:
        with self._open():
            kept = self._find(conversation_id, owner)
            return Conversation(conversation_id, kept.audience, kept.created_at, [turn for turn, _ in kept.turns])

    def delete(self, conversation_id: str, owner: str | None = None) -> None:
        with self._open():
            self._find(conversation_id, owner)
            del self._kept[conversation_id]

    def add_turn(self, conversation_id: str, question: str, standalone: str, answer_json: str) -> int:
        with self._open():
            kept = self._find(conversation_id, None)
            n = len(kept.turns) + 1
            kept.turns.append((StoredTurn(n, question, standalone, answer_json), self._retention.clock()))
            return n

    def purge(self) -> int:
        cutoff = self._retention.cutoff()
        if cutoff is None:
            return 0
        with self._open():
            idle = [cid for cid, kept in self._kept.items() if kept.last_active() < cutoff]
            for conversation_id in idle:
                del self._kept[conversation_id]
            return len(idle)

    def usage(self, owner: str) -> tuple[int, int]:
        with self._open():
            turns = [turn for kept in self._kept.values() if kept.owner == owner for turn, _ in kept.turns]
        size = sum(len(text.encode()) for t in turns for text in (t.question, t.standalone_question, t.answer_json))
        return len(turns), size

    def _find(self, conversation_id: str, owner: str | None) -> _Kept:
        check_id(conversation_id)
        kept = self._kept.get(conversation_id)
        if kept is None or (owner is not None and kept.owner != owner):
            raise NotFoundError(f"unknown conversation id {conversation_id!r}")
        return kept

    def _open(self) -> threading.Lock:
        if self._closed:
            raise StoreError("the in-memory conversation store is closed")
        return self._lock
