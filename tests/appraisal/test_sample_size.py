"""Sample size: precision first. A wrong n is worse than none, so anything doubtful is unknown."""

from __future__ import annotations

import pytest

from rag.appraisal.counts import words_to_number
from rag.appraisal.sample_size import sample_size_from_text, sample_size_of
from rag.models import DocumentMeta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A total of 1,203 participants were enrolled in 14 centres.", 1203),
        ("We enrolled 45 women with melasma.", 45),
        ("Methods: 120 patients were randomised to PRP or saline.", 120),
        ("Participants (n = 64) received three sessions.", 64),
        ("One thousand ninety-nine women aged 50 and older were recruited.", 1099),
        ("Thirty-two consecutive adult patients with acne scars were included.", 32),
        ("Methods: Forty-four patients (20 women, 24 men; mean age 53 years) underwent endoscopy.", 44),
        ("A total of 304 patients with bilobar (n = 142) or trilobar (n = 162) prostates were included.", 304),
        ("The total number of subjects was 24,349.", 24349),
        ("One hundred sixteen patients were identified, and 77 of them (66%) were included in the study.", 77),
    ],
)
def test_stated_sample_sizes(text: str, expected: int) -> None:
    found = sample_size_from_text(text)
    assert found.value == expected
    assert found.source == "text" and found.quote is not None and found.quote in text


@pytest.mark.parametrize(
    "text",
    [
        "Improvement was 45% in patients treated with PRP.",
        "Patients aged 18 to 65 years were eligible.",
        "In 2010 patients were enrolled at a single centre.",
        "Patients received 120 mg of isotretinoin daily for 20 weeks.",
        "The difference was significant (p = 0.03) after 12 months.",
        "We enrolled n = 0 patients.",
        "Participants (n = 10^9) were simulated.",
        "A total of 20,000,000 people were enrolled.",
        "We treated 120 eyes with the laser.",
        "Approximately 500 patients were enrolled.",
        "More than 1,000 patients were enrolled.",
        "Methods: 43 patients with lupus and 49 controls were enrolled.",
        "A total of 150 patients were enrolled. A total of 142 patients were randomized.",
        "Previous trials enrolled 500 patients. The present study reports laboratory data.",
        "Methods: Six female patients, who underwent other procedures, served as controls.",
        "Results: 24 patients (21%) had at least one complication.",
        "First, we studied 151 healthy men. Second, we studied 20 sedentary men before and after training.",
        "The 45-year-old woman developed necrosis.",
        "",
    ],
)
def test_doubtful_counts_are_unknown(text: str) -> None:
    found = sample_size_from_text(text)
    assert found.value is None and found.source is None and found.quote is None


def test_a_total_and_its_arms_agree() -> None:
    text = "A total of 60 patients were randomized. Of these, 30 patients were randomized to PRP and 30 to saline."
    assert sample_size_from_text(text).value == 60


def test_totals_outrank_plain_counts() -> None:
    text = "Methods: 300 patients were screened. A total of 120 patients were enrolled."
    found = sample_size_from_text(text)
    assert found.value == 120 and found.quote == "A total of 120 patients were enrolled."


def test_front_matter_first_and_implausible_front_matter_ignored() -> None:
    text = "A total of 80 patients were enrolled."
    stated = DocumentMeta(id="d", kind="study", title="t", sample_size=20)
    zero = DocumentMeta(id="d", kind="study", title="t", sample_size=0)
    assert (sample_size_of(stated, text).value, sample_size_of(stated, text).source) == (20, "metadata")
    assert (sample_size_of(zero, text).value, sample_size_of(zero, text).source) == (80, "text")


@pytest.mark.parametrize(
    ("words", "value"),
    [("One thousand ninety-nine", 1099), ("twenty-two", 22), ("three hundred and five", 305), ("hundred", 100)],
)
def test_words_to_number(words: str, value: int) -> None:
    assert words_to_number(words) == value
