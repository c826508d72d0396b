"""Output formats of `diff`: text, json, junit. Each is a function of the same `PairResult`s.

Text for one pair is the differences themselves, one per line (details indented below); for several pairs
(directories) a summary table comes first, then the differences of each pair that differs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from xml.etree import ElementTree

from ..escape import json_safe, visible
from ..wording import plural
from .compare import Difference, Digest, PairResult


def _result(pair: PairResult) -> str:
    if not pair.readable:
        return "unreadable"
    if pair.old_path is None:
        return "only in new"
    if pair.new_path is None:
        return "only in old"
    return "same" if pair.same else "different"


def _lines(differences: Sequence[Difference], indent: str) -> Iterable[str]:
    """Each difference and its detail lines, the wire text in them shown, not obeyed (an ESC in `-Hello` shows)."""
    for difference in differences:
        yield f"{indent}{visible(difference.message, one_line=True)}"
        for line in difference.detail:
            yield f"{indent}    {visible(line, one_line=True)}"


def text(pairs: Sequence[PairResult], table: bool = False) -> Iterable[str]:
    if not table and len(pairs) == 1:
        yield from _lines(pairs[0].differences, "") if pairs[0].differences else ["no differences"]
        return
    names = [visible(pair.name, one_line=True) for pair in pairs]
    width = max((len(name) for name in names), default=4)
    yield f"{'file':<{width}}  {'result':<11}  differences"
    for pair, name in zip(pairs, names, strict=True):
        count = str(len(pair.differences)) if pair.differences and pair.old and pair.new else ""
        yield f"{name:<{width}}  {_result(pair):<11}  {count}".rstrip()
    for pair, name in zip(pairs, names, strict=True):
        if (pair.old and pair.new or not pair.readable) and pair.differences:
            yield ""
            yield f"== {name} =="
            yield from _lines(pair.differences, "  ")
    alone = sum(pair.old_path is None or pair.new_path is None for pair in pairs)
    different = sum(not pair.same and pair.readable for pair in pairs) - alone
    unreadable = sum(not pair.readable for pair in pairs)
    yield ""
    yield (f"{plural(len(pairs), 'file')}: {len(pairs) - different - unreadable - alone} same, {different} different"
           + (f", {alone} on one side only" if alone else "") + (f", {unreadable} unreadable" if unreadable else ""))
    if alone == len(pairs) > 1:  # NOTE: the recorder names each file by its time and a random id
        yield ("no file has a namesake on the other side: directories are paired by file name, and the recorder's "
               "names carry their time and id; compare two files, or name them alike")


def _times(digest: Digest | None) -> dict | None:
    return None if digest is None else {"ttft": digest.ttft, "duration": digest.duration}


def as_json(pairs: Sequence[PairResult], table: bool = False) -> Iterable[str]:
    files = [
        {"name": pair.name, "old": pair.old_path, "new": pair.new_path, "result": _result(pair),
         "differences": [difference.to_json() for difference in pair.differences],
         "timing": {"old": _times(pair.old), "new": _times(pair.new)}}
        for pair in pairs
    ]
    yield json_safe(json.dumps({"same": all(pair.same for pair in pairs), "files": files}, indent=2,
                               ensure_ascii=False))


def junit(pairs: Sequence[PairResult], table: bool = False) -> Iterable[str]:
    """One test case per pair; a pair that differs is a failure listing its differences."""
    suite = ElementTree.Element(
        "testsuite", name="sse-inspector diff", tests=str(len(pairs)),
        failures=str(sum(not pair.same and pair.readable for pair in pairs)),
        errors=str(sum(not pair.readable for pair in pairs)),
    )
    for pair in pairs:
        case = ElementTree.SubElement(suite, "testcase", classname="diff", name=visible(pair.name, one_line=True))
        if not pair.readable:  # JUnit's `error`: the comparison could not run, as opposed to a difference
            ElementTree.SubElement(case, "error", message="unreadable").text = visible(pair.differences[0].message)
        elif not pair.same:
            summary = _result(pair) if pair.old is None else plural(len(pair.differences), "difference")
            failure = ElementTree.SubElement(case, "failure", message=summary)
            failure.text = "\n".join(_lines(pair.differences, ""))
    ElementTree.indent(suite)
    yield '<?xml version="1.0" encoding="UTF-8"?>'
    yield ElementTree.tostring(suite, encoding="unicode")


FORMATS = {"text": text, "json": as_json, "junit": junit}
