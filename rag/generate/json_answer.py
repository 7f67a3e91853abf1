"""The answer as JSON: the schema a server enforces through ``response_format``, and the reading of what comes back
(whole, cut off at the token limit, wrapped in a code fence, or still streaming) into the Markdown answer contract
that the parser reads. Each item ``{"sentence", "sources"}`` becomes one sentence ending with its [n] markers.

Minimum item counts matter: a small model given a schema without them returns empty arrays (measured with a 1.5B
model). Strings have no ``maxLength``: llama.cpp turns one into that many nested optional rules, and a length of
1,200 made its grammar fail to parse and the server crash; long sentences are cut when read instead. A section
without evidence is one item holding the "no evidence" statement and no sources.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from rag.contract import LIMITATIONS_TITLE, SECTION_KINDS, SECTION_TITLES, SectionKind, cite

MAX_ITEMS: dict[SectionKind, int] = {"guidelines": 6, "research": 8}
_MAX_SENTENCE_CHARS = 1200
_MAX_DEPTH = 8  # an answer nests 4 deep; deeper input is not an answer (and would make recovery slow)


def answer_schema() -> dict[str, Any]:
    """The JSON schema of an answer: one list of cited sentences per section, and the limitations."""
    def items(maximum: int) -> dict[str, Any]:
        return {
            "type": "array", "minItems": 1, "maxItems": maximum,
            "items": {
                "type": "object", "additionalProperties": False, "required": ["sentence", "sources"],
                "properties": {
                    "sentence": {"type": "string", "minLength": 1},
                    "sources": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 6},
                },
            },
        }

    return {
        "type": "object", "additionalProperties": False, "required": ["guidelines", "research", "limitations"],
        "properties": {
            "guidelines": items(MAX_ITEMS["guidelines"]),
            "research": items(MAX_ITEMS["research"]),
            "limitations": {"type": "string"},
        },
    }


SchemaStyle = Literal["json_schema", "json_object"]
SCHEMA_STYLES: tuple[SchemaStyle, ...] = ("json_schema", "json_object")


def response_format(style: SchemaStyle = "json_schema") -> dict[str, Any]:
    """The ``response_format`` of an OpenAI-compatible chat request that enforces :func:`answer_schema`:
    ``json_schema`` as OpenAI, vLLM, Ollama and llama.cpp's server take it; ``json_object`` with a ``schema``, as
    llama-cpp-python's server takes it (it refuses ``json_schema``)."""
    if style == "json_object":
        return {"type": "json_object", "schema": answer_schema()}
    return {"type": "json_schema", "json_schema": {"name": "cited_answer", "strict": True, "schema": answer_schema()}}


def read_answer(text: str) -> dict[str, Any] | None:
    """The answer object in a model's JSON output: the whole object when it parses, else every complete item before
    the text breaks off (a completion cut at the token limit). None when there is no JSON answer at all."""
    start = _object_start(text)
    if start < 0:
        return None
    body = text[start:]
    try:
        data = json.loads(body)
    except ValueError:
        data = _longest_valid_prefix(body)
    if not isinstance(data, dict) or not any(isinstance(data.get(k), list) for k in SECTION_KINDS):
        return None
    return data


def cited_items(data: dict[str, Any], kind: SectionKind) -> list[str]:
    """The items of one section, each as its sentence ending with its [n] markers (empty items left out)."""
    return [s for item in _items(data.get(kind)) if (s := _sentence(item))]


def to_markdown(data: dict[str, Any]) -> str:
    """The answer object in the Markdown contract: section headings, each item a sentence with its [n] markers."""
    parts: list[str] = []
    for kind in SECTION_KINDS:
        sentences = cited_items(data, kind)
        parts.append(f"## {SECTION_TITLES[kind]}\n" + " ".join(sentences))
    limitations = data.get("limitations")
    if isinstance(limitations, str) and limitations.strip():
        parts.append(f"## {LIMITATIONS_TITLE}\n{limitations.strip()}")
    return "\n\n".join(parts) + "\n"


class JsonAnswerView:
    """Turns a streamed JSON answer into readable Markdown as it arrives: ``feed`` a piece of the model's output,
    get the text of the sentences (and headings) completed since the last piece."""

    def __init__(self) -> None:
        self._raw: list[str] = []
        self._shown = ""

    def feed(self, piece: str) -> str:
        """The readable text that ``piece`` completed (often empty: an item shows once it is whole)."""
        self._raw.append(piece)
        text = "".join(self._raw)
        data = read_answer(text)
        if data is None:
            return ""
        rendered = _streamed_markdown(data)
        if not rendered.startswith(self._shown):  # a repaired prefix changed; never take back what was shown
            return ""
        delta, self._shown = rendered[len(self._shown):], rendered
        return delta


def _streamed_markdown(data: dict[str, Any]) -> str:
    """Like :func:`to_markdown` but only for sections begun so far (the limitations only once whole)."""
    parts: list[str] = []
    for kind in SECTION_KINDS:
        if kind not in data:
            break
        parts.append(f"## {SECTION_TITLES[kind]}\n" + "".join(f"{s} " for s in cited_items(data, kind)))
    return "\n\n".join(parts)


def _items(value: object) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _sentence(item: dict[str, Any]) -> str:
    sentence = item.get("sentence")
    if not isinstance(sentence, str) or not sentence.strip():
        return ""
    text = " ".join(sentence.split())[:_MAX_SENTENCE_CHARS]
    if text[-1:] not in ".!?":
        text += "."
    raw_sources = item.get("sources")
    numbers = [n for n in raw_sources if isinstance(n, int) and not isinstance(n, bool) and 0 < n < 10**6] \
        if isinstance(raw_sources, list) else []
    return cite(text, list(dict.fromkeys(numbers)))


def _object_start(text: str) -> int:
    """Where the JSON object starts: models wrap it in a code fence or put a word before it."""
    stripped = text.lstrip()
    if stripped.startswith("```"):
        newline = stripped.find("\n")
        stripped = stripped[newline + 1:] if newline >= 0 else ""
    index = stripped.find("{")
    if index < 0 or stripped[:index].strip() not in ("", "json", "JSON"):
        return -1
    return len(text) - len(stripped) + index


def _longest_valid_prefix(text: str) -> Any:
    """The value of the longest prefix of ``text`` that ends after a whole item (or section, or the limitations),
    closed with the brackets still open there: an item cut off is dropped, never shown half-written. One pass."""
    best: tuple[int, str] | None = None
    stack: list[str] = []
    expecting_key: list[bool] = []
    in_string = escaped = string_is_key = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                if not string_is_key and len(stack) == 1:  # a whole top-level string (the limitations)
                    best = (index + 1, _closers(stack))
            continue
        if char == '"':
            in_string = True
            string_is_key = bool(stack) and stack[-1] == "{" and expecting_key[-1]
        elif char in "{[":
            if len(stack) >= _MAX_DEPTH:
                break
            stack.append(char)
            expecting_key.append(char == "{")
            if len(stack) <= 2:
                best = (index + 1, _closers(stack))
        elif char in "}]":
            if not stack or (char == "}") != (stack[-1] == "{"):
                break
            stack.pop()
            expecting_key.pop()
            if len(stack) <= 2:
                best = (index + 1, _closers(stack))
            if not stack:
                break
        elif char == ":" and stack and stack[-1] == "{":
            expecting_key[-1] = False
        elif char == "," and stack and stack[-1] == "{":
            expecting_key[-1] = True
    if best is None:
        return None
    end, closers = best
    try:
        return json.loads(text[:end] + closers)
    except ValueError:
        return None


def _closers(stack: list[str]) -> str:
    return "".join("}" if opener == "{" else "]" for opener in reversed(stack))
