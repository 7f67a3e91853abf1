"""A model that starts repeating itself is stopped: small models fall into loops ("four sentences three times",
minutes of generation) that no token limit short of the whole answer's catches.

:class:`RepetitionGuard` reads the answer's readable text as it streams (Markdown with [n] markers) and says when
the model has written ``run`` substantive sentences in a row that it had already written (the same words, whatever
their citations). The answer is then what came before that run: the stream is closed, so the endpoint is asked for
no more tokens. A single repeated sentence followed by new ones is not a loop and is left to grounding."""

from __future__ import annotations

import re

from rag.contract import strip_citations
from rag.text.sentences import sentence_spans

REPEATED = ("The model began repeating itself; it was stopped there, and the answer is what it wrote before the "
            "repeats.")
#: Consecutive repeated sentences that make a loop (one sentence written three times is a run of two repeats).
RUN = 2
#: Shorter sentences (headings, "No.") are neither repeats nor new: sections legitimately share them.
MIN_WORDS = 4
_WORD = re.compile(r"[^\W_]+")
_BOUNDARY = frozenset(".!?\n")


class RepetitionGuard:
    """Feed the readable text piece by piece; :meth:`feed` returns True once the model is looping, and
    :attr:`kept` is then the text before the loop began."""

    def __init__(self, run: int = RUN, min_words: int = MIN_WORDS) -> None:
        self._run, self._min_words = run, min_words
        self._text = ""
        self._checked = 0  # where the sentence not yet known to be complete begins
        self._seen: set[str] = set()
        self._repeats = 0
        self._run_start: int | None = None
        self.stopped = False

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return self._text

    @property
    def kept(self) -> str:
        """The text before the repeated run (all of it while the model is not looping)."""
        if not self.stopped or self._run_start is None:
            return self._text
        return self._text[: self._run_start].rstrip()

    def feed(self, piece: str) -> bool:
        """Adds ``piece``; True once the model is looping (and from then on)."""
        if self.stopped or not piece:
            return self.stopped
        self._text += piece
        if _BOUNDARY.isdisjoint(piece):
            return False
        spans = sentence_spans(self._text, self._checked)
        for start, end in spans[:-1]:  # the last may still be growing
            if self._check(start, self._text[start:end]):
                self.stopped = True
                return True
        if spans:
            self._checked = spans[-1][0]
        return False

    def finish(self) -> bool:
        """Checks the last sentence once the text is whole."""
        spans = sentence_spans(self._text, self._checked) if not self.stopped else []
        for start, end in spans:
            if self._check(start, self._text[start:end]):
                self.stopped = True
                break
        return self.stopped

    def _check(self, start: int, sentence: str) -> bool:
        words = _WORD.findall(strip_citations(sentence).lower())
        if len(words) < self._min_words:
            return False
        key = " ".join(words)
        if key not in self._seen:
            self._seen.add(key)
            self._repeats, self._run_start = 0, None
            return False
        if self._run_start is None:
            self._run_start = start
        self._repeats += 1
        return self._repeats >= self._run


def without_repeats(text: str) -> str | None:
    """``text`` cut where it starts looping, or None when it does not loop (a whole, non-streamed answer)."""
    guard = RepetitionGuard()
    if guard.feed(text) or guard.finish():
        return guard.kept
    return None
