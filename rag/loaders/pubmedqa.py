"""PubMedQA JSON: an object keyed by PMID; each record's abstract (CONTEXTS with LABELS, then the conclusion)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import InputError
from rag.loaders.base import LoadItem, LoadOptions, build_meta, decode_text, parse_json, require_text
from rag.models import Document


def load_pubmedqa(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """One study per PMID (id ``pmid:N``). The question is not part of the document: it is the benchmark's query."""
    data = parse_json(str(path), decode_text(path, raw))
    if not isinstance(data, dict) or not data:
        raise InputError(str(path), "a PubMedQA file is a JSON object keyed by PMID")
    for pmid, record in data.items():
        try:
            yield _record(f"{path}#pmid:{pmid}", str(pmid), record)
        except InputError as error:
            yield error


def _record(source: str, pmid: str, record: Any) -> Document:
    if not isinstance(record, dict) or not isinstance(record.get("CONTEXTS"), list):
        raise InputError(source, "a PubMedQA record needs a 'CONTEXTS' list")
    labels = record["LABELS"] if isinstance(record.get("LABELS"), list) else []
    parts = [
        (str(labels[i]).capitalize() if i < len(labels) else "Abstract", str(context))
        for i, context in enumerate(record["CONTEXTS"])
    ]
    if isinstance(record.get("LONG_ANSWER"), str):
        parts.append(("Conclusions", record["LONG_ANSWER"]))
    fields: dict[str, object] = {
        "id": f"pmid:{pmid}",
        "kind": "study",
        "title": f"PubMed abstract {pmid}",
        "pmid": pmid,
        "url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        "year": record.get("YEAR"),  # "2001" as text: validation converts it, and refuses "²" or 5000 digits
    }
    meta = build_meta(source, {k: v for k, v in fields.items() if v is not None}, LoadOptions())
    return require_text(source, Document.from_sections(meta, parts, source))
