"""Generative benchmark: a real local model's answers, grounded (issue "Grounded answers from any model").

Against an OpenAI-compatible endpoint (../shared/tools/local-llm.sh starts the small local model: 1-3 minutes an
answer on 2 cores), on the first N starter eval cases and N PubMedQA questions over their abstracts, in JSON and in
text mode, it prints per mode: the share of answers served from the model (not the extractive fallback), ALCE
citation recall and precision by the offline judge, citations that resolve to nothing, sentences attributed and
removed per answer, answer time against the time of its one generation, and the share of the model's substantive
sentences kept; and, from the same generations, what the parser and fallback before grounding made of them (an
answer whose text held no [n] marker was thrown away). Three answers are printed in full, removed sentences marked.
Figures are printed, nothing is asserted.

    ../shared/tools/local-llm.sh            # prints base_url
    python bench/generative.py --base-url http://127.0.0.1:8799/v1 [--model local-qwen-1.5b] [--n 10]
        [--modes json,text] [--cache bench/.cache] [--out bench/.cache/generative.jsonl] [--resume]

--resume keeps the questions already answered in --out (a run stopped half way) and answers only the others.
--replay grounds the generations logged in --out again with today's code, without a model (no --base-url), and
prints what changed against the logged answers: a change to grounding measured on real generations in seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from evals.builders import pubmedqa_cases  # noqa: E402
from evals.cases import EvalCase, load_cases  # noqa: E402
from evals.context import EvalContext  # noqa: E402
from evals.metrics.answers import CitationRecallPrecision, CitationValidity  # noqa: E402
from evals.wiring import passage_resolver  # noqa: E402
from rag.answer.ground import REPEATED  # noqa: E402
from rag.answer.lexical import answer_sentences, is_no_evidence  # noqa: E402
from rag.answer.models import Answer  # noqa: E402
from rag.answer.parse import ParsedAnswer, parse_answer  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.contract import Source, citations_in, strip_citations  # noqa: E402
from rag.factory import Components  # noqa: E402
from rag.generate.json_answer import read_answer, to_markdown  # noqa: E402
from rag.generate.openai_chat import OpenAIChatGenerator  # noqa: E402
from rag.generate.protocol import Generation, GenerationRequest  # noqa: E402
from rag.judge import Judge  # noqa: E402
from rag.text.terms import content_terms  # noqa: E402


class Replayed:
    """The generations of an earlier run, served again for their questions (--replay)."""

    def __init__(self, generations: dict[str, Generation], seconds: dict[str, float], name: str) -> None:
        self.generations, self.seconds, self._name = generations, seconds, name

    @property
    def name(self) -> str:
        return self._name

    def generate(self, request: GenerationRequest) -> Generation:
        return self.generations[request.question]

    def complete(self, prompt: Any) -> str:
        raise NotImplementedError("replayed runs have no conversations to condense")


class Recording:
    """The real generator (or a replayed run), recording each generation and how long it took."""

    def __init__(self, inner: OpenAIChatGenerator | Replayed) -> None:
        self.inner = inner
        self.last: tuple[Generation | None, float, GenerationRequest | None] = (None, 0.0, None)

    @property
    def name(self) -> str:
        return self.inner.name

    is_model = True

    def generate(self, request: GenerationRequest) -> Generation:
        started = time.perf_counter()
        try:
            generation = self.inner.generate(request)
        except Exception:
            self.last = (None, time.perf_counter() - started, request)
            raise
        seconds = (self.inner.seconds[request.question] if isinstance(self.inner, Replayed)
                   else time.perf_counter() - started)
        self.last = (generation, seconds, request)
        return generation

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]:
        """A live model's stream, as the service reads it (a looping model is stopped); a replayed run's whole
        generation."""
        if isinstance(self.inner, Replayed):
            yield self.generate(request)
            return
        started = time.perf_counter()
        generation: Generation | None = None
        try:
            for piece in self.inner.stream(request):
                if isinstance(piece, Generation):
                    generation = piece
                yield piece
        finally:
            self.last = (generation, time.perf_counter() - started, request)

    def complete(self, prompt: Any) -> str:
        return self.inner.complete(prompt)


@dataclass
class Row:
    case: str
    mode: str
    answer: Answer
    generation: Generation | None
    generation_s: float
    substantive: int
    baseline_from_model: bool
    scores: dict[str, float | None] = field(default_factory=dict)
    baseline_scores: dict[str, float | None] = field(default_factory=dict)
    written: frozenset[str] = frozenset()
    """The model's own sentences (its sections' and its limitations'), as :func:`_said` reads them: what counts as
    kept (a section the grounding answered from its sources with a notice holds the composer's sentences, not the
    model's)."""


def _said(sentence: str) -> str:
    return " ".join(strip_citations(sentence).lower().split()).rstrip(" .")


def written_by_model(parsed: ParsedAnswer) -> tuple[list[tuple[str, list[int]]], frozenset[str]]:
    """The model's substantive sentences in its sections (with their [n]), and every sentence it wrote that a section
    may keep (its sections' and its limitations', which grounding may move into a section)."""
    sentences = [s for text in parsed.sections.values() for s in substantive_sentences(text)]
    limitations = [claim for claim, _ in substantive_sentences(parsed.limitations)]
    return sentences, frozenset(_said(text) for text in [*(c for c, _ in sentences), *limitations])


def substantive_sentences(text: str) -> list[tuple[str, list[int]]]:
    """The model's sentences that claim something (not "no evidence" statements or fragments), with their [n]."""
    found = []
    for sentence in answer_sentences(text):
        claim = strip_citations(sentence)
        if not is_no_evidence(claim) and len(content_terms(claim)) >= 2:
            found.append((claim, citations_in(sentence)))
    return found


def model_markdown(generation: Generation) -> str:
    data = read_answer(generation.text) if generation.format == "json" else None
    return to_markdown(data) if data else generation.text


def alce(judge: Judge, items: Sequence[tuple[str, list[str]]]) -> dict[str, float | None]:
    """ALCE recall and precision of sentences with the passages they cite (a sentence without citations: 0)."""
    if not items:
        return {"citation_recall": None, "citation_precision": None}
    recall = precise = total = 0
    for claim, passages in items:
        total += len(passages)
        if not passages or not judge.judge_many([(claim, "\n\n".join(passages))])[0].supported:
            continue
        recall += 1
        if len(passages) == 1:
            precise += 1
            continue
        alone = judge.judge_many([(claim, p) for p in passages])
        for i, single in enumerate(alone):
            rest = "\n\n".join(p for j, p in enumerate(passages) if j != i)
            precise += int(single.supported or not judge.judge_many([(claim, rest)])[0].supported)
    return {"citation_recall": recall / len(items), "citation_precision": precise / total if total else None}


def row_from_log(entry: dict[str, Any]) -> Row:
    """A row of an earlier (resumed) run, from its line in the log."""
    answer = Answer.model_validate(entry["answer"])
    raw = entry.get("raw")
    fmt = entry.get("format") or ("json" if raw and raw.lstrip().startswith(("{", "`")) else "markdown")
    generation = Generation(raw, fmt) if raw else None
    markdown = model_markdown(generation) if generation else ""
    sentences, written = written_by_model(parse_answer(markdown, []))
    return Row(entry["case"], entry["mode"], answer, generation, entry["generation_s"], len(sentences),
               bool(entry.get("baseline")), entry.get("scores", {}), entry.get("baseline", {}), written)


def run_mode(components: Components, cases: Sequence[EvalCase], mode: str, judge: Judge, log: Any,
             done: dict[tuple[str, str], Row], replay: dict[str, Row] | None = None) -> list[Row]:
    """The mode's answers (kept from ``done``, or generated and logged); with ``replay`` (the logged rows by case),
    the logged generations are grounded again, and nothing is logged."""
    settings = components.settings.generation.model_copy(update={"output": mode})
    if replay is not None:
        cases = [c for c in cases if c.id in replay]
        logged = {c.question: replay[c.id] for c in cases}
        recording = Recording(Replayed({q: r.generation or Generation("") for q, r in logged.items()},
                                       {q: r.generation_s for q, r in logged.items()},
                                       f"openai:{settings.model}"))
    else:
        recording = Recording(OpenAIChatGenerator(settings))
    service = components.answers(llm=recording)  # type: ignore[arg-type]
    resolve = passage_resolver(components)
    rows = []
    for case in cases:
        if (case.id, mode) in done:
            rows.append(done[(case.id, mode)])
            continue
        started = time.perf_counter()
        answer = service.answer(case.question, backend="openai")
        generation, seconds, request = recording.last
        sources: Sequence[Source] = request.sources if request is not None else []
        raw = model_markdown(generation) if generation else ""
        parsed = parse_answer(raw, sources)
        sentences, written = written_by_model(parsed)
        by_n = {s.n: s.text for s in sources}
        baseline_items = [(claim, [by_n[n] for n in numbers if n in by_n]) for claim, numbers in sentences]
        row = Row(case.id, mode, answer, generation, seconds, len(sentences), parsed.citation_count() > 0,
                  written=written)
        context = EvalContext(case, answer, resolve(answer), [], judge)
        row.scores = {**CitationValidity().evaluate(context), **CitationRecallPrecision().evaluate(context)}
        row.baseline_scores = alce(judge, baseline_items) if row.baseline_from_model else {}
        rows.append(row)
        print(f"  {mode} {case.id}: {answer.backend}, generation {seconds:.0f} s, answer "
              f"{time.perf_counter() - started:.0f} s, recall {row.scores.get('citation_recall')}", flush=True)
        if replay is not None:
            changes(replay[case.id].answer, answer)
            continue
        log.write(json.dumps({"case": case.id, "mode": mode, "generation_s": seconds,
                              "raw": generation.text if generation else None,
                              "format": generation.format if generation else None,
                              "answer": answer.model_dump(mode="json"),
                              "scores": row.scores, "baseline": row.baseline_scores}) + "\n")
        log.flush()
    return rows


def changes(before: Answer, after: Answer) -> None:
    """What grounding does differently from the logged answer: sentences it now removes or keeps again."""
    removed_before = {r.sentence: r.reason for r in before.grounding.removed}
    for removal in after.grounding.removed:
        if removal.sentence not in removed_before:
            print(f"      now removed ({removal.reason}): {removal.sentence}")
    removed_after = {r.sentence for r in after.grounding.removed}
    for sentence, reason in removed_before.items():
        if sentence not in removed_after:
            print(f"      kept again (was: {reason}): {sentence}")
    if before.backend != after.backend:
        print(f"      backend: {before.backend} -> {after.backend}")


def mean(values: Sequence[float | None]) -> str:
    kept = [v for v in values if v is not None]
    return f"{statistics.mean(kept):.3f}" if kept else "—"


def report(mode: str, rows: Sequence[Row]) -> None:
    from_model = [not r.answer.backend.startswith("extractive") for r in rows]
    dangling = sum(len([n for n in citations_in(s.text) if n not in {ref.n for ref in r.answer.references}])
                   for r in rows for s in r.answer.sections)
    kept = [sum(bool(citations_in(sentence)) and _said(sentence) in r.written for s in r.answer.sections
                for sentence in answer_sentences(s.text))
            if not r.answer.backend.startswith("extractive") else 0 for r in rows]
    repeats = sum(1 for r in rows for x in r.answer.grounding.removed if x.reason == REPEATED)
    ratios = [r.answer.timings_ms["total"] / 1000 / r.generation_s for r in rows if r.generation_s > 0]
    print(f"\n{mode} mode, {len(rows)} questions")
    before = (f"before grounding: {sum(r.baseline_from_model for r in rows)}/{len(rows)}" if mode == "text" else
              "before grounding: no JSON mode, the model was asked for text")
    print(f"  answers from the model: {sum(from_model)}/{len(rows)} ({100 * sum(from_model) / len(rows):.0f}%; "
          f"{before})")
    print(f"  citation recall {mean([r.scores.get('citation_recall') for r in rows])}, precision "
          f"{mean([r.scores.get('citation_precision') for r in rows])}, validity "
          f"{mean([r.scores.get('citation_validity') for r in rows])}; dangling citations {dangling}")
    if mode == "text":
        print(f"  before grounding (answers it would have kept, sentences without [n] count 0): recall "
              f"{mean([r.baseline_scores.get('citation_recall') for r in rows])}, precision "
              f"{mean([r.baseline_scores.get('citation_precision') for r in rows])}")
    attributed = statistics.mean(len(r.answer.grounding.attributed) for r in rows)
    removed = statistics.mean(len(r.answer.grounding.removed) for r in rows)
    print(f"  per answer: {attributed:.1f} sentences attributed, {removed:.1f} removed")
    total_substantive = sum(r.substantive for r in rows) - repeats
    print(f"  substantive sentences kept (repeats not counted): {sum(kept)}/{total_substantive} "
          f"({100 * sum(kept) / max(1, total_substantive):.0f}%)")
    reasons = Counter(x.reason for r in rows for x in r.answer.grounding.removed)
    print("  removed, by reason: " + "; ".join(f"{n} {reason}" for reason, n in reasons.most_common()))
    if ratios:
        print(f"  answer time / generation time: median {statistics.median(ratios):.3f}, max {max(ratios):.3f}; "
              f"generation median {statistics.median(r.generation_s for r in rows):.0f} s")


def show(row: Row) -> None:
    print(f"\n--- {row.case} ({row.mode}, {row.answer.backend}) ---")
    for section in row.answer.sections:
        print(f"## {section.title}\n{section.text}")
    for removal in row.answer.grounding.removed:
        print(f"  [REMOVED: {removal.reason}] {removal.sentence}")
    for reference in row.answer.references:
        print(f"  [{reference.n}] {reference.title}" + (f" ({reference.year})" if reference.year else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="the OpenAI-compatible endpoint (required unless --replay)")
    parser.add_argument("--model", default="local-qwen-1.5b")
    parser.add_argument("--n", type=int, default=10, help="starter cases and PubMedQA questions each")
    parser.add_argument("--modes", default="json,text")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--resume", action="store_true", help="keep the answers already in --out")
    parser.add_argument("--replay", action="store_true", help="ground the generations in --out again, no model")
    args = parser.parse_args()
    if args.base_url is None and not args.replay:
        parser.error("--base-url is required (unless --replay)")
    generation = {"backend": "openai", "base_url": args.base_url or "http://127.0.0.1:9/v1", "model": args.model,
                  "api_key": "none", "timeout_s": 900, "max_retries": 0, "max_answer_tokens": 700}
    starter = Components(Settings(data_dir=args.cache / "starter-corpus", generation=generation))  # type: ignore[arg-type]
    starter.ingestor().run([ROOT / "corpus"], prune=True)
    pubmedqa = Components(Settings(data_dir=args.cache / "pubmedqa", generation=generation))  # type: ignore[arg-type]
    pubmedqa.ingestor().run([DATA / "pubmedqa" / "pqal_cv_500.json"])
    starter_cases = [c for c in load_cases(ROOT / "evals" / "datasets" / "starter.jsonl")[0] if not c.conversation]
    pqa_cases = list(pubmedqa_cases(DATA / "pubmedqa" / "pqal_cv_500.json"))[: args.n]
    out = args.out or args.cache / "generative.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    judge = starter.judge("offline")
    rows: dict[str, list[Row]] = {}
    done: dict[tuple[str, str], Row] = {}
    if (args.resume or args.replay) and out.exists():
        for line in out.read_text().splitlines():
            row = row_from_log(json.loads(line))
            done[(row.case, row.mode)] = row
        print(f"{'replaying' if args.replay else 'resuming'}: {len(done)} answers from {out}", flush=True)
    if args.replay:
        for mode in args.modes.split(","):
            print(f"{mode} mode (replayed):", flush=True)
            logged = {case: row for (case, row_mode), row in done.items() if row_mode == mode}
            rows[mode] = (run_mode(starter, starter_cases[: args.n], mode, judge, None, {}, logged)
                          + run_mode(pubmedqa, pqa_cases, mode, pubmedqa.judge("offline"), None, {}, logged))
    else:
        with out.open("a" if args.resume else "w") as log:
            for mode in args.modes.split(","):
                print(f"{mode} mode:", flush=True)
                rows[mode] = (run_mode(starter, starter_cases[: args.n], mode, judge, log, done)
                              + run_mode(pubmedqa, pqa_cases, mode, pubmedqa.judge("offline"), log, done))
    for mode, mode_rows in rows.items():
        if mode_rows:
            report(mode, mode_rows)
    shown = [r for mode_rows in rows.values() for r in mode_rows if r.answer.grounding.removed][:2]
    shown += [r for mode_rows in rows.values() for r in mode_rows if r not in shown][:3 - len(shown)]
    for row in shown:
        show(row)
    print(f"\nraw generations and answers: {out}")
    starter.close()
    pubmedqa.close()


if __name__ == "__main__":
    main()
