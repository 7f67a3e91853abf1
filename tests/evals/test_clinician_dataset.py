"""The clinician question set is what the issue asks for, and every gold fact comes from the corpus: the ids exist
with the right kind, and each required fact is written (in one of its wordings) in a gold document."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from evals.cases import EvalCase, load_cases
from evals.metrics.content import normalised

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "evals" / "datasets" / "clinician.jsonl"


def corpus() -> dict[str, tuple[str, str]]:
    """doc id -> (kind, normalised text) of the starter corpus."""
    found = {}
    for path in (ROOT / "corpus").glob("*/*.md"):
        _, front, body = path.read_text(encoding="utf-8").split("---", 2)
        meta = yaml.safe_load(front)
        found[meta["id"]] = (meta["kind"], normalised(f"{meta.get('title', '')}\n{body}"))
    return found


@pytest.fixture(scope="module")
def cases() -> list[EvalCase]:
    loaded, errors = load_cases(DATASET)
    assert not errors
    return loaded


def test_size_splits_and_categories(cases: list[EvalCase]) -> None:
    assert len(cases) >= 80
    splits = Counter(c.tags[0] for c in cases)
    assert set(splits) == {"dev", "heldout"}
    assert min(splits.values()) >= 0.4 * len(cases)  # about half each
    tags = Counter(t for c in cases for t in c.tags)
    assert tags["off-corpus"] >= 12
    assert sum(1 for c in cases if len(c.conversation) == 2 and "follow-up" in c.tags) >= 10
    for category in ("protocol", "selection", "side-effects", "numbers", "indirect", "false-premise",
                     "recommendation"):
        assert tags[category] >= 3, category
    for split in ("dev", "heldout"):
        assert sum(1 for c in cases if c.tags[0] == split and "off-corpus" in c.tags) >= 6


def test_gold_comes_from_the_corpus(cases: list[EvalCase]) -> None:
    documents = corpus()
    for case in cases:
        gold = case.gold
        for doc_id in gold.guideline_doc_ids:
            assert documents[doc_id][0] == "guideline", (case.id, doc_id)
        for doc_id in gold.study_doc_ids:
            assert documents[doc_id][0] == "study", (case.id, doc_id)
        texts = [documents[d][1] for d in (*gold.guideline_doc_ids, *gold.study_doc_ids)]
        for fact in gold.must_say:
            wordings = (fact,) if isinstance(fact, str) else fact
            assert any(normalised(w) in text for w in wordings for text in texts), (case.id, fact)
        for section, leads in gold.lead.items():
            section_gold = gold.guideline_doc_ids if section == "guidelines" else gold.study_doc_ids
            assert set(leads) <= set(section_gold), (case.id, section)


def test_off_corpus_cases_expect_no_evidence_anywhere(cases: list[EvalCase]) -> None:
    for case in cases:
        if "off-corpus" in case.tags:
            assert case.expect.guidelines == case.expect.research == "none", case.id
            assert not case.gold.all_doc_ids() and not case.gold.must_say, case.id
