"""What stopping a looping model saves (issue 24 item 8): a real model's answers, each streamed to its end with
nothing stopped, every piece timed; the repetition guard (rag.generate.repetition) is then run over the same stream
to find where it would have stopped the model. Per answer: the generation's time and tokens, whether the guard
fires, and if so the seconds and the share of the stream it saves (the time from the guard's stop to the stream's
end). The guard reads what it reads in the service: the text as it arrives in text mode, the items shown as they
complete in JSON mode. Figures are printed, nothing is asserted.

    ../shared/tools/local-llm.sh 8799             # prints base_url
    python bench/loop_stop.py --base-url http://127.0.0.1:8799/v1 [--model local-qwen-1.5b] [--modes text,json]
        [--question Q]... [--split dev] [--limit N] [--out FILE]

Without --question, the questions are the first --limit cases of the clinician set's --split half (starter corpus),
first turns only. The answers are those of `rag ask` with that endpoint: same retrieval, same excerpts, same prompt.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.cases import load_cases  # noqa: E402
from rag.config import GenerationSettings, Settings  # noqa: E402
from rag.factory import Components  # noqa: E402
from rag.generate.openai_chat import OpenAIChatGenerator  # noqa: E402
from rag.generate.repetition import RepetitionGuard  # noqa: E402

ISSUE_QUESTION = "Have regulators approved any exosome products for cosmetic use?"
"""The question whose answer repeated four sentences three times (6.4 minutes of generation) in issue 24."""


@dataclass
class Outcome:
    question: str
    mode: str
    seconds: float
    finish: str
    fired: bool
    stopped_at_s: float | None
    saved_s: float
    saved_share: float
    text: str
    """What the model wrote, to its end."""
    kept: str
    """What the guard keeps (all of it when it does not fire)."""


class Timing(RepetitionGuard):
    """Reads a stream as the guard does, but never stops it: each piece is kept with the second it arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()
        self.pieces: list[tuple[float, str]] = []
        self._all = ""

    @property
    def text(self) -> str:
        return self._all

    def feed(self, piece: str) -> bool:
        self.pieces.append((time.monotonic() - self.started, piece))
        self._all += piece
        return False


class Unguarded(OpenAIChatGenerator):
    """The service's generator, except that a looping stream is read to its end, each piece timed (``guards``: one
    per stream)."""

    def __init__(self, settings: GenerationSettings) -> None:
        super().__init__(settings)
        self.guards: list[Timing] = []

    def _guard(self) -> RepetitionGuard:
        self.guards.append(Timing())
        return self.guards[-1]


def outcome(question: str, mode: str, pieces: list[tuple[float, str]], finish: str) -> Outcome:
    """Where the guard would have stopped a stream read to its end (``pieces``: each with the second it arrived),
    and what that saves."""
    guard = RepetitionGuard()
    seconds = pieces[-1][0] if pieces else 0.0
    text = "".join(piece for _, piece in pieces)
    for arrived, piece in pieces:
        if guard.feed(piece):
            saved = seconds - arrived
            return Outcome(question, mode, seconds, finish, True, arrived, saved, saved / seconds if seconds else 0.0,
                           text, guard.kept)
    return Outcome(question, mode, seconds, finish, False, None, 0.0, 0.0, text, text)


def questions(args: argparse.Namespace) -> list[str]:
    if args.question:
        return list(args.question)
    cases, errors = load_cases(ROOT / "evals" / "datasets" / "clinician.jsonl")
    if errors:
        raise SystemExit(f"clinician.jsonl: {errors[0].reason}")
    chosen = [c.conversation[0] if c.conversation else c.question for c in cases if c.tags[:1] == (args.split,)]
    return [ISSUE_QUESTION, *dict.fromkeys(chosen)][: args.limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="local-qwen-1.5b")
    parser.add_argument("--modes", default="text,json")
    parser.add_argument("--question", action="append")
    parser.add_argument("--split", default="dev", choices=["dev", "heldout"])
    parser.add_argument("--limit", type=int, default=6)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--out", type=Path, help="write each stream's outcome here (JSON lines, with what the model "
                        "wrote and what the guard keeps)")
    args = parser.parse_args()
    asked = questions(args)
    results: list[Outcome] = []
    for mode in args.modes.split(","):
        settings = Settings(data_dir=args.cache / "clinician-starter",
                            generation={"backend": "openai", "base_url": args.base_url, "model": args.model,
                                        "api_key": "none", "timeout_s": 900, "output": mode})
        built = Components(settings)
        try:
            built.ingestor().run([ROOT / "corpus"], prune=True)
            generator = Unguarded(settings.generation)
            service = built.answers(llm=generator)
            for question in asked:
                before = len(generator.guards)
                answer = service.answer(question)
                if len(generator.guards) == before:
                    print(f"  [{mode}] not served by the model ({answer.backend}; {' '.join(answer.notices)}): "
                          f"{question}")
                    continue
                cut = any("token limit" in notice for notice in answer.notices)
                found = outcome(question, mode, generator.guards[-1].pieces, "length" if cut else "stop")
                results.append(found)
                print(f"  [{mode}] {found.seconds:6.1f} s, finish {found.finish}; "
                      + (f"guard stops at {found.stopped_at_s:.1f} s, saving {found.saved_s:.1f} s "
                         f"({100 * found.saved_share:.0f}%)" if found.fired else "no loop") + f": {question}",
                      flush=True)
        finally:
            built.close()
    looped = [r for r in results if r.fired]
    print(f"\nstreams {len(results)}, looping {len(looped)}; generation time {sum(r.seconds for r in results):.0f} s, "
          f"saved by the guard {sum(r.saved_s for r in looped):.0f} s"
          + (f" (median {statistics.median(r.saved_s for r in looped):.0f} s a looping answer)" if looped else ""))
    if args.out:
        args.out.write_text("".join(json.dumps(asdict(r)) + "\n" for r in results))


if __name__ == "__main__":
    main()

