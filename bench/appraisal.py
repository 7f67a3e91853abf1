"""Appraisal benchmark (prints figures, asserts nothing), each measure next to a naive baseline in the same run:

- design from the text alone (metadata hidden) against (a) the publication types of the PubMed XML fixtures in
  ../shared/data/pubmed-xml and (b) the ``study_design`` front matter of corpus/studies/*.md; baseline: always the
  most common design;
- sample size against the hand-checked values in bench/data/sample_sizes.jsonl (PubMedQA and SciFact abstracts read
  by hand; ids and numbers only); baseline: the first "N patients/participants/..." in the abstract;
- direction on PubMedQA (pqal_cv_500.json): each question against its own abstract's conclusion (LONG_ANSWER), or its
  results sections when the conclusion decides nothing, turned into a yes/no/maybe consensus label and compared with
  ``final_decision``; baseline: always "yes". The rules were developed on even PMIDs; odd PMIDs are held out;
- time to appraise an answer of ten references (PubMedQA abstracts, design and size read from the text, caches cold).

    python bench/appraisal.py
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from rag.appraisal import appraise_section, appraise_source, consensus, design_from_text, direction_of  # noqa: E402
from rag.appraisal.passages import role_of, sentences_of  # noqa: E402
from rag.appraisal.question import frame_question  # noqa: E402
from rag.appraisal.sample_size import sample_size_from_text  # noqa: E402
from rag.appraisal.source import _document_findings  # noqa: E402
from rag.evidence import design_from_publication_types  # noqa: E402
from rag.loaders import Format, LoadOptions, load_file  # noqa: E402
from rag.loaders.jsonl import scifact_record  # noqa: E402
from rag.models import Document  # noqa: E402

MAX_BYTES = 100_000_000
LABELS = ("yes", "no", "maybe")
RESULTS_LABEL = re.compile(r"result|finding|outcome", re.IGNORECASE)
NAIVE_COUNT = re.compile(r"\b(\d[\d,]*) (?:patients|participants|subjects|women|men|children|adults|individuals)\b",
                         re.IGNORECASE)


def documents(paths: Sequence[Path], fmt: Format) -> list[Document]:
    found: list[Document] = []
    for path in paths:
        found.extend(item for item in load_file(path, fmt, LoadOptions(), MAX_BYTES) if isinstance(item, Document))
    return found


def design_accuracy(name: str, cases: Sequence[tuple[Document, str]]) -> None:
    """Accuracy of the text-only design against the given gold designs, and of always guessing the commonest."""
    majority, majority_count = Counter(gold for _, gold in cases).most_common(1)[0]
    predicted = [design_from_text(doc.text, doc.meta.title, doc.sections).design for doc, _ in cases]
    correct = sum(p == gold for p, (_, gold) in zip(predicted, cases, strict=True))
    labelled = [(p, gold) for p, (_, gold) in zip(predicted, cases, strict=True) if p is not None]
    precision = sum(p == gold for p, gold in labelled) / len(labelled) if labelled else float("nan")
    print(f"  {name}: {len(cases)} documents; text-only accuracy {correct / len(cases):.1%} "
          f"(labelled {len(labelled)}, of which correct {precision:.1%}); "
          f"majority baseline ('{majority}') {majority_count / len(cases):.1%}")


def bench_design() -> None:
    print("\nDesign from the text alone (metadata hidden)")
    xml = documents(sorted((DATA / "pubmed-xml").glob("*pubmed*.xml")), "pubmed-xml")
    typed = [(doc, design) for doc in xml if (design := design_from_publication_types(doc.meta.publication_types))]
    untyped = [doc for doc in xml if not design_from_publication_types(doc.meta.publication_types)]
    design_accuracy("PubMed XML fixtures with a design in their publication types", typed)
    guesses = Counter(design_from_text(doc.text, doc.meta.title, doc.sections).design for doc in untyped)
    print(f"  PubMed XML fixtures whose publication types imply no design: {len(untyped)}; text says "
          + ", ".join(f"{design or 'unknown'} {count}" for design, count in guesses.most_common()))
    corpus = documents(sorted((ROOT / "corpus" / "studies").glob("*.md")), "markdown")
    design_accuracy("starter corpus studies (front matter study_design)",
                    [(doc, doc.meta.study_design) for doc in corpus if doc.meta.study_design])


def bench_sample_size() -> None:
    gold = [json.loads(line) for line in (ROOT / "bench" / "data" / "sample_sizes.jsonl").open()]
    pubmedqa = {doc.meta.pmid: doc for doc in documents([DATA / "pubmedqa" / "pqal_cv_500.json"], "pubmedqa")}
    wanted = {case["id"] for case in gold if case["source"] == "scifact"}
    scifact = {}
    for line in (DATA / "scifact" / "corpus.jsonl").open():
        record = json.loads(line)
        if str(record["doc_id"]) in wanted:
            scifact[str(record["doc_id"])] = scifact_record("scifact", record, LoadOptions())
    cases = [(pubmedqa[c["id"]] if c["source"] == "pubmedqa" else scifact[c["id"]], c["sample_size"]) for c in gold]
    print(f"\nSample size against {len(cases)} hand-checked abstracts "
          f"({sum(n is not None for _, n in cases)} state one)")
    ours = [sample_size_from_text(doc.text, doc.meta.title, doc.sections).value for doc, _ in cases]
    naive = [int(m.group(1).replace(",", "")) if (m := NAIVE_COUNT.search(doc.text)) else None for doc, _ in cases]
    for name, predicted in (("rag.appraisal", ours), ("baseline: first 'N patients'", naive)):
        report_counts(name, predicted, [n for _, n in cases])


def report_counts(name: str, predicted: list[int | None], gold: list[int | None]) -> None:
    given = [(p, g) for p, g in zip(predicted, gold, strict=True) if p is not None]
    correct = sum(p == g for p, g in given)
    stated = sum(g is not None for g in gold)
    precision = correct / len(given) if given else float("nan")
    print(f"  {name:30} precision {precision:.1%} ({correct}/{len(given)}), recall {correct / stated:.1%} "
          f"({correct}/{stated})")


def pubmedqa_label(question: str, record: dict[str, Any]) -> str:
    """The consensus label of one abstract: its conclusion's direction, else its results' direction."""
    finding = direction_of(question, [str(record["LONG_ANSWER"])])
    if finding.direction == "unclear" and not finding.words:
        results = [str(context) for label, context in zip(record["LABELS"], record["CONTEXTS"], strict=False)
                   if RESULTS_LABEL.search(str(label))]
        finding = direction_of(question, results)
    return consensus([finding.direction]).label


def scores(gold: list[str], predicted: list[str]) -> tuple[float, float, dict[str, float]]:
    per_class = {}
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per_class[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return accuracy, sum(per_class.values()) / len(LABELS), per_class


def bench_direction() -> None:
    data = json.loads((DATA / "pubmedqa" / "pqal_cv_500.json").read_text())
    print("\nDirection -> consensus label on PubMedQA (final_decision), against always 'yes'")
    print(f"  {'part':28} {'n':>4} {'accuracy':>9} {'macro-F1':>9}   F1 yes/no/maybe      {'baseline acc':>12} "
          f"{'baseline F1':>11}")
    parts: dict[str, Callable[[str], bool]] = {
        "development (even PMIDs)": lambda pmid: int(pmid) % 2 == 0,
        "held out (odd PMIDs)": lambda pmid: int(pmid) % 2 == 1,
        "all": lambda pmid: True,
    }
    predicted = {pmid: pubmedqa_label(record["QUESTION"], record) for pmid, record in data.items()}
    for name, chosen in parts.items():
        pmids = [pmid for pmid in data if chosen(pmid)]
        gold = [data[pmid]["final_decision"] for pmid in pmids]
        accuracy, macro, per_class = scores(gold, [predicted[pmid] for pmid in pmids])
        base_accuracy, base_macro, _ = scores(gold, ["yes"] * len(gold))
        print(f"  {name:28} {len(pmids):4} {accuracy:9.1%} {macro:9.3f}   "
              f"{per_class['yes']:.2f}/{per_class['no']:.2f}/{per_class['maybe']:.2f}       "
              f"{base_accuracy:12.1%} {base_macro:11.3f}")
    print("  predicted labels (all): " + ", ".join(f"{k} {v}" for k, v in Counter(predicted.values()).most_common()))


def appraise_answer(question: str, docs: Sequence[Document]) -> float:
    """Milliseconds to appraise one answer citing ``docs`` (each quoting its conclusion) and its section."""
    start = time.perf_counter()
    references = {}
    for number, doc in enumerate(docs, start=1):
        quote = doc.text[doc.sections[-1].start: doc.sections[-1].end]
        references[number] = appraise_source(doc.meta, doc.text, [quote], question, date(2026, 12, 1), doc.sections)
    appraise_section("research", question, references, [r.direction_quote or "" for r in references.values()])
    return (time.perf_counter() - start) * 1000


def bench_timing(batches: int = 30) -> None:
    data = json.loads((DATA / "pubmedqa" / "pqal_cv_500.json").read_text())
    docs = {doc.meta.pmid: doc for doc in documents([DATA / "pubmedqa" / "pqal_cv_500.json"], "pubmedqa")}
    pmids = list(data)
    cold, warm = [], []
    for batch in range(batches):
        chosen = [docs[pmid] for pmid in pmids[batch * 10: batch * 10 + 10]]
        for cache in (sentences_of, role_of, frame_question, _document_findings):
            cache.cache_clear()
        cold.append(appraise_answer(data[pmids[batch * 10]]["QUESTION"], chosen))
        frame_question.cache_clear()
        warm.append(appraise_answer(data[pmids[batch * 10 + 1]]["QUESTION"], chosen))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nTime to appraise an answer of 10 references (PubMedQA abstracts, design and size read from the text, the "
          f"conclusion as quote), {batches} answers, load average {load:.1f} on {os.cpu_count()} cores:")
    for name, times in (("documents never seen (cold caches)", cold), ("documents seen before, new question", warm)):
        print(f"  {name:38} median {statistics.median(times):5.1f} ms, fastest {min(times):5.1f} ms, "
              f"slowest {max(times):5.1f} ms")


def main() -> None:
    bench_design()
    bench_sample_size()
    bench_direction()
    bench_timing()


if __name__ == "__main__":
    main()
