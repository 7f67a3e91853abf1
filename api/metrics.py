"""Prometheus metrics through ``prometheus_client``: requests, latency, answer stages and outcomes, grounding, rate
limits, LLM tokens and the index size.

With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` names a directory every worker writes its samples to
(``rag serve --workers N`` sets it, one directory per server run); a scrape of ``/metrics`` on any worker then
aggregates every worker's counters and histograms with ``MultiProcessCollector``. The index size is read at scrape
time from the catalog of the worker that answers (every worker reads the same data dir). Label values are bounded:
route templates, a fixed set of methods, backends, outcomes, fallback reasons, stages and limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from rag.answer.models import FALLBACK_REASONS, Answer, Outcome
from rag.models import KINDS

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Seconds; answers from a local model and long streams take minutes, searches milliseconds."""
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0)
STAGES = ("condense", "retrieve", "generate", "verify", "appraise")
"""The answer stages timed in ``Answer.timings_ms`` (``verify`` is grounding); ``total`` is the request's latency."""
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
LIMITS = ("answers", "requests", "auth_failures", "concurrent_answers")
"""Why a request got 429: the per-key answer rate, the per-key rate of other requests, failed authentications
from the address, or the key's answers in progress."""
OUTCOMES = ("model", "attributed", "fallback")

IndexSizes = Callable[[], dict[str, tuple[int, int]] | None]
"""(documents, chunks) by kind, or None while the index is not open."""


class Metrics:
    """The API's metrics. Each app has its own registry (several apps may live in one test process); in
    multiprocess mode the samples go to ``multiprocess_dir`` and a scrape reads every worker's files."""

    def __init__(self, index_sizes: IndexSizes, multiprocess_dir: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        self._multiprocess_dir = multiprocess_dir
        self._index = IndexCollector(index_sizes)
        if multiprocess_dir is None:
            self.registry.register(self._index)
        add = self.registry
        self._requests = Counter("rag_requests_total", "HTTP requests by route template, method and status.",
                                 ["route", "method", "status"], registry=add)
        self._latency = Histogram("rag_request_duration_seconds", "Request latency by route template (whole "
                                  "response, streams included).", ["route"], buckets=REQUEST_BUCKETS, registry=add)
        self._stages = Histogram("rag_answer_stage_duration_seconds", "Time an answer spent in each stage "
                                 "(condense, retrieve, generate, verify, appraise).", ["stage"],
                                 buckets=STAGE_BUCKETS, registry=add)
        self._answers = Counter("rag_answers_total", "Answers by the generator asked (extractive, openai) and "
                                "outcome (model: its own citations; attributed: grounding added citations; "
                                "fallback: the extractive answer replaced the model's).", ["backend", "outcome"],
                                registry=add)
        self._fallbacks = Counter("rag_answer_fallbacks_total", "Extractive answers served instead of the model's, "
                                  "by reason.", ["reason"], registry=add)
        self._attributed = Counter("rag_citations_attributed_total", "Citations grounding added to sentences the "
                                   "model left uncited or cited wrongly.", registry=add)
        self._removed = Counter("rag_sentences_removed_total", "Answer sentences removed by grounding (unsupported, "
                                "repeated or fragments).", registry=add)
        self._limited = Counter("rag_rate_limited_total", "Requests refused with 429, by the limit they hit.",
                                ["limit"], registry=add)
        self._tokens = Counter("rag_llm_tokens_total", "Tokens the LLM endpoint reported for answers, by type "
                               "(input: prompt, output: completion).", ["type"], registry=add)
        self._initialise()

    def _initialise(self) -> None:
        """Every series of a bounded label set exists from the start, at zero (absent series break rate())."""
        for stage in STAGES:
            self._stages.labels(stage)
        for backend in ("extractive", "openai"):
            for outcome in OUTCOMES:
                self._answers.labels(backend, outcome)
        for reason in FALLBACK_REASONS:
            self._fallbacks.labels(reason)
        for limit in LIMITS:
            self._limited.labels(limit)
        for kind in ("input", "output"):
            self._tokens.labels(kind)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request and its duration in seconds."""
        self._requests.labels(route, method if method in METHODS else "other", str(status)).inc()
        self._latency.labels(route).observe(seconds)

    def observe_answer(self, answer: Answer, outcome: Outcome) -> None:
        """Count a finished answer: its stages' timings, outcome, fallback reason, grounding repairs and tokens."""
        for stage in STAGES:
            if stage in answer.timings_ms:
                self._stages.labels(stage).observe(answer.timings_ms[stage] / 1000)
        kind = "fallback" if outcome.fallback else ("attributed" if answer.grounding.attributed else "model")
        self._answers.labels(outcome.generator, kind).inc()
        if outcome.fallback:
            self._fallbacks.labels(outcome.fallback).inc()
        if answer.grounding.attributed:
            self._attributed.inc(len(answer.grounding.attributed))
        if answer.grounding.removed:
            self._removed.inc(len(answer.grounding.removed))
        if outcome.tokens is not None:
            self._tokens.labels("input").inc(outcome.tokens[0])
            self._tokens.labels("output").inc(outcome.tokens[1])

    def rate_limited(self, limit: str) -> None:
        """Count a request refused with 429 by ``limit`` (one of LIMITS)."""
        self._limited.labels(limit).inc()

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition (Prometheus text, or OpenMetrics when ``accept`` asks for it) and its content type: this
        process's registry, or in multiprocess mode every worker's samples, with the index size."""
        registry = self.registry
        if self._multiprocess_dir is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(self._multiprocess_dir))  # type: ignore[no-untyped-call]
            registry.register(self._index)
        encoder, content_type = choose_encoder(accept or "")
        return encoder(registry), content_type


class IndexCollector(Collector):
    """The index size, read from the catalog when scraped (cached there until something is committed)."""

    def __init__(self, sizes: IndexSizes) -> None:
        self._sizes = sizes

    def collect(self) -> Iterator[Metric]:
        """``rag_index_documents`` and ``rag_index_chunks`` by kind (nothing while the index is not open)."""
        sizes = self._sizes()
        if sizes is None:
            return
        documents = GaugeMetricFamily("rag_index_documents", "Documents in the index, by kind.", labels=["kind"])
        chunks = GaugeMetricFamily("rag_index_chunks", "Passages (chunks) in the index, by kind.", labels=["kind"])
        for kind in sorted({*KINDS, *sizes}):
            stored, passages = sizes.get(kind, (0, 0))
            documents.add_metric([kind], stored)
            chunks.add_metric([kind], passages)
        yield documents
        yield chunks
