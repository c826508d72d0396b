"""The recorder under a soak: several hundred concurrent streams, about 10 % with faults, through a real mitmdump.

Faults, each on every fiftieth stream: the upstream cuts the stream; the client aborts a long stream part-way;
the upstream stalls 1.5 s; a gzip body; a body of one byte per HTTP chunk. One stream is big (20 MB). Prints the
figures as JSON: streams, faults, lost (no recording or no end line), mixed (a recording whose bytes are not the
ones its request got), wrong end reasons, the proxy's peak RSS, and the wall time. Exit 1 when anything was lost,
mixed or wrongly ended. The same code runs small in the slow tests (tests/test_soak.py).

    .venv/bin/python bench/soak.py --streams 400 --big-mb 20
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from soak import soak  # noqa: E402  (tests/ is put on the path above)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=400)
    parser.add_argument("--big-mb", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = soak(Path(tmp), args.streams, int(args.big_mb * 1_000_000))
    print(json.dumps(figures.to_json()))
    for problem in figures.problems:
        print(problem, file=sys.stderr)
    return 1 if figures.lost or figures.mixed or figures.wrong_reason else 0


if __name__ == "__main__":
    sys.exit(main())
