"""Eval-harness benchmark, in one run:

1. sensitivity on the starter suite: the verified extractive answers, then the same answers with each citation
   moved to another of the answer's sources; citation recall and precision must drop by >= 50 points;
2. a 500-case PubMedQA retrieval-and-extractive eval (questions against their 500 abstracts) timed end to end
   (target: under 10 minutes on 2 cores), with its metrics.

    python bench/eval.py [--cache bench/.cache] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from evals.builders import pubmedqa_cases  # noqa: E402
from evals.cases import load_cases  # noqa: E402
from evals.runner import summarize  # noqa: E402
from evals.wiring import eval_runner  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.factory import Components  # noqa: E402
from rag.judge.offline import OfflineJudge  # noqa: E402


def shuffled(answer: dict[str, Any]) -> dict[str, Any]:
    numbers = [r["n"] for r in answer["references"]]
    shift = {n: numbers[(i + 1) % len(numbers)] for i, n in enumerate(numbers)}
    sections = [dict(s, text=re.sub(r"\[(\d+)\]", lambda m: f"[{shift.get(int(m.group(1)), 0)}]", s["text"]))
                for s in answer["sections"]]
    return dict(answer, sections=sections)


def line(label: str, summary: dict[str, Any]) -> str:
    metrics = summary["metrics"]
    shown = ("citation_validity", "citation_recall", "citation_precision", "section_routing", "abstention_correct",
             "retrieval_recall@10", "retrieval_mrr")
    values = "  ".join(f"{m} {metrics[m]['mean']:.3f}" if metrics[m]["mean"] is not None else f"{m} —"
                       for m in shown)
    return f"  {label:30} {values}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    corpus = Components(Settings(data_dir=args.cache / "starter-corpus"))
    corpus.ingestor().run([ROOT / "corpus"], prune=True)
    judge = OfflineJudge(corpus.embedder)
    cases, _ = load_cases(ROOT / "evals" / "datasets" / "starter.jsonl")
    live = eval_runner(corpus, cases, judge=judge, workers=args.workers).run(cases)
    answers_file = args.cache / "starter-shuffled.jsonl"
    answers_file.write_text("\n".join(json.dumps(dict(shuffled(r.answer), id=r.id)) for r in live if r.answer))
    broken = eval_runner(corpus, cases, answers_file=answers_file, judge=judge, workers=args.workers).run(cases)
    verified_summary, broken_summary = summarize(live, {}), summarize(broken, {})
    print(f"sensitivity, starter suite ({len(cases)} cases):")
    print(line("verified extractive answers", verified_summary))
    print(line("citations shuffled", broken_summary))
    for metric in ("citation_recall", "citation_precision"):
        drop = verified_summary["metrics"][metric]["mean"] - broken_summary["metrics"][metric]["mean"]
        print(f"  {metric} drop: {100 * drop:.1f} points (target >= 50)")
    corpus.close()

    pubmedqa = Components(Settings(data_dir=args.cache / "pubmedqa"))
    report = pubmedqa.ingestor().run([DATA / "pubmedqa" / "pqal_cv_500.json"])
    if report.added:
        print(f"  (indexed PubMedQA: {report.added} abstracts in {report.seconds:.0f} s)")
    pqa_cases = list(pubmedqa_cases(DATA / "pubmedqa" / "pqal_cv_500.json"))
    started = time.perf_counter()
    results = eval_runner(pubmedqa, pqa_cases, workers=args.workers).run(pqa_cases)
    seconds = time.perf_counter() - started
    print(f"\nPubMedQA: {len(results)} cases answered and scored in {seconds / 60:.1f} min "
          f"({seconds / len(results) * 1000:.0f} ms a case; target < 10 min)")
    print(line("PubMedQA extractive", summarize(results, {})))
    pubmedqa.close()


if __name__ == "__main__":
    main()
