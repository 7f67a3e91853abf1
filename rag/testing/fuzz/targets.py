"""The fuzz targets by name: what each one generates and the contract each generated input is checked against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from rag.errors import InputError
from rag.loaders import LOADERS, detect_format
from rag.loaders.base import Loader
from rag.testing.fuzz.answers import answer_inputs, check_parse, check_verify
from rag.testing.fuzz.contract import LoaderInput, check_loader
from rag.testing.fuzz.markdown import markdown_sources
from rag.testing.fuzz.pdf import pdf_sources
from rag.testing.fuzz.records import (
    generic_sources,
    ngc_sources,
    pubmedqa_sources,
    scifact_sources,
)
from rag.testing.fuzz.xml import jats_sources, pubmed_sources


@dataclass(frozen=True)
class Target:
    """A fuzz target: a strategy of inputs and a check that raises on a crash or a broken contract."""

    name: str
    description: str
    inputs: st.SearchStrategy[Any]
    check: Callable[[Any], object]


def _loader_check(loader: Loader) -> Callable[[LoaderInput], object]:
    return lambda item: check_loader(loader, item)


def _check_detected(item: LoaderInput) -> object:
    """``--format auto``: detection either names a loader or raises InputError, and that loader keeps the contract."""
    try:
        name = detect_format(item.path, item.raw)
    except InputError:
        return None
    return check_loader(LOADERS[name], item)


_SUFFIXES = (".md", ".txt", ".xml", ".nxml", ".jsonl", ".ndjson", ".json", "", ".pdf", ".gz", ".MD")


def _any_source() -> st.SearchStrategy[LoaderInput]:
    """Any generated source under any file name, so detection sees content that does not match its extension."""
    sources = st.one_of(markdown_sources(), pubmed_sources(), jats_sources(), generic_sources(), scifact_sources(),
                        ngc_sources(), pubmedqa_sources(), pdf_sources())
    return st.builds(lambda item, suffix: LoaderInput(item.raw, "input" + suffix, item.options), sources,
                     st.sampled_from(_SUFFIXES))


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target("markdown", "Markdown with YAML front matter", markdown_sources(), _loader_check(LOADERS["markdown"])),
        Target("pubmed-xml", "PubMed efetch XML", pubmed_sources(), _loader_check(LOADERS["pubmed-xml"])),
        Target("jats", "PMC JATS XML", jats_sources(), _loader_check(LOADERS["jats"])),
        Target("jsonl", "generic JSONL documents", generic_sources(), _loader_check(LOADERS["jsonl"])),
        Target("scifact", "SciFact corpus.jsonl", scifact_sources(), _loader_check(LOADERS["scifact"])),
        Target("ngc", "guideline-summary JSONL", ngc_sources(), _loader_check(LOADERS["ngc"])),
        Target("pubmedqa", "PubMedQA JSON", pubmedqa_sources(), _loader_check(LOADERS["pubmedqa"])),
        Target("pdf", "PDF (pypdf)", pdf_sources(), _loader_check(LOADERS["pdf"])),
        Target("auto", "format detection, then the detected loader", _any_source(), _check_detected),
        Target("parse", "answer parser on messy model output", answer_inputs(), check_parse),
        Target("verify", "answer parser, then verification", answer_inputs(), check_verify),
    )
}
