"""Ingest benchmark on SciFact's 5,183 abstracts (read from ../shared/data, never copied).

Prints, in one run: raw encoder throughput on exactly the chunks the ingest stores, ingest throughput (load, chunk,
embed, store in Chroma + catalog + BM25) and their ratio (target >= 0.85); the re-ingest time of the unchanged corpus
as a share of the first ingest (target <= 5%); and the peak RSS of the ingest process (target <= 2.5 GB).

    python bench/ingest.py [--limit N] [--corpus PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"


def child(corpus: Path, data_dir: Path) -> None:
    """Runs in a fresh process: two ingests, their timings and the process's peak RSS as one JSON line."""
    from rag.config import Settings
    from rag.factory import Components

    components = Components(Settings(data_dir=data_dir))
    started = time.perf_counter()
    first = components.ingestor().run([corpus])
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = components.ingestor().run([corpus])
    second_seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "first": first.as_dict(), "first_seconds": first_seconds, "second": second.as_dict(),
        "second_seconds": second_seconds, "peak_rss_mb": peak_kb / 1024,
    }))


def chunk_texts(corpus: Path) -> list[str]:
    """The embed texts of every chunk of the corpus, exactly as the ingest produces them."""
    from rag.chunking import Chunker
    from rag.config import Settings
    from rag.embedding import SentenceTransformerEmbedder
    from rag.loaders import LoadOptions, load_file
    from rag.models import Document

    chunker = Chunker(Settings().chunk, SentenceTransformerEmbedder())
    documents = [d for d in load_file(corpus, "auto", LoadOptions(), 10**9) if isinstance(d, Document)]
    return [chunk.embed_text for document in documents for chunk in chunker.chunk(document)]


def raw_encoder_seconds(texts: list[str]) -> float:
    """sentence-transformers alone on the same texts, same batch size, model already loaded."""
    from sentence_transformers import SentenceTransformer

    from rag.config import Settings
    from rag.embedding.sentence_transformer import packaged_model_path

    model = SentenceTransformer(str(packaged_model_path()), device="cpu")
    model.encode(texts[:64], batch_size=64)
    started = time.perf_counter()
    model.encode(texts, batch_size=Settings().ingest.embed_batch_size, normalize_embeddings=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N abstracts")
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    if not args.corpus.is_file():
        sys.exit(f"corpus not found: {args.corpus} (the shared SciFact data)")
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        corpus = args.corpus
        if args.limit:
            corpus = Path(tmp) / "corpus.jsonl"
            with args.corpus.open() as source:
                corpus.write_text("".join(line for _, line in zip(range(args.limit), source, strict=False)))
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(corpus), str(Path(tmp) / "data")],
            capture_output=True, text=True, check=True,
        )
        ingest = json.loads(result.stdout.strip().splitlines()[-1])
        texts = chunk_texts(corpus)
        raw_seconds = raw_encoder_seconds(texts)
    chunks = ingest["first"]["chunks"]
    assert chunks == len(texts), (chunks, len(texts))
    raw_rate, ingest_rate = len(texts) / raw_seconds, chunks / ingest["first_seconds"]
    documents = ingest["first"]["added"]
    print(f"corpus: {corpus.name}, {documents} documents, {chunks} chunks")
    print(f"raw encoder:       {raw_rate:8.1f} chunks/s ({raw_seconds:.1f} s)")
    print(f"ingest:            {ingest_rate:8.1f} chunks/s ({ingest['first_seconds']:.1f} s, model load included)")
    print(f"ingest / raw:      {ingest_rate / raw_rate:8.3f}   (target >= 0.85)")
    print(f"re-ingest:         {ingest['second_seconds']:8.2f} s = "
          f"{100 * ingest['second_seconds'] / ingest['first_seconds']:.2f}% of the first ingest (target <= 5%); "
          f"unchanged={ingest['second']['unchanged']}, chunks embedded={ingest['second']['chunks']}")
    print(f"peak RSS (ingest): {ingest['peak_rss_mb']:8.0f} MB (target <= 2560 MB)")


if __name__ == "__main__":
    main()
