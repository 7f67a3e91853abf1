"""Consensus of the cited publications on a yes/no question, and the publications that disagree.

The label counts only publications with a decided direction: "yes" when at least two thirds of them support the
question, "no" when at most one third do, "maybe" in between or when none is decided.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from rag.appraisal.models import Consensus, ConsensusLabel, Direction, Disagreement

_YES_SHARE = 2 / 3
_NO_SHARE = 1 / 3
_PHRASES: dict[Direction, str] = {
    "supports": "found what the question asks about",
    "no_difference": "found no difference",
    "against": "found the opposite",
    "unclear": "stated no finding read as for or against",
}
""""unclear" says what the reading found, not that a publication is off the question: a source that answers "Does
the FDA ask for an IND number?" states a fact, not an effect (a reader took "was unclear or not about the question"
for a claim that it did not answer)."""


_OUTSIDE = "gave advice for a population the question's patient is outside"
"""What the line says of a publication whose quoted advice excludes the patient (rag.appraisal.applicability) and
that gave no direction otherwise: "no finding read as for or against" would hide why."""


def consensus(directions: Sequence[Direction], noun: tuple[str, str] = ("study", "studies"),
              outside: Sequence[bool] = ()) -> Consensus:
    """Counts of publications by direction, the yes/no/maybe they add up to, and a line a person reads:
    "2 of 3 studies found what the question asks about; 1 found no difference". ``outside``, one per direction:
    whether that publication's quoted advice is for a population the question's patient is outside; such a one with
    no direction is counted as unclear and named as outside in the line."""
    counts = Counter(directions)
    decided = counts["supports"] + counts["no_difference"] + counts["against"]
    excluded = list(outside) or [False] * len(directions)
    phrased: Counter[str] = Counter(_OUTSIDE if direction == "unclear" and out else _PHRASES[direction]
                                    for direction, out in zip(directions, excluded, strict=True))
    return Consensus(
        supports=counts["supports"], no_difference=counts["no_difference"], against=counts["against"],
        unclear=counts["unclear"], label=_label(counts["supports"], decided), summary=_summary(phrased, noun),
    )


def _label(supports: int, decided: int) -> ConsensusLabel:
    if decided == 0:
        return "maybe"
    share = supports / decided
    return "yes" if share >= _YES_SHARE else "no" if share <= _NO_SHARE else "maybe"


def _summary(counts: Counter[str], noun: tuple[str, str]) -> str:
    total = sum(counts.values())
    if total == 0:
        return f"No {noun[1]} cited."
    present = [(phrase, counts[phrase]) for phrase in (*_PHRASES.values(), _OUTSIDE) if counts[phrase]]
    if total == 1:
        return f"The one {noun[0]} {present[0][0]}."
    (first, first_count), rest = present[0], present[1:]
    parts = [f"{first_count} of {total} {noun[1]} {first}"]
    parts.extend(f"{count} {phrase}" for phrase, count in rest)
    return "; ".join(parts) + "."


def disagreements(directions: Mapping[int, Direction]) -> list[Disagreement]:
    """Groups of references whose findings conflict: those that support the question against those that found no
    difference, and against those that found the opposite. ``directions`` maps reference numbers to directions."""
    supports = sorted(ref for ref, direction in directions.items() if direction == "supports")
    if not supports:
        return []
    found = []
    for other, phrase in (("no_difference", "found no difference"), ("against", "found the opposite")):
        conflicting = sorted(ref for ref, direction in directions.items() if direction == other)
        if conflicting:
            about = f"{_refs(supports)} found what the question asks about; {_refs(conflicting)} {phrase}"
            found.append(Disagreement(refs=tuple(supports + conflicting), about=about))
    return found


def _refs(refs: Sequence[int]) -> str:
    return ", ".join(f"[{ref}]" for ref in refs)
