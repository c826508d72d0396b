"""The `sse-inspector` command line: parse arguments, call the library, print, return an exit code.

Exit codes everywhere: 0 clean, 1 findings or differences, 2 unusable input or usage error (one line on
stderr, never a traceback).
"""

from __future__ import annotations

import json
import math
import os
import sys
from functools import partial
from typing import NoReturn

import click

from . import __version__, report
from .escape import json_safe, visible
from .inputs import UNREADABLE, InputError, expand, open_source
from .protocols import NAMES
from .wording import plural

PROTOCOL_CHOICES = click.Choice(["auto", *NAMES])


class UsageFailure(click.ClickException):
    """A one-line error ending in exit 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        _error_line(self.format_message())


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="sse-inspector")
def cli() -> None:
    """Record, validate, view, diff and replay the Server-Sent-Events streams of LLM APIs.

    PATH arguments take a recording (.jsonl), a raw SSE body (.sse, .txt, `curl -N` output), a directory of
    them, or - for stdin. Exit codes: 0 clean, 1 findings or differences, 2 unusable input.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--json", "as_json", is_flag=True, help='One JSON object per line: {"index","t","event","data","id"}.')
def events(paths: tuple[str, ...], as_json: bool) -> None:
    """Print the parsed SSE events of each stream, one per line: index, time, event type, data."""
    from .sse import SSEParser

    names = expand(paths)
    several = len(names) > 1
    for name in names:
        source = open_source(name)
        if several and not as_json:
            click.echo(f"==> {visible(name, one_line=True)} <==")
        parser = SSEParser()
        for events in source.feed_to(parser.feed):
            for event in events:
                _echo_event(event, as_json, name if several else None)
        parser.close()
        for problem in parser.problems:
            click.echo(visible(f"{name}: note: {problem.detail}", one_line=True), err=True)


def _tolerance(value: str | None) -> tuple[float, float] | None:
    from .diff.compare import parse_tolerance

    try:
        return None if value is None else parse_tolerance(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _echo_event(event, as_json: bool, path: str | None) -> None:
    if as_json:
        line = {"index": event.index, "t": event.t, "event": event.type, "data": event.data, "id": event.id}
        if path is not None:
            line["path"] = path
        click.echo(json_safe(json.dumps(line, ensure_ascii=False)))
        return
    t = "-" if event.t is None else f"{event.t:.3f}s"
    # the data as on the wire, on one line: a newline between data lines shows as ␊, a backslash stays one
    click.echo(visible(f"{event.index:>5}  {t:>9}  {event.type}  {event.data}", one_line=True))


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--protocol", type=PROTOCOL_CHOICES, default="auto", show_default=True,
              help="Protocol to check against; auto detects it from the request path, then the events.")
@click.option("--format", "output_format", type=click.Choice(list(report.FORMATS)), default="text",
              show_default=True, help="junit: one test case per file; github: workflow annotations.")
@click.option("--strict", is_flag=True, help="Warnings fail the verdict too.")
@click.option("--ignore", "ignored", multiple=True, metavar="RULE", help="Drop findings of this rule (repeatable).")
def validate(paths: tuple[str, ...], protocol: str, output_format: str, strict: bool, ignored: tuple[str, ...]) -> None:
    """Check each stream against its protocol's documented event order and chunk schemas.

    Every finding names a rule (see docs/rules.md), its severity and the event where it happened.
    Exit 0 when no file fails, 1 when one does, 2 when one cannot be read (the others are still checked).
    """
    if ignored:  # NOTE: every protocol module registers its rules on import: load them only to check names
        from .findings import RULES
        from .protocols import load_all_rules

        load_all_rules()
        unknown = sorted(set(ignored) - set(RULES))
        if unknown:
            raise UsageFailure(f"--ignore: unknown rule {unknown[0]!r} (see docs/rules.md)")
    names = expand(paths)
    results = []
    for name in names:
        try:
            check = open_source(name).validate(protocol)
        except InputError as error:
            if len(names) == 1:
                raise
            click.echo(visible(f"sse-inspector: error: {error}", one_line=True), err=True)  # then the other files
            results.append(report.FileResult(name, "unreadable", [UNREADABLE(None, str(error))], 0, readable=False))
            continue
        findings = [finding for finding in check.findings if finding.rule not in ignored]
        results.append(report.FileResult(name, check.protocol or "generic", findings, check.events, strict))
    for line in report.FORMATS[output_format](results):
        click.echo(line)
    unknown = [result.path for result in results if result.protocol == "generic" and result.events]
    if unknown and protocol == "auto":  # NOTE: `ok` would read as "a good stream" (a new user's bad Gemini body)
        more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        click.echo(visible(f"sse-inspector: note: {unknown[0]}{more}: no protocol recognised from the path or the "
                           "events: only the SSE framing was checked (--protocol NAME checks one)", one_line=True),
                   err=True)
    sys.exit(_exit_code(any(result.failed for result in results), all(result.readable for result in results)))


def _exit_code(differences: bool, readable: bool) -> int:
    """2 when a file could not be read (every other file is still reported), else 1 for findings or differences."""
    return 2 if not readable else 1 if differences else 0


@cli.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "junit"]), default="text",
              show_default=True, help="junit: one test case per compared file.")
@click.option("--ignore-text", is_flag=True, help="Compare structure and tool calls only (nondeterministic models).")
@click.option("--usage", is_flag=True, help="Compare token usage too (off by default: it varies between runs).")
@click.option("--timing-tolerance", metavar="PCT[%,FLOOR]", callback=lambda _c, _p, v: _tolerance(v),
              help="Also fail when TTFT or duration grew by more than PCT percent and, if given, by more than "
                   "FLOOR (50%,100ms: both must be exceeded). Inputs with times only.")
@click.option("--protocol", type=PROTOCOL_CHOICES, default="auto", show_default=True,
              help="Protocol of both streams; auto detects it.")
def diff(old: str, new: str, output_format: str, ignore_text: bool, usage: bool,
         timing_tolerance: tuple[float, float] | None, protocol: str) -> None:
    """Compare two recordings (or two directories of them, paired by file name) semantically.

    Ids, timestamps, obfuscation padding and the way text was cut into deltas never count; status, the
    sequence of event types, text, tool calls (arguments as JSON) and findings do. Streams of two protocols (a
    gateway's translation and its upstream) are compared by what they share: the HTTP status, whether an error
    came, whether the stream was cut short, whether the answer was cut at the token limit, refused or paused, text,
    tool calls and timing.
    Exit 0 when everything is the same, 1 when anything differs, 2 when a file cannot be read (the other pairs
    are still compared).
    """
    from pathlib import Path

    from .diff import report as diff_report
    from .diff.compare import Options, diff_paths

    percent, floor = timing_tolerance or (None, 0.0)
    options = Options(ignore_text=ignore_text, usage=usage, timing_tolerance=percent, timing_floor=floor,
                      protocol=None if protocol == "auto" else protocol)
    results = list(diff_paths(old, new, options))
    for result in results:
        if not result.readable:
            click.echo(visible(f"sse-inspector: error: {result.differences[0].message}", one_line=True), err=True)
    if usage and any(difference.aspect == "protocol" for result in results for difference in result.differences):
        click.echo("sse-inspector: note: --usage compares streams of one protocol only: each protocol counts tokens "
                   "its own way", err=True)
    table = all(path != "-" and Path(path).is_dir() for path in (old, new))
    for line in diff_report.FORMATS[output_format](results, table):
        click.echo(line)
    sys.exit(_exit_code(not all(result.same for result in results), all(result.readable for result in results)))


@cli.command(short_help="Replay recordings as a live endpoint, with fault injection.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1; 0 lets the OS pick one (the URL is printed).")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Divide the recorded times by this (raw SSE files: one event per 20 ms at speed 1).")
@click.option("--cut-after", type=click.IntRange(min=0), metavar="N",
              help="Drop the connection once N events went out (an upstream that dies mid-stream).")
@click.option("--stall-at", metavar="N:SECONDS", help="Pause SECONDS before event N (0-based): a stalled upstream.")
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True, max=86400), default=30.0,
              show_default=True, metavar="SECONDS",
              help="Close a connection whose request headers or body take longer than this to arrive, or that "
              "stays idle this long between requests (slow clients cannot hold connections open).")
def serve(paths: tuple[str, ...], port: int, speed: float, cut_after: int | None, stall_at: str | None,
          idle_timeout: float) -> None:
    """Replay recordings as a live streaming endpoint: every POST gets a recording's status, headers and chunks.

    Several recordings are matched by request path (else by protocol), then served in turn; a path of an API
    none of them is of gets a 404 that says so. A Gemini request without `alt=sse` gets its answer as one JSON
    array, the form it asks for; an OpenAI or Anthropic request that asks for no stream (no "stream": true), and
    `count_tokens`, get a 400 that says so, and take no recording's turn. Point a client at it: openai SDK
    base_url http://127.0.0.1:PORT/v1, anthropic and google-genai SDK base_url http://127.0.0.1:PORT. Ctrl-C
    stops.
    """

    import logging

    from .replay import Faults, Replay, VisibleFormatter, describe, serve_forever

    for option, value in (("--speed", speed), ("--idle-timeout", idle_timeout)):
        if not math.isfinite(value):
            raise UsageFailure(f"{option}: expected a finite number, got {value}")
    stall_event, stall_seconds = None, 0.0
    if stall_at is not None:
        try:
            stall_event, stall_seconds = Faults.parse_stall(stall_at)
        except ValueError as error:
            raise UsageFailure(f"--stall-at: {error}") from None
    replay = Replay.from_paths(paths, speed, Faults(cut_after, stall_event, stall_seconds), idle_timeout)

    requests = logging.StreamHandler(sys.stdout)  # one line per request served, as it happens
    requests.setFormatter(VisibleFormatter("%(asctime)s  %(message)s", "%H:%M:%S"))
    logging.getLogger("inspector.replay").addHandler(requests)
    logging.getLogger("inspector.replay").setLevel(logging.INFO)
    # tornado's own lines quote what a client sent (a request path holding ESC) and went to stderr raw: shown here
    # too; its access line (a 404, a 405) says again what the request line above says, so it is left out
    problems = logging.StreamHandler(sys.stderr)
    problems.setFormatter(VisibleFormatter("%(message)s"))
    logging.getLogger("tornado").addHandler(problems)
    logging.getLogger("tornado.access").disabled = True

    def ready(bound: int) -> None:
        click.echo(f"serving {len(replay.catalog.entries)} recording(s) on http://127.0.0.1:{bound} (Ctrl-C stops)")
        for line in describe(replay.catalog.entries):
            click.echo(f"  {visible(line, one_line=True)}")
        click.echo(f"point a client at it: openai SDK base_url=http://127.0.0.1:{bound}/v1, "
                   f"anthropic and google-genai SDK base_url=http://127.0.0.1:{bound}")

    try:
        serve_forever(replay, port, ready)
    except KeyboardInterrupt:
        pass
    except OSError as error:
        raise UsageFailure(f"--port {port}: {error.strerror or error}") from None
    click.echo("stopped")


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--protocol", type=PROTOCOL_CHOICES, default="auto", show_default=True,
              help="Protocol to read the stream as; auto detects it.")
@click.option("--events", "show_events", is_flag=True, help="Add a table of every event: index, time, gap, type, data.")
@click.option("--raw", "show_raw", is_flag=True, help="Add the network chunks as they arrived.")
@click.option("--follow", is_flag=True, help="Show a recording while it is still being written (live on a "
              "terminal, one line per event elsewhere), then the whole view once its end line comes (or Ctrl-C).")
@click.option("--headers", "show_headers", is_flag=True, help="Add the request's and response's headers (secrets "
              "were redacted when recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print the view as JSON (text, tool_calls, usage, timing, ...); "
              "with several streams, one object per line.")
@click.option("--html", "html_path", metavar="FILE|DIR",
              help="Write an interactive, self-contained HTML report to FILE (- for stdout); for a directory of "
                   "recordings, into DIR: index.html and one page per recording.")
def view(paths: tuple[str, ...], protocol: str, show_events: bool, show_raw: bool, follow: bool, show_headers: bool,
         as_json: bool, html_path: str | None) -> None:
    """Show each stream: the request and response around it, timing (TTFB, TTFT, gaps, stalls), the reassembled
    text, reasoning, tool calls, usage and findings. A directory takes --html DIR: a report of every recording.

    Exit 0 when no stream has an error finding, 1 when one has.
    """
    from pathlib import Path

    from .private import open_private
    from .view.html import report_page, write_directory
    from .view.model import inspect
    from .view.render import make_console, print_view

    found = expand(paths)
    path = paths[0]
    if follow:
        from .view.live import follow as follow_file

        if len(paths) != 1 or path == "-" or Path(path).is_dir() or as_json or html_path is not None:
            raise UsageFailure("--follow takes one file, shown in the terminal (not -, a directory, --json or --html)")
        report = follow_file(path, make_console(), protocol=protocol, headers=show_headers)
        sys.exit(1 if report.errors else 0)
    if html_path is not None and len(paths) == 1 and path != "-" and Path(path).is_dir():
        if html_path == "-":
            raise UsageFailure("--html -: a directory's report is several pages: give a directory to write them to")
        try:
            entries = write_directory(path, Path(html_path), protocol)
        except OSError as error:
            raise UsageFailure(f"--html {html_path}: {error.strerror or error}") from None
        click.echo(f"wrote {Path(html_path) / 'index.html'} and {sum(bool(e.href) for e in entries)} pages", err=True)
        sys.exit(1 if any(entry.verdict != "pass" for entry in entries) else 0)
    if html_path is not None and len(found) != 1:
        raise UsageFailure(f"--html FILE holds the page of one stream; {len(found)} given (for a directory of "
                           "recordings, write a report of them all with --html DIR)")
    html = html_path is not None
    several = len(found) > 1
    failed = False
    for name in found:
        report = inspect(open_source(name), protocol, keep_events=show_events or html, keep_chunks=show_raw or html)
        failed = failed or bool(report.errors)
        if html_path == "-":
            click.echo(report_page(report), nl=False)
        elif html_path is not None:
            try:
                with open_private(html_path) as page:  # it holds the prompt and the answer
                    page.write(report_page(report))
            except OSError as error:
                raise UsageFailure(f"--html {html_path}: {error.strerror or error}") from None
            click.echo(f"wrote {html_path}", err=True)
        if as_json:  # several streams: one object per line
            click.echo(json_safe(json.dumps(report.to_json(), indent=None if several else 2, ensure_ascii=False)))
        elif html_path is None:
            if several:
                click.echo(f"==> {visible(name, one_line=True)} <==")
            print_view(make_console(), report, headers=show_headers)
    sys.exit(1 if failed else 0)


def _since(_context, _parameter, value: str | None):
    from datetime import UTC, datetime

    from .view.listing import parse_since

    try:
        return None if value is None else parse_since(value, datetime.now(UTC))
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@cli.command(name="ls")
@click.argument("directory", default="recordings", metavar="[DIR]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@click.option("--failed", is_flag=True, help="Only streams that fail (and files that cannot be read).")
@click.option("--errors", "api_errors", is_flag=True,
              help="Only streams that carried an in-band error (a quota or overload refusal: such a stream can "
                   "still pass).")
@click.option("--protocol", type=click.Choice(NAMES), help="Only streams of this protocol.")
@click.option("--model", metavar="TEXT", help="Only streams whose model name contains TEXT (any case).")
@click.option("--since", metavar="WHEN", callback=_since,
              help="Only streams started since WHEN: 2026-11-21, 2026-11-21T05:30 (UTC), or an age: 30m, 2h, 1d.")
@click.option("--search", metavar="TEXT", help="Only streams whose answer (text, reasoning, tool calls) contains "
              "TEXT (any case).")
def list_command(directory: str, as_json: bool, failed: bool, api_errors: bool, protocol: str | None,
                 model: str | None, since, search: str | None) -> None:
    """List the recordings under DIR (default: recordings), newest first: time, protocol, model, status,
    events, TTFT, duration, verdict and file."""
    from .view.listing import Filters, RecordingTable, list_recordings
    from .view.render import make_console

    rows = list_recordings(directory, Filters(failed, api_errors, protocol, model, since, search))
    if as_json:
        for row in rows:
            click.echo(json_safe(json.dumps(row.to_json(), ensure_ascii=False)))
    else:
        filtered = failed or api_errors or protocol or model or since is not None or search
        make_console().print(RecordingTable(rows, directory, "no recording matches the filters" if filtered
                                            else "no recordings"))


def _recorder_options(command):
    """The options `record` and `run` share: where recordings go, which streams, whom to trust upstream."""
    for option in reversed([
        click.option("--dir", "directory", default="recordings", show_default=True, metavar="DIR",
                     help="Where recordings are written (one file per stream, readable by you only)."),
        click.option("--streams", type=click.Choice(["llm", "all"]), default="llm", show_default=True,
                     help="llm: streams of requests to an LLM API path; all: every text/event-stream."),
        click.option("--upstream-ca", "upstream_ca", multiple=True, metavar="FILE",
                     type=click.Path(dir_okay=False),
                     help="Also trust this CA (PEM) for upstreams, e.g. a staging endpoint's private CA (repeatable)."),
        click.option("--insecure", is_flag=True, help="Do not verify upstream certificates at all (says so)."),
        click.option("--upstream-proxy", metavar="URL|none",
                     help="Reach upstreams through this http(s)://HOST:PORT proxy (credentials in the URL go to it "
                     "only). Default: the proxy HTTPS_PROXY / HTTP_PROXY named when sse-inspector started, except "
                     "for NO_PROXY hosts, as curl does; none: direct."),
        click.option("--redact", "redacted", multiple=True, metavar="NAME",
                     help="Also redact this header, query parameter, form or JSON field (repeatable); names with key, "
                     "token, secret, password, auth, cookie, session, credential or signature among their words always "
                     "are."),
    ]):
        command = option(command)
    return command


def _upstream_proxy(option: str | None, environ: dict[str, str]):
    """The proxy the recorder reaches upstreams through (`recorder/upstream_proxy.py`); exit 2 for a bad URL."""
    from .recorder.upstream_proxy import ProxyError, UpstreamProxy

    try:
        return UpstreamProxy.choose(option, environ)
    except ProxyError as error:
        raise UsageFailure(str(error)) from None


def _warn(settings) -> None:
    for warning in settings.warnings():
        click.echo(f"sse-inspector: warning: {warning}", err=True)


@cli.command()
@click.option("--reverse", "reverse", multiple=True, metavar="URL[@PORT]",
              help="Reverse-proxy this upstream origin (https://api.openai.com): point the app's base URL at the "
              "proxy, no certificate needed. Repeatable, one listener each.")
@click.option("--regular", is_flag=True, help="Also act as an HTTP(S) proxy: the app sets HTTPS_PROXY and trusts "
              "mitmproxy's CA certificate (the only listener when --reverse is not given).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port of the first listener, the next ones count up from it; 0 lets the OS pick each.")
@click.option("--listen-host", default="127.0.0.1", show_default=True, metavar="HOST",
              help="Address to listen on; anything but loopback makes the proxy reachable from the network.")
@_recorder_options
def record(reverse: tuple[str, ...], regular: bool, port: int, listen_host: str, directory: str, streams: str,
           upstream_ca: tuple[str, ...], insecure: bool, upstream_proxy: str | None, redacted: tuple[str, ...]) -> None:
    """Record every LLM event stream through a local mitmproxy, one live line per finished stream.

    The app receives each chunk unchanged the moment it arrives. Ctrl-C stops and prints a summary.
    """
    from contextlib import nullcontext

    from .recorder.run import RecorderError, Settings, Target, banner, run
    from .view.live import RecordLive
    from .view.render import make_console

    settings = Settings(directory, listen_host, streams, upstream_ca, insecure, redacted,
                        _upstream_proxy(upstream_proxy, _user_environment()))
    console = make_console()
    # on a terminal, a live panel of the streams in flight; elsewhere one plain line per finished stream
    live = RecordLive(directory, console) if console.is_terminal else None
    try:
        targets = [Target.reverse(spec) for spec in reverse]
        if regular or not targets:
            targets.append(Target())
        _warn(settings)
        with live or nullcontext():
            on_result = live.finished if live is not None else lambda found: click.echo(found.line())
            proxy = settings.upstream_proxy
            tally = run(targets, port, settings, on_result=on_result,
                        on_listening=lambda where: click.echo("\n".join(banner(directory, where, proxy))))
    except RecorderError as error:
        raise UsageFailure(str(error)) from None
    click.echo(f"stopped: {plural(tally.streams, 'stream')} recorded to {directory}/ ({tally.counts()})")
    _exit_after_the_proxy(0)


@cli.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
             short_help="Run a command with its LLM streams recorded.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- CMD [ARGS]...")
@_recorder_options
def run(command: tuple[str, ...], directory: str, streams: str, upstream_ca: tuple[str, ...], insecure: bool,
        upstream_proxy: str | None, redacted: tuple[str, ...]) -> None:
    """Run CMD with its environment pointed at the recorder, and record every LLM event stream it makes.

    OPENAI_BASE_URL, ANTHROPIC_BASE_URL and the like point at reverse proxies for the upstreams they named (the
    vendors' APIs when unset); HTTPS_PROXY and HTTP_PROXY at a regular proxy whose CA the command trusts through
    SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and NODE_EXTRA_CA_CERTS (see docs/recording.md). CMD's
    output is untouched; sse-inspector's lines go to stderr, a summary of the streams at the end.
    Exit code: CMD's (127 when it cannot be found, 126 when it cannot be run).
    """
    import shlex

    from .recorder.command import CommandError, CommandRun
    from .recorder.run import RecorderError, Settings
    from .recorder.run_summary import RunSummary
    from .view.render import make_console

    environ = _user_environment()
    settings = Settings(directory, streams=streams, upstream_ca=upstream_ca, insecure=insecure, redact=redacted,
                        upstream_proxy=_upstream_proxy(upstream_proxy, environ))
    _warn(settings)
    say = partial(click.echo, err=True)
    session = CommandRun(command, settings, lambda line: say(f"sse-inspector: {line}"),
                         on_result=lambda found: say(found.line()), environ=environ)
    try:
        code = session.run()
    except RecorderError as error:
        raise UsageFailure(str(error)) from None
    except CommandError as error:
        say(f"sse-inspector: error: {error}")
        _exit_after_the_proxy(error.exit_code)
    make_console(sys.stderr).print(RunSummary(session.results, directory, shlex.join(command), code), soft_wrap=True)
    _exit_after_the_proxy(code)


def _exit_after_the_proxy(code: int) -> NoReturn:
    """End the process once everything is written, without the interpreter's finalization.

    NOTE: mitmproxy_rs leaves its tokio worker threads running, and one of them can run Python's garbage collector
    while the interpreter finalizes: a segfault (exit -11) in place of the exit code, seen a few times in a hundred
    runs under load. Recordings and temporary files are closed by then; only the standard streams need a flush."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@cli.command(name="import", short_help="Recordings from HAR files and mitmproxy flow files.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="recordings", show_default=True,
              help="Directory the recordings are written to.")
@click.option("--redact", multiple=True, metavar="NAME",
              help="Also redact this header, query parameter, form or JSON field (repeatable); keys and tokens "
              "always are.")
def import_command(files: tuple[str, ...], out_dir: str, redact: tuple[str, ...]) -> None:
    """Turn every event-stream response in a HAR file (browser DevTools, HTTP Toolkit, Proxyman, Charles) or a
    mitmproxy flow file (`mitmdump -w`) into a recording, with secrets redacted as `record` does.

    Exit 0 when at least one stream was imported, 2 when none was (or a file is neither format).
    """
    from pathlib import Path

    from .importer import CaptureError, import_file

    written = 0
    for file in files:
        try:
            found = import_file(file, Path(out_dir), redact)
        except CaptureError as error:
            raise UsageFailure(str(error)) from None
        for item in found.imported:
            click.echo(f"{item.path}  {item.method} {visible(item.url_path, one_line=True)}  {item.status}  "
                       f"{item.protocol or 'unknown protocol'}")
        for skipped in found.skipped:
            click.echo(f"sse-inspector: note: {skipped.where}: skipped: {skipped.reason}", err=True)
        click.echo(f"{file}: {len(found.imported)} event stream(s) imported, {len(found.skipped)} skipped, "
                   f"{found.others} other response(s) left out", err=True)
        written += len(found.imported)
    if not written:
        raise UsageFailure(f"no event-stream response could be imported from {' '.join(files)}")


@cli.command(short_help="Check an endpoint with standard streaming requests.")
@click.option("--base-url", required=True, metavar="URL",
              help="As for the official SDKs: OpenAI's includes /v1 (https://api.openai.com/v1), Anthropic's and "
              "Google's do not (https://generativelanguage.googleapis.com).")
@click.option("--protocol", required=True,
              type=click.Choice(["openai-chat", "openai-responses", "anthropic-messages", "gemini"]))
@click.option("--model", metavar="M", help="Model name (default: a small model of the protocol's vendor).")
@click.option("--api-key-env", metavar="VAR",
              help="Environment variable holding the API key [default: OPENAI_API_KEY, ANTHROPIC_API_KEY or "
              "GEMINI_API_KEY].")
@click.option("--out", type=click.Path(file_okay=False), default="recordings/probe", show_default=True,
              help="Directory for the recordings of the probe's streams.")
@click.option("--max-time", type=click.FloatRange(min=0, min_open=True), default=300.0, show_default=True,  # MAX_TIME
              metavar="SECONDS", help="Stop reading a scenario's stream after this long: it fails.")
def probe(base_url: str, protocol: str, model: str | None, api_key_env: str | None, out: str,
          max_time: float) -> None:
    """Check an endpoint: a few standard streaming requests (plain text, a tool call, usage requested, a low
    max-tokens limit), each recorded into --out and validated; prints scenario x verdict and the findings.

    Exit 1 when a stream breaks the protocol, when an answer that reached the low limit (by the stream's usage)
    does not end with the protocol's length reason or one that ends with it took more tokens than the limit, when a
    stream is still open after --max-time or sends 64 MiB
    with no event's end (the probe hangs up), or when it streams another protocol (said once); a model that only
    declines to call the tool is a warning, and so is an answer with no usage to show whether it reached the
    limit. The API key is read from the environment and never printed or recorded. Requests name
    the SDK they stand for, then the probe (User-Agent `OpenAI/Python sse-inspector/VERSION`).
    """
    from pathlib import Path

    from .probe import DIALECTS, KeyRefused, Probe, ProbeError, ProbeReport
    from .view.render import make_console

    if not base_url.startswith(("http://", "https://")):
        raise UsageFailure(f"--base-url: expected an http:// or https:// URL, got {base_url!r}")
    variable = api_key_env or DIALECTS[protocol].key_env
    api_key = os.environ.get(variable)
    if not api_key and api_key_env:
        raise UsageFailure(f"--api-key-env: ${variable} is not set")
    runner = Probe(base_url, protocol, Path(out), model, api_key, max_time=max_time)
    results = []
    try:
        for result in runner.run():  # a real model takes seconds per request: say where the probe is
            if not results and not api_key:  # the endpoint took a request without a key (else: KeyRefused)
                click.echo(f"sse-inspector: note: ${variable} is not set: the requests went without an API key",
                           err=True)
            click.echo(f"sse-inspector: {result.scenario}: {result.verdict}", err=True)
            results.append(result)
    except KeyRefused as refused:
        hint = f"check the API key in ${variable}" if api_key else f"${variable} is not set"
        raise UsageFailure(f"{refused}: {hint}") from None
    except ProbeError as error:
        raise UsageFailure(str(error)) from None
    except OSError as error:
        raise UsageFailure(f"--out {out}: {error.strerror or error}") from None
    report = ProbeReport(runner.url, protocol, results, runner.out_dir)
    make_console().print(report)
    sys.exit(1 if report.failed else 0)


@cli.command(short_help="The whole loop offline, on bundled recordings.")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="Where the demo's recordings go [default: a new temporary directory, kept for you to explore].")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Replay speed of the bundled recordings.")
@click.option("--examples", type=click.Path(file_okay=False, exists=True), metavar="DIR",
              help="Serve the recordings in DIR instead of the bundled ones (recordings/examples).")
def demo(directory: str | None, speed: float, examples: str | None) -> None:
    """The whole loop in one command, offline and without an API key: a replay upstream serves the bundled
    example recordings, the recorder (mitmproxy, reverse mode) sits in front of it, a client sends one streaming
    request per protocol through it, and each new recording is shown with its verdict.

    Exit 0 when every stream was recorded unchanged and passes validation, 1 otherwise.
    """
    import tempfile
    from pathlib import Path

    from rich.text import Text

    from .demo import EXAMPLES, Demo, DemoError
    from .view.render import make_console, print_view

    if not math.isfinite(speed):
        raise UsageFailure(f"--speed: expected a finite number, got {speed}")
    out_dir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="sse-inspector-demo-"))
    console = make_console()

    def say(line: str) -> None:
        console.print(Text(line), soft_wrap=True)  # paths and URLs stay whole, to copy

    def listening(upstream: str, proxy: str) -> None:
        say(f"replay upstream  {upstream}  (sse-inspector serve {examples or 'the bundled examples'})")
        say(f"recorder proxy   {proxy}  (mitmproxy, reverse mode), recording into {out_dir}")

    try:
        streams = Demo(out_dir, Path(examples) if examples else EXAMPLES, speed, listening).run()
    except DemoError as error:
        raise UsageFailure(str(error)) from None
    for stream in streams:
        console.rule(Text(f"{stream.result.method} {stream.request.path}  ({stream.result.protocol})"))
        say(f"recorder: {stream.result.line()}")
        say(f"client received the upstream's bytes unchanged: {'yes' if stream.unchanged else 'NO'}")
        print_view(console, stream.report)
    failed = sum(stream.failed for stream in streams)
    console.rule()
    say(f"{plural(len(streams), 'stream')} recorded through the proxy into {out_dir}: "
        f"{len(streams) - failed} passed, {failed} failed")
    say("next: `sse-inspector record --reverse https://api.openai.com` and point your app at the OPENAI_BASE_URL it "
        "prints; `sse-inspector view` or `validate` any recording above")
    sys.exit(1 if failed else 0)


def _error_line(message: str) -> None:
    """The one stderr line of exit 2; it may quote a file name or a wire value, so it is shown `visible`."""
    click.echo(f"sse-inspector: error: {visible(message, one_line=True)}", err=True)


_NO_PYDANTIC_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
_OWN_VARIABLES: set[str] = set()
"""Variables `main` set for this process alone: the command `run` starts gets the environment the user gave."""


def _user_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in _OWN_VARIABLES}


def main() -> None:
    """Console entry point: usage errors and unusable input end in one line and exit 2."""
    # NOTE: pydantic looks for plugins (observability hooks) in every installed package's metadata when it builds
    # its first validator: a tenth of a second of start-up for hooks a command-line checker never wants
    if _NO_PYDANTIC_PLUGINS not in os.environ:
        os.environ[_NO_PYDANTIC_PLUGINS] = "__all__"
        _OWN_VARIABLES.add(_NO_PYDANTIC_PLUGINS)
    for stream in (sys.stdout, sys.stderr):
        # NOTE: wire text can hold lone surrogates (`"\ud800"` in JSON): print them escaped, never crash on them
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        click.echo("sse-inspector: aborted", err=True)
        sys.exit(130)
    except click.ClickException as error:
        if isinstance(error, click.UsageError) and error.ctx is not None:
            click.echo(error.ctx.get_usage(), err=True)
        _error_line(error.format_message())
        sys.exit(2 if isinstance(error, click.UsageError | UsageFailure) else error.exit_code)
    except InputError as error:
        _error_line(str(error))
        sys.exit(2)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
