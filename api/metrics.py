"""Prometheus metrics in the text exposition format, without a client library: request counts and latency."""

from __future__ import annotations

import threading
from collections import defaultdict

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counts and latency histograms by route, held in memory by this worker process; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._histogram: dict[str, list[int]] = defaultdict(lambda: [0] * (len(_BUCKETS) + 1))
        self._sums: dict[str, float] = defaultdict(float)

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
        return "\n".join(lines) + "\n"
