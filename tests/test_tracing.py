"""OpenTelemetry spans of an answer's and an ingest's stages (an in-memory exporter), and tracing off by default."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rag.factory import Components
from rag.tracing import configure_tracing
from tests.helpers.documents import WriteDoc

QUESTION = "Does PRP with microneedling improve acne scars in patients with a secret-marker history?"
_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # installed once per process: OTel refuses to replace a provider
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def by_name(finished: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in finished}


def test_an_answer_has_a_span_per_stage_and_no_question_text(answer_corpus: Components,
                                                            spans: InMemorySpanExporter) -> None:
    answer_corpus.answers().answer(QUESTION)
    finished = spans.get_finished_spans()
    named = by_name(finished)
    root = named["rag.answer"]
    for stage in ("condense", "retrieve", "generate", "ground", "appraise"):
        assert named[f"rag.{stage}"].parent.span_id == root.context.span_id, stage  # type: ignore[union-attr]
    retrieve = named["rag.retrieve"]
    for part in ("retrieve.dense", "retrieve.lexical", "retrieve.fuse"):
        assert named[f"rag.{part}"].parent.span_id == retrieve.context.span_id, part  # type: ignore[union-attr]
    assert {s.context.trace_id for s in finished} == {root.context.trace_id}
    assert root.attributes["backend"] == "extractive" and root.attributes["references"] >= 1  # type: ignore[index]
    for span in finished:
        assert all("secret-marker" not in str(value) for value in (span.attributes or {}).values()), span.name


def test_a_stream_abandoned_after_its_sources_still_ends_its_span(answer_corpus: Components,
                                                                  spans: InMemorySpanExporter) -> None:
    events = answer_corpus.answers().stream(QUESTION)
    assert next(events).kind == "sources"
    events.close()
    assert "rag.answer" in by_name(spans.get_finished_spans())


def test_an_ingest_has_load_chunk_embed_and_store_spans(components: Components, write_doc: WriteDoc,
                                                        tmp_path: Path, spans: InMemorySpanExporter) -> None:
    write_doc("a.md", body="## Results\nPRP improved acne scars in 50 patients.")
    write_doc("b.md", body="## Results\nExosome gel reduced acne scar scores.")
    components.ingestor().run([tmp_path / "src"])
    named = by_name(spans.get_finished_spans())
    root = named["rag.ingest"]
    assert root.attributes["added"] == 2  # type: ignore[index]
    for stage in ("ingest.load", "ingest.chunk", "ingest.embed", "ingest.store"):
        assert named[f"rag.{stage}"].context.trace_id == root.context.trace_id, stage


def test_tracing_is_off_by_default_and_exports_over_otlp_when_configured() -> None:
    assert configure_tracing({}) is False
    assert configure_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_SDK_DISABLED": "true"}) \
        is False
    script = ("from opentelemetry import trace\nfrom opentelemetry.sdk.trace import TracerProvider\n"
              "from rag.tracing import configure_tracing\n"
              "assert configure_tracing({'OTEL_EXPORTER_OTLP_ENDPOINT': 'http://127.0.0.1:9'})\n"
              "assert isinstance(trace.get_tracer_provider(), TracerProvider)\n"
              "assert configure_tracing({'OTEL_EXPORTER_OTLP_ENDPOINT': 'http://127.0.0.1:9'})\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_an_api_request_span_carries_the_request_id_and_holds_the_answer(answer_corpus: Components,
                                                                         spans: InMemorySpanExporter) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(answer_corpus.settings, components=answer_corpus)
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 40000)) as client:
        response = client.post("/v1/answers", json={"question": QUESTION}, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    named = by_name(finished)
    request = named["rag.request"]
    assert request.attributes["request_id"] == "req-42" and request.attributes["status"] == 200  # type: ignore[index]
    assert request.attributes["route"] == "/v1/answers"  # type: ignore[index]
    parents = {span.context.span_id: span.parent.span_id for span in finished if span.parent is not None}
    ancestor = named["rag.answer"].context.span_id
    while ancestor in parents and ancestor != request.context.span_id:
        ancestor = parents[ancestor]
    assert ancestor == request.context.span_id, "the answer's span hangs under the request's"
