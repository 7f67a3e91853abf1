"""The clinician question set (evals/datasets/clinician.jsonl) answered over the starter corpus, and the second
corpus's set (evals/datasets/clinician_ngc.jsonl) over the public-domain guideline summaries of ../shared/data,
which nothing was tuned on. Printed per split (dev, heldout), not asserted:

- off-corpus abstention: share of the off-corpus questions whose every section says there is no evidence (>= 90%);
- false premises corrected: a section opens with the cited correction and the premise is never restated (>= 80%);
- true premises met up front: a section opens with what bears the premise out, and nothing (no notice) calls it
  false (cases tagged true-premise, added in the eleventh session: 10 dev, 10 held-out);
- required facts present (>= 80%), forbidden statements (0), lead publication right, a gold publication cited,
  the share of cited publications that are gold (padding), section abstention met, citation recall (ALCE, offline
  judge) and answer time;
- on the starter set, what a reader would count as filler: each quoted sentence looked up in
  evals/datasets/clinician_sentences.jsonl, where readers labelled the composer's candidate sentences (A: a clinician
  asking would want it quoted; R: same topic, not what was asked; X: unrelated). Printed: the quoted sentences
  labelled A, R or X, and those without a label (quoted by code newer than the labels: read them before trusting the
  shares); the sections holding an A candidate that quote one, and that lead with one; the sections holding none
  that say there is no evidence.

    python bench/clinician.py [--corpus starter|ngc|both] [--split dev|heldout|all] [--show ID]... [--out DIR]
        [--backend extractive|openai] [--limit N] [--tag TAG]

With ``--backend openai`` the configured endpoint answers (RAG_GENERATION__BASE_URL, __MODEL; e.g. the local model of
../shared/tools/local-llm.sh: minutes an answer, so choose a few cases with --limit or --tag).

Report held-out figures; tune on dev only (evals/README.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from evals.cases import EvalCase, load_cases  # noqa: E402
from evals.runner import CaseResult, summarize  # noqa: E402
from evals.wiring import eval_runner  # noqa: E402
from rag.answer.lexical import answer_sentences, is_no_evidence  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.contract import citations_in, strip_citations  # noqa: E402
from rag.factory import Components  # noqa: E402

LABELS = ROOT / "evals" / "datasets" / "clinician_sentences.jsonl"
CORPORA = {
    "starter": (ROOT / "evals" / "datasets" / "clinician.jsonl", [ROOT / "corpus"], "auto"),
    "ngc": (ROOT / "evals" / "datasets" / "clinician_ngc.jsonl",
            [DATA / "guidelines" / "ngc_open_subset.jsonl"], "ngc"),
}
HEADLINE = (("off-corpus abstention", "off-corpus", "abstention_correct", True),
            ("false premise corrected", "false-premise", "premise_corrected", False),
            ("true premise met up front", "true-premise", "premise_confirmed", False),
            ("required facts", None, "required_facts", False),
            ("forbidden statements (sum)", None, "forbidden_statements", False),
            ("lead publication right", None, "lead_correct", False),
            ("gold publication cited", None, "gold_cited", False),
            ("cited publications gold", None, "gold_precision", False),
            ("section abstention met", None, "abstention_correct", False),
            ("citation recall", None, "citation_recall", False))


def figure(results: list[CaseResult], cases: dict[str, EvalCase], tag: str | None, metric: str,
           whole: bool) -> str:
    """The metric over the results (those carrying ``tag``); ``whole``: the share of cases scoring 1."""
    values = [r.scores[metric] for r in results if r.scores.get(metric) is not None
              and (tag is None or tag in cases[r.id].tags)]
    if not values:
        return "—"
    if metric == "forbidden_statements":
        return f"{sum(values):.0f} in {len(values)} cases"
    value = sum(v == 1.0 for v in values) / len(values) if whole else statistics.fmean(values)  # type: ignore
    return f"{100 * value:.0f}% of {len(values)}"


def report(name: str, results: list[CaseResult], cases: dict[str, EvalCase]) -> None:
    splits = sorted({c.tags[0] for c in cases.values() if c.tags})
    print(f"\n{name}: {len(results)} cases")
    print(f"  {'':30}" + "".join(f"{split:>22}" for split in splits))
    for label, tag, metric, whole in HEADLINE:
        row = [figure([r for r in results if cases[r.id].tags[:1] == (split,)], cases, tag, metric, whole)
               for split in splits]
        print(f"  {label:30}" + "".join(f"{cell:>22}" for cell in row))
    for split in splits:
        seconds = [r.seconds for r in results if cases[r.id].tags[:1] == (split,)]
        served = [r for r in results if cases[r.id].tags[:1] == (split,) and r.answer
                  and not str(r.answer.get("backend", "")).startswith("extractive")]
        print(f"  {split}: answer time p50 {statistics.median(seconds) * 1000:.0f} ms (with follow-up turns); "
              f"served by a model {len(served)}/{len(seconds)}")


def _plain(text: str) -> str:
    return " ".join(text.split())


def sentence_labels(results: list[CaseResult], cases: dict[str, EvalCase]) -> None:
    """Print, per split, how the quoted sentences were labelled by readers (see the module docstring)."""
    labels: dict[tuple[str, str, str, str], str] = {}
    holding: dict[tuple[str, str], bool] = {}
    for record in map(json.loads, LABELS.read_text().splitlines()):
        labels[(record["case"], record["section"], record["doc_id"], _plain(record["text"]))] = record["label"]
        key = (record["case"], record["section"])
        holding[key] = holding.get(key, False) or record["label"] == "A"
    for split in sorted({c.tags[0] for c in cases.values() if c.tags}):
        counts: Counter[str] = Counter()
        for result in results:
            if cases[result.id].tags[:1] != (split,) or not result.answer:
                continue
            doc_ids = {ref["n"]: ref["doc_id"] for ref in result.answer.get("references", [])}
            for section in result.answer.get("sections", []):
                key = (result.id, section["kind"])
                if key not in holding:
                    continue
                quoted = [(_plain(strip_citations(s)), citations_in(s)) for s in answer_sentences(section["text"])
                          if not is_no_evidence(s) and strip_citations(s)]
                found = [labels.get((*key, doc_ids.get(numbers[0], ""), text), "unlabelled") if numbers
                         else "unlabelled" for text, numbers in quoted]
                counts.update(found)
                if holding[key]:
                    counts["holding"] += 1
                    counts["holding quoted"] += "A" in found
                    counts["holding led"] += found[:1] == ["A"]
                else:
                    counts["none"] += 1
                    counts["none silent"] += not quoted
        total = sum(counts[k] for k in ("A", "R", "X", "unlabelled"))
        print(f"  {split}: quoted sentences {total}: wanted (A) {counts['A']} "
              f"({100 * counts['A'] / max(total, 1):.0f}%), same topic not asked (R) {counts['R']}, unrelated (X) "
              f"{counts['X']}, unlabelled {counts['unlabelled']}; sections holding an A that quote one "
              f"{counts['holding quoted']}/{counts['holding']} (lead with one {counts['holding led']}); sections "
              f"holding none that say no evidence {counts['none silent']}/{counts['none']}")


def show(result: CaseResult, case: EvalCase) -> None:
    answer: dict[str, Any] = result.answer or {}
    print(f"\n--- {case.id} [{', '.join(case.tags)}]\n  Q: {' / '.join([*case.conversation, case.question])}")
    if answer.get("standalone_question"):
        print(f"  standalone: {answer['standalone_question']}")
    for section in answer.get("sections", []):
        print(f"  ## {section['title']}\n  {section['text']}")
    for ref in answer.get("references", []):
        print(f"  [{ref['n']}] {ref['doc_id']}")
    for failure in result.failures:
        if failure["check"] not in ("citation_recall", "appraisal"):
            print(f"  ! {failure['check']}: {failure['sentence']}")


def run(name: str, args: argparse.Namespace) -> None:
    dataset, sources, fmt = CORPORA[name]
    cases_list, errors = load_cases(dataset)
    if errors:
        raise SystemExit(f"{dataset}: {errors[0].source}: {errors[0].reason}")
    chosen = [c for c in cases_list if (args.split == "all" or c.tags[:1] == (args.split,))
              and (args.tag is None or args.tag in c.tags)][: args.limit]
    built = Components(Settings(data_dir=args.cache / f"clinician-{name}"))
    try:
        built.ingestor().run(sources, fmt=fmt, prune=True)  # type: ignore[arg-type]
        results = eval_runner(built, chosen, workers=args.workers, backend=args.backend).run(chosen)
    finally:
        built.close()
    cases = {c.id: c for c in chosen}
    report(name, results, cases)
    if name == "starter" and args.backend != "openai":
        sentence_labels(results, cases)
    for result in results:
        if result.id in args.show or "all" in args.show:
            show(result, cases[result.id])
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        summary = summarize(results, {"dataset": str(dataset)}, {c.id: c.tags for c in chosen})
        (args.out / f"{name}-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        with (args.out / f"{name}-cases.jsonl").open("w") as handle:
            for result in results:
                handle.write(json.dumps({"id": result.id, "scores": result.scores, "failures": result.failures,
                                         "answer": result.answer}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["starter", "ngc", "both"], default="both")
    parser.add_argument("--split", choices=["dev", "heldout", "all"], default="all")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--show", action="append", default=[], help="a case id whose answer to print, or 'all'")
    parser.add_argument("--out", type=Path, help="write each corpus's summary and cases here")
    parser.add_argument("--backend", choices=["extractive", "openai"], help="default: RAG_GENERATION__BACKEND")
    parser.add_argument("--limit", type=int, help="only the first N chosen cases")
    parser.add_argument("--tag", help="only cases carrying this tag (e.g. off-corpus, follow-up)")
    args = parser.parse_args()
    for name in (["starter", "ngc"] if args.corpus == "both" else [args.corpus]):
        run(name, args)


if __name__ == "__main__":
    main()
