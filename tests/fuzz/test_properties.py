"""A short, fixed sample of every fuzz target (bench/fuzz.py runs them for longer, with fresh examples each time).

Derandomised, so `make test` sees the same inputs on every run; no example database is written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rag.contract import Source
from rag.errors import InputError
from rag.loaders.base import LoadOptions
from rag.models import Document, DocumentMeta
from rag.testing.fuzz import TARGETS, ContractViolation, LoaderInput
from rag.testing.fuzz.answers import AnswerInput, check_verify, make_source
from rag.testing.fuzz.contract import check_document, check_loader

#: Examples per target: the structured generators cost 5-100 ms an example; the whole module stays near 10 s.
EXAMPLES = {"jats": 25, "auto": 40, "pubmed-xml": 40, "ngc": 60, "parse": 60, "verify": 60}
BRIEF = settings(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_keeps_its_contract(name: str) -> None:
    target = TARGETS[name]

    @settings(BRIEF, max_examples=EXAMPLES.get(name, 80))
    @given(target.inputs)
    def run(value: object) -> None:
        target.check(value)

    run()


def test_every_loader_format_has_a_target() -> None:
    from rag.loaders import LOADERS

    assert set(LOADERS) - set(TARGETS) == {"text"}, "plain text is fuzzed through 'auto' (.txt names)"


def _meta() -> DocumentMeta:
    return DocumentMeta(id="d", kind="study", title="T")


@pytest.mark.parametrize(
    "document",
    [
        Document(meta=_meta(), text="", sections=(), source="fuzz/x.md"),
        Document.from_sections(_meta(), [("A", "one"), ("B", "two")], "elsewhere.md"),
        Document.from_sections(_meta(), [("A", "te\ud800xt")], "fuzz/x.md"),
        Document.model_validate({"meta": _meta(), "text": "ab", "sections": [
            {"title": "A", "start": 0, "end": 2}, {"title": "B", "start": 1, "end": 2}], "source": "fuzz/x.md"}),
    ],
    ids=["no-text", "source-elsewhere", "lone-surrogate", "overlapping-sections"],
)
def test_the_contract_rejects_documents_the_store_cannot_use(document: Document) -> None:
    with pytest.raises(ContractViolation):
        check_document(document, Path("fuzz/x.md"))


def test_the_contract_lets_input_errors_through_and_flags_other_exceptions() -> None:
    item = LoaderInput(b"x", "x.md", LoadOptions())

    def refuses(path: Path, raw: bytes, options: LoadOptions) -> Any:
        raise InputError(str(path), "bad")

    def crashes(path: Path, raw: bytes, options: LoadOptions) -> Any:
        raise KeyError("title")

    assert check_loader(refuses, item) == []
    with pytest.raises(KeyError):
        check_loader(crashes, item)


def test_the_verify_contract_catches_a_citation_without_a_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = (make_source(1, "study", "PRP improved scars in 50 patients.", 0),)
    item = AnswerInput("## From the Research\nPRP improved scars in 50 patients [1].", sources)
    check_verify(item)

    import rag.testing.fuzz.answers as answers

    real_assemble = answers.assemble

    def drops_references(grounded: Any, given: tuple[Source, ...], dangling: Any) -> Any:
        return dataclasses.replace(real_assemble(grounded, given, dangling), references=[])

    monkeypatch.setattr(answers, "assemble", drops_references)
    with pytest.raises(ContractViolation, match="cites"):
        check_verify(item)
