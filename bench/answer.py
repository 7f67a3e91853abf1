"""Answer benchmark: end-to-end time of an extractive answer in one process after start-up, on the starter corpus
and on a SciFact-sized index, and our overhead around an OpenAI-compatible call to a local stub server on 127.0.0.1
that answers instantly (everything except the HTTP round trip to the model).

    python bench/answer.py [--cache bench/.cache] [--skip-scifact]

Targets: extractive p50 <= 150 ms (starter corpus) and <= 300 ms (SciFact-sized); overhead p50 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from rag.config import GenerationSettings, Settings  # noqa: E402
from rag.factory import Components  # noqa: E402
from rag.generate.openai_chat import OpenAIChatGenerator  # noqa: E402
from rag.testing import StubChatServer  # noqa: E402

QUESTIONS = [
    "What is the comparative efficacy of PRP micro-needling versus exosome micro-needling for facial skin improvement?",
    "Is any exosome product approved by the FDA for cosmetic use?",
    "Does adding platelet-rich plasma to microneedling improve atrophic acne scars?",
    "What adverse events have been reported after exosome injections?",
    "How are platelet-rich plasma preparations classified?",
    "Does PRP shorten erythema after fractional CO2 laser?",
    "Should adults be screened for high blood pressure, and how should the diagnosis be confirmed?",
    "Which adults should be screened for abnormal blood glucose and type 2 diabetes?",
    "Should primary care clinicians screen adults for depression?",
    "Who should be counselled about minimising ultraviolet exposure to prevent skin cancer?",
    "What do the EV reporting standards require before claims about exosomes are made?",
    "Is microneedling with vitamin C as effective as microneedling with PRP for acne scars?",
]
STUB_ANSWER = ("## From the Guidelines\nNo exosome product is approved [1].\n## From the Research\n"
               "PRP with microneedling improved acne scars [2].\n## Limitations\nSmall trials.")


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def timed(run: Callable[[str], object], questions: Sequence[str], repeats: int) -> list[float]:
    for question in questions[:3]:
        run(question)
    samples = []
    for _ in range(repeats):
        for question in questions:
            started = time.perf_counter()
            run(question)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--skip-scifact", action="store_true")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    corpus = Components(Settings(data_dir=args.cache / "starter-corpus"))
    corpus.ingestor().run([ROOT / "corpus"], prune=True)
    service = corpus.answers()
    p50, p95 = percentiles(timed(lambda q: service.answer(q), QUESTIONS, repeats=3))
    print(f"extractive answer, starter corpus ({corpus.index.counts()[1]} passages): "
          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target p50 <= 150 ms)")

    with StubChatServer([{"content": STUB_ANSWER}]) as stub:
        llm = OpenAIChatGenerator(GenerationSettings(backend="openai", base_url=stub.base_url, model="stub"))
        call_ms: list[float] = []
        original = llm.generate

        def measured(request: object) -> str:
            started = time.perf_counter()
            try:
                return original(request)  # type: ignore[arg-type]
            finally:
                call_ms.append((time.perf_counter() - started) * 1000)

        llm.generate = measured  # type: ignore[method-assign]
        llm_service = corpus.answers(llm=llm)
        totals = timed(lambda q: llm_service.answer(q, backend="openai"), QUESTIONS, repeats=3)
        calls = call_ms[-len(totals):]
        overhead = [t - c for t, c in zip(totals, calls, strict=True)]
        o50, o95 = percentiles(overhead)
        c50, _ = percentiles(calls)
        print(f"openai backend against a local stub: our overhead p50 {o50:.0f} ms, p95 {o95:.0f} ms "
              f"(target p50 <= 50 ms); the stub call itself p50 {c50:.1f} ms")
    corpus.close()

    if not args.skip_scifact:
        claims = [json.loads(line)["claim"] for line in (DATA / "scifact" / "claims_train.jsonl").open()][:60]
        scifact = Components(Settings(data_dir=args.cache / "scifact"))
        report = scifact.ingestor().run([DATA / "scifact" / "corpus.jsonl"])
        if report.added:
            print(f"  (indexed SciFact: {report.added} documents)")
        sci_service = scifact.answers()
        p50, p95 = percentiles(timed(lambda q: sci_service.answer(q), claims, repeats=1))
        print(f"extractive answer, SciFact-sized index ({scifact.index.counts()[1]} passages): "
              f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target p50 <= 300 ms)")
        scifact.close()


if __name__ == "__main__":
    main()
