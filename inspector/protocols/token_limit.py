"""The request's cap on an answer's tokens against the tokens the stream's usage counts (`<protocol>/usage-over-limit`).

Only a recording that kept its request body can be judged: a raw body has no request. A server that ignores the cap
(llama-cpp-python's ignores Chat's `max_completion_tokens`) still streams a valid answer, so no other rule sees it;
the client that set the cap to bound cost or length got neither.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..findings import Finding, Rule
from .base import request_object


def never(body: dict[str, Any], usage: dict[str, Any]) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class TokenLimit:
    """Where one protocol's request caps the answer and where its usage counts what the cap bounds."""

    rule: Rule
    caps: tuple[str, ...]
    """The request fields that cap the answer (dotted paths), the first one present counts."""
    counted: str
    """The usage field that counts what the cap bounds, or a part of it (never more)."""
    several: tuple[str, ...] = ()
    """Request fields asking for several answers: the usage then sums them, and the cap holds for each."""
    may_count_more: Callable[[dict[str, Any], dict[str, Any]], bool] = never
    """Whether the request (or the usage) shows that the usage may count more than the cap bounds (several model
    calls, each under it, around tools the server runs itself): then nothing is said."""

    def judge(self, body: Any, usage: Any) -> Finding | None:
        """The finding when the usage counts more tokens than the request allowed, else None. A body kept as text
        is parsed only when a cap below the count may be in it."""
        counted = usage.get(self.counted) if isinstance(usage, dict) else None
        if type(counted) is not int:
            return None
        body = request_object(body, lambda text: _may_cap_below(text, self.caps, counted))
        if body is None:
            return None
        field, cap = next(((field, value) for field in self.caps if (value := _at(body, field)) is not None),
                          (None, None))
        if type(cap) is not int or cap <= 0 or counted <= cap:
            return None
        if any(_at(body, field) not in (None, 1) for field in self.several) or self.may_count_more(body, usage):
            return None
        return self.rule(None, (
            f"the request allowed at most {cap} tokens (`{field}`), and the stream's usage counts {counted} "
            f"(`{self.counted}`): the server ignored the cap, or its usage miscounts; a client that set it to bound "
            "the answer's length or cost got neither"))


def _may_cap_below(text: str, caps: tuple[str, ...], counted: int) -> bool:
    """Whether the body's text names one of the caps with a number under `counted`, anywhere (a message may quote
    one too): only then is it worth parsing, as a long conversation's body may be megabytes."""
    for cap in caps:
        name = re.escape(cap.rpartition(".")[2])
        if any(int(number) < counted for number in re.findall(rf'"{name}"\s*:\s*([0-9]{{1,18}})(?![0-9])', text)):
            return True
    return False


def _at(body: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of the body, None where it is absent."""
    value: Any = body
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value
