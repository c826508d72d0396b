"""The table `sse-inspector run` ends with: one row per stream the command made (file, protocol, model, TTFT,
verdict), then how many passed and how the command exited. Into a pipe or a log, one line per stream instead: a
table there is laid out for 80 columns, and a file name folded over three lines cannot be copied."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..escape import visible
from ..wording import plural
from .run import Tally
from .verdict import StreamResult


@dataclass(frozen=True)
class RunSummary:
    results: Sequence[StreamResult]
    directory: str
    command: str
    exit_code: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        results = sorted(self.results, key=lambda result: (result.started, result.path))
        if results and not console.is_terminal:
            for result in results:
                yield Text("  ".join(self._row(result)))
        elif results:
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True)
            table.add_column("stream", overflow="fold")
            table.add_column("protocol", no_wrap=True)
            table.add_column("model", overflow="fold")
            table.add_column("TTFT s", justify="right", no_wrap=True)
            table.add_column("verdict", overflow="fold")
            for result in results:
                *cells, verdict = self._row(result)
                table.add_row(*map(Text, cells), Text(verdict, style="inspector.fail" if result.failed
                                                      else "inspector.pass"))
            yield table
        tally = Tally()
        for result in results:
            tally.add(result)
        counts = f"{plural(len(results), 'stream')} recorded to {self.directory}/ ({tally.counts()})"
        if not results:
            counts = (f"no stream recorded to {self.directory}/ (the command made no LLM request through the "
                      "recorder's variables: a client whose base URL comes from its own settings, or is a loopback "
                      "address, which NO_PROXY keeps direct, is recorded by `sse-inspector record --reverse URL` "
                      "with the client pointed at it)")
        yield Text(f"{counts}; {self.command} exited with {self.exit_code}")

    def _row(self, result: StreamResult) -> list[str]:
        """File, protocol, model, TTFT in seconds and verdict, as shown."""
        return [visible(os.path.relpath(result.path, self.directory), one_line=True), result.protocol,
                visible(result.model, one_line=True) if result.model else "-",
                "-" if result.ttft is None else f"{result.ttft:.3f}", visible(result.verdict(), one_line=True)]
