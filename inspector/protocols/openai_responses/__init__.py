"""OpenAI Responses (`POST /v1/responses`, `stream: true`): models, checker, output items and their state tables."""
