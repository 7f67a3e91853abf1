"""Markdown with YAML front matter (the corpus format, see corpus/README.md); '##' headings start sections."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from rag.errors import InputError
from rag.loaders.base import LoadItem, LoadOptions, build_meta, decode_text, require_text, slug
from rag.models import Document

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
#: '# Title' and '## Heading' lines; the title is the text after the blanks, closing '#'s and blanks removed in code
#: (:func:`_title`): a lazy title followed by ``[ \t#]*$`` retried every length of a long line (quadratic).
_H1 = re.compile(r"^#[ \t]+([^\n]+)$", re.M)
_H2 = re.compile(r"^##[ \t]+([^\n]+)$", re.M)
LEAD_SECTION = "Summary"
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's scanner when PyYAML has it: the pure-Python one takes time quadratic in the nesting depth of flow
collections ('id: [[[[...' over a few thousand levels runs for seconds); libyaml's caps nesting at 1000 levels."""
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:", re.M)
_YAML_VALUE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)
"""What PyYAML's constructors raise, instead of a YAMLError, on values such as an impossible date (2020-13-45),
``!!int abc``, ``!!bool maybe``, ``!!timestamp nope`` or an integer longer than Python converts (4300 digits)."""


def split_front_matter(source: str, text: str) -> tuple[dict[str, object] | None, str]:
    """The parsed front matter (None when the file has none) and the body after it."""
    if not text.startswith("---"):
        return None, text
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise InputError(source, "front matter starts with '---' but has no closing '---' line")
    try:
        fields = yaml.load(match.group(1), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise InputError(source, f"front matter is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except RecursionError:
        raise InputError(source, "front matter is not valid YAML here: lists or mappings nested too deeply") from None
    except _YAML_VALUE_ERRORS as exc:
        raise InputError(source, f"front matter holds a value YAML cannot read ({type(exc).__name__}: "
                                 f"{str(exc)[:100]})") from None
    if not isinstance(fields, dict):
        raise InputError(source, "front matter must be a mapping of 'field: value' lines")
    _check_unique_fields(source, match.group(1))
    return {str(k): v for k, v in fields.items()}, text[match.end() :]


def _check_unique_fields(source: str, front: str) -> None:
    """YAML keeps the last of two equal keys and says nothing: a field written twice (a pasted block) is refused,
    so that neither copy is silently lost."""
    seen: dict[str, int] = {}
    for match in _TOP_LEVEL_KEY.finditer(front):
        line = front.count("\n", 0, match.start()) + 2  # the opening '---' is line 1
        name = match.group(1)
        if name in seen:
            raise InputError(source, f"front matter repeats the field '{name}' (lines {seen[name]} and {line})")
        seen[name] = line


def markdown_sections(body: str) -> list[tuple[str, str]]:
    """``(heading, text)`` pairs split at '##' headings; a leading '# Title' line is not part of any section."""
    body = _H1.sub("", body, count=1) if _H1.match(body.lstrip("\n")) else body
    parts: list[tuple[str, str]] = []
    headings = list(_H2.finditer(body))
    lead = body[: headings[0].start()] if headings else body
    parts.append((LEAD_SECTION, lead))
    ends = [h.start() for h in headings[1:]] + [len(body)] if headings else []
    for heading, end in zip(headings, ends, strict=True):
        parts.append((_title(heading), body[heading.end() : end]))
    return parts


def _title(heading: re.Match[str]) -> str:
    """A heading's title without closing '#'s and blanks (its first character when it has nothing else)."""
    text = heading.group(1)
    return text.rstrip(" \t#") or text[0]


def load_markdown(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """One document per file. Without front matter the id comes from the file name and the title from '# ...'."""
    source = str(path)
    text = decode_text(path, raw)
    fields, body = split_front_matter(source, text)
    if fields is None:
        title = _H1.search(body)
        fields = {"id": slug(path.stem), "title": _title(title) if title else path.stem}
    meta = build_meta(source, fields, options)
    yield require_text(source, Document.from_sections(meta, markdown_sections(body), source))


def load_text(path: Path, raw: bytes, options: LoadOptions) -> Iterator[LoadItem]:
    """Plain text: one section; the id is the file name, the title its first line when that line is short."""
    source = str(path)
    text = decode_text(path, raw).strip()
    first_line = text.split("\n", 1)[0].strip()
    title = first_line if 0 < len(first_line) <= 200 else path.stem
    meta = build_meta(source, {"id": slug(path.stem), "title": title}, options)
    yield require_text(source, Document.from_sections(meta, [("Text", text)], source))
