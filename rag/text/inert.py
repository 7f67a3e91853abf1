"""Markdown that stays text: what leaves the server as Markdown carries model text, quotes and document fields, so
nothing in it may become an image, raw HTML or a link when a client renders it.

A backslash escape is put before the few characters that start those constructs in CommonMark and GFM, and only
there: ``<`` before a letter, ``/``, ``!`` or ``?`` (raw HTML, autolinks, comments), ``!`` before ``[`` (images),
and ``(`` or ``:`` right after ``]`` (inline links, link definitions; without a definition, ``[a][b]`` and ``[a]``
stay text, so citations such as ``[1][2]`` are left alone). Backslashes already in the text are doubled, so no text
can cancel an escape. Headings, emphasis, lists, ``[n]`` citations and ``p < 0.05`` render as before; a URL stays
visible text (GFM makes plain http(s) URLs links; nothing else is one).
"""

from __future__ import annotations

import re

#: One character each, so the pass is linear; the lookbehind reads the raw text (an escaped "]" still counts).
_UNSAFE = re.compile(r"\\|<(?=[A-Za-z/!?])|!(?=\[)|(?<=\])[(:]")
#: Characters whose meaning depends on the character after them; a stream holds them back until it comes.
_NEEDS_NEXT = ("<", "!")
_WEB_URL = re.compile(r"https?://[^\s<>\"'`\\]+")


def inert_markdown(text: str) -> str:
    """``text`` with every image, raw HTML and link construct escaped (see the module docstring)."""
    return _escape(text, 0)


def plain_url(url: str | None) -> str | None:
    """A URL to show as text: http(s) only and without characters that could end or break it; else None."""
    if not url:
        return None
    match = _WEB_URL.fullmatch(url.strip())
    return match.group(0) if match else None


class InertStream:
    """:func:`inert_markdown` over text that arrives in pieces (streamed deltas): a construct split between two
    pieces is escaped as in the whole text. ``feed`` each piece, then ``flush`` once at the end."""

    def __init__(self) -> None:
        self._previous = ""
        self._pending = ""

    def feed(self, piece: str) -> str:
        """The escaped text that can be sent now (a trailing run of ``<`` and ``!`` waits for the next piece)."""
        text = self._pending + piece
        # the whole trailing run waits: in "<!" the "<" depends on the "!", which depends on what follows it
        held = len(text) - len(text.rstrip("".join(_NEEDS_NEXT)))
        ready, self._pending = text[: len(text) - held], text[len(text) - held:]
        escaped = _escape(self._previous + ready, len(self._previous))
        if ready:
            self._previous = ready[-1]
        return escaped

    def flush(self) -> str:
        """What was held back, escaped as the end of the text."""
        escaped = _escape(self._previous + self._pending, len(self._previous))
        if self._pending:
            self._previous = self._pending[-1]
        self._pending = ""
        return escaped


def _escape(text: str, start: int) -> str:
    """``text[start:]`` escaped; ``text[:start]`` (the character before it) is only read, for the lookbehind."""
    out: list[str] = []
    last = start
    for match in _UNSAFE.finditer(text, start):
        out += [text[last:match.start()], "\\", match.group(0)]
        last = match.end()
    out.append(text[last:])
    return "".join(out)
