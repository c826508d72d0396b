"""OpenAI Chat Completions (`POST /v1/chat/completions`, `stream: true`): models, checker, per-choice tracking."""
