"""Small helpers for the XML loaders: safe parsing with a clear error, and whitespace-normalised element text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from rag.errors import InputError

_SPACE = re.compile(r"[ \t\r\f\v]+")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def parse_xml(path: Path, raw: bytes) -> ET.Element:
    """The root element; malformed XML names the line and column. External entities are never fetched."""
    if not raw.strip():
        raise InputError(str(path), "the file is empty")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(str(path), f"invalid XML at line {line}, column {column}: {exc.msg}") from None


def text_of(element: ET.Element | None) -> str:
    """All text inside an element (inline markup such as <i> flattened), spaces collapsed."""
    if element is None:
        return ""
    joined = "".join(element.itertext())
    lines = (_SPACE.sub(" ", line).strip() for line in joined.split("\n"))
    return " ".join(line for line in lines if line)


def first_year(text: str) -> int | None:
    """The first plausible year in a date string such as '1998 Dec-1999 Jan'."""
    match = _YEAR.search(text)
    return int(match.group(1)) if match else None
