"""Build eval datasets in our case format from public benchmark files (read in place, never copied into the repo).

    python -m evals.builders pubmedqa ../shared/data/pubmedqa/pqal_cv_500.json --out /tmp/pubmedqa.jsonl
    python -m evals.builders scifact ../shared/data/scifact/claims_train.jsonl --corpus .../corpus.jsonl --out ...
    python -m evals.builders bioasq ../shared/data/bioasq/bioasq_7B-9B_factoid_list_summary.json --out ...

Document ids match what the loaders give the same sources (``pmid:N``, ``scifact:N``), so retrieval metrics line up
with an index built by ``rag ingest`` from the same files.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path

from evals.cases import EvalCase, Expect, Gold

_PMID_URL = re.compile(r"pubmed/(\d+)")


def pubmedqa_cases(path: Path) -> Iterator[EvalCase]:
    """Question, gold PMID, yes/no/maybe label and the abstract's conclusion as the reference answer."""
    for pmid, record in json.loads(path.read_text()).items():
        yield EvalCase(id=f"pqa-{pmid}", question=record["QUESTION"], gold=Gold(study_doc_ids=(f"pmid:{pmid}",)),
                       expect=Expect(research="evidence"), label=record.get("final_decision"),
                       reference_answer=record.get("LONG_ANSWER"), tags=("pubmedqa",))


def scifact_cases(claims: Path, corpus: Path) -> Iterator[EvalCase]:
    """Claims with evidence as questions; gold evidence documents; rationale sentences as gold snippets."""
    abstracts = {}
    for line in corpus.open():
        record = json.loads(line)
        abstracts[str(record["doc_id"])] = record["abstract"]
    for line in claims.open():
        claim = json.loads(line)
        if not claim["evidence"]:
            continue
        snippets = tuple(
            abstracts[doc_id][i] for doc_id, sets in claim["evidence"].items() if doc_id in abstracts
            for evidence in sets for i in evidence["sentences"] if i < len(abstracts[doc_id])
        )
        yield EvalCase(id=f"scifact-{claim['id']}", question=claim["claim"],
                       gold=Gold(study_doc_ids=tuple(f"scifact:{d}" for d in claim["evidence"]), snippets=snippets),
                       expect=Expect(research="evidence"), tags=("scifact",))


def bioasq_cases(path: Path, kinds: tuple[str, ...] = ("summary",)) -> Iterator[EvalCase]:
    """Questions of the given types with gold documents (PMIDs), gold snippets and the ideal answer."""
    for question in json.loads(path.read_text())["questions"]:
        if question.get("type") not in kinds:
            continue
        pmids = tuple(dict.fromkeys(f"pmid:{m.group(1)}" for url in question.get("documents", [])
                                    if (m := _PMID_URL.search(url))))
        ideal = question.get("ideal_answer")
        yield EvalCase(id=f"bioasq-{question['id']}", question=question["body"],
                       gold=Gold(study_doc_ids=pmids, snippets=tuple(s["text"] for s in question.get("snippets", []))),
                       reference_answer=ideal[0] if isinstance(ideal, list) and ideal else ideal,
                       tags=("bioasq", question["type"]))


def write_cases(cases: Iterator[EvalCase], out: Path, limit: int | None = None) -> int:
    """Write up to ``limit`` cases as JSON lines to ``out`` (creating its folder); returns how many."""
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for case in cases:
            if limit is not None and count >= limit:
                break
            handle.write(case.model_dump_json(exclude_defaults=True) + "\n")
            count += 1
    return count


def main() -> None:
    """Command line: build one benchmark's cases file (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["pubmedqa", "scifact", "bioasq"])
    parser.add_argument("source", type=Path)
    parser.add_argument("--corpus", type=Path, help="SciFact corpus.jsonl (for rationale sentences)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    if args.kind == "pubmedqa":
        cases = pubmedqa_cases(args.source)
    elif args.kind == "scifact":
        if args.corpus is None:
            parser.error("scifact needs --corpus")
        cases = scifact_cases(args.source, args.corpus)
    else:
        cases = bioasq_cases(args.source)
    print(f"{write_cases(cases, args.out, args.limit)} cases written to {args.out}")


if __name__ == "__main__":
    main()
