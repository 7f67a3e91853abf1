"""API load benchmark: `rag serve` with 2 uvicorn workers on 127.0.0.1 over the starter corpus, loaded from this
(second) process by 16 concurrent clients for a bounded time: extractive answers, then GET /v1/search.

    python bench/api_load.py [--seconds 60] [--clients 16] [--workers 2] [--cache bench/.cache] [--distinct]

Targets: >= 40 answers/s with p99 <= 1 s and 0 errors; >= 150 searches/s. Printed: throughput, p50/p95/p99, errors.
The server runs as `rag serve --workers N` does (prometheus_client in multiprocess mode, rate limits in the data
dir's shared file). The per-client rate limits and the stored-turns cap are raised for the run (one anonymous
loopback client would otherwise be limited: each answer stores a turn, and past 2,000 of them answers get 429), and
the conversations of earlier runs are deleted first, so every run starts from the same store.

By default the clients cycle through a few starter-corpus questions, so the query-embedding cache always hits (as
for repeated questions). ``--distinct`` makes every request's text unique, so every request embeds its query: real
biomedical questions (the 2,689 distinct SciFact claims, PubMedQA and BioASQ questions in ../shared/data), and once
they are used up, the same questions with " (variant N)" appended. They are off-topic for the starter corpus, which
changes what is found, not the work done.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from answer import QUESTIONS  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.factory import Components  # noqa: E402
from tests.helpers.servers import free_port  # noqa: E402

SEARCHES = [q.split("?")[0][:80] for q in QUESTIONS] + ["exosome granuloma", "PRP erythema laser",
                                                          "blood pressure screening interval", "HbA1c sickle cell"]


def distinct_questions(data: Path = ROOT.parent / "shared" / "data") -> list[str]:
    """Every SciFact claim, PubMedQA and BioASQ question in the shared data, in a fixed order."""
    try:
        claims = [json.loads(line)["claim"] for name in ("claims_train.jsonl", "claims_test.jsonl")
                  for line in (data / "scifact" / name).read_text().splitlines() if line.strip()]
        pubmedqa = [r["QUESTION"] for r in json.loads((data / "pubmedqa" / "pqal_cv_500.json").read_text()).values()]
        bioasq = [q["body"] for q in json.loads(
            (data / "bioasq" / "bioasq_7B-9B_factoid_list_summary.json").read_text())["questions"]]
    except (OSError, KeyError, ValueError) as exc:
        raise SystemExit(f"--distinct needs the shared datasets under {data}: {exc}") from exc
    return list(dict.fromkeys(q.strip() for q in claims + pubmedqa + bioasq if q.strip()))


def start_server(data_dir: Path, port: int, workers: int, extra_env: dict[str, str] | None = None,
                 ready_seconds: float = 120) -> subprocess.Popen[bytes]:
    metrics = data_dir / "prometheus-multiproc"  # as `rag serve --workers N` does: one scrape counts every worker
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    for stored in data_dir.glob("conversations.sqlite3*"):  # the turns earlier runs stored (and their WAL)
        stored.unlink()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_API__RATE_LIMIT_PER_MINUTE": "100000000",
           "RAG_API__RATE_LIMIT_BURST": "100000", "RAG_API__ANSWER_RATE_LIMIT_PER_MINUTE": "100000000",
           "RAG_API__ANSWER_RATE_LIMIT_BURST": "100000", "RAG_API__MAX_CONCURRENT_ANSWERS": "1000",  # one caller
           "RAG_STORE__MAX_STORED_TURNS_PER_OWNER": "1000000000", "RAG_STORE__MAX_STORED_MB_PER_OWNER": "1000000",
           "PROMETHEUS_MULTIPROC_DIR": str(metrics), **(extra_env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the server did not become ready")


def load(send: Callable[[httpx.Client, int], httpx.Response], seconds: float, clients: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as client:
            n = index
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    ok = send(client, n).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += not ok
                n += clients

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def report(name: str, latencies: list[float], errors: int, seconds: float, target: str) -> None:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    p50 = statistics.median(ordered) * 1000
    print(f"{name}: {len(ordered) / seconds:.1f} req/s over {seconds:.0f} s, p50 {p50:.0f}"
          f" ms, p95 {pick(0.95):.0f} ms, p99 {pick(0.99):.0f} ms, errors {errors} ({target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--distinct", action="store_true", help="distinct real questions: no query-cache hits")
    args = parser.parse_args()
    if args.distinct:
        real = distinct_questions()
        pick = lambda n: real[n % len(real)] + (f" (variant {n // len(real)})" if n >= len(real) else "")  # noqa: E731
        # the searches start past every question the answers phase can have sent: nothing is in the cache
        answer_question, search_query, label = pick, lambda n: pick(n + 10**6), ", every question distinct"
    else:
        answer_question = lambda n: QUESTIONS[n % len(QUESTIONS)]  # noqa: E731
        search_query, label = (lambda n: SEARCHES[n % len(SEARCHES)]), ""
    data_dir = args.cache / "starter-corpus"
    components = Components(Settings(data_dir=data_dir))
    components.ingestor().run([ROOT / "corpus"], prune=True)
    components.embedder.embed_query("export the query encoder before the workers start")
    components.close()

    port = free_port()
    server = start_server(data_dir, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        answer_latency, answer_errors = load(
            lambda client, n: client.post(f"{base}/v1/answers", json={"question": answer_question(n)}),
            args.seconds, args.clients)
        report(f"POST /v1/answers (extractive, {args.clients} clients, {args.workers} workers{label})", answer_latency,
               answer_errors, args.seconds, "target >= 40/s, p99 <= 1000 ms, 0 errors")
        search_latency, search_errors = load(
            lambda client, n: client.get(f"{base}/v1/search", params={"q": search_query(n)}),
            args.seconds, args.clients)
        report(f"GET /v1/search ({args.clients} clients{label})", search_latency, search_errors, args.seconds,
               "target >= 150/s")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
