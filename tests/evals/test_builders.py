from __future__ import annotations

from pathlib import Path

import pytest

from evals.builders import bioasq_cases, pubmedqa_cases, scifact_cases, write_cases
from evals.cases import load_cases

pytestmark = pytest.mark.data


def test_builders_read_the_shared_datasets(shared_data: Path, tmp_path: Path) -> None:
    pubmedqa = list(pubmedqa_cases(shared_data / "pubmedqa" / "pqal_cv_500.json"))
    assert len(pubmedqa) == 500 and {c.label for c in pubmedqa} == {"yes", "no", "maybe"}
    assert all(len(c.gold.study_doc_ids) == 1 and c.gold.study_doc_ids[0].startswith("pmid:") for c in pubmedqa)
    scifact = list(scifact_cases(shared_data / "scifact" / "claims_train.jsonl",
                                 shared_data / "scifact" / "corpus.jsonl"))
    assert len(scifact) == 505 and all(c.gold.snippets for c in scifact)
    bioasq = list(bioasq_cases(shared_data / "bioasq" / "bioasq_7B-9B_factoid_list_summary.json"))
    assert len(bioasq) == 352 and all(c.gold.study_doc_ids and c.reference_answer for c in bioasq)
    out = tmp_path / "cases.jsonl"
    assert write_cases(iter(pubmedqa), out, limit=10) == 10
    cases, errors = load_cases(out)
    assert errors == [] and [c.id for c in cases] == [c.id for c in pubmedqa[:10]]
