"""The starter corpus: enough documents of each kind and topic, valid metadata, provenance, no machine paths."""

from __future__ import annotations

import collections
import re
from pathlib import Path

from rag.loaders import LoadOptions, discover, load_file
from rag.models import Document
from tests.conftest import ROOT


def load_corpus() -> tuple[list[Document], list[object]]:
    documents, errors = [], []
    for path in discover([ROOT / "corpus"]):
        assert isinstance(path, Path), path
        for item in load_file(path, "auto", LoadOptions(), 10**7):
            (documents if isinstance(item, Document) else errors).append(item)
    return documents, errors


def test_corpus_loads_without_errors_and_meets_the_counts() -> None:
    documents, errors = load_corpus()
    assert errors == []
    kinds = collections.Counter(d.kind for d in documents)
    assert len(documents) >= 40 and kinds["guideline"] >= 12 and kinds["study"] >= 25
    topics = {t for d in documents for t in d.meta.topics}
    assert len(topics) >= 5 and "prp-exosome-microneedling" in topics
    prp = [d for d in documents if "prp-exosome-microneedling" in d.meta.topics]
    assert sum(d.kind == "guideline" for d in prp) >= 8 and sum(d.kind == "study" for d in prp) >= 20


def test_every_document_states_provenance_and_sits_in_the_folder_of_its_kind() -> None:
    documents, _ = load_corpus()
    assert len({d.id for d in documents}) == len(documents)
    for document in documents:
        assert document.meta.provenance and len(document.meta.provenance) > 40, document.id
        folder = Path(document.source).parent.name
        assert folder == {"guideline": "guidelines", "study": "studies"}[document.kind], document.id
        assert Path(document.source).stem == document.id


def test_no_machine_paths_or_shared_data_references_in_the_corpus() -> None:
    for path in (ROOT / "corpus").rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?<![\w.])/(work|home|tmp|root)/|\.\./shared", text), path


def test_identifiers_have_the_expected_shapes() -> None:
    documents, _ = load_corpus()
    for document in documents:
        meta = document.meta
        if meta.doi:
            assert meta.doi.startswith("10.") and " " not in meta.doi, document.id
        if meta.url:
            assert meta.url.startswith(("https://", "http://")), document.id
