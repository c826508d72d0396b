"""Record LLM event streams with mitmproxy: `mitmdump -s addons/sse_recorder.py --set sse_dir=recordings`.

Glue only: the recorder lives in `inspector.recorder`, so an installed wheel has it too. Options (all `sse_*`):
`sse_dir`, `sse_redact`, `sse_request_body`, `sse_streams` (llm|all), `sse_listen_file`. See docs/recording.md.
"""

from inspector.recorder import Recorder

addons = [Recorder()]
