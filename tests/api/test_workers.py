"""``rag serve --workers 2`` as an operator runs it (a subprocess on 127.0.0.1, with the fake embedder): one scrape of
/metrics counts the requests every worker served, and a key gets its configured rate, not twice it.

Which worker serves a request is the kernel's choice; the tests spread requests over concurrent connections and read
each worker's own metrics file to show that both served some."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from api.cli import metrics_directory
from api.security import hash_key
from rag.config import Settings
from rag.factory import Components
from rag.testing import HashEmbedder
from tests.helpers import local_http
from tests.helpers.documents import WriteDoc
from tests.helpers.keys import ADMIN, ADMIN_KEY, READ, READ_KEY
from tests.helpers.metrics import sample, total
from tests.helpers.paths import ROOT
from tests.helpers.servers import free_port, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

T = TypeVar("T")


@pytest.fixture
def store_mode() -> str:
    return "embedded"  # the workers are processes on this machine, over one data dir


@pytest.fixture
def data_dir(tmp_path: Path, write_doc: WriteDoc) -> Path:
    write_doc("g/fda.md", kind="guideline", title="FDA exosome notice",
              body="## Notice\nNo exosome product is approved by the FDA for any use.")
    write_doc("s/prp.md", title="PRP microneedling acne scar trial",
              body="## Results\nPRP with microneedling improved acne scars in a split-face trial of 50 patients.")
    components = Components(Settings(data_dir=tmp_path / "data"), embedder=HashEmbedder())
    assert components.ingestor().run([tmp_path / "src"]).failed == []
    components.close()
    return tmp_path / "data"


@contextmanager
def rag_serve(data_dir: Path, metrics_dir: Path, **env: str) -> Iterator[str]:
    """``rag serve --workers 2`` (the fake embedder in every worker), yielded once both workers have answered
    /readyz (each worker counts its requests in its own file of ``metrics_dir``), stopped at the end."""
    port = free_port()
    environ = {**os.environ, "RAG_API_KEY_HASHES": f"{hash_key(READ_KEY)}:read,{hash_key(ADMIN_KEY)}:admin",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **env}
    process = subprocess.Popen([sys.executable, "-m", "tests.helpers.fake_cli", "serve", "--workers", "2",
                                "--port", str(port), "--data-dir", str(data_dir)], cwd=ROOT, env=environ,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not both_workers_ready(url, metrics_dir):
            assert process.poll() is None and time.monotonic() < deadline, "rag serve did not start both workers"
            time.sleep(0.1)
        yield url
    finally:
        stop(process)


def both_workers_ready(url: str, metrics_dir: Path) -> bool:
    """Whether each of the two workers has answered /readyz with 200. Requests on new connections, several at once,
    so that the kernel hands some to each worker that accepts (a worker still starting accepts none); the first 200
    also says that the stale metrics files of an earlier run are gone (rag serve deletes them before it starts the
    workers)."""
    with new_connections(timeout=5) as client:
        if 200 not in concurrently(lambda _: readyz(client, url), 8):
            return False
    return len([count for count in by_worker(metrics_dir, "/readyz", "200").values() if count > 0]) == 2


def readyz(client: httpx.Client, url: str) -> int:
    try:
        return client.get(f"{url}/readyz").status_code
    except httpx.HTTPError:
        return 0


def new_connections(timeout: float = 30) -> httpx.Client:
    """A client that opens a new connection for every request (no keep-alive), so that the kernel spreads them over
    the workers; one client, so one TLS context (httpx loads the CA bundle for each client, ~30 ms of CPU)."""
    return local_http.client(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0))


def concurrently(send: Callable[[int], T], n: int, clients: int = 8) -> list[T]:
    """``n`` calls of ``send`` from ``clients`` threads (with a :func:`new_connections` client, each request on a new
    connection, so the kernel spreads them)."""
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(send, range(n)))


def search(client: httpx.Client, url: str, headers: dict[str, str]) -> Callable[[int], httpx.Response]:
    return lambda n: client.get(f"{url}/v1/search", params={"q": f"exosome {n}"}, headers=headers)


def by_worker(metrics_dir: Path, route: str, status: str | None = None) -> dict[str, float]:
    """Requests to ``route`` (answered with ``status``, or any) counted in each worker's own file (counter_<pid>.db)."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(path)])
        counts[path.stem.split("_", 1)[1]] = sum(
            s.value for m in metrics if m.name == "rag_requests" for s in m.samples
            if s.name == "rag_requests_total" and s.labels.get("route") == route
            and status in (None, s.labels.get("status")))
    return counts


def merged(metrics_dir: Path, name: str, **labels: str) -> float:
    """A sample summed over every worker's files, read as a scrape would."""
    metrics = MultiProcessCollector.merge([str(p) for p in metrics_dir.glob("*.db")])
    return sum(s.value for m in metrics for s in m.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_one_scrape_counts_the_requests_of_every_worker(data_dir: Path, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale from an earlier run")
    with rag_serve(data_dir, metrics_dir) as url, new_connections(timeout=60) as client:
        searches = concurrently(search(client, url, READ), 60)
        answers = [client.post(f"{url}/v1/answers", json={"question": "Is any exosome product FDA approved?"},
                               headers=READ) for _ in range(3)]
        scrapes = [client.get(f"{url}/metrics", headers=ADMIN).text for _ in range(6)]
        workers = by_worker(metrics_dir, "/v1/search")
    assert [r.status_code for r in searches] == [200] * 60 and [r.status_code for r in answers] == [200] * 3
    assert len(workers) == 2 and all(count > 0 for count in workers.values()), f"both workers served: {workers}"
    for scrape in scrapes:  # whichever worker answered the scrape, it counts every worker's requests
        assert sample(scrape, "rag_requests_total", route="/v1/search", method="GET", status="200") == 60
        assert total(scrape, "rag_answers_total") == 3
        assert sample(scrape, "rag_answers_total", backend="extractive", outcome="model") == 3
        assert sample(scrape, "rag_answer_stage_duration_seconds_count", stage="retrieve") == 3
        assert sample(scrape, "rag_index_documents", kind="guideline") == 1
        assert sample(scrape, "rag_index_chunks", kind="study") == 1


def test_a_key_gets_its_configured_rate_across_workers_not_twice_it(data_dir: Path, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    limits = {"RAG_API__RATE_LIMIT_PER_MINUTE": "30", "RAG_API__RATE_LIMIT_BURST": "10",  # 10 at once, then 1 / 2 s
              "RAG_API__ANSWER_RATE_LIMIT_PER_MINUTE": "6", "RAG_API__ANSWER_RATE_LIMIT_BURST": "3",
              "RAG_API__AUTH_FAILURES_PER_MINUTE": "6", "RAG_API__AUTH_FAILURE_BURST": "5"}
    with rag_serve(data_dir, metrics_dir, **limits) as url, new_connections(timeout=60) as client:
        started = time.monotonic()
        searches = concurrently(search(client, url, READ), 80)
        search_seconds = time.monotonic() - started
        started = time.monotonic()
        answers = [client.post(f"{url}/v1/answers", json={"question": "Is any exosome product FDA approved?"},
                               headers=READ) for _ in range(8)]
        answer_seconds = time.monotonic() - started
        scrape = client.get(f"{url}/metrics", headers=ADMIN).text
        workers = by_worker(metrics_dir, "/v1/search")
        bad = concurrently(search(client, url, {"Authorization": "Bearer not-a-key"}), 12, clients=4)
    # (this address is now locked out, valid key or not: the last count is read from the workers' files)
    failures = merged(metrics_dir, "rag_rate_limited_total", limit="auth_failures")
    statuses = [r.status_code for r in searches]
    served = statuses.count(200)
    refill = int(search_seconds / 2) + 1  # one token every 2 s while the requests ran
    assert set(statuses) == {200, 429} and 10 <= served <= 10 + refill, (served, search_seconds, workers)
    assert len(workers) == 2 and all(count >= 10 for count in workers.values()), \
        f"each worker saw at least a burst of requests, so per-worker buckets would have let 20 through: {workers}"
    waits = {int(r.headers["Retry-After"]) for r in searches if r.status_code == 429}
    assert waits <= {1, 2}, waits  # a token every 2 s
    answered = [r.status_code for r in answers].count(200)
    assert 3 <= answered <= 3 + int(answer_seconds / 10) + 1, (answered, answer_seconds)
    assert [r.status_code for r in bad].count(401) <= 5 + 1 and [r.status_code for r in bad].count(429) >= 6
    assert sample(scrape, "rag_rate_limited_total", limit="requests") == statuses.count(429)
    assert sample(scrape, "rag_rate_limited_total", limit="answers") == 8 - answered
    assert failures == [r.status_code for r in bad].count(429)


def test_metrics_directory_of_a_run() -> None:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with metrics_directory(1) as none:
        assert none is None, "one worker keeps its metrics in memory"
    with metrics_directory(2) as created:
        assert created is not None and created.is_dir() and not list(created.iterdir())
    assert not created.exists(), "removed when the server stops"
