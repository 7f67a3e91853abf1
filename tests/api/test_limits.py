"""The rate-limit stores: token buckets with the settings' meaning (a burst at once, then the steady rate), Retry-After
from the bucket, state shared by every process that opens the same SQLite file, and by every machine that uses the
same Redis (a real ``redis-server`` on 127.0.0.1 when one is installed: Debian's package; skipped otherwise)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrate_limiter import TokenBucket

from api.app import create_app
from api.limits import Limit, RateLimits, RedisLimitStore, SQLiteLimitStore, retry_after
from rag.factory import Components
from tests.helpers.keys import READ, keyed
from tests.helpers.servers import free_port

T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.ms = 1_800_000_000_000

    def now(self) -> int:
        return self.ms


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: the Playwright tests leave an event loop running on this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def hits(limits: RateLimits, limit: Limit, caller: str, n: int) -> list[float]:
    return [run(limits.hit(limit, caller)) for _ in range(n)]


def test_a_bucket_holds_a_burst_and_refills_at_the_rate(tmp_path: Path) -> None:
    clock = Clock()
    limits = RateLimits(SQLiteLimitStore(tmp_path / "limits.sqlite3"), clock)  # type: ignore[arg-type]
    limit = Limit("requests", per_minute=60, burst=5)
    assert hits(limits, limit, "key:a", 5) == [0.0] * 5
    wait = run(limits.hit(limit, "key:a"))
    assert 0.9 <= wait <= 1.0 and retry_after(wait) == "1", "one token a second"
    assert run(limits.hit(limit, "key:b")) == 0.0, "per caller"
    clock.ms += 1000
    assert hits(limits, limit, "key:a", 2)[0] == 0.0 and hits(limits, limit, "key:a", 1)[0] > 0
    assert run(limits.wait(limit, "key:a")) > 0 and run(limits.wait(limit, "key:b")) == 0.0
    clock.ms += 60_000
    assert hits(limits, limit, "key:a", 5) == [0.0] * 5, "a full burst again after a quiet minute"


def test_a_clock_set_back_does_not_lock_a_caller_out(tmp_path: Path) -> None:
    clock = Clock()
    limits = RateLimits(SQLiteLimitStore(tmp_path / "limits.sqlite3"), clock)  # type: ignore[arg-type]
    limit = Limit("requests", per_minute=60, burst=2)
    hits(limits, limit, "key:a", 3)
    clock.ms -= 3_600_000  # the wall clock went back an hour
    assert run(limits.hit(limit, "key:a")) == 0.0


HAMMER = """
import asyncio, sys
from pathlib import Path
from typing import Any, TypeVar
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrate_limiter import TokenBucket

from api.limits import Limit, RateLimits, SQLiteLimitStore
limits = RateLimits(SQLiteLimitStore(Path(sys.argv[1])))
limit = Limit("requests", per_minute=1, burst=50)
print(sum(asyncio.run(limits.hit(limit, "key:shared")) == 0 for _ in range(100)))
"""


def test_without_a_clock_the_store_decides_at_sqlites_time(tmp_path: Path) -> None:
    """The server's store reads SQLite's clock inside the statement, under the file's lock, so no worker decides on a
    time older than one already stored (a worker that read the time and then stalled would be refused)."""
    store = SQLiteLimitStore(tmp_path / "limits.sqlite3")
    rates = Limit("requests", per_minute=1, burst=1).rates
    before = time.time()
    assert run(store.check("requests:key:a", rates, None)).allowed
    refused = run(store.check("requests:key:a", rates, None))
    assert not refused.allowed and 58_000 <= (refused.retry_after_ms or 0) <= 60_000, refused
    (tat,), = sqlite3.connect(tmp_path / "limits.sqlite3").execute("SELECT tat_us FROM token_buckets").fetchall()
    assert before + 59 <= tat / 1e6 <= time.time() + 61, "one emission (a minute) after now, in microseconds"


@settings(max_examples=60, deadline=None)
@given(per_minute=st.integers(1, 600), burst=st.integers(1, 30),
       gaps=st.lists(st.integers(0, 5000), min_size=1, max_size=60))
def test_decisions_match_pyrate_limiters_token_bucket(tmp_path_factory: pytest.TempPathFactory, per_minute: int,
                                                      burst: int, gaps: list[int]) -> None:
    """The one-statement bucket decides every arrival as pyrate-limiter's TokenBucket does in memory, waits included."""
    store = SQLiteLimitStore(tmp_path_factory.mktemp("limits") / "limits.sqlite3")
    rates, now = Limit("requests", per_minute, burst).rates, 1_800_000_000_000
    state = TokenBucket().initial(rates)
    for gap in gaps:
        now += gap
        state, expected = TokenBucket().step(rates, state, now, 1)
        got = run(store.check("requests:key", rates, lambda at=now: at))
        assert (got.allowed, got.retry_after_ms) == (expected.allowed, expected.retry_after_ms), (now, gap)
    store.close()


def test_processes_sharing_the_file_share_the_bucket(tmp_path: Path) -> None:
    path = tmp_path / "limits.sqlite3"
    processes = [subprocess.Popen([sys.executable, "-c", HAMMER, str(path)], stdout=subprocess.PIPE, text=True)
                 for _ in range(3)]
    admitted = [int(p.communicate(timeout=60)[0]) for p in processes]
    assert sum(admitted) in (50, 51), admitted  # the burst once (and perhaps one refilled token), not three times


def test_a_check_waiting_for_the_file_lets_the_event_loop_run(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "limits.sqlite3"
    store = SQLiteLimitStore(path)
    limit = Limit("requests", per_minute=60, burst=5)
    assert run(RateLimits(store).hit(limit, "key:a")) == 0.0  # the table exists
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # another worker, holding the file's write lock

    async def scenario() -> tuple[float, int]:
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        running = asyncio.create_task(ticker())
        checking = asyncio.create_task(RateLimits(store).hit(limit, "key:b"))
        await asyncio.sleep(0.05)
        assert not checking.done(), "the check waits for the lock"
        other.execute("COMMIT")
        waited = await checking
        running.cancel()
        return waited, ticks

    waited, ticks = run(scenario())
    assert waited == 0.0 and ticks >= 20, "the loop ran while the check waited, and the token was then taken"
    assert store.buckets.rows() == 2, "key:b's bucket was written once the lock was released"
    monkeypatch.setattr("api.limits.BUSY_TIMEOUT_MS", 50)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert run(RateLimits(store).hit(limit, "key:a")) == 0.0, "past the timeout the request goes through"
        assert time.monotonic() - started < 1.0
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_store_that_fails_lets_requests_through(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a-directory").mkdir()
    limits = RateLimits(SQLiteLimitStore(tmp_path / "a-directory"))  # not a file: every check fails
    assert hits(limits, Limit("requests", per_minute=1, burst=1), "key:a", 3) == [0.0] * 3
    assert [r.message for r in caplog.records].count("the rate-limit store failed; requests are let through") == 1


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis(redis_url: str) -> str:
    """The Redis, emptied: each test starts with full buckets."""
    import redis as client

    client.Redis.from_url(redis_url).flushdb()
    return redis_url


def test_redis_buckets_are_shared_by_every_machine(redis: str) -> None:
    limit = Limit("requests", per_minute=60, burst=4)

    async def both() -> list[float]:
        machines = [RateLimits(RedisLimitStore(redis)), RateLimits(RedisLimitStore(redis))]
        waits = [await machines[n % 2].hit(limit, "key:redis") for n in range(6)]
        waits.append(await machines[0].wait(limit, "key:other"))
        return waits

    waits = run(both())
    assert waits[:4] == [0.0] * 4 and all(0 < w <= 1.0 for w in waits[4:6]) and waits[6] == 0.0


def test_two_apps_on_one_redis_limit_a_key_once(answer_corpus: Components, redis: str) -> None:
    settings = keyed(answer_corpus.settings, rate_limit_per_minute=6, rate_limit_burst=3,
                     rate_limit_redis_url=redis)
    statuses = []
    with TestClient(create_app(settings, components=answer_corpus), client=("127.0.0.1", 40000)) as first, \
            TestClient(create_app(settings, components=answer_corpus), client=("127.0.0.1", 40000)) as second:
        for n in range(6):
            statuses.append((first if n % 2 else second).get("/v1/search", params={"q": "exosome"},
                                                              headers=READ).status_code)
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_an_unreachable_redis_lets_requests_through(answer_corpus: Components) -> None:
    settings = keyed(answer_corpus.settings, rate_limit_per_minute=1, rate_limit_burst=1,
                     rate_limit_redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(settings, components=answer_corpus), client=("127.0.0.1", 40000)) as client:
        assert [client.get("/v1/search", params={"q": "exosome"}, headers=READ).status_code
                for _ in range(3)] == [200] * 3
