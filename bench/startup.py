"""Start-up cost of the CLI: `--version`, `validate` of one small file, and `view`/`validate` of many files in one
call against one call per file; a bare `python -c pass` beside them as the floor.

Wall time on a shared machine is mostly waiting for a core, so CPU time (user + sys of the child) is shown too;
rounds interleave the cases and medians are shown. Targets: `--version` < 0.15 s, `validate` of one small file
< 0.25 s.

    python bench/startup.py [--repeat R] [--files N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CORPUS = Path(__file__).parent.parent / "tests" / "fixtures" / "corpus"
SMALL = CORPUS / "openai-chat" / "openai-python__text-plain.sse"
COMMAND = str(Path(sys.executable).with_name("sse-inspector"))


def run(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeat", type=int, default=7)
    options.add_argument("--files", type=int, default=20)
    args = options.parse_args()
    files = [str(path) for path in sorted(CORPUS.glob("*/*.sse"))[: args.files]]
    cases = {
        "python -c pass": [[sys.executable, "-c", "pass"]],
        "--version": [[COMMAND, "--version"]],
        "validate one small file": [[COMMAND, "validate", str(SMALL)]],
        f"view {len(files)} files, one call": [[COMMAND, "view", *files]],
        f"view {len(files)} files, a call each": [[COMMAND, "view", name] for name in files],
        f"validate {len(files)} files, one call": [[COMMAND, "validate", *files]],
        f"validate {len(files)} files, a call each": [[COMMAND, "validate", name] for name in files],
    }
    wall: dict[str, list[float]] = {label: [] for label in cases}
    cpu: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.repeat):
        for label, commands in cases.items():
            times = [run(command) for command in commands]
            wall[label].append(sum(w for w, _ in times))
            cpu[label].append(sum(c for _, c in times))
    print(f"median of {args.repeat} interleaved rounds, seconds")
    print(f"{'case':<36}{'wall':>8}{'cpu':>8}")
    for label in cases:
        print(f"{label:<36}{statistics.median(wall[label]):>8.3f}{statistics.median(cpu[label]):>8.3f}")


if __name__ == "__main__":
    main()
