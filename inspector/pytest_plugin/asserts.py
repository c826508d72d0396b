"""`assert_valid` and `assert_same`: a recording's findings, or two recordings' semantic diff, as a pytest failure.

The failure message is what `sse-inspector validate` or `sse-inspector diff` would print, so pytest's output reads
like the CLI's. Both take files or directories (anything `validate` and `diff` take).
"""

from __future__ import annotations

import os

from .. import report
from ..diff import report as diff_report
from ..diff.compare import Options, diff_paths
from ..inputs import InputError, expand, open_source

Path = str | os.PathLike[str]


def assert_valid(recording: Path, *, strict: bool = False, protocol: str | None = None) -> None:
    """Fail unless every stream at `recording` passes validation (no error; no warning either when `strict`)."""
    __tracebackhide__ = True
    results = []
    try:
        for name in expand([os.fspath(recording)]):
            check = open_source(name).validate(protocol)
            results.append(report.FileResult(name, check.protocol or "generic", check.findings, check.events, strict))
    except InputError as error:
        raise AssertionError(f"unusable recording: {error}") from None
    if any(result.failed for result in results):
        failed = [result for result in results if result.failed]
        raise AssertionError("\n".join(["stream(s) failed validation:", *report.text(failed)]))


def assert_same(
    golden: Path, new: Path, *, ignore_text: bool = False, usage: bool = False,
    timing_tolerance: float | None = None, timing_floor: float = 0.0, protocol: str | None = None,
) -> None:
    """Fail when `new` differs from `golden` as `sse-inspector diff` sees it (ids, timestamps and the way text was
    cut never count). `timing_tolerance` is in percent, `timing_floor` in seconds, as in `--timing-tolerance 50%,100ms`.
    """
    __tracebackhide__ = True
    options = Options(ignore_text=ignore_text, usage=usage, timing_tolerance=timing_tolerance,
                      timing_floor=timing_floor, protocol=protocol)
    old_path, new_path = os.fspath(golden), os.fspath(new)
    try:
        results = list(diff_paths(old_path, new_path, options))
    except InputError as error:
        raise AssertionError(f"unusable recording: {error}") from None
    if not all(result.same for result in results):
        table = os.path.isdir(old_path) and os.path.isdir(new_path)
        lines = diff_report.text(results, table)
        raise AssertionError("\n".join([f"{new_path} differs from {old_path}:", *lines]))
