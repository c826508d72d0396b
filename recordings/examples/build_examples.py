"""Rebuild the example recordings from the corpus streams they were made from (see README.md here).

The bytes of each stream are copied verbatim, one SSE event per chunk, 20 ms apart (the pacing `serve` gives
a raw SSE file): the corpus keeps no arrival times, so none are invented beyond that. Run from the repository
root: `python recordings/examples/build_examples.py`.
"""

from __future__ import annotations

import re
from pathlib import Path

from inspector.recording import Header, RecordingWriter

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
HERE = Path(__file__).resolve().parent
INTERVAL = 0.02
_EVENT = re.compile(rb".*?(?:\r\n\r\n|\n\n|\r\r)", re.S)

_WEATHER_ARGS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}, "units": {"enum": ["c", "f"]}},
    "required": ["city", "country", "units"], "additionalProperties": False,
}
_STOCK_ARGS = {
    "type": "object", "properties": {"ticker": {"type": "string"}, "exchange": {"type": "string"}},
    "required": ["ticker", "exchange"], "additionalProperties": False,
}

EXAMPLES = {
    "openai-chat-parallel-tool-calls.jsonl": {
        "corpus": "openai-chat/openai-python__tool-calls-parallel.sse",
        "protocol": "openai-chat",
        "url": "https://api.openai.com/v1/chat/completions",
        "body": {
            "model": "gpt-4o-2024-08-06",
            "messages": [
                {"role": "user", "content": "What's the weather like in Edinburgh?"},
                {"role": "user", "content": "What's the price of AAPL?"},
            ],
            "tools": [
                {"type": "function", "function": {
                    "name": "GetWeatherArgs", "description": "Get the temperature for the given country/city combo",
                    "parameters": _WEATHER_ARGS, "strict": True}},
                {"type": "function", "function": {
                    "name": "get_stock_price", "description": "Fetch the latest price for a given ticker",
                    "parameters": _STOCK_ARGS, "strict": True}},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    },
    "openai-responses-function-call.jsonl": {
        "corpus": "openai-responses/vercel-ai__function-call.sse",
        "protocol": "openai-responses",
        "url": "https://api.openai.com/v1/responses",
        "body": {
            "model": "gpt-5.1",
            "input": [{"role": "user", "content": "What is the weather in San Francisco?"}],
            "tools": [{"type": "function", "name": "weather", "strict": False, "parameters": {
                "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}],
            "stream": True,
        },
    },
    "anthropic-messages-tool-use.jsonl": {
        "corpus": "anthropic-messages/vercel-ai__tool-use-only.sse",
        "protocol": "anthropic-messages",
        "url": "https://api.anthropic.com/v1/messages",
        "body": {
            "model": "claude-haiku-4-5-20251001",
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": "List the weather in San Francisco as JSON."}],
            "tools": [{"name": "json", "description": "Respond with a JSON object.", "input_schema": {
                "type": "object", "properties": {"elements": {"type": "array", "items": {"type": "object"}}},
                "required": ["elements"]}}],
            "tool_choice": {"type": "tool", "name": "json"},
            "stream": True,
        },
    },
    "gemini-function-call.jsonl": {
        "corpus": "gemini-generate-content/pydantic-ai__function-call-single-chunk.sse",
        "protocol": "gemini",
        "url": "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        "body": {
            "contents": [{"role": "user", "parts": [{"text": "What is the capital of France?"}]}],
            "tools": [{"functionDeclarations": [{
                "name": "get_capital", "description": "Get the capital of a country.",
                "parameters": {"type": "OBJECT", "properties": {"country": {"type": "STRING"}},
                               "required": ["country"]}}]}],
        },
    },
}


def build(name: str, spec: dict) -> Path:
    raw = (CORPUS / spec["corpus"]).read_bytes()
    events = _EVENT.findall(raw)
    rest = raw[sum(map(len, events)):]
    target = HERE / name
    target.unlink(missing_ok=True)
    header = Header(
        request={"method": "POST", "url": spec["url"],
                 "headers": {"content-type": "application/json", "accept": "text/event-stream"},
                 "body": spec["body"]},
        response={"status": 200, "headers": {"content-type": "text/event-stream; charset=utf-8"}},
        protocol=spec["protocol"], source="import", id=f"example-{target.stem}", started_at="2026-01-01T00:00:00.000Z",
        extra={"origin": f"tests/fixtures/corpus/{spec['corpus']}"},
    )
    writer = RecordingWriter(target, header)
    for index, event in enumerate(events):
        writer.chunk(index * INTERVAL, event)
    if rest:
        writer.chunk(len(events) * INTERVAL, rest)
    writer.end(len(events) * INTERVAL, "complete")
    return target


if __name__ == "__main__":
    for name, spec in EXAMPLES.items():
        print(build(name, spec).relative_to(ROOT))
