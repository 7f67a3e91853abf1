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
from collections.abc import Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.cases import load_cases  # noqa: E402
from rag.config import GenerationSettings, Settings  # noqa: E402
from rag.factory import Components  # noqa: E402
from rag.generate.json_answer import JsonAnswerView  # noqa: E402
from rag.generate.openai_chat import OpenAIChatGenerator, _Usage  # noqa: E402
from rag.generate.protocol import Generation  # noqa: E402
from rag.generate.repetition import RepetitionGuard  # noqa: E402

ISSUE_QUESTION = "Have regulators approved any exosome products for cosmetic use?"
"""The question whose answer repeated four sentences three times (6.4 minutes of generation) in issue 24."""


@dataclass
class Stream:
    """One generation streamed to its end: what the guard would read, with the second each piece arrived."""

    question: str
    mode: str
    pieces: list[tuple[float, str]]
    seconds: float
    completion_tokens: int | None
    finish: str | None


@dataclass
class Outcome:
    question: str
    mode: str
    seconds: float
    completion_tokens: int | None
    finish: str | None
    fired: bool
    stopped_at_s: float | None
    saved_s: float
    saved_share: float
    text: str
    """What the model wrote, to its end."""
    kept: str
    """What the guard keeps (all of it when it does not fire)."""


class Unguarded(OpenAIChatGenerator):
    """The service's generator, except that a looping stream is read to its end, each piece timed (``streams``)."""

    def __init__(self, settings: GenerationSettings) -> None:
        super().__init__(settings)
        self.streams: list[Stream] = []
        self.question = ""

    def _stream_text(self, chunks: Any) -> Generator[str, None, Generation]:
        return self._timed(chunks, "text")

    def _stream_json(self, chunks: Any) -> Generator[str, None, Generation]:
        return self._timed(chunks, "json")

    def _timed(self, chunks: Any, mode: str) -> Generator[str, None, Generation]:
        start = time.monotonic()
        usage = _Usage()
        view = JsonAnswerView()
        raw: list[str] = []
        shown_pieces: list[tuple[float, str]] = []
        passthrough: bool | None = None if mode == "json" else True
        finish = None
        for piece, reason in self._pieces(chunks, usage):
            finish = reason or finish
            raw.append(piece)
            if passthrough is None and "".join(raw).strip():
                passthrough = not "".join(raw).lstrip().startswith(("{", "`"))
                shown = "".join(raw) if passthrough else view.feed(piece)
            elif passthrough:
                shown = piece
            else:
                shown = view.feed(piece) if passthrough is False else ""
            shown_pieces.append((time.monotonic() - start, shown))
            if shown:
                yield shown
        tokens = usage.tokens[1] if usage.tokens else None
        self.streams.append(Stream(self.question, mode, shown_pieces, time.monotonic() - start, tokens, finish))
        text = "".join(raw)
        return self._finished(text, "json" if mode == "json" and not passthrough else "markdown", finish,
                              usage.tokens)


def outcome(stream: Stream) -> Outcome:
    """Where the guard would have stopped this stream, and what that saves."""
    guard = RepetitionGuard()
    text = "".join(shown for _, shown in stream.pieces)
    for arrived, shown in stream.pieces:
        if guard.feed(shown):
            saved = max(0.0, stream.seconds - arrived)
            return Outcome(stream.question, stream.mode, stream.seconds, stream.completion_tokens, stream.finish,
                           True, arrived, saved, saved / stream.seconds if stream.seconds else 0.0, text, guard.kept)
    return Outcome(stream.question, stream.mode, stream.seconds, stream.completion_tokens, stream.finish, False,
                   None, 0.0, 0.0, text, text)


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
                generator.question = question
                before = len(generator.streams)
                answer = service.answer(question)
                if len(generator.streams) == before:
                    print(f"  [{mode}] not served by the model ({answer.backend}; {' '.join(answer.notices)}): "
                          f"{question}")
                    continue
                found = outcome(generator.streams[-1])
                results.append(found)
                print(f"  [{mode}] {found.seconds:6.1f} s, {found.completion_tokens} tokens, finish {found.finish}; "
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

