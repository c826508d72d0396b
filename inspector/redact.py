"""The redaction policy: which names hold secrets, and what is kept of their values.

One policy for every place a client puts a secret, not a list of exact names (lists miss `openai_api_key`,
`private_key`, `Set-Cookie`): a header, query parameter, form field or JSON key (at any depth) is secret when one of
its words, split on `-`, `_`, `.` and camelCase, case-insensitively, is or ends with key, token, secret, password,
auth, cookie, session, credential or signature (so `apikey`, `accessToken`, `oauth` are caught), or is
`authorization`, `authentication`, `passwd` or `sig`. A value named by its neighbour is judged by that name: the
second of a pair of strings (`["Authorization", "Bearer ..."]`), the `value` beside a `name` or `key` field (headers
sent as a list). Only string values are redacted: a number is never a secret
(`max_tokens`, `budget_tokens`). The tokens of rate-limit headers (`x-ratelimit-remaining-tokens`) are counts. Names
the user adds (`--redact`) are matched whole, and any value of theirs but null and booleans is redacted.
A redacted value keeps a short tail, to tell two keys apart; see `redact_value`. See docs/recording.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Any
from urllib.parse import unquote_plus

SECRET_WORDS = ("key", "token", "secret", "password", "auth", "cookie", "session", "credential", "signature")
_WHOLE_WORDS = frozenset({"authorization", "authentication", "passwd", "sig"})
_SECRET_WORD = re.compile(rf"(?:{'|'.join(SECRET_WORDS)})s?$")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
TAIL = 4
"""Characters a redacted value keeps, at its end."""
SHORTEST_WITH_TAIL = 16
"""A value shorter than this keeps nothing: four characters of a short secret would give away too much."""
SHORTEST_ECHOED = 8
"""A request's secret shorter than this is not looked for in the response: it could be any word there."""


def words(name: str) -> list[str]:
    """`X-Api-Key` -> [x, api, key]; `openaiAPIKey` -> [openai, api, key]; `max_tokens` -> [max, tokens]."""
    return [word.lower() for word in _WORD.findall(name)]


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a header, query parameter or JSON key holds a secret, by the policy above. Cached: a long
    conversation's body repeats a few keys thousands of times, and its redaction runs on the proxy's event loop."""
    found = words(name)
    if "ratelimit" in "".join(found):  # x-ratelimit-remaining-tokens: a count of tokens, not a token
        found = [word for word in found if word not in ("token", "tokens")]
    return any(word in _WHOLE_WORDS or _SECRET_WORD.search(word) for word in found)


class Policy:
    """The policy with the user's own names (`--redact NAME`, matched whole and case-insensitively)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = frozenset(name.lower() for name in extra)
        self._known: dict[str, bool] = {}
        """`secret` of each JSON key met so far: a conversation repeats a few keys thousands of times."""
        self._keys_met = 0
        """The keys `redact` has met: fewer than the text holds when one is given twice in an object."""

    def secret(self, name: str) -> bool:
        return name.lower() in self.extra or is_secret_name(name)

    def headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers as a dict (repeated names joined with `, `), secret values redacted."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        result: dict[str, str] = {}
        for name, value in items:
            if self.secret(name):
                value = redact_value(value)
            result[name] = f"{result[name]}, {value}" if name in result else value
        return result

    def secret_values(self, headers: Iterable[tuple[str, str]], url: str) -> list[str]:
        """The secrets a request sent, as they came: its secret headers' values (a credential after its scheme, as
        `Bearer sk-...` holds it) and its secret query parameters'. An upstream's error body may echo one back
        ("Incorrect API key provided: sk-...")."""
        found = [_scheme_and_secret(value)[1] for name, value in headers if self.secret(name)]
        query = url.partition("#")[0].partition("?")[2]
        found += [unquote_plus(value) for name, _, value in (pair.partition("=") for pair in query.split("&"))
                  if value and self.secret(unquote_plus(name))]
        return sorted({value for value in found if len(value) >= SHORTEST_ECHOED}, key=len, reverse=True)

    def url(self, url: str) -> str:
        """The URL with secret query parameters redacted and credentials (`user:pass@`) dropped; never raises,
        whatever the URL (no parsing beyond `?`, `#` and `&`)."""
        before_fragment, hash_mark, fragment = url.partition("#")
        base, question, query = before_fragment.partition("?")
        base = _USERINFO.sub(r"\1", base)
        return f"{base}{question}{self.form(query)}{hash_mark}{fragment}"

    def form(self, text: str) -> str:
        """`name=value&...` (a query, a form-encoded body) with the values of secret names redacted, the rest as it
        came."""
        if "=" not in text:
            return text
        pairs = []
        for pair in text.split("&"):
            name, equals, value = pair.partition("=")
            if equals and self.secret(unquote_plus(name)):
                value = redact_value(unquote_plus(value))
            pairs.append(f"{name}{equals}{value}")
        return "&".join(pairs)

    def body(self, text: str | None, content_type: str | None = None) -> str | None:
        """A JSON request body with secret fields redacted (the original text when none is and no key is given
        twice); a form-encoded one (`content_type`) with its secret fields redacted too (`client_secret=...`); other
        bodies as they are. A body nested too deeply to be checked is not kept, unless no secret word is in it at
        all.

        It runs on the proxy's event loop (a body over 256 KiB on a worker thread, `Recorder.request`), where a
        long conversation's body (hundreds of KiB, every turn of an agent) holds up every live stream: msgspec
        parses and writes it, and the fields are redacted in place (`bench/header.py`). Looking for the secret
        words in the text first cost more than parsing it."""
        if not text:
            return text
        try:
            redacted = self.json_body(text)
        except ValueError:  # not JSON
            return self.form(text) if is_form(content_type) else text
        except RecursionError:
            lowered = text.lower()
            if any(word in lowered for word in (*SECRET_WORDS, *_WHOLE_WORDS, *self.extra)):
                return "(not kept: nested too deeply to be checked for secrets)"
            return text
        return text if redacted is None else redacted

    def json_body(self, data: str | bytes) -> str | None:
        """A JSON body (its text, or its UTF-8 bytes) written again with its secret fields redacted; None when it is
        to be kept as it came: nothing was redacted and no key is given twice. ValueError: not JSON;
        RecursionError: nested too deeply to be checked."""
        parsed, exact = _parse(data)
        self._keys_met = 0
        if not self.redact(parsed) and self._keys_met == _keys_in(data):
            return None
        return _msgspec().encode(parsed).decode() if exact else json.dumps(parsed, ensure_ascii=False)

    def redact(self, value: Any) -> bool:
        """Redact the values of secret keys in a parsed JSON value, at any depth, in place; whether one was."""
        redacted = False
        if type(value) is list:
            if len(value) == 2 and self._names_a_secret(value[0]) and type(value[1]) is str:
                value[1] = redact_value(value[1])  # ["Authorization", "Bearer sk-..."]: a header as a pair
                redacted = True
            for item in value:
                if type(item) in _CONTAINERS and self.redact(item):
                    redacted = True
        elif type(value) is dict:
            self._keys_met += len(value)
            if type(value.get("value")) is str and (self._names_a_secret(value.get("name"))
                                                   or self._names_a_secret(value.get("key"))):
                value["value"] = redact_value(value["value"])  # {"name": "x-api-key", "value": "sk-..."}
                redacted = True
            known = self._known
            for key, item in value.items():  # NOTE: values are replaced, never added: the dict may be walked
                kind = type(item)
                if kind is str:
                    if (secret := known.get(key)) is None:
                        secret = known[key] = self.secret(key)
                    if secret:
                        value[key] = redact_value(item)
                        redacted = True
                elif kind in _CONTAINERS:
                    if self.redact(item):
                        redacted = True
                elif kind in _NUMBERS and self.extra and key.lower() in self.extra:
                    value[key] = redact_value(str(item))
                    redacted = True
        return redacted


    def _names_a_secret(self, name: Any) -> bool:
        """Whether a JSON value that names another (a pair's first string, a `name` or `key` field beside `value`)
        is a secret name: a header list sent as pairs holds its secrets under no secret key. Only short strings are
        names; a long text is never looked at."""
        return type(name) is str and len(name) <= _LONGEST_NAME and self.secret(name)


def is_form(content_type: str | None) -> bool:
    """Whether a content type says `application/x-www-form-urlencoded` (its parameters aside)."""
    return content_type is not None and content_type.partition(";")[0].strip().lower() == _FORM


def _keys_in(text: str | bytes) -> int | None:
    """The keys of a JSON text as SDKs write it (each key's closing quote right before its colon; a quote inside a
    string is always escaped). A parser keeps only the last value of a key given twice, so a secret in the first
    would be in the text but never looked at: when the parsed keys are fewer, the body is written from what was
    parsed. None where the text alone might count too few (a colon after JSON spacing, as in `"key" : 1`, or after
    an escaped backslash and a quote, as in `"C:\\\\": 1`): such a body is written from what was parsed too, so that
    no count too low can hide a key given twice."""
    key_end, escaped, unclear = _KEYS_IN_BYTES if isinstance(text, bytes) else _KEYS_IN_TEXT
    keys = 0
    for start in range(0, len(text), _SLICE):
        if unclear.search(text, start, start + _SLICE):
            return None
        keys += (len(key_end.findall(text, start, start + _SLICE + 1))
                 - len(escaped.findall(text, start, start + _SLICE + 2)))
    return keys


_KEYS_IN_TEXT = tuple(map(re.compile, ('":', r'\\":', r':(?:(?<=\\\\":)|(?<=[ \t\n\r]:))')))
_KEYS_IN_BYTES = tuple(re.compile(pattern.pattern.encode()) for pattern in _KEYS_IN_TEXT)
"""A key's end, an escaped quote before a colon, and a colon that makes the count unclear. Searched, not counted
with `str.count`: the regex engine looks for their first character alone first, three times as fast on a body
of long strings (a base64 image: 7 ms for 21 MB against 22)."""
_SLICE = 1 << 20
"""Characters (or bytes) `_keys_in` searches in one call: a large body's keys are counted on a worker thread
(`Recorder.request`), and each call holds the GIL, for which the proxy's event loop waits meanwhile."""
_LONGEST_NAME = 64
"""Characters a string may have to be read as a name of another value (`Policy._names_a_secret`)."""
_FORM = "application/x-www-form-urlencoded"
_CONTAINERS = (dict, list)
_NUMBERS = (int, float)
"""Exact types: a boolean is never a secret (what `json.loads` and msgspec make are never subclasses)."""


def _parse(text: str | bytes) -> tuple[Any, bool]:
    """The parsed JSON, and whether msgspec parsed it, so that msgspec may write it back exactly: it refuses what
    only the json module reads (NaN, Infinity, 1e400, a lone surrogate), which its writer would change."""
    try:
        return _msgspec().decode(text), True
    except ValueError:  # those, or no JSON at all (then the json module says so too)
        return json.loads(text), False


@cache
def _msgspec() -> Any:
    """msgspec's JSON module, imported at the first body: the commands that never redact one start without it."""
    import msgspec

    return msgspec.json


def redact_value(value: str) -> str:
    """Keep an auth scheme and a short tail: `Bearer sk-abc...WXYZ` -> `Bearer …WXYZ`; `s3cr3t` -> `…`.

    The first word is kept only when it looks like a scheme (`Bearer`, `Basic`, `AWS4-HMAC-SHA256`), never when it
    is part of the secret (`session=abc; Path=/`)."""
    scheme, secret = _scheme_and_secret(value)
    tail = secret[-TAIL:] if len(secret) >= SHORTEST_WITH_TAIL else ""
    return f"{scheme}…{tail}"


def _scheme_and_secret(value: str) -> tuple[str, str]:
    """(`Bearer `, `sk-...`): the auth scheme with its space, when the first word looks like one, and the rest."""
    scheme, space, secret = value.partition(" ")
    if not space or not _SCHEME.fullmatch(scheme):
        return "", value
    return f"{scheme}{space}", secret

