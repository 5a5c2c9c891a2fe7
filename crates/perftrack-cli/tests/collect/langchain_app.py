"""A LangChain chain instrumented by OpenInference, exporting over OTLP/HTTP, with no network.

Run under `perftrack collect -- python langchain_app.py REPORT`. The chain is built from
langchain-core alone: an in-memory keyword retriever, a prompt, a fake chat
model whose answers carry token usage, and an output parser. The span kinds OpenInference
emitted (`openinference.span.kind`), counted, and the LLM spans' token counts are written to
REPORT as JSON for the test to check the receiver against.
"""

import json
import sys
from collections import Counter

from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

QUESTIONS = ["What is RAG?", "Why rerank?", "What is a first token?"]


def main(report_path):
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    kept = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(kept))
    LangChainInstrumentor().instrument(tracer_provider=provider)

    # Imported after instrumenting, as an application would.
    from langchain_core.documents import Document
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables import RunnablePassthrough

    class KeywordRetriever(BaseRetriever):
        """The passages sharing the most words with the query (in memory, no embeddings)."""

        documents: list
        k: int = 2

        def _get_relevant_documents(self, query, *, run_manager):
            words = set(query.lower().split())
            scored = sorted(
                self.documents,
                key=lambda d: -len(words & set(d.page_content.lower().split())),
            )
            return scored[: self.k]

    retriever = KeywordRetriever(
        documents=[
            Document(page_content="RAG retrieves passages, then generates an answer."),
            Document(page_content="A reranker orders the retrieved passages."),
            Document(page_content="The first token is when streaming starts."),
        ]
    )
    answers = [
        AIMessage(
            content=f"Answer {i}.",
            usage_metadata={
                "input_tokens": 50 + i,
                "output_tokens": 7 + i,
                "total_tokens": 57 + 2 * i,
            },
        )
        for i in range(len(QUESTIONS))
    ]
    model = GenericFakeChatModel(messages=iter(answers))
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from: {context}"), ("human", "{question}")]
    )
    chain = (
        {
            "context": retriever | (lambda docs: "\n".join(d.page_content for d in docs)),
            "question": RunnablePassthrough(),
        }
        | prompt
        | model
        | StrOutputParser()
    )
    for question in QUESTIONS:
        chain.invoke(question)

    provider.shutdown()
    kinds = Counter()
    llm_tokens = []
    for span in kept.get_finished_spans():
        kind = span.attributes.get("openinference.span.kind")
        kinds[kind] += 1
        if kind == "LLM":
            llm_tokens.append(
                {
                    "prompt": span.attributes.get("llm.token_count.prompt"),
                    "completion": span.attributes.get("llm.token_count.completion"),
                }
            )
    with open(report_path, "w") as f:
        json.dump({"kinds": kinds, "llm_tokens": llm_tokens}, f)


if __name__ == "__main__":
    main(sys.argv[1])
