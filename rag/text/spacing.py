"""Whitespace of ingested text, made plain: blanks at line ends removed, runs of blanks and of blank lines collapsed.

Stored passages then hold no long run of whitespace, the input on which backtracking patterns are slowest, and
every span stays an exact slice of the stored text (the text is changed before it is stored).
"""

from __future__ import annotations

import re

#: Blanks (whitespace other than a line break) that end a line; a run is taken from its start and whole, so a long
#: run not followed by a line break is read once, not once from each of its characters.
_TRAILING_BLANKS = re.compile(r"(?<![^\S\n])[^\S\n]++(?=\n|\Z)")
_BLANK_RUN = re.compile(r"[^\S\n]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


def collapse_whitespace(text: str) -> str:
    """``text`` with Windows and old Mac line breaks as ``\\n``, no blanks at line ends, runs of blanks as one space
    and at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _TRAILING_BLANKS.sub("", text)
    return _BLANK_LINES.sub("\n\n", _BLANK_RUN.sub(" ", text))
