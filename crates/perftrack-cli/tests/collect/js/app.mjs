// A Node app traced by the OpenTelemetry JavaScript SDK, exporting over OTLP/HTTP with JSON
// encoding to the endpoint in OTEL_EXPORTER_OTLP_ENDPOINT (set by `perftrack collect`).
//
// `node app.mjs REPORT`: every query makes a `retrieve` span, a `rerank` span (one of them
// failed, with a float attribute) and a `generate` span with token usage and a first-token
// event. The spans as the SDK finished them (times in nanoseconds since the epoch, as decimal
// strings) are written to REPORT as JSON for the test to check the receiver against.
import { writeFileSync } from "node:fs";
import { SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

const QUERIES = 5;
const FIRST_TOKEN = "First Token Stream Event";

const kept = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  spanProcessors: [
    new BatchSpanProcessor(new OTLPTraceExporter()),
    new SimpleSpanProcessor(kept),
  ],
});
const tracer = provider.getTracer("js-app");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

for (let query = 0; query < QUERIES; query++) {
  await tracer.startActiveSpan("retrieve", async (span) => {
    await sleep(5 + query);
    span.end();
  });
  await tracer.startActiveSpan("rerank", async (span) => {
    await sleep(3);
    span.setAttribute("rerank.score", 0.75);
    if (query === 2) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: "reranker timed out" });
    }
    span.end();
  });
  await tracer.startActiveSpan("generate", async (span) => {
    await sleep(8);
    span.addEvent(FIRST_TOKEN);
    await sleep(6);
    span.setAttribute("gen_ai.usage.input_tokens", 200 + query);
    span.setAttribute("gen_ai.usage.output_tokens", 30);
    span.end();
  });
}

// Exported, then read: shutting down empties the in-memory exporter.
await provider.forceFlush();
const finished = kept.getFinishedSpans();
await provider.shutdown();

const nanos = ([seconds, nanoseconds]) => (BigInt(seconds) * 1000000000n + BigInt(nanoseconds)).toString();
const spans = finished.map((span) => {
  const first = span.events.find((e) => e.name === FIRST_TOKEN);
  return {
    name: span.name,
    start_ns: nanos(span.startTime),
    end_ns: nanos(span.endTime),
    first_token_ns: first ? nanos(first.time) : null,
    failed: span.status.code === SpanStatusCode.ERROR,
  };
});
writeFileSync(process.argv[2], JSON.stringify({ spans }));
