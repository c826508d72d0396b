"""`sse-inspector run -- CMD`: real commands (Python apps with the official SDKs, plain httpx, curl) run under a real
recorder against real local upstreams: the replay server `serve`, and an HTTPS upstream behind a throwaway CA.

Each test compares what the command printed with what it prints without the recorder, counts the recordings (every
stream exactly once) and checks the exit code that `run` passed back.
"""

from __future__ import annotations

import os
import pty
import resource
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from recorder_helpers import CORPUS, ROOT, SECRET, WAIT, read_recording, recorded_body, run_tls_upstream, run_upstream

from inspector.inputs import open_source
from inspector.recorder.child_env import BASE_URL_VARIABLES, CA_VARIABLES, NO_PROXY_VARIABLES, PROXY_VARIABLES
from inspector.replay import Replay, ReplayServer

pytestmark = pytest.mark.slow

CHAT = "openai-chat/openai-python__text-plain.sse"
RESPONSES = "openai-responses/vercel-ai__text-minimal.sse"
ANTHROPIC = "anthropic-messages/vercel-ai__text.sse"
GEMINI = "gemini-generate-content/pydantic-ai__text-multichunk.sse"
_OURS = {*PROXY_VARIABLES, *CA_VARIABLES, *NO_PROXY_VARIABLES,
         *(name for _, names in BASE_URL_VARIABLES.values() for name in names)}

SDK_APP = """
    import sys
    import anthropic, openai
    from google import genai

    chat = openai.OpenAI(max_retries=0).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True)
    print("chat:", "".join(chunk.choices[0].delta.content or "" for chunk in chat if chunk.choices))
    responses = openai.OpenAI(max_retries=0).responses.create(model="gpt-test", input="hi", stream=True)
    print("responses:", "".join(event.delta for event in responses if event.type == "response.output_text.delta"))
    messages = anthropic.Anthropic(max_retries=0).messages.create(
        model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "hi"}], stream=True)
    print("anthropic:", "".join(event.delta.text for event in messages if event.type == "content_block_delta"))
    client = genai.Client()  # NOTE: kept in a name: a collected client closes its connection pool mid-stream
    gemini = client.models.generate_content_stream(model="gemini-test", contents="hi")
    print("gemini:", "".join(chunk.text or "" for chunk in gemini))
    sys.exit(3)
"""

HTTPX_APP = """
    import os, sys
    import httpx

    # NOTE: the test's upstream is on loopback, which NO_PROXY keeps direct: name the proxy, as a remote host needs not
    with httpx.Client(proxy=os.environ["HTTPS_PROXY"], timeout=20) as client:
        with client.stream("POST", sys.argv[1] + "/v1/chat/completions", json={"stream": True},
                           headers={"X-Corpus": sys.argv[2]}) as response:
            print(response.status_code, flush=True)
            sys.stdout.buffer.write(response.read())
"""


@pytest.fixture(scope="module")
def replay():
    """`serve` on four corpus streams, one per protocol (it answers each request path with its protocol's)."""
    streams = [str(CORPUS / name) for name in (CHAT, RESPONSES, ANTHROPIC, GEMINI)]
    with ReplayServer(Replay.from_paths(streams, speed=200.0)) as server:
        yield server.url


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory):
    with run_tls_upstream(tmp_path_factory.mktemp("tls")) as running:
        yield running


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without the variables `run` sets, plus `variables` (and a stack on a crash)."""
    kept = {name: value for name, value in os.environ.items() if name not in _OURS}
    return {**kept, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1", **variables}


def app(tmp_path: Path, source: str) -> str:
    path = tmp_path / "app.py"
    path.write_text(textwrap.dedent(source))
    return str(path)


def sse_run(tmp_path: Path, *args: str, env: dict[str, str], open_files: tuple[int, int] | None = None
            ) -> subprocess.CompletedProcess:
    """`open_files`: the (soft, hard) limit of open files `run` starts with."""
    return subprocess.run(
        [sys.executable, "-m", "inspector", "run", "--dir", str(tmp_path / "rec"), *args],
        capture_output=True, env=env, cwd=tmp_path, timeout=WAIT * 3, stdin=subprocess.DEVNULL,
        preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files)) if open_files else None,
    )


def recordings(tmp_path: Path) -> list[tuple[dict, bytes, dict | None]]:
    """(header, body, end line) of each recording, by request URL."""
    found = [read_recording(path) for path in (tmp_path / "rec").iterdir()]
    for header, _, _ in found:
        assert SECRET not in str(header)
    return sorted(((header, recorded_body(chunks), end) for header, chunks, end in found),
                  key=lambda found: found[0]["request"]["url"])


def test_sdk_app_streams_are_each_recorded_once_against_the_upstreams_the_variables_named(replay, tmp_path):
    """openai (Chat, Responses), anthropic and google-genai SDKs: OPENAI_BASE_URL, ANTHROPIC_BASE_URL and
    GOOGLE_GEMINI_BASE_URL named the replay server; through `run` they reach it via reverse listeners, HTTP_PROXY set
    beside them notwithstanding (NO_PROXY)."""
    env = environment(OPENAI_BASE_URL=f"{replay}/v1", ANTHROPIC_BASE_URL=replay, GOOGLE_GEMINI_BASE_URL=replay,
                      OPENAI_API_KEY=SECRET, ANTHROPIC_API_KEY=SECRET, GOOGLE_API_KEY=SECRET)
    script = app(tmp_path, SDK_APP)
    recorded = sse_run(tmp_path, "--", sys.executable, script, env=env)
    names = (CHAT, RESPONSES, ANTHROPIC, GEMINI)
    said = {name: open_source(str(CORPUS / name)).validate().assembly.text for name in names}
    alone = "".join(f"{label}: {said[name]}\n" for label, name in zip(("chat", "responses", "anthropic", "gemini"),
                                                                       names, strict=True))  # what the app prints
    assert (recorded.returncode, recorded.stdout.decode()) == (3, alone)
    found = recordings(tmp_path)
    assert [(header["request"]["url"], header["protocol"], end["reason"]) for header, _, end in found] == [
        (f"{replay}/v1/chat/completions", "openai-chat", "complete"),
        (f"{replay}/v1/messages", "anthropic-messages", "complete"),
        (f"{replay}/v1/responses", "openai-responses", "complete"),
        (f"{replay}/v1beta/models/gemini-test:streamGenerateContent?alt=sse", "gemini", "complete"),
    ]
    assert [body for _, body, _ in found] == [(CORPUS / name).read_bytes()
                                              for name in (CHAT, ANTHROPIC, RESPONSES, GEMINI)]
    stderr = recorded.stderr.decode()
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == (f"4 streams recorded to {tmp_path / 'rec'}/ (4 ok, 0 failed); "
                                       f"{sys.executable} {script} exited with 3")
    # into a pipe, one whole line per stream: a table laid out for 80 columns folded the file names
    rows = sorted(line for line in stderr.splitlines()[-5:-1])
    assert [row.split("  ")[:2] for row in rows] == sorted(
        [path.name, protocol] for path, protocol in zip(sorted((tmp_path / "rec").iterdir()),
                                                        [read_recording(p)[0]["protocol"]
                                                         for p in sorted((tmp_path / "rec").iterdir())], strict=True))
    assert all(row.split("  ")[-1].startswith("ok") for row in rows), rows
    assert "OPENAI_BASE_URL=http://127.0.0.1:" in stderr and f"(reverse proxy for {replay})" in stderr


@pytest.mark.parametrize("options, outcome", [
    pytest.param(["--upstream-ca", "CA"], "complete", id="upstream-ca"),
    pytest.param(["--insecure"], "complete", id="insecure"),
    pytest.param([], "Certificate verify failed: unable to get local issuer certificate", id="private-ca-unknown"),
])
def test_httpx_through_https_proxy_trusts_the_bundle(tls_upstream, tmp_path, options, outcome):
    """Plain httpx through HTTPS_PROXY to an HTTPS upstream behind a private CA: the app trusts mitmproxy's CA
    through SSL_CERT_FILE; mitmproxy trusts the upstream's with --upstream-ca, or checks nothing with --insecure."""
    upstream, ca_file = tls_upstream
    options = [str(ca_file) if option == "CA" else option for option in options]
    recorded = sse_run(tmp_path, *options, "--", sys.executable, app(tmp_path, HTTPX_APP), upstream.url, CHAT,
                       env=environment())
    [(header, body, end)] = recordings(tmp_path)
    assert (recorded.returncode, header["request"]["url"]) == (0, f"{upstream.url}/v1/chat/completions")
    if outcome == "complete":
        assert recorded.stdout == b"200\n" + (CORPUS / CHAT).read_bytes()
        assert (body, end["reason"]) == ((CORPUS / CHAT).read_bytes(), "complete")
    else:
        assert recorded.stdout.startswith(b"502\n")
        assert (end["reason"], outcome in end["error"]) == ("error", True), end
    warned = [line for line in recorded.stderr.decode().splitlines() if "warning" in line]
    assert warned == (["sse-inspector: warning: --insecure: upstream certificates are not verified; anyone on the way "
                       "to the upstream can read and change the traffic"] if "--insecure" in options else [])


def test_curl_through_the_proxy_and_the_base_url(tls_upstream, tmp_path):
    """curl trusts the bundle through CURL_CA_BUNDLE (regular listener) and follows OPENAI_BASE_URL (reverse)."""
    upstream, ca_file = tls_upstream
    with run_upstream() as plain:
        command = (f'curl -sS -N --noproxy "" -H "X-Corpus: {CHAT}" -d "{{\\"stream\\": true}}" '
                   f'{upstream.url}/v1/chat/completions && '
                   f'curl -sS -N -H "X-Corpus: {ANTHROPIC}" -d "{{\\"stream\\": true}}" "$OPENAI_BASE_URL/messages"')
        recorded = sse_run(tmp_path, "--upstream-ca", str(ca_file), "--", "sh", "-c", command,
                           env=environment(OPENAI_BASE_URL=f"{plain.url}/v1"))
    both = (CORPUS / CHAT).read_bytes() + (CORPUS / ANTHROPIC).read_bytes()
    assert (recorded.returncode, recorded.stdout) == (0, both)
    assert [(header["request"]["url"], body, end["reason"]) for header, body, end in recordings(tmp_path)] == [
        (f"{plain.url}/v1/messages", (CORPUS / ANTHROPIC).read_bytes(), "complete"),
        (f"{upstream.url}/v1/chat/completions", (CORPUS / CHAT).read_bytes(), "complete"),
    ]


def test_a_command_that_cannot_be_found_is_one_line_and_127(tmp_path):
    recorded = sse_run(tmp_path, "--", "no-such-command-for-sse-inspector", env=environment())
    assert (recorded.returncode, recorded.stdout) == (127, b"")
    assert recorded.stderr.decode().splitlines()[-1] == (
        "sse-inspector: error: no-such-command-for-sse-inspector: command not found")
    assert "Traceback" not in recorded.stderr.decode()


def test_the_command_gets_the_users_environment_not_the_pydantic_setting_of_sse_inspector(tmp_path):
    """`run` itself skips pydantic's plugin scan (start-up time); the app it runs keeps its plugins (logfire...)."""
    env = environment()
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)
    show = "import os; print(os.environ.get('PYDANTIC_DISABLE_PLUGINS'))"
    recorded = sse_run(tmp_path, "--", sys.executable, "-c", show, env=env)
    assert (recorded.returncode, recorded.stdout.decode()) == (0, "None\n")


def test_the_command_gets_the_open_file_limit_run_started_with_not_the_raised_one(tmp_path):
    """The recorder raises its own soft limit (three descriptors a stream); the app keeps the one it would have had:
    a program using select() breaks on descriptors past 1024, which a raised limit would let it open."""
    show = "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE))"
    recorded = sse_run(tmp_path, "--", sys.executable, "-c", show, env=environment(), open_files=(64, 4096))
    assert (recorded.returncode, recorded.stdout.decode()) == (0, "(64, 4096)\n")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_sent_to_run_alone_is_passed_on_to_the_command(tmp_path, signum):
    """`kill` or a CI runner's timeout reaches `run` only: the command gets the signal and its code is passed back."""
    script = app(tmp_path, """
        import threading
        print("ready", flush=True)
        threading.Event().wait()
    """)
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "run", "--dir", str(tmp_path / "rec"), "--", sys.executable, script],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=environment(), cwd=tmp_path,
    )
    try:
        assert process.stdout.readline() == b"ready\n"
        process.send_signal(signum)
        code = process.wait(WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read().decode()
    assert (code, stderr.splitlines()[-1].endswith(f"exited with {128 + signum}")) == (128 + signum, True), stderr


def test_a_term_sent_to_the_whole_process_group_stops_run_without_a_dead_verdict_process(tmp_path):
    """GNU `timeout` in CI signals the whole group: the verdict process died of it too, and `run` said "the verdict
    process died; starting a new one" while it stopped."""
    script = app(tmp_path, f"""
        import threading
        import openai

        for chunk in openai.OpenAI(max_retries=0).chat.completions.create(
                model="m", messages=[{{"role": "user", "content": "hi"}}], stream=True,
                extra_headers={{"X-Corpus": "{CHAT}"}}):
            pass
        print("ready", flush=True)
        threading.Event().wait()
    """)
    with run_upstream() as upstream:
        env = environment(OPENAI_BASE_URL=f"{upstream.url}/v1", OPENAI_API_KEY=SECRET)
        process = subprocess.Popen(
            [sys.executable, "-m", "inspector", "run", "--dir", str(tmp_path / "rec"), "--", sys.executable, script],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=tmp_path,
            start_new_session=True)
        try:
            assert process.stdout.readline() == b"ready\n"
            os.killpg(process.pid, signal.SIGTERM)
            code = process.wait(WAIT)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    stderr = process.stderr.read().decode()
    assert code == 128 + signal.SIGTERM and "verdict process died" not in stderr, stderr
    assert "1 stream recorded" in stderr.splitlines()[-1]


def test_ctrl_c_in_a_terminal_stops_the_command_and_the_recorder_cleanly(tmp_path):
    """Ctrl-C typed in a terminal (a pty here) goes to the whole foreground process group: the app stops mid-stream
    on its own KeyboardInterrupt, the recording says the client went away, and `run` ends with the app's code."""
    script = app(tmp_path, f"""
        import sys
        import openai

        stream = openai.OpenAI(max_retries=0).chat.completions.create(
            model="m", messages=[{{"role": "user", "content": "hi"}}], stream=True,
            extra_headers={{"X-Corpus": "{CHAT}", "X-Lockstep": "ctrl-c"}})
        try:
            for chunk in stream:
                print("streaming", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
    """)
    with run_upstream() as upstream:
        env = environment(OPENAI_BASE_URL=f"{upstream.url}/v1", OPENAI_API_KEY=SECRET)
        argv = [sys.executable, "-m", "inspector", "run", "--dir", str(tmp_path / "rec"), "--", sys.executable, script]
        pid, terminal = pty.fork()
        if pid == 0:  # the child: `run` with the pty as its controlling terminal
            os.chdir(tmp_path)
            os.execve(sys.executable, argv, env)
        output = bytearray()
        try:
            _read(terminal, output, until=b"streaming")
            os.write(terminal, b"\x03")  # Ctrl-C: the terminal signals its foreground process group
            # NOTE: CPython acts on a signal between bytecodes: one that lands after the app's last check and before
            # its socket read blocks in poll() waits for the read to return (CI hung here once in ~30 runs), so the
            # upstream sends one more event, as a live one would
            upstream.ack("ctrl-c")
            _read(terminal, output, until=None)
            _, status = os.waitpid(pid, 0)
        finally:
            for _ in range(64):
                upstream.ack("ctrl-c")  # let the upstream run into the closed connection and end
            os.close(terminal)
    text = output.decode(errors="replace")
    assert (os.waitstatus_to_exitcode(status), "Traceback" in text) == (130, False), text
    assert "interrupted" in text and text.rstrip().endswith("exited with 130"), text
    [(_, body, end)] = recordings(tmp_path)
    assert (end["reason"], body) == ("client-disconnected", (CORPUS / CHAT).read_bytes()[: len(body)]), text


def _read(terminal: int, output: bytearray, until: bytes | None) -> None:
    """Read the terminal into `output` until `until` shows up, or (None) until the other side is gone."""
    while until is None or until not in output:
        ready, _, _ = select.select([terminal], [], [], WAIT)
        if not ready:
            raise AssertionError(f"nothing more from the terminal; so far: {bytes(output)!r}")
        try:
            data = os.read(terminal, 4096)
        except OSError:  # EIO: every process holding the terminal has ended
            data = b""
        if not data:
            if until is None:
                return
            raise AssertionError(f"the terminal closed before {until!r}; so far: {bytes(output)!r}")
        output += data


def test_a_command_that_made_no_stream_is_told_how_a_client_that_bypassed_the_recorder_is_recorded(tmp_path):
    """Mistral Vibe and Continue's CLI take their base URL from their own settings (here a loopback `serve`): `run`
    recorded nothing, and said only that no request went through its variables."""
    recorded = sse_run(tmp_path, "--", sys.executable, "-c", "pass", env=environment())
    assert recorded.returncode == 0
    said = " ".join(recorded.stderr.decode().split())  # NOTE: stdout is the command's
    assert "no stream recorded to" in said
    assert "is recorded by `sse-inspector record --reverse URL` with the client pointed at it)" in said
