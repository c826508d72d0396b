"""The recorder: a mitmproxy addon that passes LLM event streams through untouched and writes each to a recording.

Parts: `addon` (the mitmproxy hooks), `stream` (chunks to disk as they pass), `decode` (content-encodings),
`verdict` (the check after a stream ends), `run` (the `record` command's own mitmproxy master).
"""

from .addon import Recorder

__all__ = ["Recorder"]
