"""Split documents into chunks the embedder reads whole: by section, then sentences, token-aware, with overlap.

Every chunk is ``document.text[start:end]`` exactly, so a quote can be shown and located. The embedder reads
``"{title} | {section}\\n{text}"``; that prefix counts against the token budget. Chunk ids are deterministic: the
document id, the chunk's position and a hash of what is embedded, so an unchanged chunk keeps its id (and its stored
vector) when a document is edited elsewhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rag.config import ChunkSettings
from rag.errors import ConfigError
from rag.models import Chunk, Document, Section
from rag.text.sentences import sentence_spans, statement_spans

SPECIAL_TOKENS = 2  # [CLS] and [SEP] for BERT-style embedders
_MAX_TITLE_SHARE = 3  # the title prefix may take at most a third of the budget


class TokenCounter(Protocol):
    """What the chunker needs from an embedder: its input limit and word-piece counts."""

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without special tokens."""
        ...


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    tokens: int


class Chunker:
    """Turns a document into chunks of at most ``settings.max_tokens`` word pieces (prefix and specials included),
    except that a list kept whole with its opening may reach what the embedder reads."""

    def __init__(self, settings: ChunkSettings, counter: TokenCounter) -> None:
        if settings.max_tokens > counter.max_tokens:
            raise ConfigError(
                f"chunk.max_tokens={settings.max_tokens} exceeds what the embedding model reads ({counter.max_tokens})"
            )
        self._settings = settings
        self._counter = counter

    def fingerprint(self) -> str:
        """Identifies the chunking rules, so that changing them re-chunks every document (by rag.text.sentences, v3:
        bracketed labels after a full stop stay with their sentence; v4: "U.S." does not end one; v5: a list stays
        with its opening)."""
        return f"v5:{self._settings.max_tokens}:{self._settings.overlap_tokens}"

    def chunk(self, document: Document) -> list[Chunk]:
        """The document's chunks in order, each a span of its text within one section, with ``token_count``
        counting the title prefix and special tokens."""
        chunks: list[Chunk] = []
        title = self._short_title(document.meta.title)
        for section in document.sections:
            prefix = f"{title} | {section.title}\n"
            prefix_tokens = self._counter.count_tokens([prefix])[0]
            budget = max(16, self._settings.max_tokens - SPECIAL_TOKENS - prefix_tokens)
            readable = max(budget, self._counter.max_tokens - SPECIAL_TOKENS - prefix_tokens)
            for start, end in self._pack(document.text, section, budget, readable):
                text = document.text[start:end]
                chunks.append(self._make(document, len(chunks), section, start, end, prefix + text))
        counts = self._counter.count_tokens([c.embed_text for c in chunks])
        return [c.model_copy(update={"token_count": n + SPECIAL_TOKENS}) for c, n in zip(chunks, counts, strict=True)]

    def _short_title(self, title: str) -> str:
        limit = self._settings.max_tokens // _MAX_TITLE_SHARE
        words = title.split()
        while words and self._counter.count_tokens([" ".join(words)])[0] > limit:
            words = words[: max(1, len(words) * 3 // 4)] if len(words) > 1 else []
        return " ".join(words)

    def _pack(self, text: str, section: Section, budget: int, readable: int) -> list[tuple[int, int]]:
        """Greedy packing of sentence pieces into windows, repeating trailing sentences up to the overlap; a list
        with its opening longer than ``budget`` is a window of its own when the embedder reads it whole
        (``readable``)."""
        pieces = self._pieces(text, section, budget, readable)
        windows: list[tuple[int, int]] = []
        i = 0
        while i < len(pieces):
            j, used = i, 0
            while j < len(pieces) and used + pieces[j].tokens <= budget:
                used += pieces[j].tokens
                j += 1
            j = max(j, i + 1)
            windows.append((pieces[i].start, pieces[j - 1].end))
            if j >= len(pieces):
                break
            i = self._overlap_start(pieces, i, j)
        return windows

    def _overlap_start(self, pieces: list[_Piece], i: int, j: int) -> int:
        """The first piece of the next window: the last pieces of this one that fit in the overlap, if any."""
        k, carried = j, 0
        while k - 1 > i and carried + pieces[k - 1].tokens <= self._settings.overlap_tokens:
            carried += pieces[k - 1].tokens
            k -= 1
        return k

    def _pieces(self, text: str, section: Section, budget: int, readable: int) -> list[_Piece]:
        """The section's sentences as pieces, a list with the opening that announces it as one piece when it fits
        (:func:`rag.text.sentences.statement_spans`): cut between them, the opening is quoted nowhere and the items
        without the advice they belong to."""
        spans = sentence_spans(text, section.start, section.end)
        counts = self._counter.count_tokens([text[s:e] for s, e in spans])
        pieces: list[_Piece] = []
        for (start, end), tokens in zip(spans, counts, strict=True):
            if tokens <= budget:
                pieces.append(_Piece(start, end, tokens))
            else:
                pieces.extend(self._split_long(text, start, end, budget))
        return self._with_lists(text, section, pieces, readable)

    def _with_lists(self, text: str, section: Section, pieces: list[_Piece], readable: int) -> list[_Piece]:
        """``pieces`` with those a list and its opening span merged into one, when the embedder reads it whole."""
        own = text[section.start:section.end]
        if ":" not in own:  # no opening to read a list with: the sentences are not split again
            return pieces
        lists = [(section.start + start, section.start + end) for start, end, _ in statement_spans(own)]
        lists = [(start, end) for start, end in lists if any(start < p.start < end for p in pieces)]
        if not lists:
            return pieces
        tokens = dict(zip(lists, self._counter.count_tokens([text[s:e] for s, e in lists]), strict=True))
        merged: list[_Piece] = []
        ends = {start: end for start, end in lists if tokens[(start, end)] <= readable}
        for piece in pieces:
            if merged and merged[-1].start in ends and piece.end <= ends[merged[-1].start]:
                last = merged.pop()
                piece = _Piece(last.start, piece.end, tokens[(last.start, ends[last.start])])
            merged.append(piece)
        return merged

    def _split_long(self, text: str, start: int, end: int, budget: int) -> list[_Piece]:
        """A sentence longer than the budget is cut between words into budget-sized pieces."""
        words: list[tuple[int, int]] = []
        position = start
        for word in text[start:end].split():
            word_start = text.index(word, position, end)
            words.append((word_start, word_start + len(word)))
            position = word_start + len(word)
        counts = self._counter.count_tokens([text[s:e] for s, e in words])
        pieces: list[_Piece] = []
        piece_start, previous_end, used = words[0][0], words[0][1], 0
        for (word_start, word_end), tokens in zip(words, counts, strict=True):
            if used and used + tokens > budget:
                pieces.append(_Piece(piece_start, previous_end, used))
                piece_start, used = word_start, 0
            used += tokens
            previous_end = word_end
        pieces.append(_Piece(piece_start, previous_end, used))
        return pieces

    @staticmethod
    def _make(document: Document, ordinal: int, section: Section, start: int, end: int, embed_text: str) -> Chunk:
        digest = hashlib.sha256(embed_text.encode()).hexdigest()[:12]
        return Chunk(
            id=f"{document.id}#{ordinal}-{digest}",
            doc_id=document.id,
            ordinal=ordinal,
            section=section.title,
            text=document.text[start:end],
            start=start,
            end=end,
            embed_text=embed_text,
            token_count=0,
        )
