"""`sse-inspector run -- CMD ARGS...`: record every stream one command makes, then give back its exit code.

The proxy listens once per upstream the command's base-URL variables name and once as a regular HTTP(S) proxy
(`child_env` says which variables point where). The command starts once the proxy listens, in the same terminal
and process group, with the same stdin, stdout and stderr: what it prints is untouched, and `run`'s own lines go to
stderr. When the command exits, the connections it left wind down, the proxy stops, and the command's exit code
(128 + N when signal N killed it) becomes `run`'s.

Signals: Ctrl-C in a terminal reaches the whole foreground process group, the command included, so `run` sends it
no second one and waits for it to end. A SIGINT or SIGTERM sent to `run` alone (`kill`, a CI runner's timeout) is
passed on to the command.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shlex
import signal
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from ..redact import Policy
from .ca_bundle import certificates, system_ca_files, write_bundle
from .child_env import (
    CA_VARIABLES,
    NO_PROXY_VARIABLES,
    PROXY_VARIABLES,
    BaseUrl,
    base_urls,
    child_environment,
    previous_ca_files,
    upstreams,
)
from .run import OPEN_FILES_AT_START, Listening, Settings, Target, run
from .verdict import StreamResult


class CommandError(Exception):
    """The command could not be started; the message is one line, `exit_code` what a shell would return."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class CommandRun:
    """One `sse-inspector run`: the command, the recorder's settings, and where `run`'s own lines go."""

    argv: Sequence[str]
    settings: Settings
    say: Callable[[str], None]
    """Prints one line of `run`'s own (on stderr: stdout is the command's)."""
    on_result: Callable[[StreamResult], None] = lambda result: None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    results: list[StreamResult] = field(default_factory=list)
    exit_code: int | None = None

    def run(self) -> int:
        """Record while the command runs; its exit code. Raises RecorderError when the proxy cannot start and
        CommandError when the command cannot."""
        found, left_alone = base_urls(self.environ)
        for name in left_alone:
            self.say(f"warning: {name} is not an http(s) URL: left as it is, its client's requests are recorded only "
                     "if it honours HTTPS_PROXY")
        trusted_before = [path for path in previous_ca_files(self.environ) if _has_certificates(path)]
        # mitmproxy, now the one that talks to the upstreams, trusts what the command trusted
        settings = replace(self.settings, upstream_ca=(*self.settings.upstream_ca, *trusted_before))
        targets = [*(Target(upstream) for upstream in upstreams(found)), Target()]
        run(targets, 0, settings, on_result=self._result, supervise=partial(self._supervise, found))
        if self.exit_code is None:
            raise CommandError("stopped before the command started", 128 + signal.SIGINT)
        return self.exit_code

    def _result(self, result: StreamResult) -> None:
        self.results.append(result)
        self.on_result(result)

    async def _supervise(self, found: list[BaseUrl], listening: list[Listening]) -> None:
        regular = next(where for where in listening if where.reverse is None)
        listeners = {where.reverse: where.base_url for where in listening if where.reverse is not None}
        with tempfile.TemporaryDirectory(prefix="sse-inspector-run-") as scratch:
            bundle = Path(scratch) / "ca-bundle.pem"
            sources = [*system_ca_files(), *previous_ca_files(self.environ), str(regular.ca_file)]
            for problem in write_bundle(bundle, sources):
                self.say(f"warning: CA file {problem}: left out of the bundle the command trusts")
            environment = child_environment(self.environ, found, listeners, regular.base_url, str(bundle))
            for line in self._banner(found, environment, regular):
                self.say(line)
            self.exit_code = await run_child(self.argv, environment)

    def _banner(self, found: list[BaseUrl], environment: Mapping[str, str], regular: Listening) -> list[str]:
        shown = Policy(self.settings.redact).url  # a key in a base URL's query stays off the terminal too
        lines = [f"recording to {self.settings.directory}/ while {shlex.join(self.argv)} runs, with"]
        lines += [f"  {base.variable}={shown(environment[base.variable])}  (reverse proxy for {shown(base.upstream)})"
                  for base in found]
        lines.append(f"  {', '.join(PROXY_VARIABLES[:2])}={regular.base_url}  (regular proxy for every other host)")
        lines.append(f"  {', '.join(CA_VARIABLES)}={environment[CA_VARIABLES[0]]}  (system CAs + mitmproxy's)")
        lines.append(f"  {NO_PROXY_VARIABLES[0]}={environment[NO_PROXY_VARIABLES[0]]}")
        lines.append(f"  {self.settings.upstream_proxy.describe()}")
        return lines


async def run_child(argv: Sequence[str], environment: Mapping[str, str]) -> int:
    """Run the command to its end and return its exit code, passing on the signals meant for it."""
    loop = asyncio.get_running_loop()
    early: list[int] = []  # signals that came while the command was being started
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, early.append, signum)
    try:
        process = await asyncio.create_subprocess_exec(*argv, env=dict(environment), preexec_fn=partial(
            resource.setrlimit, resource.RLIMIT_NOFILE, OPEN_FILES_AT_START))  # a C call: safe between fork and exec
    except FileNotFoundError:
        raise CommandError(f"{argv[0]}: command not found", 127) from None
    except OSError as error:  # not executable, a directory, ...
        raise CommandError(f"{argv[0]}: {error.strerror or error}", 126) from None
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _pass_on, process, signum)
    for signum in early:
        _pass_on(process, signum)
    code = await process.wait()
    return 128 - code if code < 0 else code


def _pass_on(process: asyncio.subprocess.Process, signum: int) -> None:
    if signum == signal.SIGINT and _terminal_sent_it():
        return  # the command had it from the terminal too
    with suppress(ProcessLookupError):  # it has just ended
        process.send_signal(signum)


def _terminal_sent_it() -> bool:
    """Whether this process group is its terminal's foreground group: then a Ctrl-C there reached every process
    in it, the command included."""
    for fd in (0, 1, 2):
        with suppress(OSError):  # not a terminal
            return os.tcgetpgrp(fd) == os.getpgrp()
    return False


def _has_certificates(path: str) -> bool:
    try:
        return bool(certificates(path))
    except OSError:
        return False
