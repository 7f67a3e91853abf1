"""Cue patterns with trigger words: a pattern is only run on lowercased text that contains one of its triggers.

Python's regex engine tries every alternative at every position, so a pattern of many phrases costs ~100 us on one
sentence; a set intersection of the sentence's words with the triggers costs ~1 us and rules most patterns out.
Every pattern here is matched against lowercased text, is linear-time (no nested quantifiers over the same
characters) and only matches where one of its trigger words occurs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[a-z0-9]+")


def words_of(lowered: str) -> frozenset[str]:
    """The alphanumeric runs of a lowercased text ("didn't" gives "didn" and "t")."""
    return frozenset(_TOKEN.findall(lowered))


@dataclass(frozen=True, slots=True)
class Cue:
    """A compiled pattern and the words one of which must occur for it to match."""

    pattern: re.Pattern[str]
    triggers: frozenset[str]

    def possible(self, words: frozenset[str]) -> bool:
        """Whether the pattern can match text holding ``words`` (one of its trigger words is there)."""
        return not self.triggers.isdisjoint(words)

    def findall(self, lowered: str, words: frozenset[str]) -> list[re.Match[str]]:
        """The matches in ``lowered`` (whose words are ``words``); none without running it when no trigger."""
        return list(self.pattern.finditer(lowered)) if self.possible(words) else []

    def search(self, lowered: str, words: frozenset[str]) -> re.Match[str] | None:
        """The first match in ``lowered``; None without running the pattern when no trigger word is there."""
        return self.pattern.search(lowered) if self.possible(words) else None


def cue(pattern: str, triggers: str) -> Cue:
    """A cue from a pattern for lowercased text and its space-separated trigger words."""
    return Cue(re.compile(pattern), frozenset(triggers.split()))


def word_cue(words: str, prefix: str = r"\b", suffix: str = r"\b") -> Cue:
    """A cue matching any of some space-separated words or phrases (underscores stand for spaces); each word's
    first token is its trigger."""
    phrases = [word.replace("_", " ") for word in words.split()]
    alternation = "|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True))
    triggers = " ".join(_TOKEN.findall(phrase)[0] for phrase in phrases)
    return cue(f"{prefix}(?:{alternation}){suffix}", triggers)
