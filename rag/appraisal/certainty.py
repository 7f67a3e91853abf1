"""Section certainty, GRADE-inspired (not a formal GRADE rating): the strongest cited design sets the start, and
each serious concern found - imprecision, inconsistency, indirectness - lowers it one level.

Start: systematic reviews, meta-analyses and randomised trials "high"; non-randomised trials and observational
studies "low"; case series, case reports, narrative reviews and studies of unknown design "very low"; a record whose
evidence level is weaker than its design's (a systematic review of case reports, level 4) starts at its level's.
Concerns: every cited record leaves the risk of bias unknown (allocation and blinding not described, or written
from a news or company summary; "no serious concern" is never said when a cited record cannot show one, or when
its notes say it leaves out some of the study's data, or when a cited passage states its authors' own caution,
"confounding" or a named bias: the line says "not downgraded, but" and why); fewer than
``small_sample`` participants in total where reported, or no primary study reporting its size
(imprecision); for a yes/no question, some cited publications support it and others found no difference or the
opposite (inconsistency: "supports" has no meaning for an open question); the cited passages miss most of the
question's topic words, or no passage names both sides of a comparison the question asks about (indirectness). For
a comparison question the reason counts the cited publications that name both sides ("one of them head to head"),
and when only some do (``passages`` given one per publication), those set the start: a randomised trial of another
comparison says nothing about this one, so it cannot lift a lone head-to-head cohort study to "high".
Guideline sections get no certainty: a guideline's own grading (strength, level of evidence) is reported per
reference, and restating it on our scale would invent precision.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rag.appraisal.models import CERTAINTY_LEVELS, AppraisalOptions, Certainty, SourceAppraisal
from rag.appraisal.question import QuestionFrame, frame_question, is_yes_no_question
from rag.evidence import LEVEL_BY_DESIGN
from rag.models import StudyDesign
from rag.text.terms import content_terms

_START: dict[str, int] = {
    "systematic-review": 0, "meta-analysis": 0, "rct": 0,
    "non-randomized-trial": 2, "cohort": 2, "case-control": 2, "cross-sectional": 2,
}
_UNKNOWN_START = 3
_REVIEWS = frozenset({"systematic-review", "meta-analysis"})
_NAMES: dict[str, tuple[str, str]] = {
    "systematic-review": ("systematic review", "systematic reviews"),
    "meta-analysis": ("meta-analysis", "meta-analyses"),
    "rct": ("randomised trial", "randomised trials"),
    "non-randomized-trial": ("non-randomised trial", "non-randomised trials"),
    "cohort": ("cohort study", "cohort studies"),
    "case-control": ("case-control study", "case-control studies"),
    "cross-sectional": ("cross-sectional study", "cross-sectional studies"),
    "case-series": ("case series", "case series"),
    "case-report": ("case report", "case reports"),
    "narrative-review": ("narrative review", "narrative reviews"),
    "other": ("other study", "other studies"),
}
_UNKNOWN_NAME = ("study of unstated design", "studies of unstated design")
_CAUTION = re.compile(r"\b(?:confound\w*|(?:channel+ing|selection|residual|recall|publication) bias|"
                      r"interpret\w* (?:\w+ )?with caution|confirmation is needed|cannot (?:establish|prove|show) "
                      r"caus\w*|may not generali[sz]e)\b", re.IGNORECASE)
"""A study's own caution on reading its findings: confounding, a named bias, the need for confirmation, limits on
whom they apply to. Quoted findings of an observational study read as effects without it (a reading found "SSRIs had
the highest adjusted hazard ratios for falls" quoted without "open to confounding by indication"), and a certainty
line saying "no serious concern found" beside it reads as if the authors had none."""
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_MIN_COVERAGE = 0.5


def research_certainty(
    appraisals: Sequence[SourceAppraisal], question: str, passages: Sequence[str],
    options: AppraisalOptions | None = None, direct: Sequence[bool] | None = None,
) -> Certainty | None:
    """Certainty of a research section from its cited publications' appraisals and the cited passages' text;
    None when nothing (or only retracted work) is cited. ``direct``: per cited publication, whether it clearly
    addresses the question by meaning (rag.meaning); given, it decides indirectness instead of the question's words
    found in the passages."""
    options = options or AppraisalOptions()
    frame = frame_question(question)
    cited = [appraisal for appraisal in appraisals if "retracted" not in appraisal.flags]
    if not cited:
        return None
    head_to_head = _head_to_head(frame, appraisals, passages)
    rated = head_to_head if head_to_head and len(head_to_head) < len(cited) else cited
    start = min(_start(appraisal) for appraisal in rated)
    concerns = [concern for concern in (
        _risk_of_bias(cited),
        _imprecision(cited, options.small_sample),
        _inconsistency(cited) if is_yes_no_question(question) else None,
        _indirectness(frame, passages, direct),
    ) if concern]
    level = CERTAINTY_LEVELS[min(start + len(concerns), len(CERTAINTY_LEVELS) - 1)]
    caution = _caution(passages, cited)
    if concerns:
        detail = "; ".join([*concerns, *([caution] if caution else [])])
    else:
        detail = _unjudged(cited, caution) or "no serious concern found"
    compared = _direct_comparisons(frame, passages) + _recorded_level(rated, start)
    if rated is not cited:
        compared += ", which set the rating" if len(rated) > 1 else ", which sets the rating"
    return Certainty(level=level, reason=f"{level.capitalize()}: {describe(cited)}{compared}; {detail}.")


_START_BY_LEVEL: dict[int, int] = {1: 0, 2: 0, 3: 2, 4: 3, 5: 3}
"""The start an evidence level gives (our scale, 1 strongest): a record whose level is weaker than its design's usual
one (a systematic review that collected individual case reports is level 4, not 1) starts where its level does, as
GRADE rates a review by the studies it includes."""


def _design_start(appraisal: SourceAppraisal) -> int:
    return _START.get(appraisal.design or "", _UNKNOWN_START)


def _start(appraisal: SourceAppraisal) -> int:
    """Where a publication starts: its design's start, or its recorded evidence level's when that level is weaker
    than the design's usual one (a cross-sectional study at its usual level 4 still starts "low"); a review whose
    record says most of the studies it pooled were not randomised starts where they do ("low"), as GRADE rates a
    body of evidence by the studies in it."""
    by_design = _design_start(appraisal)
    if _mostly_non_randomised(appraisal):
        return max(by_design, _START["non-randomized-trial"])
    usual = LEVEL_BY_DESIGN.get(appraisal.design or "")
    if appraisal.level is None or usual is None or appraisal.level <= usual:
        return by_design
    return max(by_design, _START_BY_LEVEL.get(appraisal.level, by_design))


def _mostly_non_randomised(appraisal: SourceAppraisal) -> bool:
    share = appraisal.randomised_included
    return appraisal.design in _REVIEWS and share is not None and 2 * share[0] < share[1]


def _recorded_level(rated: Sequence[SourceAppraisal], start: int) -> str:
    """", rated by its recorded evidence level (4)" when the publications that set the start do so by a level weaker
    than their design's, which the reader could not otherwise tell from "one systematic review"; ", rated by the
    studies it pooled (4 of 14 randomised)" when a review of mostly non-randomised studies sets it."""
    setting = [a for a in rated if _start(a) == start]
    pooled = [a.randomised_included for a in setting if _mostly_non_randomised(a) and a.randomised_included]
    if pooled and len(pooled) == len(setting):
        shares = ", ".join(f"{m} of {n} randomised" for m, n in pooled)
        return f", rated by the studies {'it' if len(pooled) == 1 else 'they'} pooled ({shares})"
    if all(_design_start(a) < start for a in setting):
        levels = sorted({a.level for a in setting if a.level is not None})
        return f", rated by its recorded evidence level ({', '.join(map(str, levels))})" if levels else ""
    return ""


def describe(appraisals: Sequence[SourceAppraisal]) -> str:
    """'one randomised trial of 20 participants', '2 cohort studies and one case report (340 participants where
    reported)': the cited designs, strongest first, and the participants they report. A review's pooled participants
    are never added to its trials' (our records do not say which trials it pooled, so they may be the same people)."""
    counts = Counter(appraisal.design for appraisal in appraisals)
    order = sorted(counts, key=_strength_rank)
    parts = [_count_of(counts[design], _NAMES.get(design or "", _UNKNOWN_NAME)) for design in order]
    text = _join(parts)
    primary = [appraisal for appraisal in appraisals if appraisal.design not in _REVIEWS]
    reviews = [appraisal for appraisal in appraisals if appraisal.design in _REVIEWS]
    sizes = [appraisal.sample_size for appraisal in primary if appraisal.sample_size is not None]
    pooled = [appraisal.sample_size for appraisal in reviews if appraisal.sample_size is not None]
    if len(appraisals) == 1 and (sizes or pooled):
        return f"{text} of {(sizes or pooled)[0]} participants"
    if not pooled:
        return f"{text} ({sum(sizes)} participants{_where(sizes, primary)})" if sizes else text
    joined = _join([str(n) for n in pooled])
    if not primary:
        return f"{text} (pooling {joined} participants, who may overlap)" if len(pooled) > 1 else \
            f"{text} (pooling {joined} participants)"
    review_word = "review" if len(reviews) == 1 else "reviews"
    trials = f"{sum(sizes)} participants in the primary studies{_where(sizes, primary)}; " if sizes else ""
    return f"{text} ({trials}the {review_word} pooled {joined}, possibly including them)"


def _where(sizes: Sequence[int], appraisals: Sequence[SourceAppraisal]) -> str:
    return "" if len(sizes) == len(appraisals) else " where reported"


def _strength_rank(design: StudyDesign | None) -> tuple[int, int, str]:
    """Strongest first: by GRADE start, then evidence level; unknown designs last."""
    if design is None:
        return (_UNKNOWN_START + 1, 9, "")
    return (_START.get(design, _UNKNOWN_START), LEVEL_BY_DESIGN.get(design, 6), design)


_UNCLEAR_RECORD = frozenset({"secondhand", "bias_unclear"})


def _risk_of_bias(appraisals: Sequence[SourceAppraisal]) -> str | None:
    """Every cited publication's record leaves its risk of bias unknown (allocation and blinding not described, or
    written from a news or company summary): serious, as GRADE treats unclear risk across the evidence."""
    if all(_UNCLEAR_RECORD & set(appraisal.flags) for appraisal in appraisals):
        return "downgraded for risk of bias (no cited record describes allocation and blinding, or the record " \
               "comes from a summary of the publication)"
    return None


def _unjudged(appraisals: Sequence[SourceAppraisal], caution: str | None = None) -> str | None:
    """Instead of "no serious concern found" when some cited records cannot show one (their risk of bias cannot be
    judged, or they leave out some of the study's data: the notes say what), or their authors caution on reading
    them (``caution``): the level was not lowered, and why that is not the whole story; "no serious concern" is never
    said of them."""
    unclear = sum(1 for appraisal in appraisals if _UNCLEAR_RECORD & set(appraisal.flags))
    incomplete = sum(1 for appraisal in appraisals if "data_missing" in appraisal.flags)
    buts = []
    if unclear:
        buts.append(f"the risk of bias of {_of_them(unclear, appraisals)} cannot be judged from our record")
    if incomplete:
        buts.append(f"our record of {_of_them(incomplete, appraisals)} leaves out some of its data")
    if caution:
        buts.append(caution)
    return "not downgraded, but " + " and ".join(buts) if buts else None


def _caution(passages: Sequence[str], appraisals: Sequence[SourceAppraisal]) -> str | None:
    """'its authors caution on reading its findings ("confounding")', 'the authors of two of them caution ...': when
    cited passages state their study's own caution (:func:`states_caution`), beside whatever the level says. Counted per
    publication when the passages are given one per publication, else as one."""
    words = [found for passage in passages if (found := states_caution(passage))]
    if not words:
        return None
    quoted = ", ".join(f'"{w}"' for w in dict.fromkeys(words))
    if len(appraisals) == 1:
        return f"its authors caution on reading its findings ({quoted})"
    who = _of_them(len(words), appraisals) if len(passages) == len(appraisals) else "some of them"
    return f"the authors of {who} caution on reading their findings ({quoted})"


def states_caution(text: str) -> str | None:
    """The words of a study's own caution on reading its findings ("confounding", "selection bias", "confirmation
    is needed") when ``text`` states one, else None."""
    found = _CAUTION.search(text)
    return found.group(0).lower() if found else None


def _of_them(count: int, appraisals: Sequence[SourceAppraisal]) -> str:
    """'it' of one cited publication, 'one of them', 'two of them'."""
    if len(appraisals) == 1:
        return "it"
    return f"{_NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else count} of them"


def _imprecision(appraisals: Sequence[SourceAppraisal], small_sample: int) -> str | None:
    primary = [appraisal for appraisal in appraisals if appraisal.design not in _REVIEWS]
    if len(primary) < len(appraisals):
        return None  # a systematic review or meta-analysis: its pooled size is not ours to count
    if all(appraisal.design == "narrative-review" for appraisal in primary):
        return None  # a narrative review has no participants to count; its design already rates it very low
    sizes = [appraisal.sample_size for appraisal in primary if appraisal.sample_size is not None]
    if not sizes:
        return "downgraded for imprecision (no participant count found in the cited records)"
    if sum(sizes) < small_sample:
        return f"downgraded for imprecision (fewer than {small_sample} participants in total)"
    return None


def _inconsistency(appraisals: Sequence[SourceAppraisal]) -> str | None:
    directions = Counter(appraisal.direction for appraisal in appraisals)
    others = directions["no_difference"] + directions["against"]
    if directions["supports"] and others:
        return f"downgraded for inconsistency ({directions['supports']} support it, {others} do not)"
    return None


def _indirectness(frame: QuestionFrame, passages: Sequence[str], direct: Sequence[bool] | None) -> str | None:
    terms = [content_terms(passage) for passage in passages]
    found = set().union(*terms) if terms else set()
    if direct is not None:
        if direct and not any(direct):
            return "downgraded for indirectness (no cited publication clearly addresses the question)"
    elif frame.topic and len(frame.topic & found) / len(frame.topic) < _MIN_COVERAGE:
        missing = ", ".join(sorted(frame.topic - found)[:4])
        return f"downgraded for indirectness (the cited passages do not mention {missing})"
    if frame.arms and frame.sides[0] and not any(frame.names_both_arms(passage) or frame.compares_a_side(passage)
                                                 for passage in passages):
        left, right = frame.sides
        return f"downgraded for indirectness (no cited passage compares {left} with {right} directly)"
    return None


def _head_to_head(frame: QuestionFrame, appraisals: Sequence[SourceAppraisal],
                  passages: Sequence[str]) -> list[SourceAppraisal]:
    """The cited publications (not retracted) whose passages name both sides of the question's comparison; none
    when the question compares nothing or the passages are not given one per publication."""
    if not frame.arms or len(passages) != len(appraisals):
        return []
    return [appraisal for appraisal, passage in zip(appraisals, passages, strict=True)
            if "retracted" not in appraisal.flags and frame.names_both_arms(passage)]


def _direct_comparisons(frame: QuestionFrame, passages: Sequence[str]) -> str:
    """For a comparison question, how many cited passages (one per publication when the caller joins them) name
    both sides of the comparison: ", one of them head to head" (", head to head" when only one is cited)."""
    if not frame.arms:
        return ""
    count = sum(1 for passage in passages if frame.names_both_arms(passage))
    if count == 0:
        return ""
    if len(passages) == 1:
        return ", head to head"  # "one trial, one of them head to head" reads as if there were more
    number = _NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else str(count)
    return f", {number} of them head to head"


def _count_of(count: int, names: tuple[str, str]) -> str:
    number = _NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else str(count)
    return f"{number} {names[0] if count == 1 else names[1]}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
