"""Documents and sources for tests: corpus-format Markdown files written to disk, numbered sources built in memory."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from rag.contract import Source
from rag.models import Hit

WriteDoc = Callable[..., Path]
"""The ``write_doc`` fixture: ``write_doc("dir/name.md", id=..., kind=..., body=...)`` writes a file under the test's
source folder and returns its path."""


def write_corpus_file(folder: Path, relative: str, *, body: str = "## Results\nA finding was reported.",
                      **fields: object) -> Path:
    """Write ``folder/relative`` as a corpus Markdown file: YAML front matter from ``fields`` (``id`` defaults to the
    file's stem, ``kind`` to study, ``title`` to "Title of <stem>"), then ``body``."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    fields.setdefault("id", path.stem)
    fields.setdefault("kind", "study")
    fields.setdefault("title", f"Title of {path.stem}")
    front = "\n".join(f"{key}: {value}" for key, value in fields.items())
    path.write_text(f"---\n{front}\n---\n{textwrap.dedent(body)}\n", encoding="utf-8")
    return path


def make_source(n: int, kind: str, text: str, doc_id: str | None = None, start: int = 100,
                year: int = 2020) -> Source:
    """Source ``n``: a passage of ``kind`` (guideline or study) from document ``doc_id`` (default ``doc<n>``)."""
    hit = Hit(doc_id=doc_id or f"doc{n}", chunk_id=f"doc{n}#0-x", kind=kind, title=f"Title {n}",  # type: ignore[arg-type]
              score=1.0, text=text, section="Results", span=(start, start + len(text)), year=year)
    return Source(n=n, hit=hit, text=text)
