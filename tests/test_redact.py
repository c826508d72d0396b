"""The redaction policy: secret names by their words, string values only, a short tail kept."""

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector import redact
from inspector.redact import Policy, is_secret_name, redact_value

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789WXYZ"

SECRET_NAMES = [
    "Authorization", "proxy-authorization", "X-Api-Key", "api-key", "x-goog-api-key", "Cookie", "Set-Cookie",
    "openai_api_key", "private_key", "x-api-key", "accessToken", "refresh_token", "client_secret", "PASSWORD",
    "passwd", "sessionId", "X-Session", "credentials", "signature", "sig", "apikey", "APIKey", "oauth",
    "X-Amz-Security-Token", "AWSAccessKeyId", "ocp-apim-subscription-key", "prompt_cache_key",
    "x-ratelimit-api-key",
]
PLAIN_NAMES = [
    "model", "messages", "content", "top_k", "top_p", "stream", "keyword", "author", "tokenizer", "user",
    "x-ratelimit-remaining-tokens", "anthropic-ratelimit-tokens-reset", "content-type", "x-request-id",
    "openai-organization", "anthropic-version", "previous_response_id",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_names_with_a_secret_word_are_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_other_names_are_not(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"Bearer {SECRET}", "Bearer …WXYZ"),
        (SECRET, "…WXYZ"),
        ("short", "…"),
        ("Bearer short", "Bearer …"),
        ("fifteen-chars-x", "…"),
        ("sixteen-chars-xy", "…s-xy"),
        (f"session={SECRET}; theme=dark", "…dark"),  # not a scheme: nothing of the cookie's start is kept
        (f"AWS4-HMAC-SHA256 Credential={SECRET}", "AWS4-HMAC-SHA256 …WXYZ"),
    ],
)
def test_redact_value_keeps_a_scheme_and_four_characters_of_long_values_only(value: str, expected: str) -> None:
    assert redact_value(value) == expected


def test_headers_are_redacted_by_the_policy_and_the_users_names() -> None:
    headers = [(name, f"v{SECRET}") for name in SECRET_NAMES] + [
        ("X-Team-Id", SECRET), ("Content-Type", "application/json"), ("x-ratelimit-remaining-tokens", "29000"),
    ]
    redacted = Policy(["x-team-id"]).headers(headers)
    assert redacted == {
        **{name: "…WXYZ" for name in SECRET_NAMES}, "X-Team-Id": "…WXYZ", "Content-Type": "application/json",
        "x-ratelimit-remaining-tokens": "29000",
    }


def test_json_fields_at_any_depth_with_string_values_only() -> None:
    body = {
        "model": "gpt-4o", "stream": True, "max_tokens": 100, "max_output_tokens": 50, "top_k": 5,
        "thinking": {"type": "enabled", "budget_tokens": 1024}, "openai_api_key": SECRET,
        "config": [{"private_key": SECRET, "auth": {"x-api-key": SECRET, "Token": None}}],
        "tools": [{"name": "get_token", "input_schema": {"properties": {"api_key": {"type": "string"}}}}],
        "account_number": 12345678, "session_count": 3,
    }
    expected = {
        **body, "openai_api_key": "…WXYZ", "account_number": "…",
        "config": [{"private_key": "…WXYZ", "auth": {"x-api-key": "…WXYZ", "Token": None}}],
    }
    assert Policy(["account_number"]).redact(body)
    assert body == expected


def test_a_secret_named_by_its_neighbour_is_redacted() -> None:
    """Headers sent as a list carry their secrets under no secret key: a pair, or a name beside a value."""
    body = {
        "extra_headers": [["Authorization", f"Bearer {SECRET}"], ["X-Trace", "abc"]],
        "mcp": {"headers": [{"name": "x-api-key", "value": SECRET}, {"name": "Accept", "value": "text/plain"}]},
        "env": [{"key": "OPENAI_API_KEY", "value": SECRET}],
        "stop": ["token", "end"], "text": ["x" * 65 + "_token", "kept"], "pairs": [["api_key", 7]],
    }
    assert Policy().redact(body)
    assert body == {
        "extra_headers": [["Authorization", "Bearer …WXYZ"], ["X-Trace", "abc"]],
        "mcp": {"headers": [{"name": "x-api-key", "value": "…WXYZ"}, {"name": "Accept", "value": "text/plain"}]},
        "env": [{"key": "…", "value": "…WXYZ"}],
        "stop": ["token", "…"], "text": ["x" * 65 + "_token", "kept"], "pairs": [["api_key", 7]],
    }


def test_a_body_keeps_its_text_unless_something_is_redacted() -> None:
    policy = Policy()
    plain = '{"model": "m",   "max_tokens": 10, "stream": true}'
    assert policy.body(plain) == plain
    assert policy.body("not json, key=abc") == "not json, key=abc"
    assert json.loads(policy.body(json.dumps({"a": {"client_secret": SECRET}}))) == {"a": {"client_secret": "…WXYZ"}}
    assert policy.body(None) is None


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "Application/X-WWW-Form-Urlencoded; charset=utf-8"])
def test_a_form_encoded_body_loses_its_secret_fields_and_keeps_the_rest(content_type: str) -> None:
    quoted = SECRET.replace("-", "%2D")
    body = f"grant_type=client_credentials&client_secret={SECRET}&refresh%5Ftoken={quoted}&q=ab"
    kept = Policy(["q"]).body(body, content_type)
    assert kept == "grant_type=client_credentials&client_secret=…WXYZ&refresh%5Ftoken=…WXYZ&q=…"


def test_only_a_body_said_to_be_a_form_is_read_as_one() -> None:
    """JSON first, whatever the content type says; a text body that only looks like a form is kept as it came."""
    assert Policy().body(f"client_secret={SECRET}", "text/plain") == f"client_secret={SECRET}"
    assert Policy().body(f"client_secret={SECRET}") == f"client_secret={SECRET}"
    as_json = Policy().body(json.dumps({"client_secret": SECRET}), "application/x-www-form-urlencoded")
    assert json.loads(as_json) == {"client_secret": "…WXYZ"}


@pytest.mark.parametrize("body", [
    f'{{"api_key": "{SECRET}", "api_key": 1}}',
    f'{{"a": {{"api_key": "{SECRET}"}}, "a": 1}}',
    f'{{"messages": [{{"x": {{"token": "{SECRET}"}}, "x": null}}], "model": "m"}}',
    f'{{"api_key": "{SECRET}", "api_key": 1, "model" : "m"}}',  # odd spacing once counted a key too few
    f'{{"a\\\\": 1, "api_key": "{SECRET}", "api_key": 1}}',  # so did a key ending in a backslash
])
def test_a_secret_under_a_key_given_twice_is_not_kept(body: str) -> None:
    """A parser keeps a repeated key's last value only: the first, never looked at, must not reach the disk as
    part of the text as it came."""
    kept = Policy().body(body)
    assert SECRET not in kept
    assert json.loads(kept) == json.loads(body)
    assert Policy().json_body(body.encode()) == kept  # as a large body is read, on a worker thread


_KEYS = st.text(alphabet='"\\: a\n', max_size=4)
_SPACE = st.text(alphabet=" \t\n\r", max_size=2)


@st.composite
def _json_texts(draw: st.DrawFn, depth: int = 2) -> str:
    """JSON as any writer may space it, keys and strings full of quotes, colons and backslashes, keys given twice."""
    def value() -> str:
        if depth and draw(st.booleans()):
            return draw(_json_texts(depth - 1))
        return json.dumps(draw(st.one_of(_KEYS, st.integers(), st.none())))
    if draw(st.booleans()):
        return "[" + ",".join(value() for _ in range(draw(st.integers(0, 3)))) + "]"
    keys = draw(st.lists(_KEYS, max_size=4))
    keys += draw(st.lists(st.sampled_from(keys), max_size=2)) if keys else []
    return "{" + ",".join(f"{json.dumps(key)}{draw(_SPACE)}:{draw(_SPACE)}{value()}" for key in keys) + "}"


def _keys_parsed(text: str) -> int:
    keys = 0

    def pairs(found: list) -> dict:
        nonlocal keys
        keys += len(found)
        return dict(found)
    json.loads(text, object_pairs_hook=pairs)
    return keys


@settings(max_examples=500)
@given(_json_texts())
def test_keys_are_counted_never_fewer_than_a_parser_meets_them(text: str) -> None:
    """A key given twice is told only by counting the keys in the text: a count that the text's spacing or
    backslashes made too low would let a secret under the first reach the disk. So the count is never below the
    keys a parser meets, or None (the body is then written from what was parsed), and None only where spacing or a
    backslash could mislead. It is exact unless a string begins with a colon (its opening quote looks like a key's
    end)."""
    counted = redact._keys_in(text)
    assert counted == redact._keys_in(text.encode())
    if counted is None:
        assert '\\\\":' in text or re.search("[ \t\n\r]:", text)
    elif re.search(r'[{\[,:][ \t\n\r]*"[ \t\n\r]*:', text):
        assert counted >= _keys_parsed(text)
    else:
        assert counted == _keys_parsed(text)


@given(st.text(alphabet='": \\a', max_size=40), st.integers(1, 5))
def test_keys_are_counted_slice_by_slice_as_in_the_whole_text(text: str, size: int) -> None:
    """`_keys_in` counts a large body a slice at a time (a worker thread holds the GIL for each call): a key whose
    quote, spacing and colon fall in two slices is counted once."""
    whole = redact._keys_in(text)
    original = redact._SLICE
    try:
        redact._SLICE = size
        assert redact._keys_in(text) == redact._keys_in(text.encode()) == whole
    finally:
        redact._SLICE = original


def test_a_body_whose_strings_quote_a_colon_is_kept_as_it_came() -> None:
    body = '{"model": "m",  "messages": [{"content": "say \\": x\\\\", "role": "user"}]}'
    assert json.loads(body) == {"model": "m", "messages": [{"content": 'say ": x\\', "role": "user"}]}
    assert Policy().body(body) == body


def test_a_body_nested_too_deeply_to_check_is_not_kept_unless_no_secret_word_is_in_it() -> None:
    deep = '{"token": "' + SECRET + '", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    kept = Policy().body(deep)
    assert SECRET not in kept and "not kept" in kept
    harmless = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert Policy().body(harmless) == harmless


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://h/v1/x:streamGenerateContent?alt=sse&key={SECRET}&access_token={SECRET}&n=1",
         "https://h/v1/x:streamGenerateContent?alt=sse&key=…WXYZ&access_token=…WXYZ&n=1"),
        (f"https://h/p?openai_api_key={SECRET}&sig={SECRET}#frag", "https://h/p?openai_api_key=…WXYZ&sig=…WXYZ#frag"),
        (f"https://user:{SECRET}@h.example/p?q={SECRET}", f"https://h.example/p?q={SECRET}"),
        (f"http://[::1/x?api_key={SECRET}", "http://[::1/x?api_key=…WXYZ"),
        ("https://h/p?flag&key", "https://h/p?flag&key"),
    ],
)
def test_urls_lose_credentials_and_secret_query_values(url: str, expected: str) -> None:
    assert Policy().url(url) == expected


def test_users_names_in_a_url() -> None:
    assert Policy(["q"]).url(f"https://h/p?q={SECRET}") == "https://h/p?q=…WXYZ"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_any_url_or_body_is_redacted_without_raising(url: str, body: str) -> None:
    Policy(["x"]).url(url)
    Policy(["x"]).body(body)
    Policy(["x"]).body(body, "application/x-www-form-urlencoded")


def test_view_shows_the_url_of_a_recording_written_elsewhere_redacted(run_cli, tmp_path) -> None:
    from inspector.recording import Header, RecordingWriter

    url = f"https://user:pw@h.example/v1/chat/completions?openai_api_key={SECRET}"
    writer = RecordingWriter(tmp_path / "r.jsonl", Header(request={"method": "POST", "url": url, "headers": {}}))
    writer.chunk(0.1, b"data: [DONE]\n\n")
    writer.end(0.2, "complete")
    shown = run_cli("view", "--json", str(tmp_path / "r.jsonl"))
    assert json.loads(shown.out)["url"] == "https://h.example/v1/chat/completions?openai_api_key=…WXYZ"
    assert SECRET not in run_cli("view", str(tmp_path / "r.jsonl")).out


_NAMES = st.sampled_from(["model", "messages", "content", "api_key", "X-Api-Key", "accessToken", "auth",
                          "client_secret", "Cookie", "max_tokens", "items", "session_id", "privateKey", "data",
                          "name", "value"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_NAMES, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_JSON, st.lists(_NAMES, min_size=1, max_size=3), st.integers(min_value=0, max_value=3))
def test_no_secret_string_survives_at_any_depth(value, path, secret_name_index) -> None:
    """A secret planted under a secret name, at the end of any path of names through any JSON, is gone."""
    secret_name = ["openai_api_key", "private_key", "x-api-key", "sessionToken"][secret_name_index]
    planted = {secret_name: SECRET, "other": value, "pair": [secret_name, SECRET],
               "named": {"name": secret_name, "value": SECRET}}
    for name in reversed(path):
        planted = {name: [planted]}
    Policy().redact(planted)
    assert SECRET[:-4] not in json.dumps(planted)


def _redacted_copy(value, policy: Policy):
    """The redaction as a copying walk, the way it was written before it worked in place: the reference."""
    if isinstance(value, list):
        copy = [_redacted_copy(item, policy) for item in value]
        if len(copy) == 2 and _names_a_secret(copy[0], policy) and isinstance(copy[1], str):
            copy[1] = redact_value(copy[1])
        return copy
    if not isinstance(value, dict):
        return value
    named = _names_a_secret(value.get("name"), policy) or _names_a_secret(value.get("key"), policy)
    copy = {}
    for key, item in value.items():
        if isinstance(item, str) and policy.secret(key):
            item = redact_value(item)
        elif key.lower() in policy.extra and isinstance(item, int | float) and not isinstance(item, bool):
            item = redact_value(str(item))
        elif key == "value" and named and isinstance(item, str):
            item = redact_value(item)
        copy[key] = _redacted_copy(item, policy)
    return copy


def _names_a_secret(name, policy: Policy) -> bool:
    return isinstance(name, str) and len(name) <= 64 and policy.secret(name)


_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**64) | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.text(max_size=8).map(lambda text: text + "\udce9"),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_NAMES | st.text(max_size=8), children,
                                                                         max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_ANY_JSON, st.booleans())
def test_a_body_is_redacted_as_a_copying_walk_would_whatever_json_parses_it(value, ascii_only) -> None:
    """msgspec parses and writes what it can (big integers too); the json module what it alone reads (Infinity, a
    lone surrogate): either way the body says what the copying walk says."""
    policy = Policy(["session_count"])
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert json.loads(policy.body(text)) == _redacted_copy(json.loads(text), policy)
