"""Adversarial input: every regex of the package is linear-time, the public functions stay fast on 1 MB, and an
answer's appraisal is cheap. The bounds are loose (a quadratic pattern takes minutes on 1 MB, not seconds)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Iterator
from datetime import date

import pytest

import rag.appraisal
from rag.appraisal import appraise_section, appraise_source, design_from_text, direction_of, sample_size_from_text
from rag.appraisal.cues import Cue
from rag.appraisal.question import frame_question, is_yes_no_question
from rag.appraisal.recommendation import recommendation_of
from rag.models import DocumentMeta

MB = 1_000_000
INPUTS = {"spaces": " " * MB, "digits": "7" * MB, "letters": "a" * MB}
SECONDS_PER_PATTERN = 5.0


def _patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    for info in pkgutil.iter_modules(rag.appraisal.__path__):
        module = importlib.import_module(f"rag.appraisal.{info.name}")
        for name, value in vars(module).items():
            yield from _collect(f"{info.name}.{name}", value, 0)


def _collect(name: str, value: object, depth: int) -> Iterator[tuple[str, re.Pattern[str]]]:
    if isinstance(value, re.Pattern):
        yield name, value
    elif isinstance(value, Cue):
        yield name, value.pattern
    elif isinstance(getattr(value, "pattern", None), Cue):
        yield name, value.pattern.pattern  # type: ignore[attr-defined]
    elif isinstance(value, tuple | list) and depth < 2:
        for index, item in enumerate(value):
            yield from _collect(f"{name}[{index}]", item, depth + 1)


PATTERNS = dict(_patterns())


def test_the_package_regexes_are_all_found() -> None:
    assert len(PATTERNS) > 60
    assert {"direction._NULL", "counts._COUNTS[0]", "design._CUES[0]", "passages._HEADING_LINE"} <= set(PATTERNS)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_regex_is_linear_on_one_megabyte(name: str) -> None:
    pattern = PATTERNS[name]
    for label, text in INPUTS.items():
        start = time.perf_counter()
        for _ in pattern.finditer(text):
            pass
        elapsed = time.perf_counter() - start
        assert elapsed < SECONDS_PER_PATTERN, f"{name} took {elapsed:.1f} s on 1 MB of {label}"


ADVERSARIAL = {**INPUTS, "words": "one patients were enrolled not significantly. " * (MB // 46), "initials": "A. " * (MB // 3)}


@pytest.mark.parametrize("label", sorted(ADVERSARIAL))
def test_public_functions_stay_fast_on_one_megabyte(label: str) -> None:
    text = ADVERSARIAL[label]
    meta = DocumentMeta(id="g", kind="guideline", title="t")
    start = time.perf_counter()
    design_from_text(text)
    sample_size_from_text(text)
    direction_of("Does X reduce Y?", [text])
    is_yes_no_question(text)
    frame_question(text)
    recommendation_of([text])
    appraise_source(meta, text, [text], text, date(2026, 1, 1))
    assert time.perf_counter() - start < 20.0


def test_an_answer_with_ten_references_is_appraised_quickly() -> None:
    question = "Does platelet-rich plasma with microneedling improve acne scars compared with microneedling alone?"
    text = ("Methods: A total of 60 patients were randomly assigned to microneedling with platelet-rich plasma or "
            "microneedling with saline in a split-face design. Results: Acne scars improved significantly more on "
            "the platelet-rich plasma side (p < 0.01). ") * 3
    quotes = ["Acne scars improved significantly more on the platelet-rich plasma side (p < 0.01)."]
    metas = [DocumentMeta(id=f"s{i}", kind="study", title=f"Study {i}", year=2020) for i in range(10)]
    start = time.perf_counter()
    references = {i + 1: appraise_source(meta, text + meta.id, quotes, question, date(2026, 1, 1))
                  for i, meta in enumerate(metas)}
    appraise_section("research", question, references, quotes)
    elapsed = time.perf_counter() - start
    assert references[1].design == "rct" and references[1].sample_size == 60
    assert elapsed < 0.2, f"{elapsed * 1000:.0f} ms for ten references (budget: well under 10 ms on an idle core)"
