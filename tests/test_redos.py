"""No regular expression lets one request freeze a worker: every pattern of rag, api and evals is timed on 250 KB
adversarial inputs built from its own parse tree (tests/helpers/redos.py), in a child process that is killed when a
match overruns. The bound is generous (a noisy shared machine): a linear pattern takes well under a second on 1 MB,
the quadratic ones this replaced take hours on 1 MB and minutes on 250 KB (a quarter of the size, a sixteenth of
the time: still far over the bound, and the suite spends a quarter of the time)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers.redos import PACKAGES, Timing, collect_patterns, pattern_specs, run_attacks, time_calls

ROOT = Path(__file__).resolve().parent.parent
SECONDS_PER_MB = 10.0
SIZE = 250_000
BUDGET_S = SECONDS_PER_MB * SIZE / 1_000_000
#: re functions that compile their pattern argument on the spot (so the timing test would not see it).
_COMPILING_CALLS = {"search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}
#: Functions that build patterns from parts at import time (what they return is stored in module globals), or on
#: first use (tests.helpers.redos.LAZY calls them).
_PATTERN_BUILDERS = {("rag/appraisal/cues.py", "cue"), ("rag/appraisal/cues.py", "word_cue"),
                     ("rag/generate/prompting.py", "_kept_as_is")}
#: Patterns as they were before linear-time rewrites, kept to show the timing test catches them.
BEFORE = {
    "prompt fence": (r"<\s*/?\s*source\b", re.IGNORECASE),
    "markdown heading": (r"^##[ \t]+(.+?)[ \t#]*$", re.MULTILINE),
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _described(timings: list[Timing]) -> str:
    return "\n".join(f"{t.name}: {'over the budget' if t.seconds is None else f'{t.seconds:.2f} s'} on "
                     f"{t.attack.describe()} at {t.size:,} characters" for t in timings)


def test_every_regex_is_compiled_where_the_timing_test_finds_it() -> None:
    misplaced = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
                for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                    target = call.func
                    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id == "re"):
                        continue
                    if target.attr in _COMPILING_CALLS or (
                            target.attr == "compile" and (relative, function.name) not in _PATTERN_BUILDERS):
                        misplaced.append(f"{relative}:{call.lineno} re.{target.attr} in {function.name}()")
    assert not misplaced, "compile patterns at module level so that test_every_regex_is_linear times them:\n" + \
        "\n".join(misplaced)


def test_the_patterns_are_all_found() -> None:
    names = set(collect_patterns())
    assert len(names) > 120
    for expected in ("rag.text.sentences._BOUNDARY", "rag.loaders.markdown._H2", "rag.answer.parse._HEADING_LINE",
                     "rag.generate.prompting._TAG_OPENING", "rag.appraisal.design._CUES[0].pattern.pattern",
                     "rag.text.spacing._TRAILING_BLANKS", "api.routes.documents._UNSAFE_NAME"):
        assert expected in names


def test_every_regex_is_linear_on_adversarial_input() -> None:
    timings = run_attacks(size=SIZE, budget_s=BUDGET_S)
    assert len(timings) == len(collect_patterns())
    slow = [t for t in timings if t.seconds is None or t.seconds > BUDGET_S]
    assert not slow, "patterns too slow on adversarial input:\n" + _described(slow)


def test_the_timing_test_catches_quadratic_patterns() -> None:
    specs = pattern_specs({name: re.compile(source, flags) for name, (source, flags) in BEFORE.items()})
    timings = run_attacks(specs, size=SIZE, screen_size=1_000, budget_s=1.0)
    assert {t.name for t in timings if t.seconds is None} == set(BEFORE), _described(timings)


MB = SIZE
#: The code around the patterns, where it was quadratic too (a sentence copied at every abbreviation) or where it
#: replaced a pattern: each on SIZE characters of what made it slow.
FUNCTIONS = {
    "rag.text.sentences.sentence_spans": ["vs. A " * (MB // 6), "a" * MB + "1. X", ". " * (MB // 2)],
    "rag.generate.prompting.fence_safe": ["<" + " " * MB, "＜\u200b/" * (MB // 3), "<" * MB],
    "rag.loaders.markdown.markdown_sections": ["## " + " " * MB + "x", "# a" + " \t#" * (MB // 3) + "b",
                                              "## x\n" * (MB // 5)],
    "rag.text.spacing.collapse_whitespace": [" " * MB + "x", " \n" * (MB // 2), "\t\r" * (MB // 2)],
    "rag.text.inert.inert_markdown": ["<" * MB, "](" * (MB // 2), "\\" * MB],
    "rag.appraisal.question._offers_choice": ["or better " * (MB // 10), "Is " + "a or " * (MB // 5) + "better"],
    "rag.text.sentences._without_dangling_punctuation": [" ," * (MB // 2) + ".", " " * MB + "."],
    "rag.contract.strip_citations": [" " * MB + "[1]", "[1] " * (MB // 4)],
}


@pytest.mark.parametrize("target", sorted(FUNCTIONS))
def test_the_text_functions_are_linear(target: str) -> None:
    texts = FUNCTIONS[target]
    timings = time_calls(target, [(text, ()) for text in texts], budget_s=BUDGET_S)
    for text, seconds in zip(texts, timings, strict=True):
        assert seconds is not None and seconds < BUDGET_S, (target, repr(text[:20]), seconds)


def test_answers_from_a_model_are_parsed_in_linear_time() -> None:
    raws = [" " * MB, "[1, " * (MB // 4), "Smith et al " * (MB // 12), "## Guidelines" + " " * MB + "x",
            "(1" + ", 1" * (MB // 3)]
    timings = time_calls("rag.answer.parse.parse_answer", [(raw, ([],)) for raw in raws], budget_s=BUDGET_S)
    for raw, seconds in zip(raws, timings, strict=True):
        assert seconds is not None and seconds < BUDGET_S, (repr(raw[:20]), seconds)

