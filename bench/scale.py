"""Scale benchmark: a 100k-chunk store in server mode (`chroma run` on 127.0.0.1), measured as several machines use it.

The store is SciFact's stored chunks and vectors replicated with small perturbations under new ids (nothing is
re-embedded; see bench/retrieval.py), written through the server-mode protocol: vectors, then the shared document
records, then the writer's catalog replica. Printed:

- write throughput of that build (chunks/s through the HTTP client);
- hybrid search p50/p95 in one process (query embedding included, SciFact claims as queries);
- a new machine joining: time to build its catalog replica (BM25 included) from the shared records, its size on disk;
- `rag serve` with 2 workers on a fresh data dir (bootstrapping their replica at start-up), loaded by 16 clients from
  this process: extractive answers/s, p50/p95/p99, errors;
- resident memory (RSS, peak) of the Chroma server, of each API worker and of this process; disk of the server.

    python bench/scale.py [--chunks 100000] [--seconds 30] [--cache bench/.cache]

The first run embeds SciFact (about 12 minutes) unless the retrieval benchmark's cache is there, then copies 100k
chunks into the server (a few minutes); later runs reuse both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_load import load, report, start_server  # noqa: E402
from retrieval import DATA, build_replica, latencies, open_index, rss_mb, scifact  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.store.catalog import Catalog  # noqa: E402
from rag.store.index import catalog_file  # noqa: E402
from tests.helpers.servers import free_port, start_chroma, stop  # noqa: E402

COLLECTION = "scale"


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of a process in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


def disk_mb(path: Path) -> float:
    files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files) / 1e6


def join_as_new_machine(settings: Settings) -> dict[str, float]:
    """Open the index on an empty data dir in a new process: the replica is built from the shared records."""
    code = f"""
import json, resource, time
from pathlib import Path
from rag.config import Settings
from rag.factory import Components
settings = Settings.model_validate_json({settings.model_dump_json()!r})
t0 = time.perf_counter()
c = Components(settings)
t1 = time.perf_counter()
c.retriever().search("statin therapy reduces cardiovascular events", 10)
t2 = time.perf_counter()
print(json.dumps({{"open_s": t1 - t0, "first_query_s": t2 - t1, "chunks": c.index.counts()[1],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def stored_chunks(settings: Settings) -> int:
    """Chunks the writer's replica already holds (an earlier, maybe interrupted, run)."""
    path = settings.data_dir / catalog_file(settings)
    if not path.exists():
        return 0
    catalog = Catalog(path)
    try:
        return catalog.counts()[1]
    finally:
        catalog.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--port", type=int, default=18001,
                        help="port of the bench's Chroma server (the replica file is named after the server's URL, "
                        "so a fixed port lets a later run reuse it)")
    args = parser.parse_args()
    queries = scifact()[0][:300]
    source = open_index(args.cache, "scifact", DATA / "scifact" / "corpus.jsonl")

    port = args.port
    server_dir = args.cache / "scale-chroma-server"
    chroma = start_chroma(server_dir, port)
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=args.cache / "scale-writer", chroma_url=url,
                        store={"collection": COLLECTION})  # type: ignore[arg-type]
    try:
        before = stored_chunks(settings)
        started = time.perf_counter()
        writer = build_replica(source, settings, args.chunks)
        chunks = writer.index.counts()[1]
        built_s = time.perf_counter() - started
        if chunks > before:
            print(f"server-mode write: {chunks - before} chunks in {built_s:.0f} s "
                  f"({(chunks - before) / built_s:.0f} chunks/s, vectors + shared records + the writer's replica)")
        source.close()
        retriever = writer.retriever()
        p50, p95 = latencies(lambda q: retriever.search(q, 10), queries)
        print(f"hybrid k=10 on the {chunks}-chunk server-mode store: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        print(f"this process (writer, replica open): {rss_mb():.0f} MB RSS")
        writer.close()

        with tempfile.TemporaryDirectory() as fresh:
            joined = join_as_new_machine(settings.model_copy(update={"data_dir": Path(fresh)}))
            replica = next(Path(fresh).glob("replica-*.sqlite3"))
            print(f"a new machine joining: replica of {joined['chunks']} chunks built in {joined['open_s']:.1f} s, "
                  f"{disk_mb(replica):.0f} MB on disk; first query {joined['first_query_s']:.2f} s (loads the model "
                  f"and exports the ONNX query encoder into the new data dir); peak RSS {joined['peak_rss_mb']:.0f} MB")

        api_dir = Path(tempfile.mkdtemp(prefix="rag-scale-api-"))
        api_port = free_port()
        env = {"RAG_CHROMA_URL": url, "RAG_STORE__COLLECTION": COLLECTION}
        started = time.perf_counter()
        api = start_server(api_dir, api_port, 2, env, ready_seconds=600)
        print(f"rag serve, 2 workers, fresh data dir: ready in {time.perf_counter() - started:.0f} s")
        try:
            base = f"http://127.0.0.1:{api_port}"
            answer_latency, errors = load(
                lambda client, n: client.post(f"{base}/v1/answers", json={"question": queries[n % len(queries)]}),
                args.seconds, args.clients)
            report(f"POST /v1/answers on {chunks} chunks ({args.clients} clients, 2 workers)", answer_latency, errors,
                   args.seconds, "server mode")
            for pid in children(api.pid):
                rss, peak = memory_mb(pid)
                print(f"  API worker {pid}: RSS {rss:.0f} MB (peak {peak:.0f} MB)")
        finally:
            api.terminate()
            api.wait(timeout=60)
            shutil.rmtree(api_dir, ignore_errors=True)
        rss, peak = memory_mb(chroma.pid)
        print(f"chroma server: RSS {rss:.0f} MB (peak {peak:.0f} MB), {disk_mb(server_dir):.0f} MB on disk")
    finally:
        stop(chroma)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
