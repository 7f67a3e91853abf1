"""The labelled candidate sentences (evals/datasets/clinician_sentences.jsonl) stay tied to the clinician set and the
starter corpus: each names a case of the set and a section, carries a known label, and is a quotable sentence of the
corpus document it names, so that a count of filler over them means what it says."""

from __future__ import annotations

import json
from collections import Counter

from rag.text.sentences import quotable_sentences
from tests.helpers.paths import ROOT

DATASETS = ROOT / "evals" / "datasets"


def test_every_labelled_sentence_belongs_to_a_case_and_its_document() -> None:
    cases = {case["id"]: case for case in map(json.loads, (DATASETS / "clinician.jsonl").read_text().splitlines())}
    records = [json.loads(line) for line in (DATASETS / "clinician_sentences.jsonl").read_text().splitlines()]
    assert len(records) > 3000
    sentences: dict[str, set[str]] = {}
    for record in records:
        assert record["case"] in cases, record["case"]
        assert record["section"] in ("guidelines", "research") and record["label"] in ("A", "R", "X"), record
        doc_id = record["doc_id"]
        if doc_id not in sentences:
            kind = "guidelines" if record["section"] == "guidelines" else "studies"
            text = (ROOT / "corpus" / kind / f"{doc_id}.md").read_text()
            sentences[doc_id] = {" ".join(s.split()) for _, s in quotable_sentences(text)}
        assert " ".join(record["text"].split()) in sentences[doc_id], (doc_id, record["text"][:80])
    splits = Counter(cases[r["case"]]["tags"][0] for r in records)
    assert set(splits) == {"dev", "heldout"}, "both halves are labelled; only dev is tuned on"
