"""Anthropic Messages (`POST /v1/messages`, `stream: true`): models, rules, checker, assembly."""
