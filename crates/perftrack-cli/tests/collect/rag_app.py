"""A small RAG flow instrumented with the OpenTelemetry SDK, exporting over OTLP/HTTP.

Run under `perftrack collect -- python rag_app.py REPORT`: the exporter finds the receiver in
OTEL_EXPORTER_OTLP_ENDPOINT and sends protobuf, gzip-compressed. Every query makes a
`retrieve`, a `rerank` and a streamed `generate` span (token usage, a first-token event). The spans as the SDK finished them, and
the app's own perf_counter timings of each (inside the span and around it), are written to REPORT as JSON for the test to
check the receiver against.
"""

import json
import sys
import time

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

QUERIES = 6
FIRST_TOKEN = "First Token Stream Event"


def main(report_path):
    provider = TracerProvider()
    # gzip, as many deployments configure it (OTEL_EXPORTER_OTLP_COMPRESSION=gzip).
    exporter = OTLPSpanExporter(compression=Compression.Gzip)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    kept = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("rag-app")
    timings = []

    def timed(name, work, **attributes):
        # Two perf_counter timings per span: `outer` around the span's start and end, `inner`
        # around the work inside it. The span's own duration lies between them.
        outer = time.perf_counter_ns()
        with tracer.start_as_current_span(name, attributes=attributes) as span:
            inner = time.perf_counter_ns()
            work(span)
            inner = time.perf_counter_ns() - inner
        outer = time.perf_counter_ns() - outer
        timings.append({"name": name, "inner_ns": inner, "outer_ns": outer})

    for query in range(QUERIES):
        timed("retrieve", lambda span: time.sleep(0.012 + 0.002 * query))

        def rerank(span):
            time.sleep(0.010)
            if query == 3:
                # One failed reranking: an error status marks the measurement failed.
                span.set_status(Status(StatusCode.ERROR, "reranker timed out"))

        timed("rerank", rerank)

        def generate(span):
            time.sleep(0.015)
            span.add_event(FIRST_TOKEN)
            tokens = 1
            for _ in range(19):
                time.sleep(0.001)
                tokens += 1
            span.set_attribute("gen_ai.usage.input_tokens", 100 + query)
            span.set_attribute("gen_ai.usage.output_tokens", tokens)

        timed("generate", generate, **{"gen_ai.operation.name": "chat"})

    provider.shutdown()
    spans = []
    for span in kept.get_finished_spans():
        events = [e.timestamp for e in span.events if e.name == FIRST_TOKEN]
        spans.append(
            {
                "name": span.name,
                "start_ns": span.start_time,
                "end_ns": span.end_time,
                "first_token_ns": events[0] if events else None,
                "failed": span.status.status_code == StatusCode.ERROR,
            }
        )
    with open(report_path, "w") as f:
        json.dump({"spans": spans, "timings": timings}, f)


if __name__ == "__main__":
    main(sys.argv[1])
