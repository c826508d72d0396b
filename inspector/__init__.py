"""sse-inspector: record, validate, view, diff and replay the SSE streams of LLM APIs."""

__version__ = "0.1.0"
