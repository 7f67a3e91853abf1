"""Calibrates when a section abstains (``RAG_MEANING__ADDRESSES``): for each question and answer section, the best
score by meaning (rag.meaning) among the publications retrieved for it, for sections that hold evidence against
sections that do not, and the threshold sweep.

Sections with evidence: the clinician set's sections expected to hold evidence, and the starter eval set's. Sections
without: the clinician set's sections expected to abstain (off-corpus questions among them), and PubMedQA questions
(../shared/data), whose topics the starter corpus does not hold, asked of it. The threshold is chosen on the dev half
(``--split dev``) and reported on the held-out half:

    python bench/meaning.py --split dev            # choose
    python bench/meaning.py --split heldout --threshold T   # report
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from evals.cases import EvalCase, load_cases  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.contract import SECTION_SOURCE_KIND  # noqa: E402
from rag.factory import Components  # noqa: E402


def best_scores(built: Components, question: str) -> dict[str, float]:
    """Per section, the best publication score by meaning among the passages the answer path would retrieve."""
    retriever = built.retriever()
    relevance = built.relevance()
    found = retriever.search_sections(question)
    hits = {"guidelines": retriever.with_findings(found.guidelines), "research": retriever.with_findings(found.studies)}
    vector = relevance.question_vector(question)
    scores = {}
    for section, section_hits in hits.items():
        stored = built.index.vectors.get_vectors([h.chunk_id for h in section_hits])
        scored = relevance.passages(vector, [(h.text, stored.get(h.chunk_id)) for h in section_hits])
        scores[section] = max((p.best for p in scored), default=-1.0)
        assert all(h.kind == SECTION_SOURCE_KIND[section] for h in section_hits)  # type: ignore[index]
    return scores


def labelled(cases: list[EvalCase], split: str) -> list[tuple[str, str, str, bool]]:
    """(case id, question, section, holds evidence) for the sections whose expectation a case states; follow-ups
    are left out (their standalone question depends on the condensation)."""
    rows = []
    for case in cases:
        if case.conversation or (split != "all" and case.tags[:1] != (split,)):
            continue
        for section, expected in (("guidelines", case.expect.guidelines), ("research", case.expect.research)):
            if expected is not None:
                rows.append((case.id, case.question, section, expected == "evidence"))
    return rows


def pubmedqa_questions(split: str, limit: int) -> list[str]:
    """PubMedQA questions (off the starter corpus): even-numbered for dev, odd for held out."""
    records = json.loads((DATA / "pubmedqa" / "pqal_cv_500.json").read_text())
    questions = [r["QUESTION"] for _, r in sorted(records.items())]
    chosen = questions[0::2] if split == "dev" else questions[1::2] if split == "heldout" else questions
    return chosen[:limit]


def sweep(positives: list[float], negatives: list[float]) -> list[tuple[float, float, float, float]]:
    """(threshold, share of evidence sections kept, share of no-evidence sections abstained, balanced accuracy)."""
    rows = []
    for threshold in np.arange(0.20, 0.66, 0.01):
        kept = float(np.mean([p >= threshold for p in positives]))
        abstained = float(np.mean([n < threshold for n in negatives]))
        rows.append((round(float(threshold), 2), kept, abstained, (kept + abstained) / 2))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "heldout", "all"], default="dev")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--pubmedqa", type=int, default=100, help="PubMedQA questions asked (0: none)")
    parser.add_argument("--threshold", type=float, help="report this threshold's figures")
    parser.add_argument("--show", action="store_true", help="print every labelled section's score")
    args = parser.parse_args()

    built = Components(Settings(data_dir=args.cache / "clinician-starter"))
    built.ingestor().run([ROOT / "corpus"], prune=True)
    rows = []
    for dataset in ("clinician.jsonl", "starter.jsonl"):
        cases, _ = load_cases(ROOT / "evals" / "datasets" / dataset)
        split = args.split if dataset == "clinician.jsonl" else ("dev" if args.split == "dev" else "none")
        if split != "none":
            rows += labelled(cases, "all" if dataset == "starter.jsonl" else split)
    positives, negatives = [], []
    for case_id, question, section, evidence in rows:
        score = best_scores(built, question)[section]
        (positives if evidence else negatives).append(score)
        if args.show:
            print(f"  {'+' if evidence else '-'} {score:.3f} {section:10} {case_id}")
    off = [s for q in pubmedqa_questions(args.split, args.pubmedqa) for s in best_scores(built, q).values()]
    built.close()
    print(f"{args.split}: {len(positives)} sections with evidence, {len(negatives)} without "
          f"(+ {len(off)} PubMedQA sections)")
    for label, negative in (("clinician/starter sections", negatives), ("+ PubMedQA", negatives + off)):
        best = max(sweep(positives, negative), key=lambda row: row[3])
        print(f"  {label}: best balanced accuracy {best[3]:.3f} at {best[0]:.2f} "
              f"(kept {best[1]:.1%}, abstained {best[2]:.1%})")
        if args.threshold is not None:
            kept = float(np.mean([p >= args.threshold for p in positives]))
            abstained = float(np.mean([n < args.threshold for n in negative]))
            print(f"    at {args.threshold:.2f}: kept {kept:.1%}, abstained {abstained:.1%}, "
                  f"balanced accuracy {(kept + abstained) / 2:.3f}")


if __name__ == "__main__":
    main()
