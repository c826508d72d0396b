"""The recorder: a mitmproxy addon that passes LLM event streams through untouched and writes each to a recording.

Parts: `addon` (the mitmproxy hooks), `stream` (chunks to disk as they pass), `decode` (content-encodings),
`verdict` (the check after a stream ends), `run` (the proxy `record` and `run` start: its listeners, TLS options),
`command` (`sse-inspector run`: a command with its environment pointed at the proxy, from `child_env`, trusting a
bundle from `ca_bundle`), `run_summary` (the table `run` ends with).
"""

from .addon import Recorder

__all__ = ["Recorder"]
