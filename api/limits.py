"""Rate limits every worker shares: token buckets (pyrate-limiter's ``TokenBucket``, a GCRA) whose state lives where
all workers see it, so a key gets its configured rate whatever the number of workers.

- One machine (default): an SQLite file in the data dir, ``ratelimits.sqlite3``; each check is one SQL statement,
  atomic across processes, that reads SQLite's clock once it holds the file (a worker that read the time, then
  stalled while another stored a later one, would otherwise be refused). Rows of buckets that have refilled are
  deleted.
- Several machines: Redis (``RAG_API__RATE_LIMIT_REDIS_URL``), through pyrate-limiter's ``RedisStateStore`` (the
  same algorithm as a Lua script; keys expire by themselves).

A bucket holds ``burst`` requests and refills at ``per_minute`` a minute: the meaning the settings always had. If
the storage fails (a locked file past its timeout, Redis unreachable) the request is let through and a warning is
logged at most once a minute: the limits protect the service, they must not become its outage.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pyrate_limiter import Duration, Rate, RedisStateStore, TokenBucket, WallClock
from pyrate_limiter.abstracts.algorithm import ADMITTED, Decision, State

from rag.config import ApiSettings
from rag.store.sqlite import connect_wal

logger = logging.getLogger("api")

ALGORITHM = TokenBucket()
WALL = WallClock()
FILE_NAME = "ratelimits.sqlite3"
BUSY_TIMEOUT_MS = 2000
"""How long a check waits for another process's check (each holds the file for microseconds)."""
FIRST_PAUSE_S, LONGEST_PAUSE_S = 0.0002, 0.01
"""A check that finds the file locked tries again after these asyncio sleeps (doubling), until BUSY_TIMEOUT_MS."""
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
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


@dataclass(frozen=True)
class Quotas:
    """The configured buckets by what they limit: answers, every other request, and failed authentications (per
    address)."""

    answers: Limit
    requests: Limit
    auth_failures: Limit

    @classmethod
    def from_settings(cls, api: ApiSettings) -> Quotas:
        """The quotas the settings configure (``RAG_API__*RATE_LIMIT*``, ``RAG_API__AUTH_FAILURE*``)."""
        return cls(answers=Limit("answers", api.answer_rate_limit_per_minute, api.answer_rate_limit_burst),
                   requests=Limit("requests", api.rate_limit_per_minute, api.rate_limit_burst),
                   auth_failures=Limit("auth_failures", api.auth_failures_per_minute, api.auth_failure_burst))


Clock = Callable[[], int]
"""Epoch milliseconds."""


class LimitStore(Protocol):
    """Where bucket states live; ``check`` spends a token atomically, ``peek`` spends nothing."""

    async def check(self, key: str, rates: list[Rate], clock: Clock | None) -> Decision:
        """Take one token from the bucket ``key`` at the time ``clock`` tells when the store decides (None: the
        store's own clock); the decision says whether, and how long to wait if not."""
        ...

    async def peek(self, key: str, rates: list[Rate], now_ms: int | None) -> Decision:
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
        self._clock = clock  # None: the store's (tests set one)
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
                decision = await self._store.check(key, limit.rates, None if self._clock is None else self._now)
            else:
                decision = await self._store.peek(key, limit.rates, None if self._clock is None else self._now())
        except LimitStoreUnavailable as exc:
            self._warn(exc.__cause__ or exc)
            return 0.0
        if decision.allowed:
            return 0.0
        return max(0.001, (decision.retry_after_ms or 0) / 1000)

    def _now(self) -> int:
        assert self._clock is not None
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
SQL_NOW_US = "CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) * 1000"
"""SQLite's clock (epoch microseconds, to the millisecond), read inside the statement, under the file's lock."""
_NOW = f"coalesce(:now_us, {SQL_NOW_US})"
_BASE = "max(iif(tat_us > excluded.tat_us + :ahead_us, 0, tat_us), excluded.tat_us - :emission_us)"
TAKE = f"""INSERT INTO token_buckets (key, tat_us) VALUES (:key, {_NOW} + :emission_us)
ON CONFLICT (key) DO UPDATE SET tat_us = {_BASE} + :emission_us
WHERE {_BASE} + :emission_us - :tolerance_us <= excluded.tat_us - :emission_us"""
"""One arrival in a GCRA token bucket, pyrate-limiter's ``TokenBucket`` written as one statement: the proposed row
holds ``now + emission`` (so ``excluded.tat_us - emission`` is now); an existing bucket's theoretical arrival time
moves to ``max(tat, now) + emission`` if that stays within ``burst`` emissions of now, else the row is left alone
(no change: refused). A time further ahead than a full burst (only a clock set back makes one) counts as empty."""


class SQLiteBuckets:
    """The ``token_buckets`` table of the rate-limit file: one row per bucket, its theoretical arrival time.

    A check is one ``INSERT ... ON CONFLICT DO UPDATE`` statement in autocommit mode: SQLite takes the file's write
    lock, reads its own clock, decides and writes within one call that runs outside the GIL, so the lock is held
    for microseconds and no worker can decide on a time older than a decision already stored. Only a refusal or a
    peek reads the row back to compute the wait with pyrate-limiter's algorithm."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = connect_wal(path)
        # Buckets are disposable (a crash that loses the last writes only refills some buckets early), and with
        # NORMAL every WAL checkpoint fsyncs while this worker's event loop, and any worker waiting on the file,
        # stands still: two processes checking 250 times a second each spent 0.15-0.25 ms a check against 0.10
        # with OFF.
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA busy_timeout=0")  # a locked file raises at once: the store waits without blocking
        self._db.execute("CREATE TABLE IF NOT EXISTS token_buckets (key TEXT PRIMARY KEY, tat_us INTEGER NOT NULL) "
                         "WITHOUT ROWID")
        self._db.execute("CREATE INDEX IF NOT EXISTS token_buckets_tat ON token_buckets(tat_us)")
        self._purged = time.monotonic()

    def take(self, key: str, rate: Rate, now_ms: int | None) -> Decision:
        """One arrival at ``now_ms`` (None: SQLite's clock, read under the lock); admitted or refused with the
        wait."""
        emission = ALGORITHM._emission_us(rate)  # the algorithm's own rounding (up, the strict side)
        tolerance = rate.burst * emission
        now_us = None if now_ms is None else now_ms * 1000
        with self._lock:
            admitted = self._db.execute(TAKE, {"key": key, "now_us": now_us, "emission_us": emission,
                                               "tolerance_us": tolerance,
                                               "ahead_us": tolerance + 1_000_000 - emission}).rowcount == 1
            if time.monotonic() - self._purged > PURGE_EVERY_S:
                try:
                    self._purge(now_us)
                except sqlite3.OperationalError as exc:  # the token is taken: a purge waits for another check
                    if exc.sqlite_errorcode not in _BUSY_CODES:
                        raise
        return ADMITTED if admitted else self.peek(key, rate, now_ms)

    def peek(self, key: str, rate: Rate, now_ms: int | None) -> Decision:
        """Whether the bucket has a token at ``now_ms`` (None: SQLite's clock), and if not how long until it does;
        takes nothing."""
        with self._lock:
            row = self._db.execute(f"SELECT (SELECT tat_us FROM token_buckets WHERE key = :key), {_NOW}",
                                   {"key": key, "now_us": None if now_ms is None else now_ms * 1000}).fetchone()
        tat, now = row[0] or 0, row[1] // 1000
        if _from_the_future(tat, rate, now):
            tat = 0
        return ALGORITHM.step([rate], (tat,), now, 1)[1]

    def rows(self) -> int:
        """Buckets stored (tests: the table stays bounded)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM token_buckets").fetchone()[0])

    def purge(self, now_ms: int) -> int:
        """Delete the buckets that have refilled (as good as new); returns how many."""
        with self._lock:
            return self._purge(now_ms * 1000)

    def _purge(self, now_us: int | None) -> int:
        self._purged = time.monotonic()
        return int(self._db.execute(f"DELETE FROM token_buckets WHERE tat_us < {_NOW}",
                                    {"now_us": now_us}).rowcount)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


def _one(rates: list[Rate]) -> Rate:
    if len(rates) != 1:
        raise ValueError(f"a limit is one rate, not {len(rates)}")
    return rates[0]


def _from_the_future(tat_us: int, rate: Rate, now_ms: int) -> bool:
    """A stored arrival time further ahead than a full burst allows (only a clock set back makes one)."""
    return tat_us > (now_ms + 1000) * 1000 + rate.burst * ALGORITHM._emission_us(rate)


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

    async def check(self, key: str, rates: list[Rate], clock: Clock | None) -> Decision:
        """Take a token (one statement of microseconds, run on the event loop); ``clock`` None: SQLite's."""
        return await self._on_the_file(lambda: self.buckets.take(key, _one(rates), None if clock is None else clock()))

    async def peek(self, key: str, rates: list[Rate], now_ms: int | None) -> Decision:
        """Whether a token is there, taking none."""
        return await self._on_the_file(lambda: self.buckets.peek(key, _one(rates), now_ms))

    @staticmethod
    async def _on_the_file(call: Callable[[], Decision]) -> Decision:
        """``call``, tried again while another process holds the file. The wait is an asyncio sleep, so the worker
        serves other requests meanwhile: SQLite's own busy handler sleeps 1 ms or more on the event loop at each
        collision, and with two workers under load the loop spent 11% of its time in these checks."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        pause = FIRST_PAUSE_S
        while True:
            try:
                return call()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode not in _BUSY_CODES or time.monotonic() > deadline:
                    raise LimitStoreUnavailable(str(exc)) from exc
            except (sqlite3.Error, OSError) as exc:
                raise LimitStoreUnavailable(str(exc)) from exc
            await asyncio.sleep(pause)
            pause = min(2 * pause, LONGEST_PAUSE_S)

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

    async def check(self, key: str, rates: list[Rate], clock: Clock | None) -> Decision:
        """Take a token (one round trip) at ``clock``'s time, else this machine's wall clock."""
        import redis

        try:
            decision: Decision = await RedisStateStore(self._client, self.PREFIX + key).check(  # type: ignore[no-untyped-call]
                ALGORITHM, rates, clock() if clock is not None else WALL.now(), 1)
        except redis.RedisError as exc:
            raise LimitStoreUnavailable(type(exc).__name__) from exc
        return decision

    async def peek(self, key: str, rates: list[Rate], now_ms: int | None) -> Decision:
        """Whether a token is there, taking none (one round trip)."""
        now = now_ms if now_ms is not None else WALL.now()
        import redis

        try:
            state: State = await RedisStateStore(self._client, self.PREFIX + key).read(  # type: ignore[no-untyped-call]
                ALGORITHM, rates)
        except redis.RedisError as exc:
            raise LimitStoreUnavailable(type(exc).__name__) from exc
        return ALGORITHM.step(rates, state, now, 1)[1]

    def close(self) -> None:
        """Nothing to do: the client's connections close with the process (``aclose`` needs the event loop)."""


def open_limits(data_dir: Path, redis_url: str | None) -> RateLimits:
    """The limits of this server: Redis when a URL is configured, else the SQLite file in ``data_dir`` (nothing is
    opened or connected before the first check)."""
    if redis_url:
        return RateLimits(RedisLimitStore(redis_url))
    return RateLimits(SQLiteLimitStore(data_dir / FILE_NAME))
