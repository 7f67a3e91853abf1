"""Fuzz the loaders and the answer parser for a set time, with structure-aware hypothesis inputs (rag.testing.fuzz).

    python bench/fuzz.py --seconds 60 [--target NAME]... [--seed N] [--hang-seconds S] [--json]
    make bench-fuzz FUZZ_ARGS="--seconds 600"

``--seconds`` is the whole budget, shared equally by the chosen targets (all of them by default). For each target it
prints executions, executions a second and crashes: an exception other than the loader's InputError, a broken
contract, or an input running longer than ``--hang-seconds``. A crash is shrunk to a small failing input, which is
printed; the target then stops. Exits 1 when any target crashed.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis.errors import HypothesisWarning  # noqa: E402

from rag.testing.fuzz import TARGETS, Target  # noqa: E402

FIRST_BATCH, MAX_BATCH, BATCH_SECONDS = 20, 2000, 5.0
"""Hypothesis runs repeat with new seeds until the target's time is up; each is sized from the rate so far to last
about BATCH_SECONDS (a run cannot be stopped half way, and generating its remaining examples takes time)."""


_RUN = re.compile(r"(.{1,4}?)\1{15,}", re.S)
"""A piece repeated many times in a failing input, printed once with its count."""


class Hang(Exception):
    """An input ran longer than the per-input time limit."""


@dataclass
class Outcome:
    target: str
    executions: int = 0
    seconds: float = 0.0
    crashes: int = 0
    report: str = ""

    @property
    def per_second(self) -> float:
        return self.executions / self.seconds if self.seconds else 0.0


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in this thread when the block runs longer than ``seconds`` (checked between bytecodes)."""
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"the input ran for more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(target: Target, seconds: float, seed: int, hang_seconds: float) -> Outcome:
    """Run ``target`` for about ``seconds`` (plus the time to shrink a crash), in batches of fresh examples."""
    outcome = Outcome(target.name)
    started = time.monotonic()
    stop_at = started + seconds
    failed = False

    def run_one(value: Any) -> None:
        nonlocal failed
        if time.monotonic() >= stop_at and not failed:
            return  # time is up: let the current batch finish without work
        outcome.executions += 1
        try:
            with time_limit(hang_seconds):
                target.check(value)
        except BaseException:
            failed = True
            raise

    run, batch = 0, FIRST_BATCH
    while (remaining := stop_at - time.monotonic()) > 0:
        batch_started, executions = time.monotonic(), outcome.executions
        test = hypothesis_seed(seed + run)(settings(
            max_examples=batch, deadline=None, database=None, derandomize=False,
            phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck), print_blob=False,
            report_multiple_bugs=False)(given(target.inputs)(run_one)))
        run += 1
        try:
            test()
        except Exception as exc:
            outcome.crashes = 1
            outcome.report = describe(exc)
            break
        rate = (outcome.executions - executions) / max(time.monotonic() - batch_started, 1e-3)
        batch = max(FIRST_BATCH, min(MAX_BATCH, int(rate * min(remaining, BATCH_SECONDS))))
    outcome.seconds = time.monotonic() - started
    return outcome


def describe(exc: BaseException) -> str:
    """The exception, where it was raised and hypothesis's shrunk falsifying example, cut to a readable length."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/rag/" in f.filename or "/yaml/" in f.filename] or frames
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(ours[-4:]))
    notes = _RUN.sub(lambda m: f"{m.group(1)}<x{len(m.group(0)) // len(m.group(1))}>",
                     "\n".join(getattr(exc, "__notes__", [])))
    return f"{type(exc).__name__}: {str(exc)[:500]}\n  at {where}\n{notes[:3000]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="whole budget, shared by the targets")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="repeat to pick several")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--hang-seconds", type=float, default=5.0, help="an input running longer is a crash")
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", HypothesisWarning)  # "overly large repr" of the big inputs, on purpose
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # pypdf logs every oddity of a damaged PDF
    names = args.target or list(TARGETS)
    share = args.seconds / len(names)
    outcomes = []
    for name in names:
        outcome = fuzz(TARGETS[name], share, args.seed, args.hang_seconds)
        outcomes.append(outcome)
        if not args.json:
            print(f"{name:<11} {outcome.executions:>8} execs {outcome.per_second:>8.1f}/s  "
                  f"{outcome.crashes} crash(es)  {TARGETS[name].description}", flush=True)
            if outcome.report:
                print("  " + outcome.report.replace("\n", "\n  "), flush=True)
    total = sum(o.executions for o in outcomes)
    if args.json:
        print(json.dumps({"seed": args.seed, "outcomes": [asdict(o) | {"per_second": round(o.per_second, 1)}
                                                          for o in outcomes]}, indent=2))
    else:
        print(f"seed {args.seed}: {total} executions in {sum(o.seconds for o in outcomes):.0f} s, "
              f"{sum(o.crashes for o in outcomes)} target(s) crashed")
    return 1 if any(o.crashes for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
