"""Prometheus metrics in the text exposition format, without a client library: request counts and latency, and
answers by backend and outcome with the citations grounding added and the sentences it removed."""

from __future__ import annotations

import threading
from collections import defaultdict

from rag.answer.models import Answer

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counts and latency histograms by route, held in memory by this worker process; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._histogram: dict[str, list[int]] = defaultdict(lambda: [0] * (len(_BUCKETS) + 1))
        self._sums: dict[str, float] = defaultdict(float)
        self._answers: dict[tuple[str, str], int] = defaultdict(int)
        self._attributed = 0
        self._removed = 0

    def observe_answer(self, answer: Answer) -> None:
        """Count an answer by backend (``extractive``, ``openai``) and outcome (``model``, ``fallback``), and the
        citations the system attributed and the sentences it removed."""
        fallback = answer.backend.startswith("extractive (fallback")
        backend = "extractive" if answer.backend.startswith("extractive") and not fallback else "openai"
        outcome = "fallback" if fallback else ("attributed" if answer.grounding.attributed else "model")
        with self._lock:
            self._answers[(backend, outcome)] += 1
            self._attributed += len(answer.grounding.attributed)
            self._removed += len(answer.grounding.removed)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request and its duration in seconds."""
        with self._lock:
            self._requests[(route, method, status)] += 1
            counts = self._histogram[route]
            index = next((i for i, bound in enumerate(_BUCKETS) if seconds <= bound), len(_BUCKETS))
            counts[index] += 1
            self._sums[route] += seconds

    def render(self) -> str:
        """Every metric in the Prometheus text exposition format."""
        lines = ["# HELP rag_requests_total HTTP requests by route, method and status.",
                 "# TYPE rag_requests_total counter"]
        with self._lock:
            for (route, method, status), count in sorted(self._requests.items()):
                lines.append(f'rag_requests_total{{route="{route}",method="{method}",status="{status}"}} {count}')
            lines += ["# HELP rag_request_duration_seconds Request latency by route.",
                      "# TYPE rag_request_duration_seconds histogram"]
            for route, counts in sorted(self._histogram.items()):
                cumulative = 0
                for bound, count in zip((*_BUCKETS, float("inf")), counts, strict=True):
                    cumulative += count
                    label = "+Inf" if bound == float("inf") else f"{bound:g}"
                    lines.append(f'rag_request_duration_seconds_bucket{{route="{route}",le="{label}"}} {cumulative}')
                lines.append(f'rag_request_duration_seconds_sum{{route="{route}"}} {self._sums[route]:.6f}')
                lines.append(f'rag_request_duration_seconds_count{{route="{route}"}} {cumulative}')
            lines += ["# HELP rag_answers_total Answers by backend and outcome (model: as the model cited; attributed: "
                      "citations added by grounding; fallback: the extractive answer replaced the model's).",
                      "# TYPE rag_answers_total counter"]
            for (backend, outcome), count in sorted(self._answers.items()):
                lines.append(f'rag_answers_total{{backend="{backend}",outcome="{outcome}"}} {count}')
            lines += ["# HELP rag_citations_attributed_total Citations added to sentences the model left uncited.",
                      "# TYPE rag_citations_attributed_total counter",
                      f"rag_citations_attributed_total {self._attributed}",
                      "# HELP rag_sentences_removed_total Answer sentences removed as unsupported or repeated.",
                      "# TYPE rag_sentences_removed_total counter", f"rag_sentences_removed_total {self._removed}"]
        return "\n".join(lines) + "\n"
