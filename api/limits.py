"""Rate limits every worker shares: token buckets (pyrate-limiter's ``TokenBucket``, a GCRA) whose state lives where
all workers see it, so a key gets its configured rate whatever the number of workers.

- One machine (default): an SQLite file in the data dir, ``ratelimits.sqlite3``; each check is one short write
  transaction (``BEGIN IMMEDIATE``), atomic across processes, which reads the clock once it holds the file: a
  worker that read the time, then stalled while another stored a later one, would otherwise be refused. Rows of
  buckets that have refilled are deleted.
- Several machines: Redis (``RAG_API__RATE_LIMIT_REDIS_URL``), through pyrate-limiter's ``RedisStateStore`` (the
  same algorithm as a Lua script; keys expire by themselves).

A bucket holds ``burst`` requests and refills at ``per_minute`` a minute: the meaning the settings always had. If
the storage fails (a locked file past its timeout, Redis unreachable) the request is let through and a warning is
logged at most once a minute: the limits protect the service, they must not become its outage.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pyrate_limiter import Duration, Rate, RedisStateStore, TokenBucket, WallClock
from pyrate_limiter.abstracts.algorithm import Decision, State, StateAlgorithm

from rag.store.sqlite import connect_wal

logger = logging.getLogger("api")

ALGORITHM = TokenBucket()
FILE_NAME = "ratelimits.sqlite3"
BUSY_TIMEOUT_MS = 2000
"""How long a check waits for another process's check (each holds the file for microseconds)."""
PURGE_EVERY_S = 60.0


class LimitStoreUnavailable(Exception):
    """The rate-limit storage could not be read or written (its cause says why)."""


@dataclass(frozen=True)
class Limit:
    """A token bucket: ``burst`` requests at once, refilled at ``per_minute`` a minute."""

    name: str
    per_minute: int
    burst: int

    @property
    def key(self) -> str:
        """The bucket's name with its parameters: a limit configured anew starts with full buckets, never with a
        state written under other rates."""
        return f"{self.name}:{self.per_minute}/{self.burst}"

    @property
    def rates(self) -> list[Rate]:
        """The bucket as pyrate-limiter rates."""
        return [Rate(self.per_minute, Duration.MINUTE, burst=self.burst)]


Clock = Callable[[], int]
"""Epoch milliseconds."""


class LimitStore(Protocol):
    """Where bucket states live; ``check`` spends a token atomically, ``peek`` spends nothing."""

    async def check(self, key: str, rates: list[Rate], clock: Clock) -> Decision:
        """Take one token from the bucket ``key`` at the time ``clock`` tells when the store decides; the decision
        says whether, and how long to wait if not."""
        ...

    async def peek(self, key: str, rates: list[Rate], now_ms: int) -> Decision:
        """Whether the bucket ``key`` has a token now, taking none."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class RateLimits:
    """Per-caller limits over a shared store: :meth:`hit` takes a token (0 when it may go on, else the seconds to
    wait), :meth:`wait` only looks."""

    def __init__(self, store: LimitStore, clock: WallClock | None = None) -> None:
        self._store = store
        self._clock = clock or WallClock()
        self._warned = 0.0

    async def hit(self, limit: Limit, caller: str) -> float:
        """0 when ``caller`` may proceed under ``limit`` (a token is taken), else the seconds to wait."""
        return await self._seconds(limit, caller, spend=True)

    async def wait(self, limit: Limit, caller: str) -> float:
        """The seconds until ``caller`` has a token under ``limit`` again (0: it has one now); takes nothing."""
        return await self._seconds(limit, caller, spend=False)

    async def _seconds(self, limit: Limit, caller: str, spend: bool) -> float:
        key = f"{limit.key}:{caller}"
        try:
            if spend:
                decision = await self._store.check(key, limit.rates, self._now)
            else:
                decision = await self._store.peek(key, limit.rates, self._now())
        except LimitStoreUnavailable as exc:
            self._warn(exc.__cause__ or exc)
            return 0.0
        if decision.allowed:
            return 0.0
        return max(0.001, (decision.retry_after_ms or 0) / 1000)

    def _now(self) -> int:
        return int(self._clock.now())

    def _warn(self, exc: BaseException) -> None:
        if time.monotonic() - self._warned > 60:
            self._warned = time.monotonic()
            logger.warning("the rate-limit store failed; requests are let through", extra={"error": type(exc).__name__})

    def close(self) -> None:
        """Close the store's connections."""
        self._store.close()


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


# -- one machine: SQLite ---------------------------------------------------------------------------------------
class SQLiteBuckets:
    """The ``buckets`` table of the rate-limit file (one row per bucket: its theoretical arrival times, stepped by
    pyrate-limiter's algorithm): one connection per process, one thread at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = connect_wal(path)
        self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._db.execute("CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, state TEXT NOT NULL, "
                         "until_us INTEGER NOT NULL) WITHOUT ROWID")
        self._db.execute("CREATE INDEX IF NOT EXISTS buckets_until ON buckets(until_us)")
        self._purged = time.monotonic()

    def step(self, key: str, algorithm: StateAlgorithm, rates: list[Rate], clock: Clock, weight: int) -> Decision:
        """Read the bucket, apply one arrival at the time ``clock`` tells once the file is held, write it back if
        admitted: one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = clock()  # after the lock: every state stored so far was stepped at an earlier time
                state = self._load(key, algorithm, rates, now)
                new_state, decision = algorithm.step(rates, state, now, weight)
                if decision.allowed:
                    self._db.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)",
                                     (key, ",".join(str(int(v)) for v in new_state), int(max(new_state))))
                if time.monotonic() - self._purged > PURGE_EVERY_S:
                    self._purge(now)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return decision

    def read(self, key: str, algorithm: StateAlgorithm, rates: list[Rate], now: int) -> State:
        """The bucket's state (a fresh one when it is unknown or has refilled)."""
        with self._lock:
            return self._load(key, algorithm, rates, now)

    def rows(self) -> int:
        """Buckets stored (tests: the table stays bounded)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM buckets").fetchone()[0])

    def purge(self, now_ms: int) -> int:
        """Delete the buckets that have refilled (as good as new); returns how many."""
        with self._lock:
            return self._purge(now_ms)

    def _purge(self, now_ms: int) -> int:
        self._purged = time.monotonic()
        return int(self._db.execute("DELETE FROM buckets WHERE until_us < ?", (now_ms * 1000,)).rowcount)

    def _load(self, key: str, algorithm: StateAlgorithm, rates: list[Rate], now: int) -> State:
        row = self._db.execute("SELECT state FROM buckets WHERE key = ?", (key,)).fetchone()
        if row is None:
            return algorithm.initial(rates)
        state = algorithm.decode(row[0].split(","))
        if len(state) != len(rates) or _from_the_future(state, rates, now):
            return algorithm.initial(rates)  # other rates, or the wall clock went back: start afresh
        return state

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


def _from_the_future(state: Sequence[float], rates: list[Rate], now_ms: int) -> bool:
    """A stored arrival time further ahead than a full burst allows (only a clock set back makes one)."""
    return any(tat > (now_ms + rate.interval * rate.burst / rate.limit + 1000) * 1000
               for tat, rate in zip(state, rates, strict=True))


class SQLiteLimitStore:
    """Buckets in an SQLite file every process of this machine opens (``<data dir>/ratelimits.sqlite3``), opened
    at the first check."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._buckets: SQLiteBuckets | None = None
        self._lock = threading.Lock()

    @property
    def buckets(self) -> SQLiteBuckets:
        """The table, opened (and the file created) on first use."""
        with self._lock:
            if self._buckets is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._buckets = SQLiteBuckets(self.path)
            return self._buckets

    async def check(self, key: str, rates: list[Rate], clock: Clock) -> Decision:
        """Take a token (a write transaction of microseconds, run on the event loop)."""
        try:
            return self.buckets.step(key, ALGORITHM, rates, clock, 1)
        except (sqlite3.Error, OSError) as exc:
            raise LimitStoreUnavailable(str(exc)) from exc

    async def peek(self, key: str, rates: list[Rate], now_ms: int) -> Decision:
        """Whether a token is there, taking none."""
        try:
            state = self.buckets.read(key, ALGORITHM, rates, now_ms)
        except (sqlite3.Error, OSError) as exc:
            raise LimitStoreUnavailable(str(exc)) from exc
        return ALGORITHM.step(rates, state, now_ms, 1)[1]

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._buckets is not None:
                self._buckets.close()
                self._buckets = None


# -- several machines: Redis ---------------------------------------------------------------------------------------
class RedisLimitStore:
    """Buckets in Redis, shared by every machine: pyrate-limiter's ``RedisStateStore`` (a Lua script per check, keys
    that expire) over an asyncio client."""

    PREFIX = "rag:ratelimit:"

    def __init__(self, url: str, client: Any = None) -> None:
        if client is None:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._client = client

    async def check(self, key: str, rates: list[Rate], clock: Clock) -> Decision:
        """Take a token (one round trip)."""
        import redis

        try:
            decision: Decision = await RedisStateStore(self._client, self.PREFIX + key).check(  # type: ignore[no-untyped-call]
                ALGORITHM, rates, clock(), 1)
        except redis.RedisError as exc:
            raise LimitStoreUnavailable(type(exc).__name__) from exc
        return decision

    async def peek(self, key: str, rates: list[Rate], now_ms: int) -> Decision:
        """Whether a token is there, taking none (one round trip)."""
        import redis

        try:
            state: State = await RedisStateStore(self._client, self.PREFIX + key).read(  # type: ignore[no-untyped-call]
                ALGORITHM, rates)
        except redis.RedisError as exc:
            raise LimitStoreUnavailable(type(exc).__name__) from exc
        return ALGORITHM.step(rates, state, now_ms, 1)[1]

    def close(self) -> None:
        """Nothing to do: the client's connections close with the process (``aclose`` needs the event loop)."""


def open_limits(data_dir: Path, redis_url: str | None) -> RateLimits:
    """The limits of this server: Redis when a URL is configured, else the SQLite file in ``data_dir`` (nothing is
    opened or connected before the first check)."""
    if redis_url:
        return RateLimits(RedisLimitStore(redis_url))
    return RateLimits(SQLiteLimitStore(data_dir / FILE_NAME))
