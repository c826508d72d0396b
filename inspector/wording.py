"""Counts in sentences: `1 stream`, `2 streams` (every summary line says its numbers the same way)."""


def plural(count: int, word: str) -> str:
    """`count` and `word`, with an `s` unless the count is one."""
    return f"{count} {word}{'' if count == 1 else 's'}"
