"""Small helpers for the XML loaders: safe parsing with a clear error, and whitespace-normalised element text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from rag.errors import InputError

_SPACE = re.compile(r"[ \t\r\f\v]+")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def parse_xml(path: Path, raw: bytes) -> ET.Element:
    """The root element; malformed XML names the line and column. External entities are never fetched, and a
    document declaring entities is refused (as defusedxml does): PubMed and JATS files never need them, and their
    expansion is how billion-laughs and quadratic blow-up attacks exhaust memory."""
    if not raw.strip():
        raise InputError(str(path), "the file is empty")
    try:
        _refuse_entity_declarations(path, raw)
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(str(path), f"invalid XML at line {line}, column {column}: {exc.msg}") from None
    except (LookupError, ValueError) as exc:  # an encoding Python does not know, or expat cannot read
        raise InputError(str(path), f"the XML declares an encoding that cannot be read ({exc})") from None


class _RootReached(Exception):
    """The prolog, where the DTD and its entity declarations must be, is over."""


def _refuse_entity_declarations(path: Path, raw: bytes) -> None:
    """Read the prolog with expat (in any encoding the file declares) and refuse any ENTITY declaration.

    Stops at the root element, so the cost does not depend on the size of the document. Syntax errors are left
    for the real parse to report with their position.
    """
    def refuse(name: str, *_: object) -> None:
        raise InputError(str(path), f"the XML declares the entity '{name}'; entity declarations are refused "
                                    "(they are not needed for PubMed or JATS and can expand without bound)")

    def stop(*_: object) -> None:
        raise _RootReached

    parser = expat.ParserCreate()
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.StartElementHandler = stop
    try:
        parser.Parse(raw, True)
    except (_RootReached, expat.ExpatError):
        return


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
