"""Live displays: `view --follow FILE` and the panel `record` shows on a terminal.

Both read recordings while they are written (`follow.Follower`), never the proxy's memory, so the recorder's
hot path stays as it is. On a terminal a rich `Live` repaints a panel a few times a second (never per event);
elsewhere (a pipe, a CI log) they print plain lines: one per event for `--follow`, one per finished stream for
`record`. Following a recording reads and checks every event, so `record` does it in a child process at the lowest
CPU priority (`_watch`): the proxy's process only draws what the child sends.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from multiprocessing.connection import Connection
from pathlib import Path

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..escape import visible
from ..inputs import InputError
from ..recorder.verdict import StreamResult
from ..recorder.verdict_process import yield_to_the_proxy
from ..wording import plural
from .follow import Follower, Progress
from .model import StreamReport
from .render import print_view
from .summary import summarize

POLL_SECONDS = 0.1
"""How often a growing file is looked at (reading what was appended costs one read(2))."""
REFRESH_PER_SECOND = 4
"""Repaints a second of the record panel."""
_STOP_SECONDS = 5.0
"""How long `record` waits for its panel's process to draw the last panel once it stops."""
_TEXT_LINES = 6
_FINISHED_SHOWN = 8


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _rate(progress: Progress) -> str:
    rate = progress.tokens_per_s
    if rate is None:
        return "-"
    value, exact = rate
    return f"{value:.1f}" if exact else f"~{value:.0f}"


class FollowPanel:
    """One stream in flight: where it is, what it said so far (the last lines of its text)."""

    def __init__(self, progress: Progress, done: bool = False) -> None:
        self.progress = progress
        self.done = done

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        progress = self.progress
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="inspector.label", no_wrap=True)
        facts.add_column(overflow="fold")
        request = " ".join(part for part in (progress.method, progress.path) if part) or "raw SSE"
        facts.add_row("stream", visible(f"{request}  ({progress.protocol or 'detecting'})", one_line=True))
        facts.add_row("model", visible(progress.model or "-", one_line=True))
        facts.add_row("events", str(progress.events))
        facts.add_row("first token", _seconds(progress.ttft))
        facts.add_row("tokens/s", _rate(progress) + ("  (~: estimated from the text)" if progress.tokens_per_s
                                                      and not progress.tokens_per_s[1] else ""))
        facts.add_row("elapsed", _seconds(progress.elapsed))
        lines = progress.text.split("\n")[-_TEXT_LINES:]
        text = Text(visible("\n".join(lines))) if progress.text else Text("(no text yet)", style="inspector.muted")
        state = "ended" if self.done else "following… (Ctrl-C stops)"
        yield Panel(Group(facts, Text(""), text), title=Text(f"{state}  {progress.name}", style="inspector.label"),
                    title_align="left")


def follow(path: str, console: Console, *, protocol: str | None = None, headers: bool = False,
           on_event: Callable[[str], None] | None = None, live: bool | None = None,
           wait: Callable[[float], object] = time.sleep) -> StreamReport:
    """Follow `path` until its end line (Ctrl-C: until then), then print the whole view; returns its report.

    On a terminal (`live`, by default when the console is one) a panel shows the stream as it grows; otherwise
    each event is printed as one line as soon as it is read (`on_event` receives it).
    """
    follower = Follower(path, protocol)
    live = console.is_terminal if live is None else live
    try:
        if live:
            # repainted after each look at the file (POLL_SECONDS apart), not per event
            with Live(FollowPanel(follower.progress()), console=console, auto_refresh=False,
                      transient=True) as display:
                while not follower.done:
                    follower.poll()
                    display.update(FollowPanel(follower.progress()), refresh=True)
                    if not follower.done:
                        wait(POLL_SECONDS)
        else:
            say = on_event or (lambda line: console.print(Text(line), soft_wrap=True))
            while not follower.done:
                for event in follower.poll():
                    t = "-" if event.t is None else f"{event.t:.3f}"
                    say(visible(f"{event.index:>5}  {t:>8}  {event.type}  {summarize(event.type, event.data)}",
                                one_line=True))
                if not follower.done:
                    wait(POLL_SECONDS)
    except KeyboardInterrupt:
        console.print(Text("stopped following: the view of what was written so far", style="inspector.muted"))
    report = follower.finish()
    print_view(console, report, headers=headers)
    return report


# -- `record` ------------------------------------------------------------------------------------------------------


class RecordPanel:
    """The streams in flight (read from their recordings as they grow) and the last ones that finished."""

    def __init__(self, flying: list[Progress], finished: list[StreamResult], directory: str) -> None:
        self.flying = flying
        self.finished = finished
        self.directory = directory

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # two lines a stream, the file name first and whole, so that nothing needs cutting at 80 columns
        lines: list[Text | Padding] = []
        for progress in self.flying:
            request = " ".join(part for part in (progress.method, progress.path) if part)
            lines.append(Text("streaming  ", style="inspector.muted") + Text(Path(progress.name).name, style="bold"))
            lines.append(_indented(f"{request}  {progress.protocol or '-'}  {progress.model or '-'}  "
                                   f"{plural(progress.events, 'event')}  TTFT {_ms(progress.ttft)}  "
                                   f"{_rate(progress)} tokens/s"))
        for result in reversed(self.finished):
            verdict = Text("FAIL", style="inspector.fail") if result.failed else Text("ok  ", style="inspector.pass")
            lines.append(verdict + Text("       ") + Text(Path(result.path).name, style="bold"))
            lines.append(_indented(result.line(), "inspector.muted"))
        if not lines:
            lines.append(Text("waiting for a stream…", style="inspector.muted"))
        title = f"{len(self.flying)} in flight, {len(self.finished)} finished (the last ones): {self.directory}/"
        yield Panel(Group(*lines), title=Text(title, style="inspector.label"), title_align="left")


def _indented(line: str, style: str = "") -> Padding:
    return Padding(Text(visible(line, one_line=True), style=style, overflow="fold"), (0, 0, 0, 2))


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


class RecordWatch:
    """What the record panel shows, kept up to date from the recordings directory and the recorder's results.

    A recording that appears in the directory after the watch started is followed until the recorder reports
    it finished (`finished`: the recorder's results, which `RecordLive` passes on to the process that watches).
    """

    def __init__(self, directory: str, before: Iterable[Path] | None = None) -> None:
        self.directory = Path(directory)
        self._known = set(recordings_in(self.directory) if before is None else before)  # there before: not ours
        self._flying: dict[Path, Follower] = {}
        self._finished: deque[StreamResult] = deque(maxlen=_FINISHED_SHOWN)
        self._lock = threading.Lock()

    def finished(self, result: StreamResult) -> None:
        with self._lock:
            self._finished.append(result)

    def poll(self) -> RecordPanel:
        with self._lock:
            finished = list(self._finished)
        done = {Path(result.path) for result in finished}
        for path in recordings_in(self.directory):
            if path not in self._known:
                self._known.add(path)
                with suppress(InputError):  # gone already
                    self._flying[path] = Follower(str(path))
        flying = []
        for path, follower in list(self._flying.items()):
            if path in done:
                follower.file.close()
                del self._flying[path]
                continue
            try:
                follower.poll()
            except InputError:
                continue  # a line the recorder is still writing oddly: look again next time
            flying.append(follower.progress())
        return RecordPanel(flying, finished, str(self.directory))

    def close(self) -> None:
        for follower in self._flying.values():
            follower.file.close()


def recordings_in(directory: Path) -> list[Path]:
    try:
        entries = os.scandir(directory)
        return [Path(entry.path) for entry in entries if entry.name.endswith(".jsonl") and entry.is_file()]
    except OSError:
        return []


class RecordLive:
    """The live panel while `record` runs. A child process follows the recordings (`_watch`) and sends the panel
    a few times a second; a thread here draws it. `finished` is the recorder's result callback: it passes the
    result on. Use as a context manager around the recording."""

    def __init__(self, directory: str, console: Console) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        before = recordings_in(Path(directory))
        self._process = context.Process(target=_watch, args=(directory, before, child_end), name="sse-live-panel",
                                        daemon=True)
        self._live = Live(RecordPanel([], [], directory), console=console, auto_refresh=False)
        self._thread = threading.Thread(target=self._repaint, name="sse-live-panel", daemon=True)
        self._sending = threading.Lock()  # the recorder's verdict thread and `__exit__` both send

    def finished(self, result: StreamResult) -> None:
        self._send(result)

    def _send(self, message: StreamResult | None) -> None:
        with self._sending, suppress(OSError, ValueError):  # the panel died: the recording is none of its business
            self._pipe.send(message)

    def _repaint(self) -> None:
        while True:
            try:
                panel = self._pipe.recv()
            except (EOFError, OSError):
                return
            if panel is None:  # the child's last word
                return
            self._live.update(panel, refresh=True)

    def __enter__(self) -> RecordLive:
        self._process.start()
        self._live.start()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._send(None)
        self._thread.join(_STOP_SECONDS)
        self._process.join(_STOP_SECONDS)
        if self._process.is_alive():  # starved or stuck: the recorder's summary must not wait for the panel
            self._process.kill()
            self._process.join()
        self._pipe.close()
        self._live.stop()


def _watch(directory: str, before: list[Path], pipe: Connection) -> None:
    """The panel's child process: follows the recordings in flight and sends a `RecordPanel` every repaint, the
    recorder's results as they come, until it is sent None; then the last panel and None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the recorder's: it stops, then tells this process
    yield_to_the_proxy()
    watch = RecordWatch(directory, before)
    period = 1 / REFRESH_PER_SECOND
    next_look = time.monotonic()
    shown: tuple[list[Progress], list[StreamResult]] | None = None
    try:
        while True:
            if pipe.poll(max(0.0, next_look - time.monotonic())):
                try:
                    result = pipe.recv()
                except EOFError:
                    return  # the recorder is gone
                if result is None:
                    break
                watch.finished(result)
                continue
            panel = _sendable(watch.poll())
            if (panel.flying, panel.finished) != shown:  # else nothing to repaint
                pipe.send(panel)
                shown = panel.flying, panel.finished
            next_look = time.monotonic() + period
        pipe.send(_sendable(watch.poll()))
        pipe.send(None)
    except OSError:
        return  # the recorder is gone
    finally:
        watch.close()


def _sendable(panel: RecordPanel) -> RecordPanel:
    """The panel without the texts so far, which it does not show (a long answer is megabytes)."""
    panel.flying = [dataclasses.replace(progress, text="") for progress in panel.flying]
    return panel
