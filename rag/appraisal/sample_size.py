"""Sample size: the front matter's when stated, else the number of participants the text states, or unknown.

Precision comes first (a wrong n is worse than none). Counts come from :mod:`rag.appraisal.counts` (people only,
never eyes, lesions, procedures or samples); sentences about other work are skipped. Totals ("a total of",
"... were enrolled / randomised / included") outrank ``n = N``, which outranks plain counts ("66 patients"). Plain
counts are read only from sentences about this study (methods, participants, the title), not from results, where
they count outcomes. Within the best tier the counts must agree, or one must be the sum of the others (a total and
its arms), or, for plain counts, the first must be the largest (a sample, then its subgroups); otherwise unknown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.appraisal.counts import MAX_COUNT, Count, Tier, counts_in
from rag.appraisal.models import SampleSizeFinding
from rag.appraisal.passages import DEFAULT_BUDGET, Sentence, sentences_of
from rag.models import DocumentMeta, Section

_SEVERAL_SAMPLES = re.compile(r"\bsecond(?:ly)?, we\b|\bin (?:a|the) second (?:study|experiment|part|phase|cohort|"
                              r"sample)\b|\b(?:study|experiment) 2\b")
_TIERS: tuple[Tier, ...] = ("total", "n", "plain")


def sample_size_from_text(text: str, title: str | None = None, sections: tuple[Section, ...] = (),
                          budget: int = DEFAULT_BUDGET) -> SampleSizeFinding:
    """The number of participants the text states for its own study, with the sentence; unknown when unsure."""
    if _mentions_second_sample(text[:budget]):
        return SampleSizeFinding()  # "First, we studied 151 men... Second, we studied 20 men": no single sample
    sentences = list(sentences_of(text, sections, budget))
    if title:
        sentences.insert(0, Sentence.of(title, -1, "title"))
    found: list[tuple[Count, str]] = []
    for sentence in sentences:
        counts = counts_in(sentence.text, sentence.words)
        role = sentence.role if counts else "background"
        found.extend((count, sentence.text) for count in counts
                     if role != "background" and (count.tier != "plain" or role == "self"))
    for tier in _TIERS:
        in_tier = [(count, quote) for count, quote in found if count.tier == tier]
        if in_tier:
            value = _agreed_value([count.value for count, _ in in_tier], first_is_total=tier == "plain")
            if value is None:
                return SampleSizeFinding()
            quote = next(quote for count, quote in in_tier if count.value == value)
            return SampleSizeFinding(value=value, source="text", quote=quote)
    return SampleSizeFinding()


def _mentions_second_sample(text: str) -> bool:
    lowered = text.lower()
    return ("second" in lowered or " 2" in lowered) and bool(_SEVERAL_SAMPLES.search(lowered))


def _agreed_value(values: Sequence[int], first_is_total: bool = False) -> int | None:
    """The one value stated, or the largest when it is the sum of all the others (a total and its parts), or -
    for plain counts in methods sentences - the first when it is larger than every later one (a sample, then its
    subgroups)."""
    distinct = set(values)
    if len(distinct) == 1:
        return values[0]
    largest = max(distinct)
    parts = [value for value in values if value != largest]
    if sum(parts) == largest or (first_is_total and values[0] == largest and values.count(largest) == 1):
        return largest
    return None


def sample_size_of(meta: DocumentMeta, text: str, sections: tuple[Section, ...] = (),
                   budget: int = DEFAULT_BUDGET) -> SampleSizeFinding:
    """The front matter's sample size when it is a plausible count (1 to 10 million), else the text's."""
    if meta.sample_size is not None and 1 <= meta.sample_size <= MAX_COUNT:
        return SampleSizeFinding(value=meta.sample_size, source="metadata")
    return sample_size_from_text(text, meta.title, sections, budget)
