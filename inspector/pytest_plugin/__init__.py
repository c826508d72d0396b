"""The pytest plugin (entry point `pytest11`): SSE streams replayed, recorded and checked per test, like VCR.py.

The `sse_replay` fixture yields a base URL for the test's client (openai SDK: `f"{url}/v1"`; anthropic SDK:
`url`). What is behind it depends on the run:

- by default, the test's golden recordings replayed (`tests/golden/<module>/<test>.jsonl`, then `-2`, `-3`, ...
  for a test that streams more than once);
- with `--sse-record`, a recorder in front of the real API (`--sse-upstream`): the test's traffic is recorded
  and becomes its golden recordings;
- with `--sse-check`, the same, but the fresh recordings are diffed against the golden ones and the test fails
  with the differences.

`@pytest.mark.sse_replay(path, paced=..., speed=..., cut_after=..., stall_at=(event, seconds))` serves `path` (a
recording or a directory) instead, always, and sets pacing and faults. `assert_valid` and `assert_same` turn
findings and diffs into readable test failures.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .endpoints import RecordingProxy

__all__ = ["assert_same", "assert_valid"]


def __getattr__(name: str) -> Any:
    """`assert_valid` and `assert_same` load the validator on first use: every pytest run of a project that has
    sse-inspector installed loads this plugin, most never call them."""
    if name in __all__:
        from . import asserts

        return getattr(asserts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

MODES = ("replay", "record", "check")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sse-inspector", "record, replay and check SSE streams (sse_replay fixture)")
    group.addoption("--sse-record", action="store_true",
                    help="Send each sse_replay test's traffic to the real API through the recorder and save it as "
                         "the test's golden recordings.")
    group.addoption("--sse-check", action="store_true",
                    help="Like --sse-record, but diff the fresh recordings against the golden ones instead of "
                         "saving them; a difference fails the test.")
    group.addoption("--sse-upstream", metavar="URL", help="The real API's origin for --sse-record and --sse-check "
                    "(https://api.openai.com); default: the sse_upstream ini value.")
    group.addoption("--sse-golden-dir", metavar="DIR", help="Where golden recordings live (default: the "
                    "sse_golden_dir ini value, tests/golden).")
    group.addoption("--sse-ignore-text", action="store_true",
                    help="--sse-check compares structure and tool calls only (live models never say the same).")
    parser.addini("sse_upstream", "The real API's origin for --sse-record and --sse-check.", default="")
    parser.addini("sse_golden_dir", "Golden recordings directory, relative to the rootdir.", default="tests/golden")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sse_replay(path=None, *, paced=False, speed=1.0, cut_after=None, stall_at=None, upstream=None): "
        "what the sse_replay fixture serves (path: a recording or a directory, else the test's golden "
        "recordings), how fast, and with which faults.",
    )
    if config.getoption("--sse-record") and config.getoption("--sse-check"):
        raise pytest.UsageError("--sse-record and --sse-check exclude each other")


def golden_name(nodeid: str) -> Path:
    """`<module>/<Class.test_name_param>`: the golden recordings' path of a test, without the suffix."""
    module = Path(nodeid.split("::", 1)[0]).stem
    test = ".".join(nodeid.split("::")[1:])
    return Path(module) / (re.sub(r"[^A-Za-z0-9_.-]+", "_", test).strip("_") or "test")


def golden_files(directory: Path, name: Path) -> list[Path]:
    """The golden recordings of one test in call order: `name.jsonl`, `name-2.jsonl`, `name-3.jsonl`, ..."""
    found = []
    while (path := directory / name.parent / f"{name.name}{'' if not found else f'-{len(found) + 1}'}.jsonl").exists():
        found.append(path)
    return found


@dataclass
class _Session:
    """One test's use of `sse_replay`: the mode, and for record/check the recorder and where the goldens go."""

    mode: str
    golden_dir: Path
    name: Path
    proxy: RecordingProxy | None = None
    options: dict = field(default_factory=dict)
    finished: bool = False

    def finish(self) -> None:
        """After the test body: save (record) or compare (check) what the recorder caught."""
        if self.finished or self.proxy is None:
            return
        self.finished = True
        fresh = self.proxy.stop()
        if not fresh:
            pytest.fail(f"--sse-{self.mode}: no stream went through sse_replay (recorder output:\n"
                        f"{self.proxy.output.strip()})", pytrace=False)
        if self.mode == "record":
            self._save(fresh)
        else:
            self._check(fresh)

    def _save(self, fresh: list[Path]) -> None:
        for old in golden_files(self.golden_dir, self.name):
            old.unlink()
        target = self.golden_dir / self.name.parent
        target.mkdir(parents=True, exist_ok=True)
        for number, path in enumerate(fresh, 1):
            shutil.copyfile(path, target / f"{self.name.name}{'' if number == 1 else f'-{number}'}.jsonl")

    def _check(self, fresh: list[Path]) -> None:
        __tracebackhide__ = True
        golden = golden_files(self.golden_dir, self.name)
        if len(golden) != len(fresh):
            pytest.fail(f"--sse-check: the test streamed {len(fresh)} time(s), its golden recordings hold "
                        f"{len(golden)} ({self.golden_dir / self.name}*.jsonl)", pytrace=False)
        from .asserts import assert_same

        problems = []
        for old, new in zip(golden, fresh, strict=True):
            try:
                assert_same(old, new, ignore_text=self.options.get("ignore_text", False))
            except AssertionError as difference:
                shown = old.relative_to(self.golden_dir.parent) if old.is_relative_to(self.golden_dir.parent) else old
                details = str(difference).split("\n", 1)[1]  # the first line names the fresh file's temporary path
                problems.append(f"{shown}: the fresh recording differs:\n{details}")
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)


_SESSION = pytest.StashKey[_Session]()


@pytest.fixture
def sse_replay(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A base URL for the test's LLM client: replayed golden recordings, or a recorder in front of the real API
    under --sse-record / --sse-check; see the module docstring."""
    from ..inputs import InputError
    from .endpoints import RecordingProxy, ReplayEndpoint

    config = request.config
    marker = request.node.get_closest_marker("sse_replay")
    args, kwargs = (marker.args, dict(marker.kwargs)) if marker else ((), {})
    upstream = kwargs.pop("upstream", None) or config.getoption("--sse-upstream") or config.getini("sse_upstream")
    golden_dir = Path(config.getoption("--sse-golden-dir") or config.rootpath / config.getini("sse_golden_dir"))
    name = golden_name(request.node.nodeid)
    mode = "record" if config.getoption("--sse-record") else "check" if config.getoption("--sse-check") else "replay"
    if args or mode == "replay":
        paths = [str(arg) for arg in args] or [str(path) for path in golden_files(golden_dir, name)]
        if not paths:
            pytest.fail(f"no golden recording for this test ({golden_dir / name}.jsonl): record it with "
                        "--sse-record --sse-upstream URL", pytrace=False)
        try:
            endpoint = ReplayEndpoint(paths, **kwargs)
        except InputError as error:  # NOTE: a marker's path is often a golden recording not made yet
            pytest.fail(f"sse_replay: {error} (a marker's path is relative to where pytest runs; golden recordings "
                        "are made with --sse-record --sse-upstream URL)", pytrace=False)
        yield endpoint.start()
        endpoint.stop()
        return
    if not upstream:
        pytest.fail(f"--sse-{mode} needs the real API's origin: --sse-upstream URL or the sse_upstream ini value",
                    pytrace=False)
    session = _Session(mode, golden_dir, name, RecordingProxy(upstream, tmp_path_factory.mktemp("sse-fresh")),
                       {"ignore_text": config.getoption("--sse-ignore-text")})
    request.node.stash[_SESSION] = session
    try:
        yield session.proxy.start()
    finally:
        session.proxy.stop()  # also when the test failed before `finish` ran: no recorder outlives its test


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Record or check right after the test body, so a difference fails the test itself (not its teardown)."""
    result = yield
    session = item.stash.get(_SESSION, None)
    if session is not None:
        session.finish()
    return result
