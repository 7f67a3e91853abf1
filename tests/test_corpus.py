"""The starter corpus: enough documents of each kind and topic, valid metadata, provenance, no machine paths."""

from __future__ import annotations

import collections
import re
from pathlib import Path

from rag.loaders import LoadOptions, discover, load_file
from rag.loaders.markdown import markdown_sections, split_front_matter
from rag.models import Document
from rag.text.sentences import sentence_spans
from tests.helpers.paths import ROOT


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


# A document's body states what the source says; remarks about our record of it belong in the front-matter field
# `notes` (shown with the reference, never indexed or quoted), and nothing in a body is written for a particular
# question or reader. These phrases speak about our corpus, project or record, or address the reader.
_OWN_VOICE = re.compile(
    r"""\b(?:this|the)\ corpus\b
    | \b(?:this|our|the\ rag)\ project\b | \bthe\ project'?s?\ (?:facts?|records?|sheet|corpus|summary|own)\b
    | \bour\ (?:records?|facts|sources?|summary|information)\b | \bfacts?\ sheet\b
    | \bthe\ records?\ we\b | \bthe\ (?:facts|sources?|summary|text|information)\ we\b | \bthe\ facts\ we\ used\b
    | \bthis\ (?:summary|document|entry)\b
    | \bfor\ a\ clinician\b | \b(?:a\ clinician|clinicians)\ (?:comparing|asked|reading|planning|considering|weighing)\b
    | \b(?:we|our|us)\b""",
    re.IGNORECASE | re.VERBOSE,
)
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”')  # a source's own words (a title, a question) may say "we"
_OWN_VOICE_CASE_SENSITIVE_WORDS = frozenset({"us"})  # "US" (the country) is source content; "us" is our voice
_READER_HEADING = re.compile(
    r"^(?:what\ (?:it|this)\ means\b|relevance\b|why\ (?:it|this)\b|how\ it\ fits\b|.*\bfor\ clinicians\b)",
    re.IGNORECASE | re.VERBOSE,
)


def own_voice(sentence: str) -> str | None:
    """The phrase by which ``sentence`` speaks about our record or to the reader, or None."""
    for match in _OWN_VOICE.finditer(_QUOTED.sub('""', sentence)):
        if match.group(0).lower() in _OWN_VOICE_CASE_SENSITIVE_WORDS and match.group(0) != "us":
            continue
        return match.group(0)
    return None


def corpus_bodies() -> list[tuple[Path, str]]:
    """``(path, body)`` of every corpus document: the Markdown after the front matter."""
    bodies = []
    for path in sorted((ROOT / "corpus").rglob("*.md")):
        if path.name != "README.md":
            bodies.append((path, split_front_matter(str(path), path.read_text(encoding="utf-8"))[1]))
    return bodies


def test_own_voice_detector_flags_our_remarks_and_passes_source_content() -> None:
    ours = [
        "The record we used does not say whether the PRP side was chosen at random.",
        "The results of this trial were not seen when the project's facts were gathered.",
        "For a clinician comparing PRP with exosome products, MISEV2023 is background.",
        "This summary classes the study as a non-randomised controlled comparison.",
        "No head-to-head trial had been identified when this corpus was compiled.",
        "The facts we used contain no adverse-event data.",
        "It should not be confused with entries in the facts sheet.",
        "The sample size was not available to us.",
    ]
    sources = [
        "The USPSTF found the evidence insufficient to assess a clinician's visual skin examination.",
        "No exosome product is approved by the US FDA.",
        "The quality-improvement project was uncontrolled and relied on psychiatrists' reports.",
        "Screening applies to adults seen in primary care settings.",
        "The authors did not report adverse events.",
        'The abstract is titled "Are we seeing the effects of public awareness campaigns?"',
    ]
    assert [s for s in ours if own_voice(s) is None] == []
    assert [(s, own_voice(s)) for s in sources if own_voice(s) is not None] == []


def test_bodies_state_the_source_not_our_record_or_advice_to_a_reader() -> None:
    offending = []
    for path, body in corpus_bodies():
        for heading, text in markdown_sections(body):
            if _READER_HEADING.match(heading) or own_voice(heading):
                offending.append((path.stem, f"heading: {heading}"))
            for start, end in sentence_spans(text):
                if phrase := own_voice(text[start:end]):
                    offending.append((path.stem, f"{phrase!r} in: {' '.join(text[start:end].split())}"))
    assert offending == [], "\n".join(f"{doc}: {what}" for doc, what in offending)


def test_headings_are_short_names_on_their_own_line() -> None:
    for path, body in corpus_bodies():
        lines = body.split("\n")
        for number, line in enumerate(lines):
            if not line.startswith("#"):
                continue
            heading = line.lstrip("#").strip()
            assert line.startswith("## ") and heading, (path.stem, line)
            assert len(heading) <= 60 and len(heading.split()) <= 8, (path.stem, heading)
            assert not re.search(r"[.;:,!?]$|\.\s", heading), (path.stem, heading)
            assert number + 1 == len(lines) or lines[number + 1].strip() == "", (path.stem, heading)
