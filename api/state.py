"""What one app holds while it serves: one typed object on ``app.state``, built by the app factory and read through
the functions and dependencies of :mod:`api.deps`."""

from __future__ import annotations

from dataclasses import dataclass

from api.limits import Quotas, RateLimits
from api.metrics import Metrics
from api.readiness import Readiness
from api.slots import AnswerSlots
from rag.answer.service import AnswerService
from rag.config import Settings
from rag.factory import Components


@dataclass
class AppState:
    """The settings and the per-worker objects every request may need. ``components`` and ``answers`` are None
    while the worker is starting (requests then get 503) and again once it has stopped."""

    settings: Settings
    rate_limiter: RateLimits
    """The token buckets every worker shares (api.limits): ``hit`` spends a caller's token under a quota."""
    quotas: Quotas
    """Each bucket's rate and burst, by what it limits (answers, other requests, failed authentications)."""
    answer_slots: AnswerSlots
    readiness: Readiness
    metrics: Metrics
    components: Components | None = None
    answers: AnswerService | None = None

    def serve(self, components: Components) -> None:
        """The components are open: requests are answered from them from now on."""
        self.components = components
        self.answers = components.answers(observers=[self.metrics.observe_answer])

    def stop(self) -> None:
        """The components are closing: requests get 503 from now on."""
        self.components = None
        self.answers = None
