"""Answer-quality benchmark of the offline (extractive) answer on real abstracts (issue "A corpus that holds the
sources' facts, and an offline answer a clinician would read").

The 500 PubMedQA cv questions are answered over an index of their 500 abstracts plus SciFact's 5,183 abstracts as
distractors (../shared/data). Printed, not asserted:

- answers citing one publication under two or more reference numbers (target 0);
- the share of answer sentences that cite only publications other than the question's own abstract (target <= 10%);
- the share of answers whose first research sentence cites the question's own abstract (keep >= 95%);
- ALCE citation recall by the offline judge (keep >= 0.95);
- answer time p50/p95 (the starter-corpus p50 target, <= 150 ms, is bench/answer.py's).

    python bench/answer_quality.py [--cache bench/.cache] [--limit 500] [--show 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from evals.builders import pubmedqa_cases  # noqa: E402
from evals.context import EvalContext  # noqa: E402
from evals.metrics.answers import CitationRecallPrecision  # noqa: E402
from evals.wiring import passage_resolver  # noqa: E402
from rag.answer.lexical import answer_sentences, is_no_evidence  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.contract import citations_in  # noqa: E402
from rag.factory import Components  # noqa: E402


def measure(answer: Any, own: str) -> dict[str, Any]:
    """What one answer shows: publications under several numbers, off-topic sentences, what the research leads with."""
    by_n = {r.n: r.doc_id for r in answer.references}
    sentences = [(section.kind, sentence) for section in answer.sections if section.evidence_found
                 for sentence in answer_sentences(section.text) if not is_no_evidence(sentence)]
    cited = [{by_n[n] for n in citations_in(sentence) if n in by_n} for _, sentence in sentences]
    research = [docs for (kind, _), docs in zip(sentences, cited, strict=True) if kind == "research" and docs]
    return {
        "duplicate_numbers": len(set(by_n.values())) < len(by_n),
        "sentences": len(cited),
        "off_topic": sum(1 for docs in cited if docs and own not in docs),
        "leads_with_own": bool(research) and own in research[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--show", type=int, default=3, help="answers printed in full")
    args = parser.parse_args()
    components = Components(Settings(data_dir=args.cache / "pubmedqa-scifact"))
    started = time.perf_counter()
    report = components.ingestor().run([DATA / "pubmedqa" / "pqal_cv_500.json", DATA / "scifact" / "corpus.jsonl"])
    if report.added:
        print(f"indexed {report.added} abstracts in {time.perf_counter() - started:.0f} s")
    service = components.answers()
    judge = components.judge("offline")
    resolve = passage_resolver(components)
    cases = list(pubmedqa_cases(DATA / "pubmedqa" / "pqal_cv_500.json"))[: args.limit]
    rows, times, recalls = [], [], []
    for index, case in enumerate(cases):
        own = case.gold.study_doc_ids[0]
        started = time.perf_counter()
        answer = service.answer(case.question)
        times.append((time.perf_counter() - started) * 1000)
        rows.append(measure(answer, own))
        context = EvalContext(case, answer, resolve(answer), [], judge)
        recalls.append(CitationRecallPrecision().evaluate(context)["citation_recall"])
        if index < args.show:
            print(f"\n--- {case.id}: {case.question}")
            for section in answer.sections:
                print(f"## {section.title}\n{section.text}")
            print("references:", json.dumps([(r.n, r.doc_id) for r in answer.references]))
    n = len(rows)
    sentences = sum(r["sentences"] for r in rows)
    known = [r for r in recalls if r is not None]
    print(f"\n{n} PubMedQA cv questions over {components.index.counts()[0]} abstracts (extractive):")
    print(f"  answers citing a publication under two or more numbers: {sum(r['duplicate_numbers'] for r in rows)}"
          f" ({100 * sum(r['duplicate_numbers'] for r in rows) / n:.1f}%; target 0)")
    off_topic = sum(r["off_topic"] for r in rows)
    print(f"  answer sentences citing only other publications than the question's abstract: "
          f"{off_topic}/{sentences} ({100 * off_topic / sentences:.1f}%; target <= 10%)")
    print(f"  answers whose first research sentence cites the question's abstract: "
          f"{sum(r['leads_with_own'] for r in rows)}/{n} ({100 * sum(r['leads_with_own'] for r in rows) / n:.1f}%;"
          f" keep >= 95%)")
    print(f"  citation recall (offline judge): {statistics.mean(known):.3f} over {len(known)} answers (keep >= 0.95)")
    print(f"  sentences per answer {sentences / n:.2f}; answer time p50 {statistics.median(times):.0f} ms, "
          f"p95 {sorted(times)[int(0.95 * (n - 1))]:.0f} ms")
    components.close()


if __name__ == "__main__":
    main()
