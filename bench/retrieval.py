"""Retrieval benchmark: our BM25, dense and hybrid retrieval against a naive baseline, side by side, in one run.

SciFact: the 5,183 abstracts of corpus.jsonl; queries are the claims of claims_train.jsonl that have evidence; gold
is their evidence documents. PubMedQA: the 500 abstracts of pqal_cv_500.json; queries are their questions; gold is
the question's own abstract. The naive baseline indexes whole abstracts with ``bm25s`` and all-MiniLM-L6-v2 and fuses
the two top-100 lists with RRF (k=60). Our rows rank documents by their best passage (one passage per document).

Then latency (hybrid, query embedding included) on the SciFact index and on a 100k-chunk index built by replicating
SciFact's stored vectors and texts with small perturbations under new ids (nothing is re-embedded), the memory of
the process at 100k chunks, and the time to open the index in a new process.

    python bench/retrieval.py [--skip-100k] [--cache bench/.cache]

Indexes and the baseline's embeddings are cached under --cache (the first run embeds SciFact: about 12 minutes).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from evals.metrics.retrieval import RetrievalScores, score_runs  # noqa: E402
from rag.config import RetrievalSettings, Settings  # noqa: E402
from rag.factory import Components  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402

Dataset = tuple[list[str], list[set[str]], dict[str, str]]  # queries, gold doc ids, {doc id: whole abstract}


def scifact() -> Dataset:
    corpus = {}
    for line in (DATA / "scifact" / "corpus.jsonl").open():
        record = json.loads(line)
        corpus[f"scifact:{record['doc_id']}"] = f"{record['title']} {' '.join(record['abstract'])}"
    queries, golds = [], []
    for line in (DATA / "scifact" / "claims_train.jsonl").open():
        claim = json.loads(line)
        if claim["evidence"]:
            queries.append(claim["claim"])
            golds.append({f"scifact:{doc_id}" for doc_id in claim["evidence"]})
    return queries, golds, corpus


def pubmedqa() -> Dataset:
    data = json.loads((DATA / "pubmedqa" / "pqal_cv_500.json").read_text())
    corpus = {f"pmid:{pmid}": " ".join([*r["CONTEXTS"], r["LONG_ANSWER"]]) for pmid, r in data.items()}
    queries = [r["QUESTION"] for r in data.values()]
    golds = [{f"pmid:{pmid}"} for pmid in data]
    return queries, golds, corpus


def open_index(cache: Path, name: str, source: Path) -> Components:
    components = Components(Settings(data_dir=cache / name))
    started = time.perf_counter()
    report = components.ingestor().run([source])
    if report.failed:
        raise SystemExit(f"ingest of {source} failed: {report.failed[:3]}")
    if report.added or report.updated:
        print(f"  indexed {name}: {report.added} documents in {time.perf_counter() - started:.0f} s", flush=True)
    return components


def doc_ranking(retriever: Retriever, query: str, mode: str, depth: int = 100) -> list[str]:
    return [hit.doc_id for hit in retriever.search(query, depth, mode=mode)]  # type: ignore[arg-type]


def our_rows(components: Components, queries: list[str], golds: list[set[str]]) -> dict[str, RetrievalScores]:
    settings = components.settings.retrieval.model_copy(update={"max_chunks_per_doc": 1, "max_k": 1000})
    retriever = Retriever(components.index, components.embedder, settings)
    rows = {}
    for label, mode in (("ours BM25 (FTS5)", "lexical"), ("ours dense", "dense"), ("ours hybrid", "hybrid")):
        rows[label] = score_runs([doc_ranking(retriever, q, mode) for q in queries], golds)
    return rows


def naive_rows(components: Components, name: str, queries: list[str], golds: list[set[str]],
               corpus: dict[str, str], cache: Path) -> dict[str, RetrievalScores]:
    import bm25s

    ids = list(corpus)
    texts = [corpus[i] for i in ids]
    lexical = bm25s.BM25()
    lexical.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    found, _ = lexical.retrieve(bm25s.tokenize(queries, stopwords="en", show_progress=False), k=100,
                                show_progress=False)
    bm25_runs = [[ids[j] for j in row] for row in found]
    embeddings_file = cache / f"naive-{name}-abstracts.npy"
    if embeddings_file.exists():
        doc_vectors = np.load(embeddings_file)
    else:
        doc_vectors = components.embedder.embed_documents(texts)
        np.save(embeddings_file, doc_vectors)
    query_vectors = components.embedder.embed_documents(queries)
    top = np.argsort(-(query_vectors @ doc_vectors.T), axis=1)[:, :100]
    dense_runs = [[ids[j] for j in row] for row in top]
    hybrid_runs = []
    for bm25_run, dense_run in zip(bm25_runs, dense_runs, strict=True):
        fused: dict[str, float] = {}
        for run in (bm25_run, dense_run):
            for rank, doc_id in enumerate(run, start=1):
                fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (60 + rank)
        hybrid_runs.append(sorted(fused, key=lambda d: -fused[d]))
    return {
        "naive BM25 (bm25s, abstracts)": score_runs(bm25_runs, golds),
        "naive dense (MiniLM, abstracts)": score_runs(dense_runs, golds),
        "naive hybrid (RRF k=60)": score_runs(hybrid_runs, golds),
    }


def print_table(title: str, rows: dict[str, RetrievalScores]) -> None:
    print(f"\n{title}")
    print(f"  {'run':34} {'nDCG@10':>8} {'R@5':>7} {'R@10':>7} {'R@100':>7} {'MRR':>7}")
    for label, s in rows.items():
        print(f"  {label:34} {s.ndcg10:8.4f} {s.recall5:7.4f} {s.recall10:7.4f} {s.recall100:7.4f} {s.mrr:7.4f}")


def latencies(search: Callable[[str], object], queries: Sequence[str]) -> tuple[float, float]:
    """p50 and p95 in ms over ``queries``; warmed up on other texts, so every timed query embeds (no cache hit)."""
    for n in range(20):
        search(f"warm-up query {n} about statins and blood pressure")
    timings = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]


def build_replica(source: Components, target_settings: Settings, chunks_wanted: int, seed: int = 0) -> Components:
    """A bigger index made of SciFact's stored chunks and vectors, copied with small perturbations and new ids."""
    from rag.store.entry import IndexEntry

    target = Components(target_settings)  # its own embedder: the queries timed on SciFact are not in its cache
    target.index.recover()  # a build interrupted earlier leaves pending documents
    have = target.index.counts()[1]
    if have >= chunks_wanted:
        return target
    rng = np.random.default_rng(seed)
    collection = source.index.vectors._collection  # type: ignore[attr-defined]  # bench-only: read stored vectors
    stored = collection.get(include=["embeddings"])
    vectors = dict(zip(stored["ids"], stored["embeddings"], strict=True))
    documents = list(source.index.stored_documents())
    copy = have // max(1, source.index.counts()[1]) + 1
    started = time.perf_counter()
    while target.index.counts()[1] < chunks_wanted:
        batch: list[IndexEntry] = []
        for doc_id in documents:
            original = source.index.document(doc_id)
            assert original is not None
            chunk_ids = sorted(source.index.chunk_ids([doc_id])[doc_id],
                               key=lambda c: int(c.split("#")[1].split("-")[0]))
            meta = original.meta.model_copy(update={"id": f"copy{copy}:{doc_id}"})
            document = original.model_copy(update={"meta": meta})
            stored_chunks = source.index.chunks(chunk_ids)
            chunks, new_vectors = [], {}
            from rag.models import Chunk

            for ordinal, chunk_id in enumerate(chunk_ids):
                c = stored_chunks[chunk_id]
                new_id = f"{meta.id}#{ordinal}-{chunk_id.rsplit('-', 1)[1]}"
                chunks.append(Chunk(id=new_id, doc_id=meta.id, ordinal=ordinal, section=c.section, text=c.text,
                                    start=c.start, end=c.end, embed_text=f"{meta.title} v{copy} | {c.text}",
                                    token_count=0))
                vector = np.asarray(vectors[chunk_id], dtype=np.float32) + rng.normal(0, 0.01, 384).astype(np.float32)
                new_vectors[new_id] = vector / np.linalg.norm(vector)
            batch.append(IndexEntry(document, f"replica-{copy}", f"replica-{copy}", chunks, new_vectors))
            if sum(len(e.chunks) for e in batch) >= 2000:
                target.index.write(batch)
                batch = []
        target.index.write(batch)
        copy += 1
        print(f"  replica: {target.index.counts()[1]} chunks ({time.perf_counter() - started:.0f} s)",
              flush=True)
    return target


def open_in_new_process(data_dir: Path) -> dict[str, float]:
    code = f"""
import json, time
t0 = time.perf_counter()
from rag.config import Settings
from rag.factory import Components
t1 = time.perf_counter()
c = Components(Settings(data_dir={str(data_dir)!r}))
t2 = time.perf_counter()
c.retriever().search("statin therapy reduces cardiovascular events", 10)
t3 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "open_s": t2 - t1, "first_query_s": t3 - t2}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--skip-100k", action="store_true")
    parser.add_argument("--latency-only", action="store_true", help="skip the quality tables")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"shared data not found at {DATA}")
    args.cache.mkdir(parents=True, exist_ok=True)

    queries, golds, corpus = scifact()
    components = open_index(args.cache, "scifact", DATA / "scifact" / "corpus.jsonl")
    if not args.latency_only:
        quality_tables(args.cache, components, queries, golds, corpus)
    latency_report(args, components, queries)
    components.close()


def quality_tables(cache: Path, components: Components, queries: list[str], golds: list[set[str]],
                   corpus: dict[str, str]) -> None:
    args_cache = cache
    print(f"settings: {json.dumps(RetrievalSettings().model_dump(mode='json'))}")
    rows = our_rows(components, queries, golds) | naive_rows(components, "scifact", queries, golds, corpus, args_cache)
    print_table(f"SciFact: {len(corpus)} abstracts, {len(queries)} claims with evidence", rows)

    pqa_queries, pqa_golds, pqa_corpus = pubmedqa()
    pqa = open_index(args_cache, "pubmedqa", DATA / "pubmedqa" / "pqal_cv_500.json")
    pqa_rows = our_rows(pqa, pqa_queries, pqa_golds) | naive_rows(pqa, "pubmedqa", pqa_queries, pqa_golds,
                                                                  pqa_corpus, args_cache)
    print_table(f"PubMedQA: {len(pqa_corpus)} abstracts, {len(pqa_queries)} questions", pqa_rows)
    pqa.close()


def latency_report(args: argparse.Namespace, components: Components, queries: list[str]) -> None:
    timed = Components(components.settings)  # a fresh embedder: the quality runs cached every query's vector
    retriever = timed.retriever()
    chunks = timed.index.counts()[1]
    p50, p95 = latencies(lambda q: retriever.search(q, 10), queries)
    timed.close()
    print(f"\nlatency, hybrid k=10, SciFact index ({chunks} chunks): p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          "(targets 25 / 60 ms)")
    if not args.skip_100k:
        big = build_replica(components, Settings(data_dir=args.cache / "replica-100k"), 100_000)
        big_chunks = big.index.counts()[1]
        big_retriever = big.retriever()
        p50, p95 = latencies(lambda q: big_retriever.search(q, 10), queries)
        print(f"latency, hybrid k=10, {big_chunks}-chunk index: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p50 60 ms)")
        print(f"memory of this process with both indexes open: {rss_mb():.0f} MB RSS")
        big.close()
        opened = open_in_new_process(args.cache / "replica-100k")
        print(f"new process on the {big_chunks}-chunk index: imports {opened['import_s']:.2f} s, open "
              f"{opened['open_s']:.2f} s, first query (model load included) {opened['first_query_s']:.2f} s")




if __name__ == "__main__":
    main()
