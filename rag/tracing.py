"""OpenTelemetry tracing of where an answer's or an ingest's time goes: one span per stage, off unless configured.

The library only creates spans through the OpenTelemetry API (no-ops until a tracer provider is installed, at a
cost of about a microsecond a span). :func:`configure_tracing` installs one that exports over OTLP when the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) variable is set, as the CLI and the API
do at start-up; every other OTel variable (service name, headers, sampler) keeps its standard meaning. Span
attributes carry ids, counts and timings, never question or document text.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace

logger = logging.getLogger(__name__)

TRACER_NAME = "rag"
Attribute = str | int | float | bool


@contextmanager
def span(name: str, **attributes: Attribute | None) -> Iterator[trace.Span]:
    """A span named ``rag.<name>`` around the block, child of the current one; ``None`` attributes are left out."""
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(f"rag.{name}") as current:
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(key, value)
        yield current


def configure_tracing(environ: Mapping[str, str] | None = None, service_name: str = "rag") -> bool:
    """Export spans over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-only variant) is set; True when
    tracing was turned on. Safe to call more than once (a provider already installed is kept)."""
    environ = os.environ if environ is None else environ
    if not (environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        return False
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return True
    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    logger.info("tracing spans to OTLP", extra={"endpoint": environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")})
    return True


class Stages:
    """A root span whose stages may run in different threads and around ``yield`` (a streamed answer): each stage
    is a child of the root, made current only inside its own block, so nothing is left attached when a generator
    pauses. :meth:`end` ends the root with the given attributes."""

    def __init__(self, name: str, **attributes: Attribute | None) -> None:
        self._tracer = trace.get_tracer(TRACER_NAME)
        self._root = self._tracer.start_span(f"rag.{name}",
                                             attributes={k: v for k, v in attributes.items() if v is not None})
        self._context = trace.set_span_in_context(self._root)
        self._ended = False

    @contextmanager
    def stage(self, name: str, **attributes: Attribute | None) -> Iterator[trace.Span]:
        """A child span around a block that does not ``yield``; spans opened inside it are its children."""
        with self._tracer.start_as_current_span(f"rag.{name}", context=self._context) as current:
            for key, value in attributes.items():
                if value is not None:
                    current.set_attribute(key, value)
            yield current

    def open(self, name: str) -> trace.Span:
        """A child span for a stage that spans ``yield`` (the caller ends it); not made current."""
        return self._tracer.start_span(f"rag.{name}", context=self._context)

    def end(self, **attributes: Attribute | None) -> None:
        """End the root span with these attributes (a second call does nothing)."""
        if self._ended:
            return
        self._ended = True
        for key, value in attributes.items():
            if value is not None:
                self._root.set_attribute(key, value)
        self._root.end()
