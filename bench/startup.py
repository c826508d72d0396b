"""Start-up cost of the CLI: `--version`, `validate` of one small file of each protocol (a raw .sse body and a
recording), and `view`/`validate` of many files in one call against one call per file; `python -c pass` beside
them as the floor.

Wall time on a shared machine is mostly waiting for a core, so CPU time (user + sys of the child) is shown too;
rounds interleave the cases and medians are shown. The children run as an installed package does, from bytecode
caches (`PYTHONDONTWRITEBYTECODE` is dropped from their environment, and an unmeasured first round writes the
caches): compiling every module from source on each call would add ~50 ms of CPU to every `validate`. Targets:
`--version` < 0.15 s, `validate` of one small file < 0.25 s.

`--baseline REV` also runs every case on the tree of REV (a `git archive` in a temporary directory, with the same
interpreter and packages), interleaved in the same rounds, and shows the ratio now / baseline. Both trees then run
as `python -P -m inspector` with the tree first on the path.

    python bench/startup.py [--repeat R] [--files N] [--baseline REV] [--only TEXT]

Measured 2026-12-04 (2 cores, load average 6.9), `--baseline 1c8f03f` (Responses on pydantic models), median of 9,
wall / CPU seconds: `validate` of the small Responses .sse 0.256 / 0.145 against 0.518 / 0.330 (0.49x / 0.44x), of
the Responses recording 0.360 / 0.161 against 0.616 / 0.319; Chat, Anthropic and Gemini 0.146-0.166 s of CPU in
both trees.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
EXAMPLES = ROOT / "recordings" / "examples"
SMALL = {  # a few kB each
    "chat .sse": CORPUS / "openai-chat" / "openai-python__text-plain.sse",
    "responses .sse": CORPUS / "openai-responses" / "pydantic-ai__legacy-no-seq-text.sse",
    "anthropic .sse": CORPUS / "anthropic-messages" / "vercel-ai__text.sse",
    "gemini .sse": CORPUS / "gemini-generate-content" / "firebase-test-data__image-chunk-without-parts.sse",
    "chat recording": EXAMPLES / "openai-chat-parallel-tool-calls.jsonl",
    "responses recording": EXAMPLES / "openai-responses-function-call.jsonl",
    "anthropic recording": EXAMPLES / "anthropic-messages-tool-use.jsonl",
}


def run(args: list[str], env: dict[str, str] | None, cwd: str) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def extract(revision: str, into: Path) -> None:
    """The files of `revision` of this repository, written under `into`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def cases(files: list[str]) -> dict[str, list[list[str]]]:
    """Label -> the CLI argument lists it runs (one child each)."""
    found = {
        "--version": [["--version"]],
        **{f"validate {label}": [["validate", str(path)]] for label, path in SMALL.items()},
        f"view {len(files)} files, one call": [["view", *files]],
        f"view {len(files)} files, a call each": [["view", name] for name in files],
        f"validate {len(files)} files, one call": [["validate", *files]],
        f"validate {len(files)} files, a call each": [["validate", name] for name in files],
    }
    return found


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeat", type=int, default=7)
    options.add_argument("--files", type=int, default=20)
    options.add_argument("--baseline", metavar="REV", help="also run the tree of this git revision, side by side")
    options.add_argument("--only", metavar="TEXT", help="only the cases whose label contains TEXT")
    args = options.parse_args()
    files = [str(path) for path in sorted(CORPUS.glob("*/*.sse"))[: args.files]]
    chosen = {label: argv for label, argv in cases(files).items() if not args.only or args.only in label}
    with tempfile.TemporaryDirectory(prefix="startup-") as scratch:
        trees = {"now": ROOT}
        if args.baseline:
            extract(args.baseline, Path(scratch) / "baseline")
            trees["baseline"] = Path(scratch) / "baseline"
        # the same interpreter for both trees: the tree comes first on the path, ahead of the installed package, and
        # `-P` with a neutral working directory keeps the current directory off it
        plain = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        environments = {name: {**plain, "PYTHONPATH": str(tree)} for name, tree in trees.items()}
        runs = {(label, "floor"): [[sys.executable, "-c", "pass"]] for label in ["python -c pass"]}
        for label, argvs in chosen.items():
            for name in trees:
                runs[(label, name)] = [[sys.executable, "-P", "-m", "inspector", *argv] for argv in argvs]
        wall: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
        cpu: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
        for round_number in range(args.repeat + 1):
            for key, commands in runs.items():
                env = environments.get(key[1])
                times = [run(command, env, scratch) for command in commands]
                if round_number:  # round 0 writes the bytecode caches
                    wall[key].append(sum(w for w, _ in times))
                    cpu[key].append(sum(c for _, c in times))
    report(wall, cpu, list(trees), args.repeat)


def report(wall: dict, cpu: dict, trees: list[str], repeat: int) -> None:
    print(f"median of {repeat} interleaved rounds, seconds (wall / cpu); load: {os.getloadavg()[0]:.2f}")
    header = f"{'case':<38}" + "".join(f"{name + ' wall':>15}{'cpu':>7}" for name in trees)
    print(header + ("   now/baseline wall, cpu" if "baseline" in trees else ""))
    labels = dict.fromkeys(label for label, _ in wall)
    for label in labels:
        medians = {name: (statistics.median(wall[(label, name)]), statistics.median(cpu[(label, name)]))
                   for _, name in wall if _ == label}
        if "floor" in medians:
            w, c = medians["floor"]
            print(f"{label:<38}{w:>15.3f}{c:>7.3f}")
            continue
        line = f"{label:<38}" + "".join(f"{medians[name][0]:>15.3f}{medians[name][1]:>7.3f}" for name in trees)
        if "baseline" in medians:
            (w, c), (bw, bc) = medians["now"], medians["baseline"]
            line += f"   {w / bw:>10.2f}x {c / bc:>5.2f}x"
        print(line)


if __name__ == "__main__":
    main()
