"""A small soak through a real recorder: 50 concurrent streams, every tenth with a fault (cut, client abort of a
long stream, stall, gzip, one-byte chunks) and one big stream; nothing lost, nothing mixed, every end reason
right. `bench/soak.py` runs the same with several hundred streams and a 20 MB one."""

from __future__ import annotations

import pytest
from soak import FAULTS, plans, soak

pytestmark = pytest.mark.slow


def test_the_plans_cover_every_fault_and_one_big_stream() -> None:
    faults = [plan.fault for plan in plans(50, 1_000_000)]
    assert sorted(set(faults)) == sorted({*FAULTS, "big", "none"})
    assert faults.count("big") == 1 and len({plan.id for plan in plans(50, 1_000_000)}) == 50


def test_nothing_is_lost_or_mixed_and_every_end_reason_is_right(tmp_path) -> None:
    figures = soak(tmp_path, 50, 1_000_000)
    assert (figures.lost, figures.mixed, figures.wrong_reason, figures.problems) == (0, 0, 0, [])
    assert figures.streams == 50 and figures.faults == 6
