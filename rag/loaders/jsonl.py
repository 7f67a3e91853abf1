"""Line-delimited JSON: generic documents, SciFact's corpus.jsonl, and the guideline-summary (NGC) records.

A generic line holds the front-matter fields of corpus/README.md plus ``text`` (or ``sections``: a list of
``{"title", "text"}``). Each bad line is reported on its own with its line number; the other lines still load.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rag.errors import InputError
from rag.loaders.base import LoadItem, LoadOptions, build_meta, decode_text, parse_json, require_text
from rag.loaders.xmlutil import first_year
from rag.models import Document
from rag.text.sentences import BULLET

RecordReader = Callable[[str, dict[str, Any], LoadOptions], Document]


def iter_json_lines(path: Path, raw: bytes) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """``(line number, object)`` for each non-blank line; a line that is not a JSON object becomes an error."""
    for number, line in enumerate(decode_text(path, raw).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = parse_json(f"{path}:{number}", line)
        except InputError as error:
            yield number, error
            continue
        if not isinstance(record, dict):
            yield number, InputError(f"{path}:{number}", "each line must be a JSON object")
        else:
            yield number, record


def read_records(path: Path, raw: bytes, options: LoadOptions, reader: RecordReader) -> Iterator[LoadItem]:
    """Apply a record reader to every line, reporting the bad ones by line number."""
    any_line = False
    for number, record in iter_json_lines(path, raw):
        any_line = True
        if isinstance(record, InputError):
            yield record
            continue
        try:
            yield reader(f"{path}:{number}", record, options)
        except InputError as error:
            yield error
    if not any_line:
        raise InputError(str(path), "the file holds no JSON lines")


def generic_record(source: str, record: dict[str, Any], options: LoadOptions) -> Document:
    """A generic line: front-matter fields plus ``text`` or ``sections``; ``options.kind`` fills a missing kind."""
    fields = {k: v for k, v in record.items() if k not in ("text", "sections")}
    meta = build_meta(source, fields, options)
    if "sections" in record:
        sections = record["sections"]
        if not isinstance(sections, list) or not all(
            isinstance(s, dict) and isinstance(s.get("text"), str) for s in sections
        ):
            raise InputError(source, "field 'sections' must be a list of {\"title\": ..., \"text\": ...} objects")
        parts = [(str(s.get("title") or "Text"), s["text"]) for s in sections]
    elif isinstance(record.get("text"), str):
        parts = [("Text", record["text"])]
    else:
        raise InputError(source, "field 'text' (a string) or 'sections' is required but missing")
    return require_text(source, Document.from_sections(meta, parts, _record_source(source, meta.id)))


def scifact_record(source: str, record: dict[str, Any], options: LoadOptions) -> Document:
    """SciFact corpus.jsonl: ``{doc_id, title, abstract: [sentences]}``; each doc_id is a study ``scifact:N``.

    Dataset adapters know the kind of their records, so --kind does not apply to them.
    """
    if not isinstance(record.get("doc_id"), int) or not isinstance(record.get("abstract"), list):
        raise InputError(source, "a SciFact record needs an integer 'doc_id' and an 'abstract' list of sentences")
    doc_id = f"scifact:{record['doc_id']}"
    meta = build_meta(source, {"id": doc_id, "kind": "study", "title": record.get("title") or doc_id}, LoadOptions())
    text = " ".join(str(s).strip() for s in record["abstract"])
    return require_text(source, Document.from_sections(meta, [("Abstract", text)], _record_source(source, doc_id)))


_NGC_SECTIONS = (
    ("major_recommendations", "Recommendations"),
    ("target_population", "Target population"),
    ("interventions_considered", "Interventions considered"),
    ("potential_benefits", "Benefits"),
    ("potential_harms", "Harms"),
    ("contraindications", "Contraindications"),
    ("qualifying_statements", "Qualifying statements"),
    ("rating_scheme_evidence", "Rating scheme for the strength of the evidence"),
    ("rating_scheme_recommendations", "Rating scheme for the strength of the recommendations"),
)


def ngc_record(source: str, record: dict[str, Any], options: LoadOptions) -> Document:
    """A guideline summary (AHRQ National Guideline Clearinghouse schema): recommendations and caveats as sections."""
    if "ngc_id" not in record or not record.get("title"):
        raise InputError(source, "a guideline-summary record needs 'ngc_id' and 'title'")
    doc_id = f"ngc:{record['ngc_id']}"
    released = str(record.get("date_released") or "")
    years = [y for y in (first_year(part) for part in released.replace("(", " ").split("revised")) if y]
    fields = {
        "id": doc_id,
        "kind": "guideline",
        "title": record["title"],
        "organization": str(record.get("developers") or "").split(" - ")[0] or None,
        "year": max(years) if years else None,
        "study_design": "guideline",
    }
    meta = build_meta(source, {k: v for k, v in fields.items() if v is not None}, LoadOptions())
    parts = [
        part
        for key, title in _NGC_SECTIONS
        if isinstance(record.get(key), str) and record[key].strip() not in ("", "None", "None provided")
        for part in headed_parts(title, _EDITORS_NOTE.sub("", str(record[key])))
    ]
    return require_text(source, Document.from_sections(meta, parts, _record_source(source, doc_id)))


_EDITORS_NOTE = re.compile(r"^[ \t]*Note from [^\n]{0,200}?National Guideline Clearinghouse[^\n]*\n?", re.MULTILINE)
"""The Clearinghouse's own note on its summary, a line of its own ("Note from the ... and the National Guideline
Clearinghouse (NGC): The recommendations ... are organized into 3 modules with 1 algorithm", "This summary includes
the treatment recommendations of the guideline"): how the summary is laid out, not what the guideline says; quoted,
it took a guideline section's first place."""


_HEADING_WORDS = 10
_BOILERPLATE = re.compile(r"definition|levels? of certainty|rating scheme", re.IGNORECASE)


def headed_parts(title: str, text: str) -> list[tuple[str, str]]:
    """A summary field cut at the headings written as lines of their own ("Summary of Recommendations and Evidence",
    "Screening Interval"), each piece titled "<field>: <heading>", so that a heading is never read as the start of
    the sentence after it and each piece's role (rag.text.sections) comes from its heading. A heading line has at
    most ten words, no closing punctuation, no list marker, starts with a capital and is followed by a line that does
    not start in lower case (a sentence wrapped after "interventions to support breastfeeding" goes on "increase the
    duration ..."); a one-word heading needs five letters ("Costs"; not a grade letter or "High"). From a heading of
    boilerplate ("Grade Definitions", "Levels of Certainty") to the end of the field is one piece: its grade letters
    and levels are definitions, not recommendations."""
    lines = text.splitlines()
    parts: list[tuple[str, list[str]]] = [(title, [])]
    for number, line in enumerate(lines):
        stripped = line.strip()
        following = next((later.strip() for later in lines[number + 1:] if later.strip()), "")
        if _is_heading(stripped) and following and not following[0].islower() and \
                not _BOILERPLATE.search(parts[-1][0]):
            parts.append((f"{title}: {stripped}", []))
        else:
            parts[-1][1].append(line)
    return [(heading, "\n".join(body)) for heading, body in parts if "".join(body).strip()]


def _is_heading(line: str) -> bool:
    words = line.split()
    return (0 < len(words) <= _HEADING_WORDS and line[0].isupper() and line[-1] not in ".!?:;,)" and
            not BULLET.match(line) and (len(words) > 1 or len(line) >= 5))


def _record_source(source: str, doc_id: str) -> str:
    """``file#id`` from ``file:line`` (the line number changes when a file is edited; the id does not)."""
    return f"{source.rsplit(':', 1)[0]}#{doc_id}"


def load_jsonl(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """Generic JSONL documents (see the module docstring), a bad line as an :class:`InputError` item."""
    return read_records(path, raw, options, generic_record)


def load_scifact(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """SciFact's corpus.jsonl: one study per line."""
    return read_records(path, raw, options, scifact_record)


def load_ngc(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """Guideline-summary (NGC) JSONL: one guideline per line."""
    return read_records(path, raw, options, ngc_record)
