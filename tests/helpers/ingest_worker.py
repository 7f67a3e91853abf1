"""A separate process that ingests with the fake embedder, slowly, so a test can kill it mid-write.

Usage: python -m tests.helpers.ingest_worker DATA_DIR SOURCE [DELAY]
"""

from __future__ import annotations

import sys
from pathlib import Path

from rag.config import IngestSettings, Settings
from rag.factory import Components
from rag.testing import HashEmbedder


def main() -> None:
    data_dir, source = Path(sys.argv[1]), Path(sys.argv[2])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    settings = Settings(data_dir=data_dir, ingest=IngestSettings(write_batch_chunks=6, embed_batch_size=6))
    components = Components(settings, embedder=HashEmbedder(delay=delay))
    print("ready", flush=True)
    report = components.ingestor().run([source], prune=True)
    print("done", report.added, report.updated, report.removed, flush=True)


if __name__ == "__main__":
    main()
