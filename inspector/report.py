"""Validation results and their output formats: text, json, junit, github.

One small emitter per format over the same `FileResult`s (as ruff's `message/*.rs`), so every format says
the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .escape import json_safe, visible
from .findings import Finding, Severity, Tally
from .wording import plural


@dataclass(frozen=True)
class FileResult(Tally):
    path: str
    protocol: str
    findings: list[Finding]
    events: int
    strict: bool = False
    readable: bool = True
    """False: the file could not be read (its one finding says why); the other files were checked all the same."""

    @property
    def failed(self) -> bool:
        return self.errors > 0 or (self.strict and self.warnings > 0)

    @property
    def verdict(self) -> str:
        return "fail" if self.failed else "pass"


def _where(finding: Finding) -> str:
    return "end" if finding.index is None else f"event {finding.index}"


def _line(finding: Finding) -> str:
    """`event 3 chat/x error: message`, with the wire text in the message shown, not obeyed."""
    return f"{_where(finding)} {finding.rule} {finding.severity}: {visible(finding.message, one_line=True)}"


def _tally(result: FileResult) -> str:
    parts = [plural(n, word) for n, word in ((result.errors, "error"), (result.warnings, "warning")) if n]
    return ", ".join(parts) or f"{plural(result.events, 'event')}"


def text(results: Sequence[FileResult]) -> Iterable[str]:
    for result in results:
        path = visible(result.path, one_line=True)
        yield f"{path}  {result.protocol}  {'FAIL' if result.failed else 'ok'}  {_tally(result)}"
        where = max((len(_where(f)) for f in result.findings), default=0)
        rule = max((len(f.rule) for f in result.findings), default=0)
        for finding in result.findings:
            message = visible(finding.message, one_line=True)
            yield f"  {_where(finding):<{where}}  {finding.rule:<{rule}}  {finding.severity}: {message}"
    if len(results) > 1:
        failed = sum(result.failed for result in results)
        errors = sum(result.errors for result in results)
        warnings = sum(result.warnings for result in results)
        unreadable = sum(not result.readable for result in results)
        yield (f"{plural(len(results), 'file')}: {len(results) - failed} passed, {failed} failed "
               f"({plural(errors, 'error')}, {plural(warnings, 'warning')})"
               + (f", {unreadable} unreadable" if unreadable else ""))


def as_json(results: Sequence[FileResult]) -> Iterable[str]:
    files = [
        {"path": r.path, "protocol": r.protocol, "verdict": r.verdict, "errors": r.errors, "warnings": r.warnings,
         "findings": [f.to_json() for f in r.findings]}
        for r in results
    ]
    yield json_safe(json.dumps({"files": files}, indent=2, ensure_ascii=False))


def junit(results: Sequence[FileResult]) -> Iterable[str]:
    from xml.etree import ElementTree  # NOTE: imported on use: start-up time for one format of four

    suite = ElementTree.Element(
        "testsuite", name="sse-inspector validate", tests=str(len(results)),
        failures=str(sum(r.failed and r.readable for r in results)), errors=str(sum(not r.readable for r in results)),
    )
    for result in results:
        name = visible(result.path, one_line=True)  # NOTE: XML 1.0 cannot hold most controls, even escaped
        case = ElementTree.SubElement(suite, "testcase", classname=result.protocol, name=name)
        if not result.readable:  # JUnit's `error`: the test could not run, as opposed to a failed check
            error = ElementTree.SubElement(case, "error", message="unreadable")
            error.text = "\n".join(visible(f.message) for f in result.findings)
        elif result.failed:
            failure = ElementTree.SubElement(case, "failure", message=_tally(result))
            failure.text = "\n".join(_line(f) for f in result.findings)
        elif result.findings:
            ElementTree.SubElement(case, "system-out").text = "\n".join(_line(f) for f in result.findings)
    ElementTree.indent(suite)
    yield '<?xml version="1.0" encoding="UTF-8"?>'
    yield ElementTree.tostring(suite, encoding="unicode")


def _escape_github(value: str, properties: bool = False) -> str:
    value = visible(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if properties else value


def github(results: Sequence[FileResult]) -> Iterable[str]:
    """GitHub Actions workflow commands: one annotation per finding."""
    for result in results:
        for finding in result.findings:
            level = "error" if finding.severity == Severity.ERROR else "warning"
            title = _escape_github(finding.rule, properties=True)
            yield (f"::{level} file={_escape_github(result.path, properties=True)},title={title}::"
                   f"{_escape_github(f'{_where(finding)}: {finding.message}')}")


FORMATS = {"text": text, "json": as_json, "junit": junit, "github": github}
