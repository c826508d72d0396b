"""docs/ci.md run as written, as CI would run it, minus GitHub itself.

Every `run:` step of the documented workflow runs in order in `bash -eo pipefail` (GitHub's shell), with the
workflow's `env:`, `$GITHUB_ENV` carried from step to step, `if: always()` honoured, and each job in a fresh
virtual environment where the install step installs sse-inspector from a pinned git reference (`live`) or from
a wheel built with `pip wheel --no-deps -w dist .` (`replay`), offline. Only the `uses:` steps (checkout,
setup-python, artifacts, the JUnit check run) are left out. The API is a local replay server; the app is the
documented conftest and a one-test suite; the replay job's gateway is a small streaming pass-through.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
from ruamel.yaml import YAML

from inspector.replay import Replay, ReplayServer

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "ci.md").read_text()
CHAT = ROOT / "tests" / "fixtures" / "corpus" / "openai-chat" / "openai-python__text-plain.sse"
SHIPPED = ("pyproject.toml", "README.md", "inspector", "recordings/examples")
"""What a build of sse-inspector reads: the git reference and the wheel are made of these."""
STEP_TIMEOUT = 300

APP_TEST = '''
import openai
import pytest


@pytest.mark.llm
def test_weather(llm_headers):
    client = openai.OpenAI(default_headers=llm_headers, max_retries=0)
    stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
'''

GATEWAY = '''
"""The app of the replay job: a gateway that streams upstream answers on, chunk by chunk."""
import argparse
import os

import httpx
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        url = os.environ["UPSTREAM_BASE_URL"] + self.path.removeprefix("/v1")
        headers = {"content-type": "application/json", "authorization": self.headers.get("authorization", "")}
        with httpx.stream("POST", url, content=body, headers=headers, timeout=60) as answer:
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers["content-type"])
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in answer.iter_raw():
                self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(chunk), chunk))
                self.wfile.flush()
        self.wfile.write(b"0\\r\\n\\r\\n")

    def log_message(self, *args):
        pass


parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
ThreadingHTTPServer(("127.0.0.1", parser.parse_args().port), Gateway).serve_forever()
'''


def _block(language: str, first_line: str) -> str:
    """The fenced block of docs/ci.md in `language` that starts with `first_line`."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", DOC, flags=re.M | re.S)
    [block] = [block for block in blocks if block.startswith(first_line)]
    return block


def _free_port() -> int:
    """A port the OS picked (the workflow takes fixed ports as env values)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Step:
    name: str
    code: int | None
    """None: skipped (an earlier step failed and this one is not `if: always()`)."""
    output: str


def _job_python(where: Path) -> Path:
    """A fresh virtual environment that sees this one's dependencies (mitmproxy, openai, pytest, hatchling, ...)
    but not sse-inspector itself: the job's install step must install it."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    deps = where / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not re.match(r"(sse_inspector|_?_?editable|.*\.pth$)", entry.name.lower()):
            (deps / entry.name).symlink_to(entry)
    [site] = (where / "lib").glob("python3*/site-packages")
    (site / "deps.pth").write_text(f"{deps}\n")
    python = where / "bin" / "python"
    for script, body in (("pytest", "import sys\nfrom pytest import console_main\nsys.exit(console_main())\n"),
                         ("my-gateway", GATEWAY)):
        path = where / "bin" / script
        path.write_text(f"#!{python}\n{body}")
        path.chmod(0o755)
    return python


def run_job(job: str, project: Path, venv: Path, env_values: dict[str, str]) -> dict[str, Step]:
    """Every step of `job`, as GitHub Actions would run it; the results by step name."""
    workflow = YAML(typ="safe").load(_block("yaml", "name: llm-streams"))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {key: str(value) for key, value in workflow["env"].items()} | env_values
    env |= {"PATH": f"{venv / 'bin'}:{env['PATH']}", "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "GITHUB_ENV": str(project / ".github_env")}
    (project / ".github_env").write_text("")
    steps: dict[str, Step] = {}
    failed = False
    groups = []
    try:
        for number, step in enumerate(workflow["jobs"][job]["steps"]):
            name = step.get("name") or step.get("uses") or f"step {number}"
            if "run" not in step:
                continue  # `uses:` steps need GitHub
            if failed and step.get("if") != "always()":
                steps[name] = Step(name, None, "")
                continue
            step_env = {key: str(value).replace("${{ secrets.OPENAI_API_KEY }}", "sk-test-0123-SECRETVALUE-wxyz")
                        for key, value in (step.get("env") or {}).items()}
            for line in (project / ".github_env").read_text().splitlines():
                key, _, value = line.partition("=")
                env[key] = value
            process = subprocess.Popen(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                       cwd=project, env=env | step_env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, start_new_session=True)
            groups.append(process.pid)
            output, _ = process.communicate(timeout=STEP_TIMEOUT)
            steps[name] = Step(name, process.returncode, output)
            failed = failed or process.returncode != 0
    finally:
        for group in groups:  # what a step left running (GitHub ends it with the job)
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
    return steps


@pytest.fixture
def sse_inspector_source(tmp_path: Path) -> tuple[str, str]:
    """A git repository of sse-inspector with one commit: (its pinned reference, the wheel built from it)."""
    source = tmp_path / "sse-inspector"
    source.mkdir()
    for part in SHIPPED:
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / part, source / part)
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=source, check=True)
    subprocess.run([*git, "add", "."], cwd=source, check=True)
    subprocess.run([*git, "commit", "-qm", "release"], cwd=source, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, check=True, capture_output=True,
                            text=True).stdout.strip()
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation",
                            "-w", "dist", "."], cwd=source, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    [wheel] = (source / "dist").glob("sse_inspector-*.whl")
    # NOTE: `localhost` because the pip bundled with Python 3.11 rejects a `git+file:///` URL (empty host)
    return f"sse-inspector @ git+file://localhost{source}@{commit}", str(wheel)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The user's project: the documented conftest and name_recordings.py, one LLM test, no golden files yet."""
    root = tmp_path / "app"
    (root / "tests" / "golden").mkdir(parents=True)
    (root / "ci").mkdir()
    (root / "tests" / "conftest.py").write_text(_block("python", "# tests/conftest.py\n"))
    (root / "tests" / "test_llm.py").write_text(APP_TEST)
    (root / "ci" / "name_recordings.py").write_text(_block("python", "# ci/name_recordings.py"))
    (root / "pytest.ini").write_text("[pytest]\nmarkers =\n    llm: calls the LLM\n")
    return root


def _ok(steps: dict[str, Step], *failing: str) -> None:
    """Every step ran and passed, except those named in `failing`, which ran and failed."""
    assert {name: step.code == 0 for name, step in steps.items()} == {
        name: name not in failing for name in steps
    }, "\n\n".join(f"== {step.name} ({step.code})\n{step.output}" for step in steps.values())


def _fresh_checkout(project: Path) -> None:
    """What CI starts from: the committed files only."""
    for leftover in ("recordings", "fresh", "record.log", "serve.log", "gateway.log", ".pytest_cache"):
        shutil.rmtree(project / leftover, ignore_errors=True)
        (project / leftover).unlink(missing_ok=True)


@pytest.mark.slow
def test_the_documented_workflow_runs_as_written(tmp_path: Path, project: Path, sse_inspector_source) -> None:
    git_reference, wheel = sse_inspector_source
    ports = {"PROXY_PORT": str(_free_port()), "UPSTREAM_PORT": str(_free_port()), "APP_PORT": str(_free_port())}
    live_python = _job_python(tmp_path / "live-venv")
    with ReplayServer(Replay.from_paths([str(CHAT)])) as api:  # the real API, one event per 20 ms
        live = {"SSE_INSPECTOR": git_reference, "LLM_API": api.url, **ports}
        first = run_job("live", project, live_python.parent.parent, live)
        # no golden recordings yet: the diff fails, naming the new file, and the recording is there to accept
        _ok(first, "Diff against the golden recordings")
        assert "stopped: 1 stream recorded to recordings/ (1 ok, 0 failed)" in first[
            "Stop the recorder and wait until every recording is written"].output
        assert "test_weather.jsonl  only in new" in first["Diff against the golden recordings"].output
        for accepted in (project / "fresh").glob("*.jsonl"):
            shutil.copy(accepted, project / "tests" / "golden")
    golden = project / "tests" / "golden" / "test_weather.jsonl"
    assert json.loads(golden.read_text().splitlines()[-1])["reason"] == "complete"  # flushed to the end
    assert "SECRETVALUE" not in golden.read_text()

    _fresh_checkout(project)  # the accepted golden recording, committed: a pull request replays it
    replay_python = _job_python(tmp_path / "replay-venv")
    replay = {"SSE_INSPECTOR": wheel, "TIMING_TOLERANCE": "50%,10s", **ports}  # a floor no busy machine reaches
    steps = run_job("replay", project, replay_python.parent.parent, replay)
    _ok(steps)
    report = ElementTree.parse(project / "diff-replay.xml").getroot()
    assert (report.get("tests"), report.get("failures"), report.get("errors")) == ("1", "0", "0")
